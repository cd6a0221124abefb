//! The control plane's processes: each started from a thread of its own that waits for it,
//! tethered (`podbox::tether`) so that it gets SIGKILL if that thread, or this whole
//! process, ends without stopping it; output goes to a log file whose tail an error quotes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;
use tokio::sync::watch;

/// One running component (etcd, kube-apiserver, kube-controller-manager).
#[derive(Debug)]
pub struct Component {
    pub name: &'static str,
    pid: nix::unistd::Pid,
    exited: watch::Receiver<Option<ExitStatus>>,
    log: PathBuf,
}

impl Component {
    /// Starts `program args...` with argv[0] `k3s`: a client's default user agent, and so
    /// the field manager of what the component writes, comes from argv[0]'s basename
    /// (`k8s.io/client-go/rest/config.go`, `adjustCommand`), and in k3s every component
    /// runs inside the one `k3s` process.
    pub fn start(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<Component, String> {
        let out =
            std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("opening {}: {e}", log.display()))?;
        let mut command = Command::new(program);
        std::os::unix::process::CommandExt::arg0(&mut command, "k3s");
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        podbox::tether(&mut command);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (exited_tx, exited) = watch::channel(None);
        let program_name = program.display().to_string();
        std::thread::Builder::new()
            .name(format!("{name}-waiter"))
            .spawn(move || match command.spawn() {
                Ok(mut child) => {
                    let _ = started_tx.send(Ok(child.id()));
                    let status = child.wait().ok();
                    let _ = exited_tx.send(status);
                }
                Err(e) => {
                    let _ = started_tx.send(Err(format!("starting {program_name}: {e}")));
                }
            })
            .map_err(|e| format!("starting a thread for {name}: {e}"))?;
        let pid = started_rx
            .recv()
            .map_err(|_| format!("the thread starting {name} ended"))??;
        Ok(Component {
            name,
            pid: nix::unistd::Pid::from_raw(pid as i32),
            exited,
            log,
        })
    }

    /// The component has exited.
    pub fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }

    /// Why the component is no use: it exited (with its status), with its log's last lines.
    pub fn failure(&self, what: &str) -> String {
        let status = match *self.exited.borrow() {
            Some(status) => format!("{} exited ({status})", self.name),
            None => format!("{} is running", self.name),
        };
        format!(
            "{what}: {status}; the end of its log ({}):\n{}",
            self.log.display(),
            tail(&self.log, 20)
        )
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the process is gone.
    pub async fn stop(mut self, grace: Duration) {
        use nix::sys::signal::{Signal, kill};
        if self.has_exited() {
            return;
        }
        let _ = kill(self.pid, Signal::SIGTERM);
        let gone = self.exited.wait_for(Option::is_some);
        if tokio::time::timeout(grace, gone).await.is_err() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.exited.wait_for(Option::is_some).await;
        }
    }
}

/// The last `lines` lines of a log file.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A free TCP port on 127.0.0.1, as the kernel picks one.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}
