//! The HTTP layer: one axum `Router` whose fallback runs the upstream handler chain —
//! request info, authentication, impersonation, authorization, then discovery or the
//! resource handlers — and writes every answer as upstream does.
//!
//! `router(state)` is the boundary: tests drive it in-process through `kube::Client`, and
//! `serve` puts it behind TLS on TCP and a Unix socket.

mod exec;
mod health;
mod negotiate;
mod request_info;
mod resources;
mod reviews;
pub mod serve;

pub use request_info::{RequestInfo, request_info};

use crate::State;
use crate::rbac::{Attributes, Decision, forbidden_message};
use crate::status::{ApiError, GroupResource};
use crate::user::UserInfo;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

/// The identity the transport established: a verified client certificate's user, or a
/// fixed user for in-process clients. Absent means "look at the Authorization header".
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Option<UserInfo>);

/// Everything a handler needs to know about the request beyond its body.
#[derive(Debug)]
pub struct Ctx {
    pub info: RequestInfo,
    pub query: Vec<(String, String)>,
    pub user: UserInfo,
    pub pretty: bool,
    pub user_agent: String,
    pub content_type: String,
    pub accept: String,
    /// The client prefers `application/vnd.kubernetes.protobuf`.
    pub proto: bool,
}

impl Ctx {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The API server's router.
pub fn router(state: Arc<State>) -> Router {
    Router::new().fallback(move |req: Request| {
        let state = state.clone();
        async move { handle(state, req).await }
    })
}

fn base_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        "Audit-Id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid is a valid header"),
    );
    r
}

/// A JSON object, negotiated.
pub fn object_response(status: StatusCode, v: &Value, pretty: bool) -> Response {
    base_response(status, "application/json", negotiate::encode(v, pretty))
}

pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// An object in the negotiated encoding: protobuf when the client prefers it and the
/// object's type is in the table, JSON otherwise.
pub fn respond(ctx: &Ctx, status: StatusCode, v: &Value) -> Response {
    if ctx.proto {
        let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if let Some(t) = crate::schema::SCHEMA.object_type(api_version, kind)
            && let Ok(raw) = crate::schema::proto::encode(&t, v)
        {
            let body = crate::schema::proto::envelope(api_version, kind, &raw);
            return base_response(status, PROTOBUF, Bytes::from(body));
        }
    }
    object_response(status, v, ctx.pretty)
}

/// An error in the negotiated encoding.
pub fn respond_error(ctx: &Ctx, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = respond(ctx, status, &e.to_status());
    if e.code == 403 {
        r.headers_mut().insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
    }
    r
}

/// `WriteRawJSON`: always pretty.
fn raw_json(v: &Value) -> Response {
    base_response(StatusCode::OK, "application/json", negotiate::pretty(v))
}

/// An error as a negotiated Status.
pub fn error_response(e: &ApiError, pretty: bool) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = object_response(status, &e.to_status(), pretty);
    if e.code == 403 {
        r.headers_mut().insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
    }
    r
}

/// Go's `http.NotFound`: plain text, for paths no API handler owns.
fn plain_not_found() -> Response {
    let mut r = base_response(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        Bytes::from_static(b"404 page not found\n"),
    );
    r.headers_mut().insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    r
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

fn header_str(req: &Request, name: header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn authenticate(
    state: &State,
    peer: Option<UserInfo>,
    auth: String,
) -> Result<UserInfo, ApiError> {
    if let Some(user) = peer {
        return Ok(user);
    }
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::unauthorized());
    };
    crate::authn::bearer(&state.registry.store, &state.keys, token)
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "bearer token rejected");
            ApiError::unauthorized()
        })
}

