//! Service-account issuer discovery (`pkg/routes/openidmetadata.go`): the OpenID
//! configuration of `pkg/serviceaccount/openidmetadata.go` and the JWKS with the signing
//! key, compact JSON with `Cache-Control: public, max-age=3600`, GET only (other methods:
//! `http.Error(w, "<METHOD> method is not allowed", 405)`).

use super::request::ApiRequest;
use super::respond::{base_response, respond_error};
use crate::State;
use crate::status::ApiError;
use axum::extract::State as Shared;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

fn method_not_allowed(method: &Method) -> Response {
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

fn get_only(req: &ApiRequest) -> Option<Response> {
    (!matches!(req.parts.method, Method::GET | Method::HEAD))
        .then(|| method_not_allowed(&req.parts.method))
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

/// `/.well-known/openid-configuration`. The JWKS URI is built from the advertised
/// address (`https://10.42.0.1:6443` on k3s's node), as kube-apiserver does when
/// `--service-account-jwks-uri` is unset.
pub(crate) async fn configuration(Shared(state): Shared<Arc<State>>, req: ApiRequest) -> Response {
    if let Some(r) = get_only(&req) {
        return r;
    }
    let config = json!({
        "issuer": crate::tokens::ISSUER,
        "jwks_uri": format!("https://{}/openid/v1/jwks", state.server_address),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    oidc_response("application/json", &config)
}

/// `/openid/v1/jwks`: the signing key, which may still be generating.
pub(crate) async fn jwks(Shared(state): Shared<Arc<State>>, req: ApiRequest) -> Response {
    if let Some(r) = get_only(&req) {
        return r;
    }
    match state.keys.get().await {
        Ok(key) => oidc_response("application/jwk-set+json", &json!({"keys": [key.jwk()]})),
        Err(e) => respond_error(&req.ctx, &ApiError::internal(e)),
    }
}
