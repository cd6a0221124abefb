//! Writing answers as upstream writes them: the negotiated encoding (JSON, pretty or
//! compact, YAML, or protobuf), `Status` bodies for errors, the headers every answer carries
//! (`Cache-Control`, `Audit-Id`), Go's plain `404 page not found`, and `Warning` headers.

use super::Ctx;
use super::negotiate::{self, Endpoint, Media, Output};
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

/// An object in the encoding the request negotiates (`negotiate::negotiate`): protobuf
/// when the object's type is in the table, YAML, or JSON. The resource handlers refuse
/// what they cannot answer before this (`resource_output`); anything else that reaches
/// here unnegotiated is answered in JSON.
pub(crate) fn respond(ctx: &Ctx, status: StatusCode, v: &Value) -> Response {
    let out = negotiate::negotiate(&ctx.accept, offered(v), Endpoint::Resource);
    encode(ctx.pretty, status, v, out)
}

/// A document written with `responsewriters.WriteObjectNegotiated` under
/// `DefaultEndpointRestrictions`, as the discovery handlers write theirs
/// (apiserver `pkg/endpoints/discovery/`): no conversion, and when nothing acceptable is
/// offered, the 406 `Status` as raw JSON.
pub(crate) fn respond_negotiated(ctx: &Ctx, v: &Value) -> Response {
    match negotiate::negotiate(&ctx.accept, offered(v), Endpoint::Default) {
        Some(out) => encode(ctx.pretty, StatusCode::OK, v, Some(out)),
        None => {
            let e = negotiate::not_acceptable();
            object_response(StatusCode::NOT_ACCEPTABLE, &e.to_status(), true)
        }
    }
}

/// Protobuf is offered for the types the table knows (custom resources have none).
fn offered(v: &Value) -> &'static [Media] {
    match proto_type(v) {
        Some(_) => Media::BUILT_IN,
        None => Media::CUSTOM,
    }
}

/// The object's type in the table, by its `apiVersion` and `kind`.
fn proto_type(v: &Value) -> Option<crate::schema::Type> {
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    crate::schema::SCHEMA.object_type(api_version, kind)
}

/// `v` written as negotiated; JSON (pretty if the request or its media range asks) for
/// nothing negotiated, and for an object protobuf cannot encode.
fn encode(pretty: bool, status: StatusCode, v: &Value, out: Option<Output>) -> Response {
    let pretty = pretty || out.is_some_and(|o| o.pretty);
    match out.map(|o| o.media) {
        Some(Media::Yaml) => yaml_response(status, v),
        Some(Media::Protobuf) => {
            proto_response(status, v).unwrap_or_else(|| object_response(status, v, pretty))
        }
        Some(Media::Json) | None => object_response(status, v, pretty),
    }
}

/// The object in its `k8s\0` protobuf envelope, if its type is in the table.
fn proto_response(status: StatusCode, v: &Value) -> Option<Response> {
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let raw = crate::schema::proto::encode(&proto_type(v)?, v).ok()?;
    let body = crate::schema::proto::envelope(api_version, kind, &raw);
    Some(base_response(
        status,
        Media::Protobuf.content_type(),
        Bytes::from(body),
    ))
}

/// The object as YAML (`crate::schema::yaml`). When goyaml.v2 cannot read the JSON back,
/// upstream's `SerializeObject` (apiserver `pkg/endpoints/handlers/responsewriters/
/// writers.go`) answers the error instead, as `ErrorToAPIStatus` makes it of a plain
/// error (a 500 without a reason) and in the same encoding, keeping an error's own code.
fn yaml_response(status: StatusCode, v: &Value) -> Response {
    match crate::schema::yaml::json_to_yaml(v) {
        Ok(text) => base_response(status, Media::Yaml.content_type(), Bytes::from(text)),
        Err(message) => {
            let failed = serde_json::json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "code": 500,
            });
            let status = if status.as_u16() < 400 {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                status
            };
            let text = crate::schema::yaml::to_yaml(&failed);
            base_response(status, Media::Yaml.content_type(), Bytes::from(text))
        }
    }
}

/// An error as a `Status` in the negotiated encoding (`responsewriters.ErrorNegotiated`:
/// `DefaultEndpointRestrictions`, so no conversion); pretty JSON (`WriteRawJSON`) when the
/// request accepts nothing the server writes.
pub(crate) fn respond_error(ctx: &Ctx, e: &ApiError) -> Response {
    error_response(e, &ctx.accept, ctx.pretty)
}

/// An error as `respond_error` writes it, for the filters before a handler, which have
/// the request's `Accept` and `pretty` but no `Ctx`: the authentication, authorization
/// and impersonation filters answer through `ErrorNegotiated` with the built-in codecs
/// too (apiserver `pkg/endpoints/filters/authentication.go`, `unauthorizedHandler`;
/// `responsewriters.Forbidden`).
pub(crate) fn error_response(e: &ApiError, accept: &str, pretty: bool) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let v = e.to_status();
    let r = match negotiate::negotiate(accept, offered(&v), Endpoint::Default) {
        Some(out) => encode(pretty, status, &v, Some(out)),
        None => object_response(status, &v, true),
    };
    with_nosniff(r, e)
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
