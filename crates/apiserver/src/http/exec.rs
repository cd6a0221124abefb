//! `pods/exec` and `pods/attach` over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`), relayed to the
//! attached `PodRuntime`.
//!
//! Framing and status per FIDELITY.md §7 (apimachinery `pkg/util/remotecommand`,
//! `wsstream/conn.go`; kubelet `cri/streaming/remotecommand`): every frame is a channel
//! byte and a payload (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close in v5);
//! an empty frame opens the lowest writable channel; the status frame carries a compact
//! `Status` without kind or apiVersion. v5 goes through the API server's stream
//! translator, v4 straight to the kubelet, which is why their failure messages differ.

use super::Ctx;
use super::request::ApiRequest;
use crate::State;
use crate::rbac::Attributes;
use crate::registry::Target;
use crate::runtime::{AttachRequest, ExecRequest, Remote};
use crate::status::{ApiError, GroupResource};
use axum::extract::FromRequestParts;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

/// A boolean option decoded from the query as the parameter codec decodes it
/// (`k8s.io/apimachinery/pkg/runtime/conversion.go`, `Convert_Slice_string_To_bool`):
/// absent, "0" or "false" in any case is false; anything else, even empty, is true.
fn bool_param(ctx: &Ctx, key: &str) -> bool {
    ctx.param(key)
        .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

use crate::runtime::exit_status_json as status_frame;

/// How a request names a container, checked as upstream checks it: one given must be the
/// pod's; none means the only container, and otherwise a 400 listing the names. The logs
/// list every container (`validateContainer`, init containers first); exec and attach
/// list the containers, then the init containers apart (`streamLocation`); both in
/// `pkg/registry/core/pod/strategy.go`.
fn pick_container(ctx: &Ctx, pod: &Value, name: &str, logs: bool) -> Result<String, ApiError> {
    let names = |list: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    };
    let (init, containers, ephemeral) = (
        names("initContainers"),
        names("containers"),
        names("ephemeralContainers"),
    );
    if let Some(c) = ctx.param("container").filter(|c| !c.is_empty()) {
        let known = init
            .iter()
            .chain(&containers)
            .chain(&ephemeral)
            .any(|n| n == c);
        if !known {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        return Ok(c.to_string());
    }
    match containers.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ if logs => {
            let all: Vec<&String> = init.iter().chain(&containers).chain(&ephemeral).collect();
            let all: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
            Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            )))
        }
        _ => {
            let mut message = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::bad_request(message))
        }
    }
}

/// A pod the scheduler has not bound: exec and attach have no kubelet to reach
/// (`streamLocation`), and its logs are empty (`LogLocation` returns no location).
fn has_host(pod: &Value) -> bool {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
}

