//! Plain-text answers of the node's HTTPS server, as the kubelet writes its refusals
//! (go-restful's `WriteError`, `WriteErrorString`).

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};

/// A response body: whole, or streamed (a followed log).
pub(crate) type Body = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// The kubelet's answer for a pod it does not run (`pkg/kubelet/server/server.go`:
/// `getContainerLogs` names the pod, the streaming handlers do not).
pub(crate) fn pod_not_found(named: Option<&str>) -> Response<Body> {
    let message = match named {
        Some(pod) => format!("pod \"{pod}\" does not exist"),
        None => "pod does not exist".to_string(),
    };
    text(StatusCode::NOT_FOUND, &message)
}

/// A plain-text answer, as go-restful's `WriteError` writes one (the message alone).
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(BodyExt::boxed_unsync(Full::new(Bytes::from(
        body.to_string(),
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// What Go's `http.Error` writes: the message and a newline, as plain text, not to be
/// sniffed (`net/http/server.go`).
pub(crate) fn http_error(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = text(status, &format!("{message}\n"));
    response.headers_mut().insert(
        "X-Content-Type-Options",
        http::HeaderValue::from_static("nosniff"),
    );
    response
}
