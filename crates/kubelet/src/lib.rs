//! The embedded kubelet: schedules the cluster's pods onto its one node, runs them as
//! podbox sandboxes, and reports their status through the API like a real kubelet.
//!
//! It is an API client (through `kube`), so it sees exactly what any kubelet sees; the
//! API server knows nothing of it. Status follows `pkg/kubelet/status` and
//! `kubelet_pods.go` (`generateAPIPodStatus`): conditions `PodReadyToStartContainers`,
//! `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`; container states with exit
//! codes and restart counts; pod IPs from `10.42.0.0/16`. It also answers `pods/exec`
//! and `pods/log` for the API server (`exec`, `logs`).

pub mod env;
mod events;
mod exec;
pub mod images;
mod logs;
pub mod volumes;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Where the node is reachable; also the pods' `hostIP`.
pub const NODE_IP: &str = "10.42.0.1";

/// How to run a node.
#[derive(Debug, Clone)]
pub struct Config {
    pub node_name: String,
    /// Per-pod files (volumes, /etc/hosts, logs) live under here.
    pub runtime_dir: PathBuf,
    /// The API server's Unix socket, bridged into every pod.
    pub api_socket: PathBuf,
}

struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// What `exec` needs of a running pod: its sandbox and how its containers were started.
#[derive(Clone)]
struct ExecTarget {
    uid: String,
    sandbox: Arc<podbox::Sandbox>,
    containers: HashMap<String, podbox::ContainerSpec>,
    /// Whether each container is running, for `logs -f`.
    alive: HashMap<String, tokio::sync::watch::Receiver<bool>>,
}

/// The kubelet of one node.
pub struct Kubelet {
    client: kube::Client,
    config: Config,
    next_ip: AtomicU32,
    pods: Mutex<HashMap<String, Running>>,
    /// Running pods by (namespace, name), for exec.
    targets: Mutex<HashMap<(String, String), ExecTarget>>,
}

