//! Upstream's handler chain (`apiserver pkg/server/config.go`, `DefaultBuildHandlerChain`)
//! as tower layers, outermost first: request info, authentication, impersonation,
//! authorization (`pkg/endpoints/filters/{requestinfo,authentication,impersonation,
//! authorization}.go`). Each reads what the one before put in the request's extensions and
//! adds its own; a refusal is answered here, and the request goes no further.
//!
//! A filter that decides at once is a [`Filter`]: no allocation, no boxed future, the next
//! service called directly. Authentication waits only for a bearer token's signing key.

use super::negotiate;
use super::request_info::{RequestInfo, request_info};
use super::respond::error_response;
use crate::State;
use crate::rbac::{Attributes, Decision, forbidden_message};
use crate::status::{ApiError, GroupResource};
use crate::user::UserInfo;
use axum::extract::Request;
use axum::response::Response;
use futures::future::{BoxFuture, Either};
use http::{HeaderMap, header};
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The chain as one layer for the router; its service's type spells the order, outermost
/// first: request info, authentication, impersonation, authorization.
#[derive(Clone)]
pub(crate) struct HandlerChain(pub Arc<State>);

type Chained<S> = Filter<Authentication<Filter<Filter<S>>>>;

impl<S> Layer<S> for HandlerChain {
    type Service = Chained<S>;

    fn layer(&self, handlers: S) -> Chained<S> {
        let filter = |filter: FilterFn| FilterLayer {
            state: self.0.clone(),
            filter,
        };
        let authentication = AuthenticationLayer {
            state: self.0.clone(),
        };
        let authorized = filter(with_authorization).layer(handlers);
        let impersonated = filter(with_impersonation).layer(authorized);
        let authenticated = authentication.layer(impersonated);
        filter(with_request_info).layer(authenticated)
    }
}

/// A filter that decides at once: it reads and extends the request, or refuses it.
type FilterFn = fn(&State, &mut Request) -> Result<(), ApiError>;

#[derive(Clone)]
pub(crate) struct FilterLayer {
    state: Arc<State>,
    filter: FilterFn,
}

impl<S> Layer<S> for FilterLayer {
    type Service = Filter<S>;

    fn layer(&self, inner: S) -> Filter<S> {
        Filter {
            state: self.state.clone(),
            filter: self.filter,
            inner,
        }
    }
}

/// One filter of the chain in front of the rest of it.
#[derive(Clone)]
pub(crate) struct Filter<S> {
    state: Arc<State>,
    filter: FilterFn,
    inner: S,
}

impl<S> Service<Request> for Filter<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match (self.filter)(&self.state, &mut req) {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(e) => {
                let (accept, pretty) = req
                    .extensions()
                    .get::<Scope>()
                    .map_or(("", false), |s| (s.accept.as_str(), s.pretty));
                Either::Left(ready(Ok(error_response(&e, accept, pretty))))
            }
        }
    }
}

/// The identity the transport established: a verified client certificate's user, or a
/// fixed user for in-process clients. Absent means "look at the Authorization header".
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Option<Arc<UserInfo>>);

/// The transport's peer is an authenticating proxy of this name (a certificate of the
/// request-header CA): the user may be in its `X-Remote-*` headers.
#[derive(Debug, Clone)]
pub struct AuthProxy(pub String);

/// The user an authenticating proxy names, if the request came through one.
fn proxied_user(req: &Request) -> Option<Arc<UserInfo>> {
    let proxy = req.extensions().get::<AuthProxy>()?;
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-remote-"))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    crate::authn::request_header(&proxy.0, &headers).map(Arc::new)
}

/// What the request-info filter reads off a request, for every later filter and handler.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub info: RequestInfo,
    pub query: Vec<(String, String)>,
    pub pretty: bool,
    pub user_agent: String,
    pub content_type: String,
    pub accept: String,
}

/// The query string as Go's `url.ParseQuery` reads it: `+` is a space, `%XX` a byte.
fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The path as Go's `url.URL.Path` holds it: `%XX` decoded, `+` a literal `+` (only a
/// query string turns `+` into a space).
fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `WithRequestInfo`: what the request asks for, from its method, path and query.
fn with_request_info(_: &State, req: &mut Request) -> Result<(), ApiError> {
    let query = parse_query(req.uri().query());
    let headers = req.headers();
    let user_agent = header_str(headers, header::USER_AGENT);
    let accept = header_str(headers, header::ACCEPT);
    let scope = Scope {
        info: request_info(req.method(), &decode_path(req.uri().path()), &query),
        pretty: negotiate::wants_pretty(&query, &user_agent),
        content_type: header_str(headers, header::CONTENT_TYPE),
        accept,
        user_agent,
        query,
    };
    req.extensions_mut().insert(scope);
    Ok(())
}

fn scope(req: &Request) -> &Scope {
    req.extensions()
        .get::<Scope>()
        .expect("the request-info layer runs first")
}

/// `WithAuthentication`: the transport's identity, else a bearer token; 401 otherwise.
#[derive(Clone)]
pub(crate) struct AuthenticationLayer {
    state: Arc<State>,
}

impl<S> Layer<S> for AuthenticationLayer {
    type Service = Authentication<S>;

