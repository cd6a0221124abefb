//! A pod's life on this node once it is bound here: it is started (`start`), its status
//! is reported while its containers run, exited containers are restarted with back-off
//! under the restart policy, and when the pod is deleted it is stopped gracefully and
//! then deleted for good.

use crate::container::ContainerRun;
use crate::probe::{Prober, Verdict};
use crate::start::{StartFailure, StartedPod};
use crate::status::{self, Containers, PodStatusInput};
use crate::{Kubelet, events, now};
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::watch;

/// One pod's run on this node, from its start to its stop.
struct PodRun {
    kubelet: Arc<Kubelet>,
    pod: Pod,
    spec: PodSpec,
    ns: String,
    name: String,
    /// The pod's files: volumes, `/etc` files, DNS records and logs.
    dir: PathBuf,
    pod_ip: String,
    start_time: String,
    /// Turns true when the pod is to stop.
    stop: watch::Receiver<bool>,
    /// The conditions last reported.
    conditions: std::sync::Mutex<Vec<Value>>,
    /// What the containers' probes find, for the supervisor.
    verdicts: (
        tokio::sync::mpsc::UnboundedSender<Verdict>,
        tokio::sync::mpsc::UnboundedReceiver<Verdict>,
    ),
}

impl Kubelet {
    /// Runs `pod` until `stop` turns true, then stops it and deletes it for good.
    pub(crate) async fn run_pod(self: Arc<Self>, pod: Pod, stop: watch::Receiver<bool>) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let dir = self.config.runtime_dir.join("pods").join(&uid);
        let pod_ip = self.allocate_ip();
        let start_time = now();
        let run = PodRun {
            kubelet: self,
            spec: pod.spec.clone().unwrap_or_default(),
            ns: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            pod,
            dir,
            pod_ip,
            start_time,
            stop,
            conditions: std::sync::Mutex::new(Vec::new()),
            verdicts: tokio::sync::mpsc::unbounded_channel(),
        };
        run.run().await;
    }

    fn allocate_ip(&self) -> String {
        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.42.{}.{}", n / 250, n % 250 + 2)
    }

    async fn patch_status(&self, ns: &str, name: &str, status: Value) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pp = PatchParams {
            field_manager: Some("k3s".into()),
            ..Default::default()
        };
        if let Err(e) = api
            .patch_status(name, &pp, &Patch::Merge(json!({"status": status})))
            .await
        {
            tracing::debug!(pod = %name, error = %e, "status update failed");
        }
    }

    /// The pod is stopped: delete it for good (grace 0), as the kubelet does.
    async fn finish(&self, ns: &str, name: &str, uid: &str, dir: &Path) {
        {
            let mut targets = self.targets.lock().unwrap_or_else(|e| e.into_inner());
            let key = (ns.to_string(), name.to_string());
            // Only this pod's: a new pod of the same name may run already.
            if targets.get(&key).is_some_and(|t| t.uid == uid) {
                targets.remove(&key);
            }
        }
        let _ = images::remove_tree(dir);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        if let Ok(Some(p)) = api.get_opt(name).await
            && p.metadata.uid.as_deref() == Some(uid)
            && p.metadata.deletion_timestamp.is_some()
        {
            self.delete_now(ns, name, uid).await;
        }
    }

    /// Deletes the pod with grace period 0: nothing runs for it any more. The pod's uid
    /// is a precondition, so a new pod of the same name is never the one deleted
    /// (`pkg/kubelet/status/status_manager.go`, `syncPod`: `NewUIDPreconditions`).
    pub(crate) async fn delete_now(&self, ns: &str, name: &str, uid: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let _ = api
            .delete(
                name,
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(kube::api::Preconditions {
                        uid: Some(uid.to_string()),
                        resource_version: None,
                    }),
                    ..Default::default()
                },
            )
            .await;
    }
}

impl PodRun {
    fn uid(&self) -> String {
        self.pod.metadata.uid.clone().unwrap_or_default()
    }