impl std::fmt::Debug for Kubelet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubelet")
            .field("node", &self.config.node_name)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Kubelet {
    pub fn new(client: kube::Client, config: Config) -> Arc<Kubelet> {
        Arc::new(Kubelet {
            client,
            config,
            next_ip: AtomicU32::new(2),
            pods: Mutex::new(HashMap::new()),
            targets: Mutex::new(HashMap::new()),
        })
    }

    /// Watches every pod until the stream ends. Files left by an earlier kubelet that
    /// was killed are removed first: their pods died with it.
    pub async fn run(self: Arc<Self>) {
        let _ = std::fs::remove_dir_all(self.config.runtime_dir.join("pods"));
        // Cluster DNS follows the Services: every pod's records file is rewritten when one
        // changes, and the pods' resolvers read it on each query.
        let me = self.clone();
        let dns = tokio::spawn(async move {
            let services: Api<Service> = Api::all(me.client.clone());
            let mut changes = watcher(services, watcher::Config::default()).boxed();
            while let Some(ev) = changes.next().await {
                if matches!(
                    ev,
                    Ok(watcher::Event::Apply(_))
                        | Ok(watcher::Event::Delete(_))
                        | Ok(watcher::Event::InitDone)
                ) {
                    let records = me.dns_records().await;
                    let uids: Vec<String> = me
                        .targets
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .values()
                        .map(|t| t.uid.clone())
                        .collect();
                    for uid in uids {
                        let _ = std::fs::write(
                            me.config.runtime_dir.join("pods").join(uid).join("dns"),
                            &records,
                        );
                    }
                }
            }
        });
        let _dns = AbortOnDrop(dns);
        let pods: Api<Pod> = Api::all(self.client.clone());
        let mut stream = watcher(pods.clone(), watcher::Config::default()).boxed();
        // Like the kubelet's periodic sync: a full pass now and then, so that an event the
        // watch missed delays a pod, never strands it.
        let mut resync = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tokio::select! {
                ev = stream.next() => match ev {
                    None => return,
                    Some(Ok(watcher::Event::Apply(pod))) | Some(Ok(watcher::Event::InitApply(pod))) => {
                        self.clone().reconcile(pod).await
                    }
                    Some(Ok(watcher::Event::Delete(pod))) => self.forget(&pod),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "pod watch failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                },
                _ = resync.tick() => {
                    for pod in pods.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default() {
                        self.clone().reconcile(pod).await;
                    }
                }
            }
        }
    }

    /// Stops every pod at once (the node is going away): their sandboxes are dropped, so
    /// every pod process dies.
    pub fn shutdown(&self) {
        let running: Vec<Running> = self
            .pods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in running {
            r.task.abort();
        }
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn forget(&self, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if let Some(r) = self
            .pods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid)
        {
            let _ = r.stop.send(true);
            r.task.abort();
        }
    }

    async fn reconcile(self: Arc<Self>, pod: Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if node.is_empty() {
            // The scheduler's job, done here for the one node: a Binding.
            let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"apiVersion": "v1", "kind": "Node", "name": self.config.node_name}});
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            match api
                .create_subresource::<Value, Value>(
                    "binding",
                    &name,
                    &PostParams::default(),
                    &binding,
                )
                .await
            {
                Ok(_) => {
                    let msg = format!(
                        "Successfully assigned {ns}/{name} to {}",
                        self.config.node_name
                    );
                    events::Recorder {
                        client: &self.client,
                        component: "default-scheduler",
                        host: "",
                    }
                    .record(&pod, "Normal", "Scheduled", &msg, None)
                    .await;
                }
                Err(e) => tracing::warn!(pod = %name, error = %e, "binding failed"),
            }
            return;
        }
        if node != self.config.node_name {
            return;
        }
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        let finished = phase == "Succeeded" || phase == "Failed";
        let delete_now = {
            let mut pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = pods.get(&uid) {
                if deleting {
                    let _ = r.stop.send(true);
                }
                false
            } else if finished {
                // Nothing runs for a finished pod; a delete of it completes at once.
                deleting
            } else {
                let (stop, stop_rx) = tokio::sync::watch::channel(deleting);
                let me = self.clone();
                let task = tokio::spawn(async move { me.run_pod(pod, stop_rx).await });
                pods.insert(uid, Running { stop, task });
                false
            }
        };
        if delete_now {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
            let _ = api
                .delete(
                    &name,
                    &DeleteParams {
                        grace_period_seconds: Some(0),
                        ..Default::default()
                    },
                )
                .await;
        }
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

    /// Cluster DNS records: every Service's names.
    async fn dns_records(&self) -> String {
        let services: Api<Service> = Api::all(self.client.clone());
        let mut out = String::new();
        for s in services
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let (Some(name), Some(ns)) =
                (s.metadata.name.as_deref(), s.metadata.namespace.as_deref())
            else {
                continue;
            };
            if let Some(ip) = s
                .spec
                .as_ref()
                .and_then(|sp| sp.cluster_ip.as_deref())
                .filter(|ip| *ip != "None")
            {
                out.push_str(&format!("{name}.{ns}.svc.cluster.local {ip}\n"));
            }
        }
        out
    }

    async fn run_pod(self: Arc<Self>, pod: Pod, mut stop: tokio::sync::watch::Receiver<bool>) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let dir = self.config.runtime_dir.join("pods").join(&uid);
        let pod_ip = self.allocate_ip();
        let start_time = now();
        let spec = pod.spec.clone().unwrap_or_default();
        let scheduled = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": start_time});

        let result = self.start_pod(&pod, &dir, &pod_ip).await;
        let node = self.config.node_name.clone();
        let (sandbox, mut containers) = match result {
            Ok(ok) => ok,
            Err((waiting_reason, message)) => {
                let field = spec
                    .containers
                    .first()
                    .map(|c| format!("spec.containers{{{}}}", c.name));
                events::Recorder {
                    client: &self.client,
                    component: "kubelet",
                    host: &node,
                }
                .record(
                    &pod,
                    "Warning",
                    "Failed",
                    &format!("Error: {waiting_reason}: {message}"),
                    field.as_deref(),
                )
                .await;
                let statuses: Vec<Value> = spec
                    .containers
                    .iter()
                    .map(|c| json!({"name": c.name, "state": {"waiting": {"reason": waiting_reason, "message": message}}, "lastState": {}, "ready": false, "restartCount": 0, "image": c.image, "imageID": "", "started": false}))
                    .collect();
                self.patch_status(&ns, &name, json!({
                    "phase": "Pending",
                    "conditions": [
                        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": start_time},
                        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": start_time},
                        {"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": start_time, "reason": "ContainersNotReady", "message": format!("containers with unready status: [{}]", spec.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(" "))},
                        {"type": "ContainersReady", "status": "False", "lastProbeTime": null, "lastTransitionTime": start_time, "reason": "ContainersNotReady", "message": format!("containers with unready status: [{}]", spec.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(" "))},
                        scheduled,
                    ],
                    "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
                    "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                    "startTime": start_time,
                    "containerStatuses": statuses,
                }))
                .await;
                let _ = stop.wait_for(|s| *s).await;
                self.finish(&ns, &name, &dir).await;
                return;
            }
        };
        let restart_policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        loop {
            let all_running = containers.iter().all(|c| c.running());
            let statuses: Vec<Value> = containers.iter().map(|c| c.status()).collect();
            let ready = if all_running { "True" } else { "False" };
            let not_ready: Vec<&str> = containers
                .iter()
                .filter(|c| !c.running())
                .map(|c| c.name.as_str())
                .collect();
            let mut ready_cond = json!({"type": "Ready", "status": ready, "lastProbeTime": null, "lastTransitionTime": now()});
            let mut cready_cond = json!({"type": "ContainersReady", "status": ready, "lastProbeTime": null, "lastTransitionTime": now()});
            if !all_running {
                for c in [&mut ready_cond, &mut cready_cond] {
                    c["reason"] = json!(if containers.iter().all(|c| c.finished()) {
                        "PodCompleted"
                    } else {
                        "ContainersNotReady"
                    });
                    if c["reason"] == "ContainersNotReady" {
                        c["message"] = json!(format!(
                            "containers with unready status: [{}]",
                            not_ready.join(" ")
                        ));
                    }
                }
            }
            let phase = if containers.iter().all(|c| c.finished()) {
                if containers.iter().all(|c| c.exit_code == Some(0)) {
                    "Succeeded"
                } else {
                    "Failed"
                }
            } else {
                "Running"
            };
            self.patch_status(&ns, &name, json!({
                "phase": phase,
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": if phase == "Running" { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": start_time},
                    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": start_time},
                    ready_cond,
                    cready_cond,
                    scheduled,
                ],
                "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
                "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                "startTime": start_time,
                "containerStatuses": statuses,
            }))
            .await;
            if phase != "Running" {
                let _ = stop.wait_for(|s| *s).await;
                break;
            }
            // Wait for a container to exit or for the pod to be deleted.
            let exits = futures::future::select_all(
                containers
                    .iter_mut()
                    .filter(|c| c.running())
                    .map(|c| Box::pin(c.wait())),
            );
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = exits => {}
            }
            for c in containers.iter_mut().filter(|c| c.finished()) {
                let restart = match restart_policy.as_str() {
                    "Always" => true,
                    "OnFailure" => c.exit_code != Some(0),
                    _ => false,
                };
                if restart {
                    // Back-off: 10 s doubling, as the kubelet's crash-loop back-off starts.
                    let delay = std::time::Duration::from_secs(10u64 << c.restarts.min(5));
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    if let Err(e) = c.restart(&sandbox) {
                        tracing::warn!(pod = %name, error = %e, "restart failed");
                    }
                }
            }
            if *stop.borrow() {
                break;
            }
        }
        // Graceful stop: SIGTERM, the grace period, then SIGKILL (by dropping the sandbox).
        let grace = spec.termination_grace_period_seconds.unwrap_or(30).max(0) as u64;
        for c in containers.iter_mut() {
            if c.running() {
                let field = format!("spec.containers{{{}}}", c.name);
                events::Recorder {
                    client: &self.client,
                    component: "kubelet",
                    host: &node,
                }
                .record(
                    &pod,
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
        drop(sandbox);
        self.finish(&ns, &name, &dir).await;
        let _ = uid;
    }

    /// The pod is stopped: delete it for good (grace 0), as the kubelet does.
    async fn finish(&self, ns: &str, name: &str, dir: &std::path::Path) {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(ns.to_string(), name.to_string()));
        let _ = std::fs::remove_dir_all(dir);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        if let Ok(Some(p)) = api.get_opt(name).await
            && p.metadata.deletion_timestamp.is_some()
        {
            let _ = api
                .delete(
                    name,
                    &DeleteParams {
                        grace_period_seconds: Some(0),
                        ..Default::default()
                    },
                )
                .await;
        }
    }

    async fn start_pod(
        &self,
        pod: &Pod,
        dir: &std::path::Path,
        pod_ip: &str,
    ) -> Result<(Arc<podbox::Sandbox>, Vec<ContainerRun>), (String, String)> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let fail = |reason: &str, msg: String| (reason.to_string(), msg);
        // Images first: a pod whose image cannot run waits, as with a pull error.
        let mut images = Vec::new();
        for c in &spec.containers {
            let image = c.image.clone().unwrap_or_default();
            images.push(images::resolve(&image).map_err(|e| fail("ErrImagePull", e.to_string()))?);
        }
        std::fs::create_dir_all(dir.join("etc"))
            .map_err(|e| fail("CreateContainerError", e.to_string()))?;
        let cx = volumes::Context {
            client: &self.client,
            pod,
            pod_ip,
            host_ip: NODE_IP,
        };
        let vols = volumes::prepare(&cx, &dir.join("volumes"))
            .await
            .map_err(|e| fail("CreateContainerConfigError", e.to_string()))?;
        // /etc/hosts and /etc/resolv.conf as the kubelet writes them
        // (`kubelet_pods.go` managedHostsFileContent, dns.go for ClusterFirst).
        let hosts = format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{pod_ip}\t{name}\n"
        );
        let resolv = format!(
            "search {ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"
        );
        let write = |f: &str, s: &str| {
            std::fs::write(dir.join("etc").join(f), s)
                .map_err(|e| fail("CreateContainerError", e.to_string()))
        };
        write("hosts", &hosts)?;
        write("resolv.conf", &resolv)?;
        write("hostname", &format!("{name}\n"))?;
        let records = dir.join("dns");
        std::fs::write(&records, self.dns_records().await)
            .map_err(|e| fail("CreateContainerError", e.to_string()))?;
        std::fs::create_dir_all(dir.join("logs"))
            .map_err(|e| fail("CreateContainerError", e.to_string()))?;

        // The environment's sources.
        let svc_api: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        let mut services: Vec<Service> = Vec::new();
        if let Ok(Some(k)) = Api::<Service>::namespaced(self.client.clone(), "default")
            .get_opt("kubernetes")
            .await
        {
            services.push(k);
        }
        if spec.enable_service_links.unwrap_or(true) {
            for s in svc_api
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
            {
                if !(ns == "default" && s.metadata.name.as_deref() == Some("kubernetes")) {
                    services.push(s);
                }
            }
        }
        let service_env = env::service_vars(&services);
        let mut config_maps = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for cm in Api::<ConfigMap>::namespaced(self.client.clone(), &ns)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            config_maps.insert(cm.metadata.name.clone().unwrap_or_default(), cm);
        }
        for s in Api::<Secret>::namespaced(self.client.clone(), &ns)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            secrets.insert(s.metadata.name.clone().unwrap_or_default(), s);
        }
        let sources = env::Sources {
            pod,
            config_maps: &config_maps,
            secrets: &secrets,
            pod_ip,
            host_ip: NODE_IP,
        };

        let sandbox = podbox::Sandbox::create(&podbox::SandboxSpec {
            hostname: name.clone(),
            addresses: vec![
                pod_ip
                    .parse()
                    .map_err(|_| fail("CreatePodSandboxError", format!("bad pod IP {pod_ip}")))?,
            ],
            api_socket: Some(self.config.api_socket.display().to_string()),
            dns_records: Some(records.display().to_string()),
        })
        .map_err(|e| fail("CreatePodSandboxError", e.to_string()))?;
        let sandbox = Arc::new(sandbox);

        let mut runs = Vec::new();
        for (c, image) in spec.containers.iter().zip(images) {
            let env = env::container_env(&image.env, c, &service_env, &sources)
                .map_err(|e| fail("CreateContainerConfigError", e))?;
            let mut mounts = vec![
                podbox::Mount {
                    source: dir.join("etc/hosts").display().to_string(),
                    target: "/etc/hosts".into(),
                    read_only: false,
                },
                podbox::Mount {
                    source: dir.join("etc/resolv.conf").display().to_string(),
                    target: "/etc/resolv.conf".into(),
                    read_only: false,
                },
                podbox::Mount {
                    source: dir.join("etc/hostname").display().to_string(),
                    target: "/etc/hostname".into(),
                    read_only: false,
                },
            ];
            for m in c.volume_mounts.iter().flatten() {
                let Some(src) = vols.get(&m.name) else {
                    return Err(fail(
                        "CreateContainerConfigError",
                        format!("volume {:?} not found", m.name),
                    ));
                };
                let source = match &m.sub_path {
                    Some(sp) if !sp.is_empty() => src.join(sp),
                    _ => src.clone(),
                };
                mounts.push(podbox::Mount {
                    source: source.display().to_string(),
                    target: m.mount_path.clone(),
                    read_only: m.read_only.unwrap_or(false),
                });
            }
            let argv = images::argv(&image, c.command.as_deref(), c.args.as_deref());
            let cspec = podbox::ContainerSpec {
                argv,
                env,
                cwd: c.working_dir.clone().unwrap_or_else(|| "/".into()),
                mounts,
                bin: image
                    .bin
                    .iter()
                    .map(|(n, p)| (n.clone(), p.display().to_string()))
                    .collect(),
                tty: false,
                builtin: image.builtin.clone(),
            };
            let mut run =
                ContainerRun::new(c, cspec, dir.join("logs").join(format!("{}.log", c.name)));
            let field = format!("spec.containers{{{}}}", c.name);
            let node = &self.config.node_name;
            let image_name = c.image.clone().unwrap_or_default();
            events::Recorder {
                client: &self.client,
                component: "kubelet",
                host: node,
            }
            .record(
                pod,
                "Normal",
                "Pulled",
                &format!("Container image {image_name:?} already present on machine"),
                Some(&field),
            )
            .await;
            run.start(&sandbox)
                .map_err(|e| fail("RunContainerError", e))?;
            events::Recorder {
                client: &self.client,
                component: "kubelet",
                host: node,
            }
            .record(
                pod,
                "Normal",
                "Created",
                &format!("Created container: {}", c.name),
                Some(&field),
            )
            .await;
            events::Recorder {
                client: &self.client,
                component: "kubelet",
                host: node,
            }
            .record(
                pod,
                "Normal",
                "Started",
                &format!("Started container {}", c.name),
                Some(&field),
            )
            .await;
            runs.push(run);
        }
        let target = ExecTarget {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            sandbox: sandbox.clone(),
            containers: runs
                .iter()
                .map(|r| (r.name.clone(), r.spec.clone()))
                .collect(),
            alive: runs
                .iter()
                .map(|r| (r.name.clone(), r.alive.subscribe()))
                .collect(),
        };
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((ns.clone(), name.clone()), target);
        Ok((sandbox, runs))
    }
}

