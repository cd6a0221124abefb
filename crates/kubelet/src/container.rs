//! One container's process in a pod's sandbox: starting it with its output pumped into
//! the CRI log, waiting for it, stopping it, restarting it, and what its status reports.

use crate::attach::{ContainerIo, Output};
use crate::status::{ContainerReport, RunState, Terminated};
use crate::{logs, now};
use k8s_openapi::api::core::v1::Container;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::AsyncRead;

/// One container's process and what the status reports about it.
pub(crate) struct ContainerRun {
    pub(crate) name: String,
    image: String,
    image_id: String,
    pub(crate) spec: podbox::ContainerSpec,
    log: PathBuf,
    pub(crate) alive: tokio::sync::watch::Sender<bool>,
    /// Its standard streams, for attaching.
    pub(crate) io: Arc<ContainerIo>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    child: Option<tokio::process::Child>,
    started_at: String,
    finished_at: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) restarts: u32,
    last_state: Option<Terminated>,
    id: String,
    /// The launcher's host PID while the container runs, 0 otherwise.
    pub(crate) pid: Arc<AtomicU32>,
    /// The host file behind the container's termination message path.
    termination: Option<PathBuf>,
    /// `terminationMessagePolicy: FallbackToLogsOnError`.
    fallback_to_logs: bool,
    /// The ended run's termination message.
    message: String,
    /// When the last run ended.
    ended: Option<std::time::Instant>,
    /// The crash-loop back-off: its current delay, and when it last moved.
    back_off: Option<(std::time::Duration, std::time::Instant)>,
    /// Why the ended run is not started again yet (`CrashLoopBackOff`), and the message.
    pub(crate) waiting: Option<(String, String)>,
    /// When the ended run's back-off is over.
    pub(crate) restart_at: Option<tokio::time::Instant>,
    /// The run's exit code, end time and instant, once its process is reaped and while
    /// its output drains.
    reaped: Option<(i32, String, std::time::Instant)>,
    /// Until when the ended run's output may drain.
    drain_until: Option<tokio::time::Instant>,
    /// The container as the pod's spec has it, for its probes.
    pub(crate) container: Container,
    /// What the current run's probes found.
    pub(crate) health: Arc<crate::probe::Health>,
    /// The current run's probes, stopped with it.
    pub(crate) probes: Vec<crate::AbortOnDrop>,
}

/// The kubelet's crash-loop back-off (`newCrashLoopBackOff`, `pkg/kubelet/kubelet.go`):
/// 10 s, doubled each time up to 300 s, forgotten after 600 s without a restart.
const BACK_OFF_BASE: std::time::Duration = std::time::Duration::from_secs(10);
const BACK_OFF_MAX: std::time::Duration = std::time::Duration::from_secs(300);
const BACK_OFF_RESET: std::time::Duration = std::time::Duration::from_secs(600);

impl ContainerRun {
    /// `image` is the runtime's name of the image, `image_id` its digest reference.
    pub(crate) fn new(
        c: &Container,
        spec: podbox::ContainerSpec,
        log: PathBuf,
        image: &images::Image,
    ) -> ContainerRun {
        ContainerRun {
            name: c.name.clone(),
            image: image.reference.whole(),
            image_id: image.id(),
            spec,
            log,
            alive: tokio::sync::watch::channel(false).0,
            io: Arc::new(ContainerIo::new(c)),
            pumps: Vec::new(),
            child: None,
            started_at: String::new(),
            finished_at: String::new(),
            exit_code: None,
            restarts: 0,
            last_state: None,
            id: String::new(),
            pid: Arc::new(AtomicU32::new(0)),
            termination: None,
            fallback_to_logs: c.termination_message_policy.as_deref()
                == Some("FallbackToLogsOnError"),
            message: String::new(),
            ended: None,
            back_off: None,
            waiting: None,
            restart_at: None,
            reaped: None,
            drain_until: None,
            container: c.clone(),
            health: Arc::new(crate::probe::Health::new(c)),
            probes: Vec::new(),
        }
    }

    /// The host file that is the container's termination message path.
    pub(crate) fn with_termination_file(mut self, file: PathBuf) -> ContainerRun {
        self.termination = Some(file);
        self
    }

