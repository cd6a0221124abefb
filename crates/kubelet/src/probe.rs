//! Container probes, as the kubelet's prober runs them (`pkg/kubelet/prober`): a startup
//! probe gates the others until it succeeds; a readiness probe decides whether the
//! container is ready; a failed liveness or startup probe has the container killed and,
//! under the restart policy, started again. Each probe waits `initialDelaySeconds` from
//! the container's start, runs every `periodSeconds` within `timeoutSeconds`, and changes
//! its result only after `successThreshold` or `failureThreshold` results in a row
//! (`worker.go`, `doProbe`). Every failure is an `Unhealthy` event in the prober's words.
//!
//! The handlers run as the kubelet runs them (`prober.go`, `runProbe`): `exec` in the
//! container, with its output as the failure's message (`pkg/probe/exec`); `tcpSocket` a
//! connection to the pod's IP (`pkg/probe/tcp`); `httpGet` a GET from the node to the
//! pod's IP whose status decides (`pkg/probe/http`: 200 to 399 succeed, redirects on the
//! same host followed). HTTPS and gRPC
//! probes are not run by this node: they err, as an unrunnable probe does upstream, and
//! decide nothing.

use crate::Kubelet;
use apiserver::runtime::{ExecRequest, PodRuntime};
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Startup,
    Readiness,
    Liveness,
}

impl Kind {
    /// `probeType.String()`.
    fn word(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Readiness => "Readiness",
            Kind::Liveness => "Liveness",
        }
    }
}

/// What a container's probes have found in its current run.
#[derive(Debug)]
pub(crate) struct Health {
    /// Started: no startup probe, or it has succeeded.
    pub(crate) started: AtomicBool,
    /// Ready: no readiness probe, or it has succeeded (and not failed since).
    pub(crate) ready: AtomicBool,
}

impl Health {
    /// A run's health before any probe has run.
    pub(crate) fn new(c: &Container) -> Health {
        Health {
            started: AtomicBool::new(c.startup_probe.is_none()),
            ready: AtomicBool::new(c.readiness_probe.is_none()),
        }
    }
}

/// What a probe tells the pod's supervisor.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The container's readiness or start changed: its status is to be reported.
    Changed,
    /// The container failed its liveness or startup probe: it is to be killed, if the
    /// run whose `health` it is still runs.
    Failed {
        container: String,
        kind: Kind,
        health: Arc<Health>,
    },
}

/// One probe of one container's run.
pub(crate) struct Prober {
    pub(crate) kubelet: Arc<Kubelet>,
    pub(crate) pod: Pod,
    pub(crate) pod_ip: String,
    pub(crate) container: Container,
    pub(crate) kind: Kind,
    pub(crate) health: Arc<Health>,
    pub(crate) verdicts: tokio::sync::mpsc::UnboundedSender<Verdict>,
}

/// The probe of `kind` in `c`'s spec.
fn spec(c: &Container, kind: Kind) -> Option<&k8s_openapi::api::core::v1::Probe> {
    match kind {
        Kind::Startup => c.startup_probe.as_ref(),
        Kind::Readiness => c.readiness_probe.as_ref(),
        Kind::Liveness => c.liveness_probe.as_ref(),
    }
}

/// The probes `c` has.
pub(crate) fn kinds(c: &Container) -> Vec<Kind> {
    [Kind::Startup, Kind::Readiness, Kind::Liveness]
        .into_iter()
        .filter(|k| spec(c, *k).is_some())
        .collect()
}