/// Impersonation (`apiserver pkg/endpoints/filters/impersonation.go`): the caller must be
/// allowed `impersonate` on users, groups and service accounts it names.
fn impersonate(state: &State, req: &Request, user: UserInfo) -> Result<UserInfo, ApiError> {
    let as_user = req
        .headers()
        .get("Impersonate-User")
        .and_then(|v| v.to_str().ok());
    let groups: Vec<String> = req
        .headers()
        .get_all("Impersonate-Group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let uid = req
        .headers()
        .get("Impersonate-Uid")
        .and_then(|v| v.to_str().ok());
    if as_user.is_none() {
        if !groups.is_empty() || uid.is_some() {
            return Err(ApiError::internal(
                "requested [{Kind:Group}] without impersonating a user",
            ));
        }
        return Ok(user);
    }
    let as_user = as_user.expect("checked above");
    let check = |a: Attributes| -> Result<(), ApiError> {
        match state.authz.authorize(&user, &a) {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(reason) => Err(ApiError::forbidden(
                GroupResource {
                    group: &a.api_group,
                    resource: &a.resource,
                },
                &a.name,
                &forbidden_message(&user.name, &a, &reason),
            )),
        }
    };
    let mut target = if let Some(rest) = as_user.strip_prefix("system:serviceaccount:") {
        let (ns, name) = rest.split_once(':').unwrap_or(("", rest));
        check(Attributes {
            verb: "impersonate".into(),
            resource_request: true,
            namespace: ns.into(),
            resource: "serviceaccounts".into(),
            name: name.into(),
            ..Attributes::default()
        })?;
        let mut u = UserInfo::service_account(ns, name, "");
        if !groups.is_empty() {
            u.groups = vec![];
        }
        u
    } else {
        check(Attributes {
            verb: "impersonate".into(),
            resource_request: true,
            resource: "users".into(),
            name: as_user.into(),
            ..Attributes::default()
        })?;
        UserInfo {
            name: as_user.into(),
            ..UserInfo::default()
        }
    };
    for g in &groups {
        check(Attributes {
            verb: "impersonate".into(),
            resource_request: true,
            resource: "groups".into(),
            name: g.clone(),
            ..Attributes::default()
        })?;
        target.groups.push(g.clone());
    }
    if let Some(uid) = uid {
        target.uid = uid.into();
    }
    if !target.in_group(crate::user::AUTHENTICATED) && target.name != "system:anonymous" {
        target.groups.push(crate::user::AUTHENTICATED.into());
    }
    Ok(target)
}

/// The whole handler chain for one request.
pub async fn handle(state: Arc<State>, req: Request) -> Response {
    let query = parse_query(req.uri().query());
    let user_agent = header_str(&req, header::USER_AGENT);
    let pretty = negotiate::wants_pretty(&query, &user_agent);
    let path = decode_path(req.uri().path());
    let info = request_info(req.method(), &path, &query);

    let peer = req
        .extensions()
        .get::<PeerIdentity>()
        .and_then(|p| p.0.clone());
    let auth = header_str(&req, header::AUTHORIZATION);
    let user = match authenticate(&state, peer, auth).await {
        Ok(u) => u,
        Err(e) => return error_response(&e, pretty),
    };
    let user = match impersonate(&state, &req, user) {
        Ok(u) => u,
        Err(e) => return error_response(&e, pretty),
    };

    let attrs = Attributes {
        verb: info.verb.clone(),
        resource_request: info.is_resource_request,
        namespace: info.namespace.clone(),
        api_group: info.api_group.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone(),
        name: info.name.clone(),
        path: info.path.clone(),
    };
    // Non-resource requests are authorised with the lowercased method as verb.
    let attrs = if info.is_resource_request {
        attrs
    } else {
        Attributes {
            verb: req.method().as_str().to_lowercase(),
            ..attrs
        }
    };
    if let Decision::Deny(reason) = state.authz.authorize(&user, &attrs) {
        let msg = forbidden_message(&user.name, &attrs, &reason);
        let gr = GroupResource {
            group: &attrs.api_group,
            resource: &attrs.resource,
        };
        let e = ApiError::forbidden(gr, &attrs.name, &msg);
        return error_response(&e, pretty);
    }

    let accept = header_str(&req, header::ACCEPT);
    let ctx = Ctx {
        proto: accept
            .split(',')
            .next()
            .is_some_and(|m| m.trim().starts_with(PROTOBUF)),
        content_type: header_str(&req, header::CONTENT_TYPE),
        accept: header_str(&req, header::ACCEPT),
        info,
        query,
        user,
        pretty,
        user_agent,
    };
    if ctx.info.is_resource_request {
        resources::handle(&state, ctx, req).await
    } else if ctx.info.path == "/openid/v1/jwks"
        && matches!(*req.method(), http::Method::GET | http::Method::HEAD)
    {
        // The signing key may still be generating: wait for it off the executor.
        match state.keys.get().await {
            Ok(key) => oidc_response("application/jwk-set+json", &json!({"keys": [key.jwk()]})),
            Err(e) => error_response(&ApiError::internal(e), ctx.pretty),
        }
    } else {
        non_resource(&state, &ctx, req.method())
    }
}

/// The aggregated-discovery media type kubectl and client-go ask for first.
fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        first.contains("g=apidiscovery.k8s.io")
            && first.contains("v=v2")
            && !first.contains("v=v2beta1")
    })
}

fn aggregated_response(v: &Value) -> Response {
    let mut r = base_response(
        StatusCode::OK,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        negotiate::compact(v),
    );
    // Aggregated discovery is cacheable (`filters/cachecontrol.go`).
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    r
}

fn non_resource(state: &State, ctx: &Ctx, method: &http::Method) -> Response {
    let path = ctx.info.path.as_str();
    if *method != http::Method::GET && *method != http::Method::HEAD {
        return match path {
            // `pkg/routes/openidmetadata.go`: `http.Error(w, "<METHOD> method is not
            // allowed", 405)`.
            "/.well-known/openid-configuration" | "/openid/v1/jwks" => {
                let mut r = base_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "text/plain; charset=utf-8",
                    Bytes::from(format!("{method} method is not allowed\n")),
                );
                r.headers_mut().insert(
                    "X-Content-Type-Options",
                    HeaderValue::from_static("nosniff"),
                );
                r
            }
            // The index (`routes/index.go`), the aggregator's `/apis` (`kube-aggregator
            // pkg/apiserver/handler_apis.go`) and the health handlers
            // (`server/healthz/healthz.go`) answer every method alike.
            "/" | "/apis" => non_resource_get(state, ctx),
            _ if health::ENDPOINTS
                .iter()
                .any(|e| path.trim_start_matches('/').split('/').next() == Some(e)) =>
            {
                non_resource_get(state, ctx)
            }
            // go-restful routes: `/version` (`routes/version.go`) and the discovery web
            // services, which take GET only.
            _ if non_resource_get(state, ctx).status() != StatusCode::NOT_FOUND => {
                error_response(&ApiError::method_not_allowed_on_route(), ctx.pretty)
            }
            _ => plain_not_found(),
        };
    }
    non_resource_get(state, ctx)
}

