//! Watches: `?watch=true` on a collection or a named object, as
//! `apiserver pkg/endpoints/handlers/watch.go` frames them — one JSON event per line or
//! length-prefixed protobuf events (`Framing`), the
//! initial state as synthetic `ADDED` events (or replayed from a resourceVersion), optional
//! bookmarks, and a 410 `ERROR` event when the client falls too far behind.

use super::super::negotiate::{self, Media};
use super::super::request::{ApiRequest, Ctx};
use super::super::request_info::parse_bool;
use crate::State;
use crate::discovery::ApiResource;
use crate::object;
use crate::registry::Target;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Event, resource_key};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderValue;
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Default watch length when the client gives none (`--min-request-timeout`, 1800 s).
const DEFAULT_WATCH_SECONDS: u64 = 1800;
/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

/// What the watch request asks for.
struct Options {
    labels: LabelSelector,
    fields: FieldSelector,
    since: u64,
    send_initial: Option<bool>,
    bookmarks: bool,
    timeout: Duration,
}

impl Options {
    fn parse(ctx: &Ctx, t: &Target<'_>) -> Result<Options, ApiError> {
        let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?;
        let mut fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""), t.res)?;
        if !t.name.is_empty() {
            fields.require_name(t.name);
        }
        let since = match ctx.param("resourceVersion").unwrap_or("") {
            "" => 0,
            rv => rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        };
        Ok(Options {
            labels,
            fields,
            since,
            send_initial: ctx.param("sendInitialEvents").and_then(parse_bool),
            bookmarks: ctx
                .param("allowWatchBookmarks")
                .and_then(parse_bool)
                .unwrap_or(false),
            timeout: Duration::from_secs(
                ctx.param("timeoutSeconds")
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(DEFAULT_WATCH_SECONDS),
            ),
        })
    }

    fn matches(&self, namespace: &str, o: &Value) -> bool {
        (namespace.is_empty() || object::meta_str(o, "namespace") == namespace)
            && self.labels.matches(&object::labels(o))
            && self.fields.matches(o)
    }
}

/// How a watch's events are written, by the stream serializer of the negotiated media type
/// (`k8s.io/apimachinery/pkg/runtime/serializer/codec_factory.go`): JSON, one event per
/// line; protobuf, each `WatchEvent` raw (no envelope) behind its length as four big-endian
/// bytes (`protobuf.LengthDelimitedFramer`), its object in the full `k8s\0` envelope
/// (`handlers/watch.go`, the embedded encoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Json,
    Protobuf,
}

impl Framing {
    /// The answer's content type: a stream type for anything but JSON
    /// (`handlers/watch.go`, `serveWatch`).
    fn content_type(self) -> &'static str {
        match self {
            Framing::Json => "application/json",
            Framing::Protobuf => "application/vnd.kubernetes.protobuf;stream=watch",
        }
    }
}

fn watch_line(framing: Framing, kind: &str, obj: &Value) -> Bytes {
    match framing {
        Framing::Json => {
            let mut s = serde_json::to_string(&json!({"type": kind, "object": obj})).expect("json");
            s.push('\n');
            Bytes::from(s)
        }
        Framing::Protobuf => proto_event(kind, obj).unwrap_or_else(|| {
            let status = ApiError::internal(format!(
                "unable to encode watch object {}: no protobuf schema",
                obj.get("kind").and_then(Value::as_str).unwrap_or("")
            ))
            .to_status();
            proto_event("ERROR", &status).unwrap_or_default()
        }),
    }
}

/// One protobuf watch frame, if the object's type is in the table.
fn proto_event(kind: &str, obj: &Value) -> Option<Bytes> {
    use crate::schema::proto;
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let type_kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let ty = crate::schema::SCHEMA.object_type(api_version, type_kind)?;
    let raw = proto::encode(&ty, obj).ok()?;
    let object = proto::envelope(api_version, type_kind, &raw);
    let event = proto::watch_event(kind, &object);
    let mut frame = Vec::with_capacity(4 + event.len());
    frame.extend_from_slice(&(event.len() as u32).to_be_bytes());
    frame.extend_from_slice(&event);
    Some(Bytes::from(frame))
}