    async fn run(mut self) {
        let started = self.start().await;
        match started {
            Err(failure) => {
                self.report_start_failure(&failure).await;
                let _ = self.stop.wait_for(|s| *s).await;
                self.kubelet
                    .finish(&self.ns, &self.name, &self.uid(), &self.dir)
                    .await;
            }
            Ok(StartedPod {
                sandbox,
                mut containers,
            }) => {
                self.supervise(&sandbox, &mut containers).await;
                // Graceful stop: SIGTERM, the grace period, then SIGKILL (by dropping the
                // sandbox).
                self.stop_containers(&mut containers).await;
                drop(sandbox);
                self.kubelet
                    .finish(&self.ns, &self.name, &self.uid(), &self.dir)
                    .await;
            }
        }
    }

    /// Starts the pod; while its images cannot be pulled (or a ConfigMap or Secret it
    /// needs cannot be read), reports why and tries again as the kubelet does: the next sync after a failed pull reports the back-off
    /// (`ImagePullBackOff`), and the pull is tried once the back-off has passed.
    async fn start(&mut self) -> Result<StartedPod, StartFailure> {
        let uid = self.pod.metadata.uid.clone().unwrap_or_default();
        loop {
            let failure = match self
                .kubelet
                .start_pod(&self.pod, &self.dir, &self.pod_ip)
                .await
            {
                Ok(started) => return Ok(started),
                Err(f)
                    if matches!(
                        f.reason,
                        "ErrImagePull"
                            | "ImagePullBackOff"
                            | "ErrImageNeverPull"
                            | "InvalidImageName"
                            | "CreateContainerConfigError"
                    ) =>
                {
                    f
                }
                Err(f) => return Err(f),
            };
            self.report_start_failure(&failure).await;
            let wait = match failure.reason {
                // The pod worker's next sync, which finds the pull backing off.
                "ErrImagePull" => std::time::Duration::from_secs(1),
                "ImagePullBackOff" => self.kubelet.pull_retry_in(&uid),
                // An image, a ConfigMap or a Secret that may appear while the pod waits:
                // the pod worker's next try, after its back-off period (10 s,
                // `pkg/kubelet/pod_workers.go`, `backOffPeriod`).
                _ => std::time::Duration::from_secs(10),
            };
            tokio::select! {
                _ = self.stop.wait_for(|s| *s) => return Err(failure),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The pod's status now, for its containers as they are. A condition keeps its
    /// `lastTransitionTime` while its status stays (`status_manager.go`,
    /// `updateLastTransitionTime`).
    fn status(&self, containers: Containers<'_>) -> Value {
        let mut status = status::pod_status(&PodStatusInput {
            containers,
            pod_ip: &self.pod_ip,
            host_ip: &self.kubelet.config.node_ip,
            start_time: &self.start_time,
            now: &now(),
            restart_policy: self.spec.restart_policy.as_deref().unwrap_or("Always"),
        });
        let mut last = self.conditions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conditions) = status["conditions"].as_array_mut() {
            for c in conditions.iter_mut() {
                if let Some(before) = last
                    .iter()
                    .find(|b| b["type"] == c["type"] && b["status"] == c["status"])
                {
                    c["lastTransitionTime"] = before["lastTransitionTime"].clone();
                }
            }
            *last = conditions.clone();
        }
        status
    }

    /// The pod could not start: a `Failed` event, and every container waiting with the
    /// reason.
    async fn report_start_failure(&self, failure: &StartFailure) {
        let field = self
            .spec
            .containers
            .first()
            .map(|c| events::container_field(&c.name));
        self.kubelet
            .recorder()
            .record(
                &self.pod,
                "Warning",
                "Failed",
                &failure.event_message(),
                field.as_deref(),
            )
            .await;
        let status = self.status(Containers::NotCreated {
            containers: &self.spec.containers,
            reason: failure.reason,
            message: &failure.message,
        });
        self.kubelet
            .patch_status(&self.ns, &self.name, status)
            .await;
    }

    /// Reports the pod's status and restarts exited containers until the pod is to stop;
    /// a pod whose containers have all finished waits for that.
    async fn supervise(&mut self, sandbox: &podbox::Sandbox, containers: &mut [ContainerRun]) {
        let restart_policy = self
            .spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        loop {
            let reports: Vec<_> = containers.iter().map(ContainerRun::report).collect();
            let status = self.status(Containers::Started(&reports));
            let running = status["phase"] == "Running";
            self.kubelet
                .patch_status(&self.ns, &self.name, status)
                .await;
            if !running {
                let _ = self.stop.wait_for(|s| *s).await;
                break;
            }
            for c in containers.iter_mut() {
                self.probe(c);
            }
            // Wait for a container to exit, a probe's verdict, a back-off's end, or the
            // pod's deletion.
            let mut verdict = None;
            let idle = !containers.iter().any(ContainerRun::running);
            let next_restart = containers.iter().filter_map(|c| c.restart_at).min();
            let wake = async move {
                match next_restart {
                    Some(at) => tokio::time::sleep_until(at).await,
                    // Nothing runs and nothing waits, yet the pod is to run on: a start
                    // failed. The pod worker tries again after its back-off period (10 s,
                    // `pkg/kubelet/pod_workers.go`).
                    None if idle => tokio::time::sleep(std::time::Duration::from_secs(10)).await,
                    None => std::future::pending().await,
                }
            };
            let exits: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> =
                if idle {
                    Box::pin(std::future::pending())
                } else {
                    let waits = containers
                        .iter_mut()
                        .filter(|c| c.running())
                        .map(|c| Box::pin(c.wait()));
                    Box::pin(async move {
                        futures::future::select_all(waits).await;
                    })
                };
            tokio::select! {
                _ = self.stop.wait_for(|s| *s) => break,
                _ = exits => {}
                _ = wake => {}
                Some(v) = self.verdicts.1.recv() => verdict = Some(v),
            }
            if let Some(Verdict::Failed {
                container,
                kind,
                health,
            }) = verdict
                && let Some(c) = containers
                    .iter_mut()
                    .find(|c| c.name == container && Arc::ptr_eq(&c.health, &health))
            {
                self.kill_unhealthy(c, kind, &restart_policy).await;
            }
            self.restart_exited(sandbox, containers, &restart_policy)
                .await;
            if *self.stop.borrow() {
                break;
            }
        }
    }

    /// Starts the probes of `c`'s current run, unless they run already or it does not.
    fn probe(&self, c: &mut ContainerRun) {
        if !c.process_alive() || !c.probes.is_empty() {
            return;
        }
        for kind in crate::probe::kinds(&c.container) {
            let prober = Prober {
                kubelet: self.kubelet.clone(),
                pod: self.pod.clone(),
                pod_ip: self.pod_ip.clone(),
                container: c.container.clone(),
                kind,
                health: c.health.clone(),
                verdicts: self.verdicts.0.clone(),
            };
            c.probes
                .push(crate::AbortOnDrop(tokio::spawn(prober.run())));
        }
    }

    /// Kills a container that failed its liveness or startup probe, as
    /// `computePodActions` and `killContainer` do (`kuberuntime_manager.go`,
    /// `kuberuntime_container.go`): a `Killing` event with the reason, SIGTERM, the grace
    /// period (the probe's own, else the pod's), then SIGKILL.
    async fn kill_unhealthy(&self, c: &mut ContainerRun, kind: crate::probe::Kind, policy: &str) {
        if !c.running() {
            return;
        }
        let (word, probe) = match kind {
            crate::probe::Kind::Startup => ("startup", c.container.startup_probe.as_ref()),
            _ => ("liveness", c.container.liveness_probe.as_ref()),
        };
        let mut message = format!("Container {} failed {word} probe", c.name);
        if policy != "Never" {
            message.push_str(", will be restarted");
        }
        let field = events::container_field(&c.name);
        self.kubelet
            .recorder()
            .record(&self.pod, "Normal", "Killing", &message, Some(&field))
            .await;
        // At least 2 s, as `killContainer` gives (`minimumGracePeriodInSeconds`).
        let grace = probe
            .and_then(|p| p.termination_grace_period_seconds)
            .or(self.spec.termination_grace_period_seconds)
            .unwrap_or(30)
            .max(2) as u64;
        c.probes.clear();
        c.terminate();
        let mut stop = self.stop.clone();
        tokio::select! {
            // The pod's own stop takes it from here.
            () = async { let _ = stop.wait_for(|s| *s).await; } => {}
            ended = tokio::time::timeout(std::time::Duration::from_secs(grace), c.wait()) => {
                if ended.is_err() {
                    c.kill();
                    c.wait().await;
                }
            }
        }
    }

    /// Restarts each finished container that `restart_policy` restarts whose back-off is
    /// over; one still to wait out its back-off is marked so (`ContainerRun::restart_at`).
    async fn restart_exited(
        &mut self,
        sandbox: &podbox::Sandbox,
        containers: &mut [ContainerRun],
        restart_policy: &str,
    ) {
        for c in containers.iter_mut() {
            let restart = c.finished()
                && match restart_policy {
                    "Always" => true,
                    "OnFailure" => c.exit_code != Some(0),
                    _ => false,
                };
            if !restart {
                continue;
            }
            if c.restart_at.is_none()
                && let Some((left, delay)) = c.backing_off()
            {
                // The back-off is waited out while the pod's other containers go on, as
                // the status and a `BackOff` event say (`doBackOff`,
                // `pkg/kubelet/kuberuntime/kuberuntime_manager.go`; `format.Pod` names
                // the pod).
                let pod = format!("{}_{}({})", self.name, self.ns, self.uid());
                let delay = apiserver::gotime::go_duration(delay.as_nanos() as i64);
                c.waiting = Some((
                    "CrashLoopBackOff".into(),
                    format!(
                        "back-off {delay} restarting failed container={} pod={pod}",
                        c.name
                    ),
                ));
                c.restart_at = Some(tokio::time::Instant::now() + left);
                let field = events::container_field(&c.name);
                let message = format!(
                    "Back-off restarting failed container {} in pod {pod}",
                    c.name
                );
                self.kubelet
                    .recorder()
                    .record(&self.pod, "Warning", "BackOff", &message, Some(&field))
                    .await;
                continue;
            }
            if c.restart_at
                .is_some_and(|at| at > tokio::time::Instant::now())
            {
                continue;
            }
            c.restart_at = None;
            c.waiting = None;
            c.next_back_off();
            // Each start makes sure of the image first, with its events (`startContainer`:
            // `EnsureImageExists`), then creates and starts the container.
            let started = match self.spec.containers.iter().find(|s| s.name == c.name) {
                Some(spec) => match self.kubelet.ensure_image(&self.pod, spec).await {
                    Ok(_) => c
                        .restart(sandbox)
                        .await
                        .map_err(|e| ("RunContainerError", e)),
                    Err(f) => Err((f.reason, f.message)),
                },
                None => Ok(()),
            };
            match started {
                Ok(()) => self.kubelet.record_started(&self.pod, &c.name).await,
                // Waiting with the reason, tried again after the pod worker's back-off
                // period (10 s, `pkg/kubelet/pod_workers.go`).
                Err((reason, message)) => {
                    c.waiting = Some((reason.to_string(), message));
                    c.restart_at =
                        Some(tokio::time::Instant::now() + std::time::Duration::from_secs(10));
                }
            }
        }
    }

    /// SIGTERM to every container (a `Killing` event for each running one), then up to
    /// the grace period for them to exit.
    async fn stop_containers(&self, containers: &mut [ContainerRun]) {
        let grace = self
            .spec
            .termination_grace_period_seconds
            .unwrap_or(30)
            .max(0) as u64;
        for c in containers.iter_mut() {
            // Probes stop with the pod.
            c.probes.clear();
            if c.running() {
                let field = events::container_field(&c.name);
                self.kubelet
                    .recorder()
                    .record(
                        &self.pod,
                        "Normal",
                        "Killing",
                        &format!("Stopping container {}", c.name),
                        Some(&field),
                    )
                    .await;
            }
            c.terminate();
        }
        let all_exit = futures::future::join_all(
            containers
                .iter_mut()
                .filter(|c| c.running())
                .map(|c| Box::pin(c.wait())),
        );
        let _ = tokio::time::timeout(std::time::Duration::from_secs(grace), all_exit).await;
    }
}
