//! `pods/exec` on this node: a new process in a running container's sandbox, with the
//! container's environment, mounts and programs, as `kubectl exec` gets from a kubelet.

use crate::Kubelet;
use apiserver::runtime::{ExecRequest, ExecSession, PodRuntime, RuntimeError};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::process::Stdio;

impl PodRuntime for Kubelet {
    fn logs(
        &self,
        req: apiserver::runtime::LogRequest,
    ) -> BoxFuture<'static, Result<apiserver::runtime::LogStream, RuntimeError>> {
        let dir = self
            .config
            .runtime_dir
            .join("pods")
            .join(&req.uid)
            .join("logs");
        let alive = self
            .target(&req.namespace, &req.pod)
            .and_then(|t| t.alive.get(&req.container).cloned());
        async move {
            let path = crate::logs::log_path(&dir, &req.container, req.previous);
            if !path.exists() {
                return Err(RuntimeError(if req.previous {
                    format!(
                        "previous terminated container {:?} in pod {:?} not found",
                        req.container, req.pod
                    )
                } else {
                    format!(
                        "container {:?} in pod {:?} is waiting to start: ContainerCreating",
                        req.container, req.pod
                    )
                }));
            }
            Ok(crate::logs::read(
                path,
                &req,
                if req.previous { None } else { alive },
            ))
        }
        .boxed()
    }

    fn attach(
        &self,
        req: apiserver::runtime::AttachRequest,
    ) -> BoxFuture<'static, Result<ExecSession, RuntimeError>> {
        self.attach_container(req)
    }

    fn exec(&self, req: ExecRequest) -> BoxFuture<'static, Result<ExecSession, RuntimeError>> {
        let target = self.target(&req.namespace, &req.pod);
        async move {
            let not_found = || format!("container not found ({:?})", req.container);
            let target = target.filter(|t| t.uid == req.uid).ok_or_else(not_found)?;
            let base = target
                .containers
                .get(&req.container)
                .ok_or_else(not_found)?;
            let mut spec = base.clone();
            spec.argv = req.command.clone();
            spec.tty = req.tty;
            // A process in the container's own root, with what it wrote: its mount
            // namespace, joined through its launcher.
            let pid = target
                .pids
                .get(&req.container)
                .map_or(0, |p| p.load(std::sync::atomic::Ordering::Relaxed));
            if pid == 0 {
                return Err(RuntimeError(format!(
                    "container {:?} is not running",
                    req.container
                )));
            }
            spec.join = Some(pid);
            spec.image = None;
            spec.mounts.clear();
            let session = if req.tty {
                spawn_with_terminal(&target.sandbox, &spec, req.stdin).await?
            } else {
                let cmd = target.sandbox.command(&spec).map_err(|e| e.to_string())?;
                spawn_with_pipes(cmd, req.stdin)?
            };
            Ok(session)
        }
        .boxed()
    }
}

/// How long a container may take to build its root and open its terminal.
const TERMINAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts `spec` in `sandbox` on a terminal of the container's own (`podbox::Console`): the
/// child, with the launcher's standard output and error piped (what fails before the
/// terminal exists is said there), and the terminal's host side, unless the container
/// ended before it opened one.
pub(crate) async fn spawn_on_terminal(
    sandbox: &podbox::Sandbox,
    spec: &podbox::ContainerSpec,
) -> Result<(tokio::process::Child, Option<std::fs::File>), String> {
    let (mut cmd, console) = sandbox
        .command_on_terminal(spec)
        .map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let received = tokio::task::spawn_blocking(move || console.receive(TERMINAL_TIMEOUT))
        .await
        .map_err(|e| e.to_string())?;
    match received {
        Ok(master) => Ok((child, Some(std::fs::File::from(master)))),
        // It ended first: why is on the launcher's standard error.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok((child, None)),
        Err(e) => {
            let _ = child.kill().await;
            Err(format!("waiting for the container's terminal: {e}"))
        }
    }
}

/// Sizes sent here reach the terminal `fd` (as SIGWINCH for its programs).
pub(crate) fn resizer(
    fd: std::sync::Arc<std::os::fd::OwnedFd>,
) -> tokio::sync::mpsc::UnboundedSender<(u16, u16)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u16, u16)>();
    tokio::spawn(async move {
        while let Some((cols, rows)) = rx.recv().await {
            let _ = podbox::set_terminal_size(&fd, cols, rows);
        }
    });
    tx
}

/// Runs `cmd` on a new terminal: its output comes back on stdout, input (when `stdin`)
/// goes to the terminal, and resizes reach it as SIGWINCH.
async fn spawn_with_terminal(
    sandbox: &podbox::Sandbox,
    spec: &podbox::ContainerSpec,
    stdin: bool,
) -> Result<ExecSession, String> {
    let (mut child, master) = spawn_on_terminal(sandbox, spec).await?;
    let Some(master) = master else {
        // It failed before its terminal existed: why is on the launcher's stderr.
        let mut why = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut why).await;
        }
        let _ = child.wait().await;
        return Err(why.trim_end().to_string());
    };
    let resize_fd: std::os::fd::OwnedFd = master.try_clone().map_err(|e| e.to_string())?.into();
    let reader = tokio::fs::File::from_std(master.try_clone().map_err(|e| e.to_string())?);
    let writer = tokio::fs::File::from_std(master);
    let resize_tx = resizer(std::sync::Arc::new(resize_fd));
    Ok(ExecSession {
        stdin: stdin.then(|| Box::pin(writer) as _),
        stdout: Some(Box::pin(reader)),
        stderr: None,
        resize: Some(resize_tx),
        exit: exit_code(child),
    })
}

/// Runs `cmd` with its stdout and stderr, and its stdin when `stdin`, on pipes.
fn spawn_with_pipes(mut cmd: std::process::Command, stdin: bool) -> Result<ExecSession, String> {
    cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdin = child.stdin.take().map(|s| Box::pin(s) as _);
    let stdout = child.stdout.take().map(|s| Box::pin(s) as _);
    let stderr = child.stderr.take().map(|s| Box::pin(s) as _);
    Ok(ExecSession {
        stdin,
        stdout,
        stderr,
        resize: None,
        exit: exit_code(child),
    })
}

/// The process's exit code once it exits (137 when a signal killed it).
fn exit_code(mut child: tokio::process::Child) -> BoxFuture<'static, Result<i32, String>> {
    async move {
        child
            .wait()
            .await
            .map(|s| s.code().unwrap_or(137))
            .map_err(|e| e.to_string())
    }
    .boxed()
}
