//! `/openapi/v2`, the `/openapi/v3` index and its documents (`crate::openapi`), negotiated
//! and cached as upstream serves them: `k8s.io/kube-openapi/pkg/handler/handler.go`
//! (`RegisterOpenAPIVersionedService`, v2), `pkg/handler3/handler.go` (`HandleGroupVersion`,
//! each v3 document) and `kube-aggregator pkg/controllers/openapiv3/aggregator/
//! aggregator.go` (`handleDiscovery`, the index; `handleGroupVersion`, 404 for a path the
//! index does not list).
//!
//! Each document is served as JSON or in its protobuf form
//! (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, its v3 sibling, and the
//! older `...spec.v2.v1.0+protobuf` names), under the same ETag.

use super::negotiate::{Clause, parse_accept};
use super::request::ApiRequest;
use super::respond::base_response;
use crate::openapi::{DOCUMENTS, Document, server_relative_url};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

/// `/openapi/v3`: the aggregator serves the merged index with `http.ServeContent` under
/// the name `/openapi/v3`, whose extension says nothing, so Go sniffs the JSON as text.
pub(crate) async fn v3_index(_req: ApiRequest) -> Response {
    base_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        Bytes::from_static(&DOCUMENTS.index),
    )
}

/// `/openapi/v3/<path>`: the document the index lists as `<path>`.
pub(crate) async fn v3_document(req: ApiRequest) -> Response {
    let path = req
        .parts
        .uri
        .path()
        .strip_prefix("/openapi/v3/")
        .unwrap_or("");
    let Some(doc) = DOCUMENTS.v3.get(path) else {
        return empty(StatusCode::NOT_FOUND);
    };
    serve(&req, doc, Some(path))
}

/// `/openapi/v2`.
pub(crate) async fn v2(req: ApiRequest) -> Response {
    serve(&req, &DOCUMENTS.v2, None)
}

/// A document in the first media type of the request's `Accept` that the handler offers
/// (JSON, or the protobuf form under its two names). `v3_path` is set for a v3 document,
/// whose `?hash=` must be its own or is redirected there.
fn serve(req: &ApiRequest, doc: &'static Document, v3_path: Option<&str>) -> Response {
    let accept = req
        .parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.is_empty())
        .unwrap_or("*/*");
    let (proto, proto_deprecated) = if v3_path.is_some() {
        (
            "com.github.proto-openapi.spec.v3@v1.0+protobuf",
            "com.github.proto-openapi.spec.v3.v1.0+protobuf",
        )
    } else {
        (
            "com.github.proto-openapi.spec.v2@v1.0+protobuf",
            "com.github.proto-openapi.spec.v2.v1.0+protobuf",
        )
    };
    let offered = ["json", proto, proto_deprecated];
    let chosen = parse_accept(accept)
        .into_iter()
        .find_map(|Clause { ty, sub, .. }| {
            (ty == "application" || ty == "*")
                .then(|| {
                    offered
                        .iter()
                        .find(|offer| sub == "*" || sub == **offer)
                        .copied()
                })
                .flatten()
        });
    let mut response = match chosen {
        None => empty(StatusCode::NOT_ACCEPTABLE),
        Some(subtype) => {
            // Both protobuf names answer with the newer one.
            let (content_type, bytes) = if subtype == "json" {
                ("application/json", &doc.bytes)
            } else if v3_path.is_some() {
                (
                    "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
                    &doc.proto,
                )
            } else {
                (
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    &doc.proto,
                )
            };
            let etag = format!("\"{}\"", doc.hash);
            let if_none_match = req.parts.headers.get(header::IF_NONE_MATCH);
            if let (Some(path), Some(hash)) = (v3_path, query_hash(req))
                && hash != doc.hash
            {
                let mut r = base_response(StatusCode::MOVED_PERMANENTLY, content_type, "");
                let location = server_relative_url(path, &doc.hash);
                r.headers_mut().insert(
                    header::LOCATION,
                    HeaderValue::from_str(&location).expect("a path is a valid header"),
                );
                set(&mut r, header::ETAG, &etag);
                r
            } else if if_none_match.is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
                let mut r = empty(StatusCode::NOT_MODIFIED);
                set(&mut r, header::ETAG, &etag);
                r
            } else {
                let mut r = base_response(StatusCode::OK, content_type, Bytes::from_static(bytes));
                set(&mut r, header::ETAG, &etag);
                set(&mut r, header::ACCEPT_RANGES, "bytes");
                if v3_path.is_some() && query_hash(req).is_some() {
                    set(&mut r, header::CACHE_CONTROL, "public, immutable");
                }
                r
            }
        }
    };
    set(&mut response, header::VARY, "Accept");
    response
}

pub(super) fn set(r: &mut Response, name: header::HeaderName, value: &str) {
    r.headers_mut().insert(
        name,
        HeaderValue::from_str(value).expect("a valid header value"),
    );
}

/// An answer with no body and no content type, as Go's `w.WriteHeader(code)` writes it.
pub(super) fn empty(status: StatusCode) -> Response {
    let mut r = base_response(status, "text/plain", "");
    r.headers_mut().remove(header::CONTENT_TYPE);
    if status == StatusCode::NOT_MODIFIED {
        // No length either: Go's server gives none to a status that has no body
        // (`net/http`, `bodyAllowedForStatus`), and a body of no known size keeps hyper
        // from writing `content-length: 0`.
        *r.body_mut() = axum::body::Body::from_stream(futures::stream::empty::<
            Result<Bytes, std::convert::Infallible>,
        >());
    }
    r
}

/// The `hash` query parameter, if not empty (`r.URL.Query().Get("hash")`).
fn query_hash(req: &ApiRequest) -> Option<&str> {
    req.ctx
        .query
        .iter()
        .find(|(k, _)| k == "hash")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::negotiate::parse_accept;

    fn ranges(header: &str) -> Vec<String> {
        parse_accept(header)
            .into_iter()
            .map(|c| format!("{}/{}", c.ty, c.sub))
            .collect()
    }

    #[test]
    fn accept_is_ordered_as_goautoneg_orders_it() {
        assert_eq!(
            ranges(
                "application/json;q=0.5, application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
            ),
            [
                "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
                "application/json"
            ]
        );
        assert_eq!(ranges("*/*, application/json"), ["application/json", "*/*"]);
        assert_eq!(ranges("*"), ["*/*"]);
        assert_eq!(ranges("text, a/b/c, text/html"), ["text/html"]);
    }
}
