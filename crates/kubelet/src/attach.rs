//! A container's own standard streams, kept for `kubectl attach` and `kubectl run -i`: its
//! standard input held open when the spec asks for `stdin` (a pipe, or the terminal when it
//! asks for `tty`), and its output copied to whoever is attached as well as to its log.
//!
//! It behaves as containerd's `ContainerIO.Attach` does (`internal/cri/io/container_io.go`,
//! containerd v2, which k3s v1.33 runs): an attach receives the output written from then
//! on, never what came before; every attach's input goes to the container's one standard
//! input; when an attach's input ends, a `stdinOnce` container without a terminal has its
//! standard input closed and the attach stays until the output ends, otherwise the attach
//! is detached; and every attach ends when the container's output does.

use crate::Kubelet;
use apiserver::runtime::{AttachRequest, ExecSession, RuntimeError};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};

/// How much of an attached stream may wait unread before the container's output waits for
/// it, as a pipe would make it wait.
const ATTACH_BUFFER: usize = 64 * 1024;

/// How long the container's output waits for an attach that reads nothing (a suspended
/// `kubectl attach`) before that attach is let go.
const STALLED: std::time::Duration = std::time::Duration::from_secs(5);

type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// One container's standard streams across its runs.
pub(crate) struct ContainerIo {
    /// `stdin: true`: its standard input is kept open for attaching.
    pub(crate) stdin: bool,
    /// `stdinOnce: true`: the first attach's end of input closes it.
    stdin_once: bool,
    /// `tty: true`: its standard streams are one terminal.
    pub(crate) tty: bool,
    next: AtomicU64,
    /// Counts runs, so that an attach to an earlier run never touches a later one.
    runs: AtomicU64,
    run: Mutex<Run>,
}

/// What belongs to the current run.
#[derive(Default)]
struct Run {
    /// Which run this is (`ContainerIo::runs`).
    number: u64,
    /// Whether the run's output is still open: an attach to a run that has ended is refused.
    open: bool,
    /// The run's standard input while it is open: written by every attach, in turn.
    input: Option<Arc<tokio::sync::Mutex<Input>>>,
    /// The run's terminal, for resizes.
    terminal: Option<Arc<std::os::fd::OwnedFd>>,
    attached: HashMap<u64, Attached>,
}

/// One attach: where its output goes, and what ends it when dropped.
struct Attached {
    stdout: Option<Arc<tokio::sync::Mutex<DuplexStream>>>,
    stderr: Option<Arc<tokio::sync::Mutex<DuplexStream>>>,
    _done: tokio::sync::oneshot::Sender<()>,
}

/// Which of a run's output streams a copy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Stdout,
    Stderr,
}

impl ContainerIo {
    pub(crate) fn new(c: &k8s_openapi::api::core::v1::Container) -> ContainerIo {
        ContainerIo {
            stdin: c.stdin == Some(true),
            stdin_once: c.stdin_once == Some(true),
            tty: c.tty == Some(true),
            next: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            run: Mutex::new(Run::default()),
        }
    }

    fn run(&self) -> std::sync::MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new run starts with this standard input (when the spec keeps one) and terminal.
    pub(crate) fn begin(&self, input: Option<Input>, terminal: Option<std::os::fd::OwnedFd>) {
        *self.run() = Run {
            number: self.runs.fetch_add(1, Ordering::Relaxed) + 1,
            open: true,
            input: input.map(|i| Arc::new(tokio::sync::Mutex::new(i))),
            terminal: terminal.map(Arc::new),
            attached: HashMap::new(),
        };
    }

    /// The run's output has ended: every attach ends, and its standard input is closed.
    pub(crate) fn end(&self) {
        *self.run() = Run::default();
    }