/// The pod's uid, which the runtime checks so that a recreated pod of the same name is
/// not mistaken for the old one.
fn pod_uid(pod: &Value) -> String {
    pod.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn runtime(state: &State) -> Result<std::sync::Arc<dyn crate::runtime::PodRuntime>, ApiError> {
    state.runtime.get().cloned().ok_or_else(|| ApiError {
        code: 503,
        reason: "ServiceUnavailable",
        message: "no pod runtime is attached to this cluster".into(),
        details: None,
    })
}

/// `pods/log`: the container's output as `text/plain`, streamed when following.
pub async fn logs(state: &State, ctx: &Ctx, t: &Target<'_>) -> Result<Response, ApiError> {
    let (ns, name) = (t.namespace, t.name);
    // The options are decoded and validated before the pod is looked for
    // (`handlers/get.go` decodes them; `pod/rest/log.go`, `Get`, validates them first).
    let options = LogOptions::decode(ctx)?;
    options.validate(name)?;
    let pod = find_pod(state, ns, name)?;
    let container = pick_container(ctx, &pod, name, true)?;
    if !has_host(&pod) {
        // No location, no stream: 204 (`LocationStreamer.InputStream` returns none, and
        // `handlers/rest.go` `StreamObject` answers No Content).
        let mut r = super::respond::base_response(http::StatusCode::NO_CONTENT, "text/plain", "");
        r.headers_mut().remove(http::header::CONTENT_TYPE);
        return Ok(r);
    }
    // `sinceSeconds` reaches the kubelet as is and is counted from its clock
    // (`kuberuntime/logs`, `NewLogOptions`); the time is taken here, on the same machine.
    let since = match (options.since_seconds, options.since_time) {
        (Some(secs), _) => jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .ok(),
        (None, time) => time,
    };
    let req = crate::runtime::LogRequest {
        namespace: ns.into(),
        pod: name.into(),
        uid: pod_uid(&pod),
        container,
        follow: options.follow,
        previous: options.previous,
        timestamps: options.timestamps,
        tail_lines: options.tail_lines.map(|n| n as usize),
        limit_bytes: options.limit_bytes.map(|n| n as usize),
        since,
    };
    let stream = runtime(state)?
        .logs(req)
        .await
        .map_err(|e| ApiError::bad_request(e.0))?;
    let body = axum::body::Body::from_stream(stream.map(Ok::<_, std::convert::Infallible>));
    Ok(plain_log(body))
}

/// `PodLogOptions` as the query gives them.
struct LogOptions {
    follow: bool,
    previous: bool,
    since_seconds: Option<i64>,
    since_time: Option<jiff::Timestamp>,
    timestamps: bool,
    tail_lines: Option<i64>,
    limit_bytes: Option<i64>,
    stream: Option<String>,
}

impl LogOptions {
    /// Field by field in the struct's order, the first that cannot be read refused with a
    /// 400 in Go's words (the generated `Convert_url_Values_To_v1_PodLogOptions`): numbers
    /// through `strconv.ParseInt`, the time through `metav1.Time.UnmarshalQueryParameter`
    /// (empty or `null` is the zero time).
    fn decode(ctx: &Ctx) -> Result<LogOptions, ApiError> {
        let int = |key: &str| -> Result<Option<i64>, ApiError> {
            ctx.param(key)
                .map(crate::gotime::parse_int64)
                .transpose()
                .map_err(ApiError::bad_request)
        };
        let follow = bool_param(ctx, "follow");
        let previous = bool_param(ctx, "previous");
        let since_seconds = int("sinceSeconds")?;
        let since_time = match ctx.param("sinceTime") {
            None => None,
            Some("" | "null") => Some(jiff::Timestamp::UNIX_EPOCH),
            Some(v) => Some(crate::gotime::parse_rfc3339(v).map_err(ApiError::bad_request)?),
        };
        Ok(LogOptions {
            follow,
            previous,
            since_seconds,
            since_time,
            timestamps: bool_param(ctx, "timestamps"),
            tail_lines: int("tailLines")?,
            limit_bytes: int("limitBytes")?,
            stream: ctx.param("stream").map(str::to_string),
        })
    }

    /// `ValidatePodLogOptions` (`pkg/apis/core/validation/validation.go`), with
    /// `PodLogsQuerySplitStreams` off as v1.33 ships it; refusals are a 422 on
    /// `PodLogOptions` named after the pod.
    fn validate(&self, pod: &str) -> Result<(), ApiError> {
        use crate::status::field;
        let mut causes = Vec::new();
        if let Some(n) = self.tail_lines.filter(|n| *n < 0) {
            causes.push(field::invalid(
                "tailLines",
                &n.to_string(),
                "must be greater than or equal to 0",
            ));
        }
        if let Some(n) = self.limit_bytes.filter(|n| *n < 1) {
            causes.push(field::invalid(
                "limitBytes",
                &n.to_string(),
                "must be greater than 0",
            ));
        }
        match (self.since_seconds, self.since_time) {
            // `field.NewPath("")` prints as `[]`.
            (Some(_), Some(_)) => causes.push(field::forbidden(
                "[]",
                "at most one of `sinceTime` or `sinceSeconds` may be specified",
            )),
            (Some(n), None) if n < 1 => {
                causes.push(field::invalid(
                    "sinceSeconds",
                    &n.to_string(),
                    "must be greater than 0",
                ));
            }
            _ => {}
        }
        if self.stream.is_some() {
            causes.push(field::forbidden("stream", "may not be specified"));
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid("", "PodLogOptions", pod, causes))
        }
    }
}

/// A log's answer: its text as it comes.
fn plain_log(body: axum::body::Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    r
}

/// Since v1.30 (AuthorizePodWebsocketUpgradeCreatePermission, on by default) a WebSocket
/// GET on pods/exec or pods/attach also needs `create`.
fn authorize_upgrade(
    state: &State,
    ctx: &Ctx,
    t: &Target<'_>,
    subresource: &str,
) -> Result<(), ApiError> {
    if ctx.info.verb != "get" {
        return Ok(());
    }
    let a = Attributes {
        verb: "create",
        resource_request: true,
        namespace: t.namespace,
        resource: "pods",
        subresource,
        name: t.name,
        ..Attributes::default()
    };
    super::chain::authorize(state, &ctx.user, &a)
}

