//! Upstream's handler chain (`apiserver pkg/server/config.go`, `DefaultBuildHandlerChain`)
//! as tower layers, outermost first: request info, authentication, impersonation,
//! authorization (`pkg/endpoints/filters/{requestinfo,authentication,impersonation,
//! authorization}.go`). Each reads what the one before put in the request's extensions and
//! adds its own; a refusal is answered here, and the request goes no further.

use super::negotiate;
use super::request_info::{RequestInfo, request_info};
use super::respond::{PROTOBUF, error_response};
use crate::State;
use crate::rbac::{Attributes, Decision, forbidden_message};
use crate::status::{ApiError, GroupResource};
use crate::user::UserInfo;
use axum::extract::{Request, State as Shared};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, header};
use std::sync::Arc;

/// The identity the transport established: a verified client certificate's user, or a
/// fixed user for in-process clients. Absent means "look at the Authorization header".
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Option<UserInfo>);

/// What the request-info filter reads off a request, for every later filter and handler.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub info: RequestInfo,
    pub query: Vec<(String, String)>,
    pub pretty: bool,
    pub user_agent: String,
    pub content_type: String,
    pub accept: String,
    /// The client prefers `application/vnd.kubernetes.protobuf`.
    pub proto: bool,
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
pub(crate) async fn with_request_info(mut req: Request, next: Next) -> Response {
    let query = parse_query(req.uri().query());
    let headers = req.headers();
    let user_agent = header_str(headers, header::USER_AGENT);
    let accept = header_str(headers, header::ACCEPT);
    let scope = Scope {
        info: request_info(req.method(), &decode_path(req.uri().path()), &query),
        pretty: negotiate::wants_pretty(&query, &user_agent),
        proto: accept
            .split(',')
            .next()
            .is_some_and(|m| m.trim().starts_with(PROTOBUF)),
        content_type: header_str(headers, header::CONTENT_TYPE),
        accept,
        user_agent,
        query,
    };
    req.extensions_mut().insert(scope);
    next.run(req).await
}

fn scope(req: &Request) -> &Scope {
    req.extensions()
        .get::<Scope>()
        .expect("the request-info layer runs first")
}

/// `WithAuthentication`: the transport's identity, else a bearer token; 401 otherwise.
pub(crate) async fn with_authentication(
    Shared(state): Shared<Arc<State>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<PeerIdentity>()
        .and_then(|p| p.0.clone());
    let user = match peer {
        Some(user) => Ok(user),
        None => bearer(&state, &header_str(req.headers(), header::AUTHORIZATION)).await,
    };
    match user {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        Err(e) => error_response(&e, scope(&req).pretty),
    }
}

async fn bearer(state: &State, authorization: &str) -> Result<UserInfo, ApiError> {
    let Some(token) = authorization
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::unauthorized());
    };
    crate::authn::bearer(&state.registry, &state.keys, token)
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "bearer token rejected");
            ApiError::unauthorized()
        })
}

fn user(req: &Request) -> &UserInfo {
    req.extensions()
        .get::<UserInfo>()
        .expect("the authentication layer runs before")
}

/// `WithImpersonation`: the caller becomes the user, groups and uid it names in
/// `Impersonate-*` headers, if it may impersonate each of them.
pub(crate) async fn with_impersonation(
    Shared(state): Shared<Arc<State>>,
    mut req: Request,
    next: Next,
) -> Response {
    match impersonate(&state, req.headers(), user(&req)) {
        Ok(Some(target)) => {
            req.extensions_mut().insert(target);
            next.run(req).await
        }
        Ok(None) => next.run(req).await,
        Err(e) => error_response(&e, scope(&req).pretty),
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
            verb: "impersonate".into(),
            resource_request: true,
            namespace: namespace.into(),
            resource: resource.into(),
            name: name.into(),
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
pub(crate) async fn with_authorization(
    Shared(state): Shared<Arc<State>>,
    req: Request,
    next: Next,
) -> Response {
    let scope = scope(&req);
    let info = &scope.info;
    let attrs = Attributes {
        verb: if info.is_resource_request {
            info.verb.clone()
        } else {
            req.method().as_str().to_lowercase()
        },
        resource_request: info.is_resource_request,
        namespace: info.namespace.clone(),
        api_group: info.api_group.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone(),
        name: info.name.clone(),
        path: info.path.clone(),
    };
    match authorize(&state, user(&req), &attrs) {
        Ok(()) => next.run(req).await,
        Err(e) => error_response(&e, scope.pretty),
    }
}

/// The one authorization check: allowed, or upstream's Forbidden error
/// (`responsewriters.Forbidden`, with the RBAC authorizer's reason).
pub(crate) fn authorize(
    state: &State,
    user: &UserInfo,
    attrs: &Attributes,
) -> Result<(), ApiError> {
    match state.authz.authorize(user, attrs) {
        Decision::Allow(_) => Ok(()),
        Decision::Deny(reason) => Err(ApiError::forbidden(
            GroupResource {
                group: &attrs.api_group,
                resource: &attrs.resource,
            },
            &attrs.name,
            &forbidden_message(&user.name, attrs, &reason),
        )),
    }
}