impl Prober {
    /// Probes until the probe has decided what it decides once (a startup probe's
    /// success, a liveness or startup failure) or the task is dropped with its run.
    pub(crate) async fn run(self) {
        let Some(p) = spec(&self.container, self.kind).cloned() else {
            return;
        };
        let secs =
            |v: Option<i32>, default: i32| Duration::from_secs(v.unwrap_or(default).max(0) as u64);
        let period = secs(p.period_seconds, 10).max(Duration::from_secs(1));
        let timeout = secs(p.timeout_seconds, 1).max(Duration::from_secs(1));
        let (success, failure) = (
            p.success_threshold.unwrap_or(1).max(1),
            p.failure_threshold.unwrap_or(3).max(1),
        );
        tokio::time::sleep(secs(p.initial_delay_seconds, 0)).await;
        let mut last: Option<bool> = None;
        let mut in_a_row = 0;
        loop {
            // Readiness and liveness wait for the start (`worker.go`: a container not yet
            // started is not probed but for its startup).
            if self.kind == Kind::Startup || self.health.started.load(Ordering::Relaxed) {
                let result = self.probe(&p, timeout).await;
                if let Err(why) = &result {
                    self.unhealthy(why).await;
                }
                // A probe that could not run decides nothing (`worker.go`, `doProbe`:
                // "Prober error, throw away the result").
                if matches!(result, Err(Failure::Errored(_))) {
                    tokio::time::sleep(period).await;
                    continue;
                }
                let ok = result.is_ok();
                in_a_row = if last == Some(ok) { in_a_row + 1 } else { 1 };
                last = Some(ok);
                if in_a_row >= if ok { success } else { failure } && self.decide(ok) {
                    return;
                }
            }
            tokio::time::sleep(period).await;
        }
    }

    /// Applies a result that met its threshold; whether this probe is done.
    fn decide(&self, ok: bool) -> bool {
        let name = self.container.name.clone();
        let tell = |v| {
            let _ = self.verdicts.send(v);
        };
        match (self.kind, ok) {
            (Kind::Readiness, ok) => {
                if self.health.ready.swap(ok, Ordering::Relaxed) != ok {
                    tell(Verdict::Changed);
                }
                false
            }
            (Kind::Startup, true) => {
                self.health.started.store(true, Ordering::Relaxed);
                tell(Verdict::Changed);
                true
            }
            (Kind::Liveness, true) => false,
            (kind, false) => {
                tell(Verdict::Failed {
                    container: name,
                    kind,
                    health: self.health.clone(),
                });
                true
            }
        }
    }

    /// An `Unhealthy` event for a failed probe (`prober.go`, `probe`).
    async fn unhealthy(&self, why: &Failure) {
        let message = match why {
            Failure::Failed(output) => format!("{} probe failed: {output}", self.kind.word()),
            Failure::Errored(err) => format!(
                "{} probe errored and resulted in unknown state: {err}",
                self.kind.word()
            ),
        };
        let field = crate::events::container_field(&self.container.name);
        self.kubelet
            .recorder()
            .record(&self.pod, "Warning", "Unhealthy", &message, Some(&field))
            .await;
    }

    /// Runs the probe's handler once.
    async fn probe(
        &self,
        p: &k8s_openapi::api::core::v1::Probe,
        timeout: Duration,
    ) -> Result<(), Failure> {
        if let Some(exec) = &p.exec {
            // `$(VAR)` from the container's literal `env` values, a `valueFrom` counting
            // as empty (`ExpandContainerCommandOnlyStatic`, `pkg/kubelet/container/helpers.go`).
            let env: Vec<(String, String)> = self
                .container
                .env
                .iter()
                .flatten()
                .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
                .collect();
            let command = exec
                .command
                .iter()
                .flatten()
                .map(|c| crate::env::expand(c, &env))
                .collect();
            return self.exec(command, timeout).await;
        }
        if let Some(tcp) = &p.tcp_socket {
            let port = self.port(&tcp.port)?;
            let host = self.host(tcp.host.as_deref())?;
            return self.tcp(host, port, timeout).await;
        }
        if let Some(http) = &p.http_get {
            let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
            if scheme != "http" {
                return Err(Failure::Errored(format!(
                    "{scheme} probes are not run by kubelab's node"
                )));
            }
            let port = self.port(&http.port)?;
            let host = self.host(http.host.as_deref())?;
            let path = http.path.clone().unwrap_or_else(|| "/".into());
            let headers: Vec<(String, String)> = http
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect();
            return self.http(host, port, &path, &headers, timeout).await;
        }
        if p.grpc.is_some() {
            return Err(Failure::Errored(
                "gRPC probes are not run by kubelab's node".into(),
            ));
        }
        Err(Failure::Errored(format!(
            "missing probe handler for {}_{}({}):{}",
            self.pod.metadata.name.as_deref().unwrap_or(""),
            self.pod.metadata.namespace.as_deref().unwrap_or(""),
            self.pod.metadata.uid.as_deref().unwrap_or(""),
            self.container.name
        )))
    }

