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
            let cmd = target.sandbox.command(&spec).map_err(|e| e.to_string())?;
            let session = if req.tty {
                spawn_with_terminal(cmd, req.stdin)?
            } else {
                spawn_with_pipes(cmd, req.stdin)?
            };
            Ok(session)
        }
        .boxed()
    }
}

/// Runs `cmd` on a new terminal: its output comes back on stdout, input (when `stdin`)
/// goes to the terminal, and resizes reach it as SIGWINCH.
fn spawn_with_terminal(mut cmd: std::process::Command, stdin: bool) -> Result<ExecSession, String> {
    let pty = podbox::Pty::open().map_err(|e| format!("allocating a terminal: {e}"))?;
    let slave =
        |fd: &std::os::fd::OwnedFd| fd.try_clone().map(Stdio::from).map_err(|e| e.to_string());
    cmd.stdin(slave(&pty.slave)?)
        .stdout(slave(&pty.slave)?)
        .stderr(slave(&pty.slave)?);
    let child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    drop(pty.slave);
    let master = std::fs::File::from(pty.master);
    let resize_fd: std::os::fd::OwnedFd = master.try_clone().map_err(|e| e.to_string())?.into();
    let reader = tokio::fs::File::from_std(master.try_clone().map_err(|e| e.to_string())?);
    let writer = tokio::fs::File::from_std(master);
    let (resize_tx, mut resize_rx) = tokio::sync::mpsc::unbounded_channel::<(u16, u16)>();
    tokio::spawn(async move {
        while let Some((cols, rows)) = resize_rx.recv().await {
            let _ = podbox::Pty::resize(&resize_fd, cols, rows);
        }
    });
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