/// Aborts a background task when the owner goes away.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One container's process and what the status reports about it.
struct ContainerRun {
    name: String,
    image: String,
    spec: podbox::ContainerSpec,
    log: PathBuf,
    alive: tokio::sync::watch::Sender<bool>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    child: Option<tokio::process::Child>,
    started_at: String,
    finished_at: String,
    exit_code: Option<i32>,
    restarts: u32,
    last_state: Value,
    id: String,
}

impl ContainerRun {
    fn new(c: &Container, spec: podbox::ContainerSpec, log: PathBuf) -> ContainerRun {
        ContainerRun {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            spec,
            log,
            alive: tokio::sync::watch::channel(false).0,
            pumps: Vec::new(),
            child: None,
            started_at: String::new(),
            finished_at: String::new(),
            exit_code: None,
            restarts: 0,
            last_state: json!({}),
            id: String::new(),
        }
    }

    fn start(&mut self, sandbox: &podbox::Sandbox) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let log = Arc::new(tokio::sync::Mutex::new(tokio::fs::File::from_std(log)));
        let mut cmd = sandbox.command(&self.spec).map_err(|e| e.to_string())?;
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        if let Some(out) = child.stdout.take() {
            self.pumps
                .push(tokio::spawn(logs::pump(out, "stdout", log.clone())));
        }
        if let Some(err) = child.stderr.take() {
            self.pumps
                .push(tokio::spawn(logs::pump(err, "stderr", log)));
        }
        self.id = format!(
            "kubelab://{:016x}",
            jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(child.id().unwrap_or(0))
        );
        self.child = Some(child);
        self.started_at = now();
        self.exit_code = None;
        let _ = self.alive.send(true);
        Ok(())
    }

    fn restart(&mut self, sandbox: &podbox::Sandbox) -> Result<(), String> {
        self.last_state = json!({"terminated": self.terminated()});
        // The previous run's log is what `logs --previous` reads.
        let _ = std::fs::rename(&self.log, self.log.with_extension("log.previous"));
        self.restarts += 1;
        self.start(sandbox)
    }

    fn running(&self) -> bool {
        self.child.is_some() && self.exit_code.is_none()
    }

    fn finished(&self) -> bool {
        self.exit_code.is_some()
    }

    async fn wait(&mut self) {
        if let Some(child) = self.child.as_mut()
            && self.exit_code.is_none()
        {
            let code = child
                .wait()
                .await
                .map(|s| s.code().unwrap_or(137))
                .unwrap_or(137);
            self.exit_code = Some(code);
            self.finished_at = now();
        }
    }

    fn terminate(&mut self) {
        if let (Some(child), true) = (self.child.as_ref(), self.running())
            && let Some(pid) = child.id()
        {
            let _ = nix_kill(pid);
        }
    }

    fn terminated(&self) -> Value {
        let code = self.exit_code.unwrap_or(0);
        json!({
            "exitCode": code,
            "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "containerID": self.id,
        })
    }

    fn status(&self) -> Value {
        let state = if self.running() {
            json!({"running": {"startedAt": self.started_at}})
        } else {
            json!({"terminated": self.terminated()})
        };
        json!({
            "containerID": self.id,
            "image": self.image,
            "imageID": "",
            "lastState": self.last_state,
            "name": self.name,
            "ready": self.running(),
            "restartCount": self.restarts,
            "started": self.running(),
            "state": state,
        })
    }
}

/// SIGTERM to a container's launcher, which forwards it to the container's process.
fn nix_kill(pid: u32) -> std::io::Result<()> {
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}
