//! Writing answers as upstream writes them: the negotiated encoding (JSON, pretty or
//! compact, or protobuf), `Status` bodies for errors, the headers every answer carries
//! (`Cache-Control`, `Audit-Id`), Go's plain `404 page not found`, and `Warning` headers.

use super::{Ctx, negotiate};
use crate::registry::WriteOutcome;
use crate::status::ApiError;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;

pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

pub(crate) fn base_response(
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

/// A JSON object, pretty or compact as negotiated.
pub(crate) fn object_response(status: StatusCode, v: &Value, pretty: bool) -> Response {
    base_response(status, "application/json", negotiate::encode(v, pretty))
}

/// An object in the negotiated encoding: protobuf when the client prefers it and the
/// object's type is in the table, JSON otherwise.
pub(crate) fn respond(ctx: &Ctx, status: StatusCode, v: &Value) -> Response {
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

/// An error as a `Status` in the negotiated encoding.
pub(crate) fn respond_error(ctx: &Ctx, e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_nosniff(respond(ctx, status, &e.to_status()), e)
}

/// An error as a JSON `Status`, for answers written before negotiation (authentication).
pub(crate) fn error_response(e: &ApiError, pretty: bool) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_nosniff(object_response(status, &e.to_status(), pretty), e)
}

/// Forbidden answers carry `X-Content-Type-Options: nosniff` (`responsewriters.Forbidden`).
fn with_nosniff(mut r: Response, e: &ApiError) -> Response {
    if e.code == 403 {
        r.headers_mut().insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
    }
    r
}

/// `WriteRawJSON`: always pretty.
pub(crate) fn raw_json(v: &Value) -> Response {
    base_response(StatusCode::OK, "application/json", negotiate::pretty(v))
}

/// Go's `http.NotFound`: plain text, for paths no API handler owns.
pub(crate) fn plain_not_found() -> Response {
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

/// The write's warnings as `Warning` headers: `299 - "<text>"`, as `warning.AddWarning`
/// writes them.
pub(crate) fn with_warnings(mut r: Response, outcome: &WriteOutcome) -> Response {
    for w in &outcome.warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {}", crate::status::quote(w))) {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}