/// What an attach request asks of the node, checked as `AttachLocation` checks it
/// (`pkg/registry/core/pod/strategy.go`, `streamLocation`): the pod exists, the container
/// is one of its own, the pod is bound.
fn attach_request(state: &State, ctx: &Ctx, t: &Target<'_>) -> Result<AttachRequest, ApiError> {
    let (ns, name) = (t.namespace, t.name);
    authorize_upgrade(state, ctx, t, "attach")?;
    let pod = find_pod(state, ns, name)?;
    let container = pick_container(ctx, &pod, name, false)?;
    if !has_host(&pod) {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    Ok(AttachRequest {
        namespace: ns.into(),
        pod: name.into(),
        uid: pod_uid(&pod),
        container,
        stdin: bool_param(ctx, "stdin"),
        stdout: bool_param(ctx, "stdout"),
        stderr: bool_param(ctx, "stderr"),
    })
}

/// What an exec request asks the node to run, checked as `ExecLocation` checks it
/// (`pkg/registry/core/pod/strategy.go`, `streamLocation`) before it dials the kubelet:
/// the caller may create `pods/exec`, the pod exists, the container is one of its own, the
/// pod is bound. Whether a command is given and the container still runs is the node's to
/// say (kubectl checks both itself first).
fn exec_request(state: &State, ctx: &Ctx, t: &Target<'_>) -> Result<ExecRequest, ApiError> {
    let (ns, name) = (t.namespace, t.name);
    authorize_upgrade(state, ctx, t, "exec")?;
    let pod = find_pod(state, ns, name)?;
    let container = pick_container(ctx, &pod, name, false)?;
    if !has_host(&pod) {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let command: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    Ok(ExecRequest {
        namespace: ns.into(),
        pod: name.into(),
        uid: pod_uid(&pod),
        container,
        command,
        stdin: bool_param(ctx, "stdin"),
        stdout: bool_param(ctx, "stdout"),
        stderr: bool_param(ctx, "stderr"),
        tty: bool_param(ctx, "tty"),
    })
}

/// `pods/exec` and `pods/attach`: checked, then upgraded and relayed to the node.
pub async fn remote(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
    attach: bool,
) -> Result<Response, ApiError> {
    let ctx = &req.ctx;
    let (request, subresource) = if attach {
        (Remote::Attach(attach_request(state, ctx, t)?), "attach")
    } else {
        (Remote::Exec(exec_request(state, ctx, t)?), "exec")
    };
    let mut parts = req.parts.clone();
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &()).await.map_err(|_| {
        ApiError::bad_request(format!("the embedded cluster serves pods/{subresource} over WebSocket (v5.channel.k8s.io or v4.channel.k8s.io) only; SPDY is not supported"))
    })?;
    let runtime = runtime(state)?;
    let upgrade = upgrade.protocols([V5, V4]);
    let v5 = upgrade.selected_protocol().is_some_and(|p| p == V5);
    let streams = Streams {
        v5,
        stdout: bool_param(ctx, "stdout"),
        stderr: bool_param(ctx, "stderr") && !bool_param(ctx, "tty"),
        command: request.command().to_vec(),
    };
    if v5 {
        // v5 goes through the API server's stream translator (apiserver
        // `pkg/util/proxy/streamtranslator.go`): the WebSocket is upgraded first, then
        // the kubelet is dialled, so the command starts after the client's streams are
        // open and a kubelet failure arrives as an InternalError on the status channel
        // (`error: Internal error occurred: unable to upgrade connection: ...`).
        let start = request.start(runtime.as_ref());
        return Ok(upgrade.on_upgrade(move |socket| async move {
            let session = start
                .await
                .map_err(|e| format!("unable to upgrade connection: {e}"));
            relay(socket, session, streams).await;
        }));
    }
    // v4 is proxied to the kubelet, whose refusal is the HTTP answer itself.
    let session = request
        .start(runtime.as_ref())
        .await
        .map_err(|e| ApiError {
            code: 400,
            reason: "BadRequest",
            message: format!("unable to upgrade connection: {e}"),
            details: None,
        })?;
    Ok(upgrade.on_upgrade(move |socket| relay(socket, Ok(session), streams)))
}

/// What the client asked to receive, and how to report the end.
struct Streams {
    v5: bool,
    stdout: bool,
    stderr: bool,
    command: Vec<String>,
}

type Frames = tokio::sync::mpsc::Sender<Vec<u8>>;
type Sink = futures::stream::SplitSink<WebSocket, Message>;

/// A status frame (channel 3) with `json`.
fn status_channel(json: &str) -> Vec<u8> {
    let mut frame = vec![3u8];
    frame.extend_from_slice(json.as_bytes());
    frame
}

async fn relay(
    socket: WebSocket,
    session: Result<crate::runtime::ExecSession, String>,
    streams: Streams,
) {
    let (mut tx, rx) = socket.split();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    // The empty frame that opens the lowest writable channel.
    let first = if streams.stdout {
        1
    } else if streams.stderr {
        2
    } else {
        3
    };
    let _ = out_tx.send(vec![first]).await;
    let mut session = match session {
        Ok(session) => session,
        Err(e) => {
            let _ = out_tx
                .send(status_channel(&crate::runtime::internal_error_json(&e)))
                .await;
            drop(out_tx);
            while let Some(frame) = out_rx.recv().await {
                if tx.send(Message::Binary(frame.into())).await.is_err() {
                    return;
                }
            }
            close(tx).await;
            return;
        }
    };
    let pumps = [
        (1u8, session.stdout.take(), streams.stdout),
        (2u8, session.stderr.take(), streams.stderr),
    ]
    .into_iter()
    .filter_map(|(channel, stream, wanted)| {
        Some(tokio::spawn(pump(channel, stream?, wanted, out_tx.clone())))
    })
    .collect::<Vec<_>>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if tx.send(Message::Binary(frame.into())).await.is_err() {
                return None;
            }
        }
        Some(tx)
    });
    let reader = tokio::spawn(read_client(rx, session.stdin.take(), session.resize.take()));
    let code = session.exit.await;
    for p in pumps {
        let _ = p.await;
    }
    let frame = match code {
        Ok(code) => status_frame(code, streams.v5, &streams.command),
        Err(e) => crate::runtime::internal_error_json(&e),
    };
    let _ = out_tx.send(status_channel(&frame)).await;
    drop(out_tx);
    reader.abort();
    if let Ok(Some(tx)) = writer.await {
        close(tx).await;
    }
}

