//! The boundary between the API server and whatever runs pods: `pods/exec` (and later
//! `pods/log`) are answered by a `PodRuntime` attached to the cluster, as the real API
//! server hands these requests to the node's kubelet. This crate defines the trait and
//! never depends on an implementation.

use futures::future::BoxFuture;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};

/// One command to run in a pod's container.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// What `pods/attach` asks of a running container: which of its standard streams to
/// join. Whether they pass through a terminal is the container's own `tty`, fixed when it
/// started (`GetAttach`, `pkg/kubelet/kubelet_pods.go`).
#[derive(Debug, Clone)]
pub struct AttachRequest {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// A `remotecommand` request: a new command, or an attach to a container's own streams.
#[derive(Debug, Clone)]
pub enum Remote {
    Exec(ExecRequest),
    Attach(AttachRequest),
}

impl Remote {
    /// Starts it on `runtime`.
    pub fn start(
        self,
        runtime: &dyn PodRuntime,
    ) -> BoxFuture<'static, Result<ExecSession, RuntimeError>> {
        if let Err(e) = self.check_streams() {
            return Box::pin(std::future::ready(Err(e)));
        }
        match self {
            Remote::Exec(r) => runtime.exec(r),
            Remote::Attach(r) => runtime.attach(r),
        }
    }

    /// The node refuses a request for no stream at all, as the kubelet's `NewOptions`
    /// does (`k8s.io/kubelet/pkg/cri/streaming/remotecommand/httpstream.go`), before it
    /// looks for the pod.
    pub fn check_streams(&self) -> Result<(), RuntimeError> {
        let (stdin, stdout, stderr) = match self {
            Remote::Exec(r) => (r.stdin, r.stdout, r.stderr),
            Remote::Attach(r) => (r.stdin, r.stdout, r.stderr),
        };
        if stdin || stdout || stderr {
            Ok(())
        } else {
            Err(RuntimeError(
                "you must specify at least 1 of stdin, stdout, stderr".into(),
            ))
        }
    }

    /// The command an exec runs; none for an attach.
    pub fn command(&self) -> &[String] {
        match self {
            Remote::Exec(r) => &r.command,
            Remote::Attach(_) => &[],
        }
    }
}

/// A running command: its streams, its terminal size control, and its exit code.
pub struct ExecSession {
    pub stdin: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    pub stdout: Option<Pin<Box<dyn AsyncRead + Send>>>,
    pub stderr: Option<Pin<Box<dyn AsyncRead + Send>>>,
    /// Terminal size changes (columns, rows), for a TTY session.
    pub resize: Option<tokio::sync::mpsc::UnboundedSender<(u16, u16)>>,
    /// The exit code once the command ends; for an attach, 0 once it is over.
    pub exit: BoxFuture<'static, Result<i32, String>>,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession").finish_non_exhaustive()
    }
}

/// What `pods/log` asks for (`PodLogOptions`).
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
    /// Only lines written at or after this time (`sinceSeconds` or `sinceTime`).
    pub since: Option<jiff::Timestamp>,
}

/// `sinceSeconds` (seconds before now) or `sinceTime` (RFC 3339) of `PodLogOptions`, as
/// the time the log starts from, read as the kubelet reads them (`pkg/kubelet/server/server.go`,
/// `getContainerLogs`, then `kuberuntime/logs`, `NewLogOptions`); a value that cannot be
/// read is refused in Go's words.
pub fn log_since(
    since_seconds: Option<&str>,
    since_time: Option<&str>,
) -> Result<Option<jiff::Timestamp>, String> {
    if let Some(v) = since_seconds {
        let secs = crate::gotime::parse_int64(v)?;
        return Ok(jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .ok());
    }
    match since_time {
        None | Some("" | "null") => Ok(None),
        Some(v) => crate::gotime::parse_rfc3339(v).map(Some),
    }
}

/// A container's log, as bytes that end when the log does (or, following, when the
/// container stops).
pub type LogStream = futures::stream::BoxStream<'static, bytes::Bytes>;

/// A node's refusal, worded for the client as the kubelet words it (the container is not
/// running, the program does not exist); the API server passes it on in a `Status`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct RuntimeError(pub String);

impl From<String> for RuntimeError {
    fn from(message: String) -> Self {
        RuntimeError(message)
    }
}

/// Runs commands in pods, attaches to their containers and reads their logs.
pub trait PodRuntime: Send + Sync + std::fmt::Debug {
    fn exec(&self, req: ExecRequest) -> BoxFuture<'static, Result<ExecSession, RuntimeError>>;
    fn attach(&self, req: AttachRequest) -> BoxFuture<'static, Result<ExecSession, RuntimeError>>;
    fn logs(&self, req: LogRequest) -> BoxFuture<'static, Result<LogStream, RuntimeError>>;
}

/// The exit status a node writes on an exec's error stream, as JSON (compact, no
/// TypeMeta): `Success`, or `NonZeroExitCode` with the code as an `ExitCode` cause
/// (`k8s.io/kubelet/pkg/cri/streaming/remotecommand/exec.go`, `ServeExec`). Through
/// `v5.channel.k8s.io` the API server words the inner error as client-go's executor does
/// ("command terminated with exit code N"); through v4 it is containerd's.
pub fn exit_status_json(code: i32, v5: bool, command: &[String]) -> String {
    if code == 0 {
        return r#"{"metadata":{},"status":"Success"}"#.into();
    }
    let inner = if v5 {
        format!("command terminated with exit code {code}")
    } else {
        format!(
            "error executing command [{}], exit code {code}",
            command.join(" ")
        )
    };
    let status = serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: {inner}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    });
    status.to_string()
}

/// A failure that is not an exit code, as a node writes it on an exec's error stream:
/// `apierrors.NewInternalError(err)`'s Status, as JSON (compact, no TypeMeta).
pub fn internal_error_json(err: &str) -> String {
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: {err}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": err}]},
        "code": 500,
    })
    .to_string()
}
