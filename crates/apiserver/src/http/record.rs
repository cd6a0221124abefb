//! The server's API traffic as it happened, for the differential suite: every exchange on
//! the TCP port and the pods' socket — request, caller, answer — in the order answered.
//! The suite replays a lab's traffic against the reference control plane and compares the
//! answers. In-process clients (the kubelet) are not recorded: they are the node, whose
//! work depends on running pods.

use super::PeerIdentity;
use crate::user::UserInfo;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};

/// Collects exchanges when given to `Config::recorder`; `take` hands them over.
#[derive(Debug, Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Exchange>>>);

impl Recorder {
    /// The exchanges recorded so far, oldest first; the recorder starts again empty.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }

    fn push(&self, exchange: Exchange) {
        self.0.lock().expect("not poisoned").push(exchange);
    }
}

/// Who sent a recorded request, as the transport and its headers said.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// A verified client certificate's user.
    Certificate(UserInfo),
    /// `Authorization: Bearer <token>`, whatever the token turned out to be.
    Bearer(String),
    /// Neither.
    Anonymous,
}

/// One request and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    /// The request's headers but `Authorization` and the connection's own (`Host`,
    /// `Content-Length`, `Connection`...).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub caller: Caller,
    pub status: u16,
    pub content_type: String,
    /// The answer's body; `None` for a stream (a watch, a followed log, an upgrade to
    /// exec or attach), which is not collected.
    pub answer: Option<Vec<u8>>,
}

/// Headers a replay must not copy: the caller's credentials and the connection's own.
const NOT_COPIED: [&str; 7] = [
    "authorization",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "te",
];

/// The middleware: records the exchange once answered (streams without their body).
pub async fn record(State(recorder): State<Recorder>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let caller = match parts.extensions.get::<PeerIdentity>() {
        Some(PeerIdentity(Some(user))) => Caller::Certificate((**user).clone()),
        _ => match parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            Some(token) => Caller::Bearer(token.trim().to_string()),
            None => Caller::Anonymous,
        },
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !NOT_COPIED.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let query = parts.uri.query().unwrap_or("");
    let streams = parts.headers.contains_key(http::header::UPGRADE)
        || query
            .split('&')
            .any(|kv| kv == "watch=true" || kv == "watch=1" || kv == "follow=true");
    // The body is read whole here, as the handlers read it; a body that cannot be read
    // reaches them empty, and the recording says so by its empty body.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: bytes.to_vec(),
        caller,
        status: 0,
        content_type: String::new(),
        answer: None,
    };
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    exchange.status = response.status().as_u16();
    exchange.content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if streams || exchange.status == 101 {
        recorder.push(exchange);
        return response;
    }
    let (parts, body) = response.into_parts();
    let answer = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    exchange.answer = Some(answer.to_vec());
    recorder.push(exchange);
    Response::from_parts(parts, axum::body::Body::from(answer))
}