/// Copies one of the command's outputs to its channel (or drops it when the client did
/// not ask for it) until it ends.
async fn pump(
    channel: u8,
    mut stream: impl tokio::io::AsyncRead + Unpin,
    wanted: bool,
    out: Frames,
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) if wanted => {
                let mut frame = Vec::with_capacity(n + 1);
                frame.push(channel);
                frame.extend_from_slice(&buf[..n]);
                if out.send(frame).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
        }
    }
}

/// The client's frames: stdin (0), terminal resizes (4) and v5's stdin half-close (255).
async fn read_client(
    mut rx: futures::stream::SplitStream<WebSocket>,
    mut stdin: Option<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>>,
    resize: Option<tokio::sync::mpsc::UnboundedSender<(u16, u16)>>,
) {
    while let Some(Ok(msg)) = rx.next().await {
        let data = match msg {
            Message::Binary(b) => b.to_vec(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Some((&channel, payload)) = data.split_first() else {
            continue;
        };
        match channel {
            0 => {
                if let Some(w) = stdin.as_mut()
                    && (w.write_all(payload).await.is_err() || w.flush().await.is_err())
                {
                    stdin = None;
                }
            }
            4 => {
                if let (Some(r), Ok(size)) = (&resize, serde_json::from_slice::<Value>(payload)) {
                    let w = size.get("Width").and_then(Value::as_u64).unwrap_or(80) as u16;
                    let h = size.get("Height").and_then(Value::as_u64).unwrap_or(24) as u16;
                    let _ = r.send((w, h));
                }
            }
            255 if payload.first() == Some(&0) => {
                // v5 half-close of stdin.
                if let Some(mut w) = stdin.take() {
                    let _ = w.shutdown().await;
                }
            }
            _ => {}
        }
    }
}

/// A normal closure (1000): client-go treats a close without a code as an error.
async fn close(mut tx: Sink) {
    let frame = axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::NORMAL,
        reason: "".into(),
    };
    let _ = tx.send(Message::Close(Some(frame))).await;
}

/// The pod a `pods/exec` or `pods/log` request names; NotFound when there is none.
fn find_pod(state: &State, ns: &str, name: &str) -> Result<std::sync::Arc<Value>, ApiError> {
    let pods = GroupResource {
        group: "",
        resource: "pods",
    };
    state
        .registry
        .find(crate::discovery::DISCOVERY.served("", "pods"), ns, name)
        .ok_or_else(|| ApiError::not_found(pods, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_frames_match_fidelity() {
        let cmd: Vec<String> = ["sh", "-c", "exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            status_frame(0, true, &cmd),
            r#"{"metadata":{},"status":"Success"}"#
        );
        assert_eq!(
            status_frame(3, false, &cmd),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            status_frame(3, true, &cmd),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
    }
}
