//! The discovery routes: `/` (the path index, `routes/index.go`), `/version`
//! (`routes/version.go`), `/api` and `/apis` in their legacy and aggregated forms with the
//! group and group-version documents (`endpoints/discovery`, the aggregator's
//! `handler_apis.go`), and `/metrics` (listed, not modelled: 501).
//!
//! The index and `/apis` answer every method alike, as their handlers do; `/version` and
//! the go-restful discovery web services take GET only, and the server's
//! `serviceErrorHandler` answers other methods with a 405 `Status`.

use super::Ctx;
use super::request::ApiRequest;
use super::respond::{
    base_response, error_response, plain_not_found, raw_json, respond_error, respond_negotiated,
};
use super::{health, negotiate};
use crate::State;
use crate::discovery::DISCOVERY;
use crate::status::ApiError;
use axum::extract::State as Shared;
use axum::response::Response;
use http::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

/// Only GET (and HEAD) reach a go-restful route's handler.
fn get_only(req: &ApiRequest) -> Option<Response> {
    (!matches!(req.parts.method, Method::GET | Method::HEAD))
        .then(|| respond_error(&req.ctx, &ApiError::method_not_allowed_on_route()))
}

/// A go-restful discovery route's answer (`/api`, `/api/v1`, `/apis/<group>/<version>`):
/// the route produces the built-in codecs' media types, so go-restful refuses a request
/// that accepts none of them before the handler negotiates (`negotiate::route_refusal`).
fn restful_route(req: &ApiRequest, doc: &Value) -> Response {
    const PRODUCES: &[&str] = &[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    match negotiate::route_refusal(&req.ctx.accept, PRODUCES) {
        Some(e) => respond_error(&req.ctx, &e),
        None => respond_negotiated(&req.ctx, doc),
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

/// One aggregated discovery document as served: its body and its ETag, the upper-case
/// hex SHA-512 of the list as `encoding/json` marshals it, without its TypeMeta
/// (`k8s.io/apiserver/pkg/endpoints/discovery/aggregated/etag.go`, `calculateETag`, on the
/// list `handler.go`'s `fetchFromCache` builds and keeps).
struct Aggregated {
    body: bytes::Bytes,
    etag: String,
}

impl Aggregated {
    fn of(v: Value) -> Aggregated {
        use sha2::Digest;
        let body = negotiate::compact(&v);
        let mut hashed = v;
        if let Some(o) = hashed.as_object_mut() {
            o.shift_remove("kind");
            o.shift_remove("apiVersion");
        }
        // `json.Marshal` writes no newline after the value; the encoder the body is
        // written with does.
        let marshalled = negotiate::compact(&hashed);
        let digest = sha2::Sha512::digest(marshalled.strip_suffix(b"\n").unwrap_or(&marshalled));
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        Aggregated {
            body,
            etag: format!("\"{hex}\""),
        }
    }
}

/// The legacy group's document (`/api`) and the groups' (`/apis`): the table is fixed for
/// the process, so each is built and hashed once, as upstream caches them.
static AGGREGATED: std::sync::LazyLock<[Aggregated; 2]> = std::sync::LazyLock::new(|| {
    [
        Aggregated::of(DISCOVERY.aggregated(true)),
        Aggregated::of(DISCOVERY.aggregated(false)),
    ]
});

/// Aggregated discovery as `ServeHTTPWithETag` serves it (`etag.go`): the ETag, with
/// `Vary: Accept` and `Cache-Control: public`; a request whose `If-None-Match` is that
/// ETag gets 304 with no body.
fn aggregated_response(req: &ApiRequest, legacy: bool) -> Response {
    let doc = &AGGREGATED[usize::from(!legacy)];
    let cached = req
        .parts
        .headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|h| h.as_bytes() == doc.etag.as_bytes());
    let mut r = if cached {
        super::openapi::empty(StatusCode::NOT_MODIFIED)
    } else {
        base_response(
            StatusCode::OK,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            doc.body.clone(),
        )
    };
    super::openapi::set(&mut r, header::ETAG, &doc.etag);
    super::openapi::set(&mut r, header::VARY, "Accept");
    super::openapi::set(&mut r, header::CACHE_CONTROL, "public");
    r
}

/// `/`: the sorted path list (`ListedPathProvider`).
pub(crate) async fn index(_req: ApiRequest) -> Response {
    let mut paths = DISCOVERY.api_paths();
    paths.extend(
        [
            "/.well-known/openid-configuration",
            "/metrics",
            "/metrics/slis",
            "/openapi/v2",
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
    raw_json(&json!({ "paths": paths }))
}

/// `/version`: go-restful's route, GET only, producing JSON only (apiserver
/// `pkg/server/routes/version.go`).
pub(crate) async fn version(req: ApiRequest) -> Response {
    if let Some(r) = get_only(&req) {
        return r;
    }
    match negotiate::route_refusal(&req.ctx.accept, &["application/json"]) {
        Some(e) => respond_error(&req.ctx, &e),
        None => raw_json(&crate::version::info()),
    }
}

/// `/api`: the legacy group's versions, or aggregated discovery of it.
pub(crate) async fn api(Shared(state): Shared<Arc<State>>, req: ApiRequest) -> Response {
    if let Some(r) = get_only(&req) {
        return r;
    }
    if wants_aggregated(&req.ctx.accept) {
        return aggregated_response(&req, true);
    }
    restful_route(&req, &DISCOVERY.api_versions(&state.server_address))
}

/// `/api/v1`: the core resources.
pub(crate) async fn core_v1(req: ApiRequest) -> Response {
    if let Some(r) = get_only(&req) {
        return r;
    }
    let gv = DISCOVERY
        .group_version("", "v1")
        .expect("core v1 is served");
    restful_route(&req, &DISCOVERY.resource_list(gv))
}

/// `/apis`: the groups, or aggregated discovery of them (the aggregator's handler, which
/// answers every method).
pub(crate) async fn apis(req: ApiRequest) -> Response {
    if wants_aggregated(&req.ctx.accept) {
        return aggregated_response(&req, false);
    }
    respond_negotiated(&req.ctx, &DISCOVERY.group_list())
}

/// The request path's segments after `/apis`.
fn segments(req: &ApiRequest) -> Vec<&str> {
    req.ctx
        .info
        .path
        .trim_start_matches("/apis")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

/// `/apis/<group>`.
pub(crate) async fn group(req: ApiRequest) -> Response {
    let doc = match segments(&req).as_slice() {
        [group] => DISCOVERY.group(group),
        _ => None,
    };
    match doc {
        Some(doc) => get_only(&req).unwrap_or_else(|| respond_negotiated(&req.ctx, &doc)),
        None => plain_not_found(),
    }
}

/// `/apis/<group>/<version>`.
pub(crate) async fn group_version(req: ApiRequest) -> Response {
    let segments = segments(&req);
    let gv = match segments.as_slice() {
        [group, version] => DISCOVERY.group_version(group, version),
        _ => None,
    };
    match gv {
        Some(gv) => {
            get_only(&req).unwrap_or_else(|| restful_route(&req, &DISCOVERY.resource_list(gv)))
        }
        None => match segments.first() {
            Some(group) => unknown_version(group, &req.ctx),
            None => plain_not_found(),
        },
    }
}

/// A path under a group this server serves, in a version it does not: go-restful finds the
/// group's web service (`/apis/<group>`) and no route in it, and answers through the
/// service error handler with a `Status` (apiserver `pkg/server/handler.go`,
/// `serviceErrorHandler`); under an unknown group no web service matches at all, and Go's
/// plain 404 answers. The core group (`""`, under `/api`) is always served.
pub(crate) fn unknown_version(group: &str, ctx: &Ctx) -> Response {
    if group.is_empty() || DISCOVERY.group(group).is_some() {
        error_response(&ApiError::path_not_found(), &ctx.accept, false)
    } else {
        plain_not_found()
    }
}

/// `/metrics` and `/metrics/slis`: listed by `/` as upstream lists them, but
/// not modelled yet: a clear error, never a made-up answer.
pub(crate) async fn not_served(req: ApiRequest) -> Response {
    respond_error(
        &req.ctx,
        &ApiError {
            code: 501,
            reason: "NotImplemented",
            message: format!(
                "the embedded cluster does not serve {} yet",
                req.ctx.info.path
            ),
            details: None,
        },
    )
}