    /// A port by number or by the name of one of the container's ports
    /// (`probe.ResolveContainerPort`).
    fn port(&self, port: &IntOrString) -> Result<u16, Failure> {
        let n = match port {
            IntOrString::Int(n) => *n,
            IntOrString::String(name) => self
                .container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| {
                    Failure::Errored(format!(
                        "couldn't find port: {name} in {}",
                        self.container.name
                    ))
                })?,
        };
        u16::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Failure::Errored(format!("invalid port number: {n}")))
    }

    /// The probe's host: the pod's IP unless it names one; this node reaches only the
    /// pod's own addresses.
    fn host(&self, host: Option<&str>) -> Result<std::net::Ipv4Addr, Failure> {
        let host = host.filter(|h| !h.is_empty()).unwrap_or(&self.pod_ip);
        host.parse().map_err(|_| {
            Failure::Errored(format!(
                "probing {host} is not supported by kubelab's node: it reaches only a pod's own IP"
            ))
        })
    }

    /// `exec`: the command in the container; its exit code decides, its combined output
    /// (up to 10 KiB) is the message (`pkg/probe/exec`, `maxReadLength`).
    async fn exec(&self, command: Vec<String>, timeout: Duration) -> Result<(), Failure> {
        let request = ExecRequest {
            namespace: self.pod.metadata.namespace.clone().unwrap_or_default(),
            pod: self.pod.metadata.name.clone().unwrap_or_default(),
            uid: self.pod.metadata.uid.clone().unwrap_or_default(),
            container: self.container.name.clone(),
            command: command.clone(),
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        };
        let run = async {
            let mut session = self
                .kubelet
                .exec(request)
                .await
                .map_err(|e| Failure::Errored(e.0))?;
            let output = tokio::sync::Mutex::new(Vec::new());
            let read = |from: Option<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>>| {
                let output = &output;
                async move {
                    let Some(mut from) = from else { return };
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = from.read(&mut buf).await {
                        let mut out = output.lock().await;
                        let room = (10usize << 10).saturating_sub(out.len());
                        out.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            };
            let (code, (), ()) = tokio::join!(
                session.exit,
                read(session.stdout.take()),
                read(session.stderr.take())
            );
            let output = String::from_utf8_lossy(&output.into_inner()).into_owned();
            match code {
                Ok(0) => Ok(()),
                Ok(_) => Err(Failure::Failed(output)),
                Err(e) => Err(Failure::Errored(e)),
            }
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            // `remote_runtime.go`, `ExecSync`: the kubelet's words for a command that ran
            // out of time (`ErrCommandTimedOut`).
            Err(_) => Err(Failure::Failed(format!(
                "command timed out: {:?} timed out after {}",
                command.join(" "),
                apiserver::gotime::go_duration(timeout.as_nanos() as i64)
            ))),
        }
    }

    /// `tcpSocket`: a connection is accepted (`pkg/probe/tcp`, `DoTCPProbe`).
    async fn tcp(
        &self,
        host: std::net::Ipv4Addr,
        port: u16,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let sandbox = self.sandbox()?;
        let cmd = sandbox
            .check(host, port)
            .map_err(|e| Failure::Errored(e.to_string()))?;
        let out = tokio::process::Command::from(cmd)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(timeout, out).await {
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => Err(Failure::Failed(
                podbox::failure(&String::from_utf8_lossy(&out.stderr)).to_string(),
            )),
            Ok(Err(e)) => Err(Failure::Errored(e.to_string())),
            Err(_) => Err(Failure::Failed(format!(
                "dial tcp {host}:{port}: i/o timeout"
            ))),
        }
    }

    /// `httpGet`: a GET with the prober's headers, redirects on the same host followed
    /// (at most 10, as Go's client does; one to another host ends there); 200 to 399
    /// succeed (`pkg/probe/http`: `DoHTTPProbe`, `RedirectChecker`;
    /// `NewRequestForHTTPGetAction` sets `User-Agent: kube-probe/<major>.<minor>` and
    /// `Accept: */*` unless given).
    async fn http(
        &self,
        host: std::net::Ipv4Addr,
        port: u16,
        path: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<(), Failure> {
        let mut path = path.to_string();
        for _ in 0..=10 {
            let (code, location) = self.http_once(host, port, &path, headers, timeout).await?;
            let here = format!("http://{host}:{port}");
            match (code, location) {
                (300..=399, Some(to)) if to.starts_with('/') => path = to,
                (300..=399, Some(to)) if to.starts_with(&here) => {
                    path = to[here.len()..].to_string();
                    if path.is_empty() {
                        path = "/".into();
                    }
                }
                (200..=399, _) => return Ok(()),
                (code, _) => {
                    return Err(Failure::Failed(format!(
                        "HTTP probe failed with statuscode: {code}"
                    )));
                }
            }
        }
        Err(Failure::Failed(format!(
            "Get \"http://{host}:{port}{path}\": stopped after 10 redirects"
        )))
    }

    /// One GET: the answer's status and `Location`.
    async fn http_once(
        &self,
        host: std::net::Ipv4Addr,
        port: u16,
        path: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<(u16, Option<String>), Failure> {
        let url = format!("http://{host}:{port}{path}");
        let sandbox = self.sandbox()?;
        let cmd = sandbox
            .connect_to(host, port)
            .map_err(|e| Failure::Errored(e.to_string()))?;
        let mut child =
            crate::spawn_connection(cmd).map_err(|e| Failure::Errored(e.to_string()))?;
        let given = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let mut request = format!("GET {path} HTTP/1.1\r\n");
        // A `Host` header given is the request's host (`NewRequestForHTTPGetAction`).
        if !given("Host") {
            request.push_str(&format!("Host: {host}:{port}\r\n"));
        }
        if !given("User-Agent") {
            request.push_str("User-Agent: kube-probe/1.33\r\n");
        }
        if !given("Accept") {
            request.push_str("Accept: */*\r\n");
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        let exchange = async {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(request.as_bytes()).await;
            }
            let mut answer = Vec::new();
            if let Some(mut stdout) = child.stdout.take() {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stdout.read(&mut buf).await {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
            answer
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => {
                return Err(Failure::Failed(format!(
                    "Get {url:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                )));
            }
        };
        // The status line and headers alone: what follows them may be anything.
        let end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(answer.len());
        let head = String::from_utf8_lossy(&answer[..end]);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse::<u16>().ok());
        let location = lines.find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("Location")
                .then(|| v.trim().to_string())
        });
        match status {
            Some(code) => Ok((code, location)),
            None => {
                // Refused, or no HTTP answer: why is on the connection's standard error.
                let mut why = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = tokio::time::timeout(timeout, err.read_to_string(&mut why)).await;
                }
                let why = podbox::failure(&why);
                Err(Failure::Failed(if why.is_empty() {
                    format!("Get {url:?}: EOF")
                } else {
                    format!("Get {url:?}: {why}")
                }))
            }
        }
    }

    fn sandbox(&self) -> Result<Arc<podbox::Sandbox>, Failure> {
        let ns = self.pod.metadata.namespace.as_deref().unwrap_or("");
        let name = self.pod.metadata.name.as_deref().unwrap_or("");
        self.kubelet
            .target(ns, name)
            .map(|t| t.sandbox)
            .ok_or_else(|| Failure::Errored(format!("pod {ns}/{name} is not running")))
    }
}

/// Why a probe did not succeed: its handler's failure (a message from the container or
/// the connection), or the probe could not be run at all.
#[derive(Debug)]
enum Failure {
    Failed(String),
    Errored(String),
}
