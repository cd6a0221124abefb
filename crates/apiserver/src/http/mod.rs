//! The HTTP layer: an axum `Router` of upstream's routes — discovery, health, issuer
//! discovery, version, and the resource handlers — behind upstream's handler chain as
//! tower layers (`chain`: request info, authentication, impersonation, authorization).
//! Every API handler takes one extractor (`request::ApiRequest`) and writes its answer as
//! upstream does (`respond`).
//!
//! `router(state)` is the boundary: tests drive it in-process through `kube::Client`, and
//! `serve` puts it behind TLS on TCP and a Unix socket. Only this module knows HTTP types.

mod chain;
mod discovery;
mod exec;
mod health;
mod negotiate;
mod oidc;
mod openapi;
pub mod record;
mod request;
pub mod request_info;
mod resources;
mod respond;
mod reviews;
pub mod serve;

pub use chain::PeerIdentity;
pub use request::Ctx;
pub use request_info::RequestInfo;

use crate::State;
use axum::Router;
use axum::routing::any;
use std::sync::Arc;

/// The API server's router: its routes, then the handler chain around all of them (the
/// last layer added runs first), so that even a path nobody serves is authenticated
/// before it is refused.
pub fn router(state: Arc<State>) -> Router {
    let mut routes = Router::new().route("/", any(discovery::index));
    for (path, handler) in [
        ("/version", any(discovery::version)),
        ("/api", any(discovery::api)),
        ("/api/v1", any(discovery::core_v1)),
        ("/apis", any(discovery::apis)),
        ("/apis/{group}", any(discovery::group)),
        ("/apis/{group}/{version}", any(discovery::group_version)),
    ] {
        // A trailing slash names the same document.
        routes = routes
            .route(path, handler.clone())
            .route(&format!("{path}/"), handler);
    }
    for endpoint in health::ENDPOINTS {
        routes = routes
            .route(&format!("/{endpoint}"), any(health::route))
            .route(&format!("/{endpoint}/{{*check}}"), any(health::route));
    }
    routes
        .route("/openapi/v3", any(openapi::v3_index))
        .route("/openapi/v3/", any(openapi::v3_document))
        .route("/openapi/v3/{*path}", any(openapi::v3_document))
        .route("/metrics", any(discovery::not_served))
        .route("/metrics/{*path}", any(discovery::not_served))
        .route("/openapi/v2", any(openapi::v2))
        .route(
            "/.well-known/openid-configuration",
            any(oidc::configuration),
        )
        .route("/openid/v1/jwks", any(oidc::jwks))
        .route("/api/v1/{*path}", any(resources::handle))
        // Another core version: the `/api` web service matches and has no route for it.
        .route(
            "/api/{*path}",
            any(|req: request::ApiRequest| async move { discovery::unknown_version("", &req.ctx) }),
        )
        .route("/apis/{group}/{version}/{*path}", any(resources::handle))
        .fallback(|| async { respond::plain_not_found() })
        .layer(chain::HandlerChain(state.clone()))
        .with_state(state)
}