/// The answer of a GET on a path no resource handler owns.
fn non_resource_get(state: &State, ctx: &Ctx) -> Response {
    use crate::discovery::DISCOVERY;
    let path = ctx.info.path.as_str();
    let accept = ctx.accept.as_str();
    let trimmed = path.trim_end_matches('/');
    let parts: Vec<&str> = trimmed
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match parts.as_slice() {
        [] => raw_json(&json!({"paths": root_paths()})),
        ["version"] => raw_json(&crate::version::info()),
        [endpoint, check @ ..] if health::ENDPOINTS.contains(endpoint) => {
            health::answer(endpoint, &check.join("/"), &ctx.query).unwrap_or_else(plain_not_found)
        }
        ["api"] if wants_aggregated(accept) => aggregated_response(&DISCOVERY.aggregated(true)),
        ["api"] => object_response(
            StatusCode::OK,
            &DISCOVERY.api_versions(&state.server_address),
            ctx.pretty,
        ),
        ["api", "v1"] => object_response(
            StatusCode::OK,
            &DISCOVERY.resource_list(DISCOVERY.group_version("", "v1").expect("core v1")),
            ctx.pretty,
        ),
        ["apis"] if wants_aggregated(accept) => aggregated_response(&DISCOVERY.aggregated(false)),
        ["apis"] => object_response(StatusCode::OK, &DISCOVERY.group_list(), ctx.pretty),
        ["apis", group] => match DISCOVERY.group(group) {
            Some(doc) => object_response(StatusCode::OK, &doc, ctx.pretty),
            None => plain_not_found(),
        },
        ["apis", group, version] => match DISCOVERY.group_version(group, version) {
            Some(gv) => object_response(StatusCode::OK, &DISCOVERY.resource_list(gv), ctx.pretty),
            None => plain_not_found(),
        },
        ["openapi", "v3"] => object_response(StatusCode::OK, &crate::openapi::index(), ctx.pretty),
        ["openapi", "v3", rest @ ..] => match crate::openapi::group_version(&rest.join("/")) {
            Some(doc) => object_response(StatusCode::OK, &doc, ctx.pretty),
            None => plain_not_found(),
        },
        // Service-account issuer discovery: the document of `pkg/serviceaccount/
        // openidmetadata.go` served by `pkg/routes/openidmetadata.go` (compact JSON,
        // `Cache-Control: public, max-age=3600`, GET only). The JWKS URI is built from the advertised address,
        // as kube-apiserver does when `--service-account-jwks-uri` is unset.
        [".well-known", "openid-configuration"] => {
            let config = json!({
                "issuer": crate::tokens::ISSUER,
                "jwks_uri": format!("https://{}/openid/v1/jwks", state.server_address),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            });
            oidc_response("application/json", &config)
        }
        // Listed by `/` as upstream lists it, but not modelled: a clear error, never a
        // made-up answer.
        ["metrics", ..] => error_response(
            &ApiError {
                code: 501,
                reason: "NotImplemented",
                message: format!("the embedded cluster does not serve {path} yet"),
                details: None,
            },
            ctx.pretty,
        ),
        _ => plain_not_found(),
    }
}

fn oidc_response(content_type: &'static str, body: &Value) -> Response {
    // `json.Marshal` written as is: compact, no trailing newline.
    let mut r = base_response(
        StatusCode::OK,
        content_type,
        Bytes::from(serde_json::to_vec(body).expect("values serialize")),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// The sorted path list `/` serves (`routes/index.go`, `ListedPathProvider`).
fn root_paths() -> Vec<String> {
    let mut paths = crate::discovery::DISCOVERY.api_paths();
    paths.extend(
        [
            "/.well-known/openid-configuration",
            "/metrics",
            "/openapi/v3",
            "/openapi/v3/",
            "/openid/v1/jwks",
            "/version",
        ]
        .map(String::from),
    );
    paths.extend(health::paths());
    paths.sort();
    paths.dedup();
    paths
}

/// The body of a request, at most 3 MiB (`apiserver` `MaxRequestBodyBytes`).
pub(crate) async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    const LIMIT: usize = 3 * 1024 * 1024;
    axum::body::to_bytes(req.into_body(), LIMIT)
        .await
        .map_err(|_| ApiError {
            code: 413,
            reason: "RequestEntityTooLarge",
            message: "Request entity too large: limit is 3145728".into(),
            details: None,
        })
}