    pub(crate) async fn start(&mut self, sandbox: &podbox::Sandbox) -> Result<(), String> {
        // Every run of a container starts from the image, in a writable layer of its own:
        // a new one each run, never an earlier run's, which processes of that run still in
        // the pod may hold (the pod's directory, and every layer in it, goes with the pod).
        if let Some(image) = self.spec.image.as_mut() {
            fresh_layer(image, self.restarts)?;
        }
        // A run's termination message is its own.
        if let Some(file) = &self.termination {
            std::fs::write(file, b"").map_err(|e| e.to_string())?;
        }
        self.message.clear();
        // Each run is probed afresh.
        self.probes.clear();
        self.health = Arc::new(crate::probe::Health::new(&self.container));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let log = Arc::new(tokio::sync::Mutex::new(tokio::fs::File::from_std(log)));
        self.spec.tty = self.io.tty;
        let io = self.io.clone();
        let child = if self.io.tty {
            // One terminal for all three streams, the container's own; what it prints is
            // logged as stdout, as a runtime logs a terminal's output. What fails before
            // the terminal exists comes on the launcher's own streams, logged too.
            let (mut child, master) = crate::exec::spawn_on_terminal(sandbox, &self.spec).await?;
            let pipes = [
                (
                    child
                        .stdout
                        .take()
                        .map(|o| Box::pin(o) as Pin<Box<dyn AsyncRead + Send>>),
                    Output::Stdout,
                ),
                (
                    child.stderr.take().map(|e| Box::pin(e) as _),
                    Output::Stderr,
                ),
            ];
            for (from, output) in pipes {
                if let Some(from) = from {
                    self.pumps.push(tokio::spawn(logs::pump(
                        from,
                        (output, io.clone()),
                        log.clone(),
                    )));
                }
            }
            match master {
                Some(master) => {
                    let dup = || master.try_clone().map_err(|e| e.to_string());
                    let input = if self.io.stdin {
                        Some(Box::pin(tokio::fs::File::from_std(dup()?)) as _)
                    } else {
                        None
                    };
                    io.begin(input, Some(dup()?.into()));
                    let out = tokio::fs::File::from_std(master);
                    self.pumps.push(tokio::spawn(logs::pump(
                        out,
                        (Output::Stdout, io.clone()),
                        log.clone(),
                    )));
                }
                None => io.begin(None, None),
            }
            child
        } else {
            let mut cmd = sandbox.command(&self.spec).map_err(|e| e.to_string())?;
            cmd.stdin(if self.io.stdin {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
            let mut child = tokio::process::Command::from(cmd)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| e.to_string())?;
            io.begin(child.stdin.take().map(|i| Box::pin(i) as _), None);
            if let Some(out) = child.stdout.take() {
                self.pumps.push(tokio::spawn(logs::pump(
                    out,
                    (Output::Stdout, io.clone()),
                    log.clone(),
                )));
            }
            if let Some(err) = child.stderr.take() {
                self.pumps.push(tokio::spawn(logs::pump(
                    err,
                    (Output::Stderr, io.clone()),
                    log,
                )));
            }
            child
        };
        self.id = format!(
            "kubelab://{:016x}",
            jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(child.id().unwrap_or(0))
        );
        self.pid.store(child.id().unwrap_or(0), Ordering::Relaxed);
        self.child = Some(child);
        self.started_at = now();
        self.exit_code = None;
        // `send_replace`: a follower may subscribe later and must see the run alive.
        self.alive.send_replace(true);
        Ok(())
    }

    pub(crate) async fn restart(&mut self, sandbox: &podbox::Sandbox) -> Result<(), String> {
        let ended = self.terminated();
        // The previous run's log is what `logs --previous` reads.
        let _ = std::fs::rename(&self.log, self.log.with_extension("log.previous"));
        // Counted as a restart only once a run has started (its layer is numbered by it).
        self.restarts += 1;
        match self.start(sandbox).await {
            Ok(()) => {
                self.last_state = Some(ended);
                Ok(())
            }
            Err(e) => {
                self.restarts -= 1;
                Err(e)
            }
        }
    }

    pub(crate) fn running(&self) -> bool {
        self.child.is_some() && self.exit_code.is_none()
    }

    pub(crate) fn finished(&self) -> bool {
        self.exit_code.is_some()
    }

    /// Waits until the run has ended and what it wrote is in its log. Cancellable: a wait
    /// given up (a `select!` that went another way) is taken up where it stopped by the
    /// next one.
    pub(crate) async fn wait(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if self.exit_code.is_some() {
            return;
        }
        if self.reaped.is_none() {
            let code = child
                .wait()
                .await
                .map(|s| s.code().unwrap_or(137))
                .unwrap_or(137);
            self.reaped = Some((code, now(), std::time::Instant::now()));
            self.pid.store(0, Ordering::Relaxed);
            // Its probes end with it.
            self.probes.clear();
            // What the run wrote is in its log before its status is read from it: the
            // pumps end when the pipes close, bounded in case a process the container
            // left behind holds them open.
            self.drain_until =
                Some(tokio::time::Instant::now() + std::time::Duration::from_secs(2));
        }
        let deadline = self.drain_until.unwrap_or_else(tokio::time::Instant::now);
        // Each pump is let go only once it has ended or been stopped, never polled again.
        while let Some(pump) = self.pumps.first_mut() {
            if tokio::time::timeout_at(deadline, &mut *pump).await.is_err() {
                // Nothing it reads later belongs to this run's log or attaches.
                pump.abort();
            }
            self.pumps.remove(0);
        }
        let Some((code, finished_at, ended)) = self.reaped.take() else {
            return;
        };
        self.exit_code = Some(code);
        self.finished_at = finished_at;
        self.ended = Some(ended);
        // Every attach ends with the run's output.
        self.io.end();
        // A followed log ends once the run's last line is in it.
        self.alive.send_replace(false);
        self.message = self.termination_message(code);
    }

    /// Whether the run's process is still there (not yet reaped): what probes probe.
    pub(crate) fn process_alive(&self) -> bool {
        self.running() && self.reaped.is_none()
    }

    /// SIGKILL to the container's launcher, whose death takes the container's process
    /// with it.
    pub(crate) fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }

    pub(crate) fn terminate(&mut self) {
        if let (Some(child), true) = (self.child.as_ref(), self.running())
            && let Some(pid) = child.id()
        {
            // SIGTERM to its launcher, which forwards it to the container's process.
            let _ = podbox::terminate(pid);
        }
    }

    /// What the run left as its termination message, as the kubelet reads it
    /// (`getTerminationMessage`, `pkg/kubelet/kuberuntime/kuberuntime_container.go`): the
    /// last 4096 bytes of the file; when that is empty, the policy falls back to logs and
    /// the run failed, the last 80 lines of its log, at most 2048 bytes
    /// (`MaxContainerTerminationMessage*`, `pkg/kubelet/container/runtime.go`).
    fn termination_message(&self, code: i32) -> String {
        let from_file = self.termination.as_ref().map_or(String::new(), |f| {
            let data = std::fs::read(f).unwrap_or_default();
            String::from_utf8_lossy(&data[data.len().saturating_sub(4096)..]).into_owned()
        });
        if from_file.is_empty() && self.fallback_to_logs && code != 0 {
            return logs::tail_text(&self.log, 80, 2048);
        }
        from_file
    }

    fn terminated(&self) -> Terminated {
        Terminated {
            exit_code: self.exit_code.unwrap_or(0),
            message: self.message.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            container_id: self.id.clone(),
        }
    }

    /// How long the ended run must wait before it is started again, and the back-off it
    /// waits out; `None` when it may start at once. As `doBackOff` decides
    /// (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`), with the back-off's
    /// `IsInBackOffSince` (`k8s.io/client-go/util/flowcontrol/backoff.go`) at its end.
    pub(crate) fn backing_off(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        let (delay, moved) = self.back_off?;
        let ended = self.ended?;
        if ended.saturating_duration_since(moved) > BACK_OFF_RESET {
            return None;
        }
        delay
            .checked_sub(ended.elapsed())
            .filter(|left| !left.is_zero())
            .map(|left| (left, delay))
    }

    /// The back-off moves on as the run is started again (`Backoff.Next`).
    pub(crate) fn next_back_off(&mut self) {
        let now = std::time::Instant::now();
        let ended = self.ended.unwrap_or(now);
        let delay = match self.back_off {
            Some((delay, moved)) if ended.saturating_duration_since(moved) <= BACK_OFF_RESET => {
                (delay * 2).min(BACK_OFF_MAX)
            }
            _ => BACK_OFF_BASE,
        };
        self.back_off = Some((delay, now));
    }

    /// What the pod's status says about this container now.
    pub(crate) fn report(&self) -> ContainerReport {
        let (state, last) = match (&self.waiting, self.running()) {
            (_, true) => (
                RunState::Running {
                    started_at: self.started_at.clone(),
                },
                self.last_state.clone(),
            ),
            (Some((reason, message)), false) => (
                RunState::Waiting {
                    reason: reason.clone(),
                    message: message.clone(),
                },
                Some(self.terminated()),
            ),
            (None, false) => (
                RunState::Terminated(self.terminated()),
                self.last_state.clone(),
            ),
        };
        // Started once its startup probe (if any) has succeeded; ready once started and
        // its readiness probe (if any) has succeeded (`prober_manager.go`,
        // `UpdatePodStatus`).
        let running = self.running();
        let started = running && self.health.started.load(Ordering::Relaxed);
        ContainerReport {
            name: self.name.clone(),
            image: self.image.clone(),
            image_id: self.image_id.clone(),
            id: self.id.clone(),
            restarts: self.restarts,
            last,
            state,
            started,
            ready: started && self.health.ready.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ContainerRun {
    /// However the run is given up (its pod stopped while it is waited for, or past its
    /// grace period), every attach to it ends.
    fn drop(&mut self) {
        self.io.end();
    }
}

/// New, empty `upper` and `work` directories for run `run` of an image container, owned by
/// the pod's root, in the container's layer directory (`podbox::ImageRoot`).
fn fresh_layer(image: &mut podbox::ImageRoot, run: u32) -> Result<(), String> {
    let (uid, gid) = podbox::pod_root_ids();
    let base = Path::new(&image.upper)
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("no layer directory above {}", image.upper))?
        .join(run.to_string());
    image.upper = base.join("upper").display().to_string();
    image.work = base.join("work").display().to_string();
    for dir in [&image.upper, &image.work] {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {dir}: {e}"))?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| format!("giving {dir} to the pod's root: {e}"))?;
    }
    Ok(())
}