    /// A chunk the run wrote on `output`, for every attach that asked for it. An attach
    /// whose reader has gone, or that has read nothing for `STALLED`, is dropped.
    pub(crate) async fn publish(&self, output: Output, chunk: &[u8]) {
        let targets: Vec<(u64, Arc<tokio::sync::Mutex<DuplexStream>>)> = self
            .run()
            .attached
            .iter()
            .filter_map(|(id, a)| {
                let to = match output {
                    Output::Stdout => a.stdout.as_ref(),
                    Output::Stderr => a.stderr.as_ref(),
                };
                to.map(|to| (*id, to.clone()))
            })
            .collect();
        for (id, to) in targets {
            let mut to = to.lock().await;
            if !matches!(
                tokio::time::timeout(STALLED, to.write_all(chunk)).await,
                Ok(Ok(()))
            ) {
                self.detach(id);
            }
        }
    }

    fn detach(&self, id: u64) {
        self.run().attached.remove(&id);
    }

    /// Joins the current run's streams as `req` asks.
    fn attach(self: &Arc<Self>, req: &AttachRequest) -> Result<ExecSession, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
        let reader = |wanted: bool| {
            wanted.then(|| {
                let (ours, theirs) = tokio::io::duplex(ATTACH_BUFFER);
                (
                    Arc::new(tokio::sync::Mutex::new(ours)),
                    Box::pin(theirs) as Pin<Box<dyn AsyncRead + Send>>,
                )
            })
        };
        let stdout = reader(req.stdout);
        // With a terminal, standard error is the terminal's: there is no stream of its own.
        let stderr = reader(req.stderr && !self.tty);
        let (terminal, number) = {
            let mut run = self.run();
            if !run.open {
                return Err("container is in CONTAINER_EXITED state".into());
            }
            run.attached.insert(
                id,
                Attached {
                    stdout: stdout.as_ref().map(|(ours, _)| ours.clone()),
                    stderr: stderr.as_ref().map(|(ours, _)| ours.clone()),
                    _done: done_tx,
                },
            );
            (run.terminal.clone(), run.number)
        };
        let stdin = (req.stdin && self.stdin).then(|| {
            let (writer, from) = tokio::io::duplex(ATTACH_BUFFER);
            tokio::spawn(self.clone().forward_input(id, number, from));
            Box::pin(writer) as Pin<Box<dyn AsyncWrite + Send>>
        });
        let resize = terminal.map(crate::exec::resizer);
        Ok(ExecSession {
            stdin,
            stdout: stdout.map(|(_, theirs)| theirs),
            stderr: stderr.map(|(_, theirs)| theirs),
            resize,
            // Over once this attach is dropped from the run: its output ended, or it was
            // detached.
            exit: async move {
                let _ = done.await;
                Ok(0)
            }
            .boxed(),
        })
    }

    /// Copies one attach's input to its run's standard input until it ends, or until the
    /// attach or its run does.
    async fn forward_input(self: Arc<Self>, id: u64, number: u64, mut from: DuplexStream) {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let input = {
                let run = self.run();
                if run.number != number || !run.attached.contains_key(&id) {
                    return;
                }
                run.input.clone()
            };
            let Some(input) = input else { break };
            let mut to = input.lock().await;
            if to.write_all(&buf[..n]).await.is_err() || to.flush().await.is_err() {
                break;
            }
        }
        let mut run = self.run();
        if run.number != number {
            return;
        }
        if self.stdin_once && !self.tty {
            // The container reads the end of its input (once no write to it is under way);
            // the attach stays for its output.
            run.input = None;
        } else {
            run.attached.remove(&id);
        }
    }
}

impl Kubelet {
    /// `pods/attach`: the running container's own streams.
    pub(crate) fn attach_container(
        &self,
        req: AttachRequest,
    ) -> BoxFuture<'static, Result<ExecSession, RuntimeError>> {
        let target = self.target(&req.namespace, &req.pod);
        async move {
            let not_found = || RuntimeError(format!("container not found ({:?})", req.container));
            let target = target.filter(|t| t.uid == req.uid).ok_or_else(not_found)?;
            let io = target.io.get(&req.container).ok_or_else(not_found)?;
            io.attach(&req).map_err(RuntimeError)
        }
        .boxed()
    }
}