    fn layer(&self, inner: S) -> Authentication<S> {
        Authentication {
            state: self.state.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub(crate) struct Authentication<S> {
    state: Arc<State>,
    inner: S,
}

impl<S> Service<Request> for Authentication<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The union authenticator's order (`pkg/kubeapiserver/authenticator/config.go`):
        // request header, then client certificates, then tokens.
        let peer = proxied_user(&req).or_else(|| {
            req.extensions()
                .get::<PeerIdentity>()
                .and_then(|p| p.0.clone())
        });
        if let Some(user) = peer {
            req.extensions_mut().insert(user);
            return Either::Left(self.inner.call(req));
        }
        // The one that is ready goes into the future; its clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Either::Right(Box::pin(async move {
            let authorization = header_str(req.headers(), header::AUTHORIZATION);
            match bearer(&state, &authorization).await {
                Ok(user) => {
                    req.extensions_mut().insert(user);
                    inner.call(req).await
                }
                Err(e) => {
                    let scope = scope(&req);
                    Ok(error_response(&e, &scope.accept, scope.pretty))
                }
            }
        }))
    }
}

async fn bearer(state: &State, authorization: &str) -> Result<Arc<UserInfo>, ApiError> {
    let Some(token) = authorization
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::unauthorized());
    };
    state
        .token_cache
        .bearer(&state.registry, &state.keys, token)
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "bearer token rejected");
            ApiError::unauthorized()
        })
}

fn user(req: &Request) -> &UserInfo {
    req.extensions()
        .get::<Arc<UserInfo>>()
        .expect("the authentication layer runs before")
}

/// `WithImpersonation`: the caller becomes the user, groups and uid it names in
/// `Impersonate-*` headers, if it may impersonate each of them.
fn with_impersonation(state: &State, req: &mut Request) -> Result<(), ApiError> {
    match impersonate(state, req.headers(), user(req)) {
        Ok(Some(target)) => {
            req.extensions_mut().insert(Arc::new(target));
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The impersonated user, `None` when the request impersonates nobody.
fn impersonate(
    state: &State,
    headers: &HeaderMap,
    user: &UserInfo,
) -> Result<Option<UserInfo>, ApiError> {
    let as_user = headers
        .get("Impersonate-User")
        .and_then(|v| v.to_str().ok());
    let groups: Vec<String> = headers
        .get_all("Impersonate-Group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let uid = headers.get("Impersonate-Uid").and_then(|v| v.to_str().ok());
    let Some(as_user) = as_user else {
        if !groups.is_empty() || uid.is_some() {
            return Err(ApiError::internal(
                "requested [{Kind:Group}] without impersonating a user",
            ));
        }
        return Ok(None);
    };
    let may = |resource: &str, namespace: &str, name: &str| {
        let attrs = Attributes {
            verb: "impersonate",
            resource_request: true,
            namespace,
            resource,
            name,
            ..Attributes::default()
        };
        authorize(state, user, &attrs)
    };
    let mut target = if let Some(rest) = as_user.strip_prefix("system:serviceaccount:") {
        let (ns, name) = rest.split_once(':').unwrap_or(("", rest));
        may("serviceaccounts", ns, name)?;
        let mut u = UserInfo::service_account(ns, name, "");
        if !groups.is_empty() {
            u.groups = vec![];
        }
        u
    } else {
        may("users", "", as_user)?;
        UserInfo {
            name: as_user.into(),
            ..UserInfo::default()
        }
    };
    for g in &groups {
        may("groups", "", g)?;
        target.groups.push(g.clone());
    }
    if let Some(uid) = uid {
        target.uid = uid.into();
    }
    if !target.in_group(crate::user::AUTHENTICATED) && target.name != "system:anonymous" {
        target.groups.push(crate::user::AUTHENTICATED.into());
    }
    Ok(Some(target))
}

/// `WithAuthorization`: the request's attributes (a non-resource request's verb is its
/// lowercased method) must be allowed; 403 otherwise.
fn with_authorization(state: &State, req: &mut Request) -> Result<(), ApiError> {
    let scope = scope(req);
    let info = &scope.info;
    let method;
    let attrs = Attributes {
        verb: if info.is_resource_request {
            &info.verb
        } else {
            // A non-resource request's verb is its lowercased method.
            method = req.method().as_str().to_lowercase();
            &method
        },
        resource_request: info.is_resource_request,
        namespace: &info.namespace,
        api_group: &info.api_group,
        resource: &info.resource,
        subresource: &info.subresource,
        name: &info.name,
        path: &info.path,
    };
    authorize(state, user(req), &attrs)
}

/// The one authorization check: allowed, or upstream's Forbidden error
/// (`responsewriters.Forbidden`, with the RBAC authorizer's reason).
pub(crate) fn authorize(
    state: &State,
    user: &UserInfo,
    attrs: &Attributes<'_>,
) -> Result<(), ApiError> {
    match state.authz.authorize(user, attrs) {
        Decision::Allow(_) => Ok(()),
        Decision::Deny(reason) => Err(ApiError::forbidden(
            GroupResource {
                group: attrs.api_group,
                resource: attrs.resource,
            },
            attrs.name,
            &forbidden_message(&user.name, attrs, &reason),
        )),
    }
}