/// A `BOOKMARK` event at `rv`; the one that ends the initial events is annotated so.
fn bookmark(framing: Framing, res: &ApiResource, rv: u64, end_of_initial: bool) -> Bytes {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    meta.insert("creationTimestamp".into(), Value::Null);
    if end_of_initial {
        meta.insert(
            "annotations".into(),
            json!({"k8s.io/initial-events-end": "true"}),
        );
    }
    watch_line(
        framing,
        "BOOKMARK",
        &json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": meta}),
    )
}

pub(super) fn watch(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    // The list's negotiation first (`handlers/get.go`, `ListResource`), then a stream
    // serializer for what it chose (`NegotiateOutputMediaTypeStream`, `handlers/watch.go`):
    // YAML has none.
    super::read::validate_list_options(&req.ctx)?;
    let framing = match super::read::accepted(&req.ctx, t.res, true)?.media {
        Media::Json => Framing::Json,
        Media::Yaml => return Err(negotiate::stream_not_acceptable()),
        Media::Protobuf => Framing::Protobuf,
    };
    let opts = Options::parse(&req.ctx, t)?;
    let started = match state.registry.watch(opts.since) {
        Ok(started) => started,
        // A watch the cache cannot serve is answered by a watcher whose only event is the
        // error (`k8s.io/apiserver/pkg/storage/cacher/cacher.go`, `newErrWatcher`).
        Err(e) if e.code == 410 => {
            let error = watch_line(framing, "ERROR", &e.to_status());
            return Ok(stream(futures::stream::iter([Ok(error)]), framing));
        }
        Err(e) => return Err(e),
    };
    let key = resource_key(t.res.group, t.res.resource());
    // The initial state: synthetic ADDED events for "" and "0" (unless asked not to),
    // else the events after `since`.
    let mut initial: Vec<Bytes> = Vec::new();
    let mut start_rv = started.rv;
    if opts.since == 0 && opts.send_initial != Some(false) {
        let (items, rv) = state.registry.list(t.res, Some(t.namespace));
        start_rv = rv;
        for o in items.iter().filter(|o| opts.matches(t.namespace, o)) {
            initial.push(watch_line(framing, "ADDED", o));
        }
    } else {
        for e in started
            .replay
            .iter()
            .filter(|e| e.resource == key && opts.matches(t.namespace, &e.object))
        {
            initial.push(watch_line(framing, e.kind.as_str(), &e.object));
        }
    }
    if opts.send_initial == Some(true) && opts.bookmarks {
        initial.push(bookmark(framing, t.res, start_rv, true));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let follow = Follow {
        res: t.res.clone(),
        namespace: t.namespace.to_string(),
        key,
        start_rv,
        opts,
        framing,
    };
    tokio::spawn(follow.run(started.live, tx));
    let head = futures::stream::iter(initial.into_iter().map(Ok::<_, std::convert::Infallible>));
    let tail = futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    );
    Ok(stream(futures::StreamExt::chain(head, tail), framing))
}

/// A watch's answer: its events as they come.
fn stream<S>(events: S, framing: Framing) -> Response
where
    S: futures::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static,
{
    let mut r = Response::new(Body::from_stream(events));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(framing.content_type()),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    h.insert(
        "Audit-Id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid"),
    );
    r
}

/// The live part of a watch, after its initial events.
struct Follow {
    res: ApiResource,
    namespace: String,
    key: String,
    start_rv: u64,
    opts: Options,
    framing: Framing,
}

impl Follow {
    async fn run(self, mut live: broadcast::Receiver<Event>, tx: mpsc::Sender<Bytes>) {
        let deadline = tokio::time::Instant::now() + self.opts.timeout;
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        let mut last_rv = self.start_rv;
        loop {
            let line = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tick.tick(), if self.opts.bookmarks => {
                    bookmark(self.framing, &self.res, last_rv, false)
                }
                ev = live.recv() => match ev {
                    Ok(e) if e.rv <= self.start_rv || e.resource != self.key => continue,
                    Ok(e) => {
                        last_rv = e.rv;
                        if !self.opts.matches(&self.namespace, &e.object) {
                            continue;
                        }
                        watch_line(self.framing, e.kind.as_str(), &e.object)
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // The client fell too far behind; end the watch so it re-lists,
                        // as upstream does when its watch cache overflows.
                        let status = ApiError::gone("too old resource version").to_status();
                        let _ = tx.send(watch_line(self.framing, "ERROR", &status)).await;
                        break;
                    }
                    Err(_) => break,
                },
            };
            if tx.send(line).await.is_err() {
                break;
            }
        }
    }
}
