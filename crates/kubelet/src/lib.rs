//! The kubelet: runs the pods bound to its node as podbox sandboxes and reports their
//! status through the API like a real kubelet, as the embedded cluster's node
//! (`Kubelet::start`, which also schedules that cluster's pods onto itself) or as a node
//! joining any control plane (`Kubelet::join`, `server`, `spdy`).
//!
//! It is an API client (through `kube`), so it sees exactly what any kubelet sees; the
//! API server knows nothing of it. Status follows `pkg/kubelet/status` and
//! `kubelet_pods.go` (`generateAPIPodStatus`): conditions `PodReadyToStartContainers`,
//! `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`; container states with exit
//! codes and restart counts; pod IPs from `10.42.0.0/16`. It also answers `pods/exec`
//! and `pods/log` for the API server (`exec`, `logs`).
//!
//! On the embedded cluster, pods no node runs yet are bound here (`binding`). A pod bound to this node is started
//! (`start`), then supervised, restarted and stopped (`lifecycle`), one `container`
//! process each; `status` computes what it reports, and `dns` keeps the pods' cluster
//! DNS records current.

mod answer;
mod attach;
mod binding;
mod container;
mod dns;
pub mod env;
mod events;
mod exec;
mod join;
mod lease;
mod lifecycle;
mod logs;
mod node;
mod probe;
mod pull;
mod server;
mod spdy;
mod start;
mod status;
mod user;
pub mod volumes;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

/// Where the node is reachable; also the pods' `hostIP`.
pub const NODE_IP: &str = apiserver::NODE_IP;

/// How to run a node.
#[derive(Debug, Clone)]
pub struct Config {
    pub node_name: String,
    /// The node's address: its pods' `hostIP`, and where a joined node's kubelet serves
    /// the API server (`Kubelet::join`).
    pub node_ip: String,
    /// Per-pod files (volumes, /etc/hosts, logs) live under here.
    pub runtime_dir: PathBuf,
    /// The API server's Unix socket, bridged into every pod (a joined node makes it: a
    /// relay to the API server's address).
    pub api_socket: PathBuf,
    /// Who hears of each image pull as it goes (a progress bar in `cluster up`).
    pub pulls: PullObserver,
}

/// What a pull the kubelet makes goes through: started, bytes fetched, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    Started {
        image: String,
    },
    Progress {
        image: String,
        done: u64,
        total: u64,
    },
    Pulled {
        image: String,
        size: u64,
    },
    Failed {
        image: String,
        error: String,
    },
}

/// A listener for the kubelet's image pulls; the default hears nothing.
#[derive(Clone, Default)]
pub struct PullObserver(Option<Arc<dyn Fn(PullEvent) + Send + Sync>>);

impl PullObserver {
    pub fn new(f: impl Fn(PullEvent) + Send + Sync + 'static) -> PullObserver {
        PullObserver(Some(Arc::new(f)))
    }

    pub(crate) fn tell(&self, event: PullEvent) {
        if let Some(f) = &self.0 {
            f(event);
        }
    }
}

impl std::fmt::Debug for PullObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "PullObserver(..)"
        } else {
            "PullObserver(none)"
        })
    }
}

/// A kind the kubelet reads from a namespace with kube's `Api` (ConfigMaps, Secrets).
trait NamespacedObject:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType: Default>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> NamespacedObject for K where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType: Default>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
{
}

/// A pod's supervising task, and how to tell it to stop.
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
    /// The host PID of each container's launcher while it runs (0 when it does not), for
    /// exec to join its root.
    pids: HashMap<String, Arc<AtomicU32>>,
    /// Whether each container is running, for `logs -f`.
    alive: HashMap<String, tokio::sync::watch::Receiver<bool>>,
    /// Each container's own standard streams, for attach.
    io: HashMap<String, Arc<attach::ContainerIo>>,
}

pub use join::{Join, JoinError};

/// The kubelet of one node.
pub struct Kubelet {
    client: kube::Client,
    config: Config,
    /// Whether it binds the pods no node runs to itself: the embedded cluster's one node,
    /// which has no scheduler. A joined node leaves that to kube-scheduler.
    schedules: bool,
    /// A joined node's relay and HTTPS server: dropping it stops them and every
    /// connection and stream they started.
    serving: Mutex<Vec<Stop>>,
    next_ip: AtomicU32,
    pods: Mutex<HashMap<String, Running>>,
    /// Running pods by (namespace, name), for exec.
    targets: Mutex<HashMap<(String, String), ExecTarget>>,
    /// The task watching the node's pods, once started.
    watching: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Failed image pulls, held back as the kubelet's image back-off holds them.
    pull_backoff: pull::PullBackOff,
    /// The events it recorded, to count them again when they recur.
    seen: events::Seen,
    /// The node's image store (`images::Store::user_default`), opened once; why not, when
    /// it cannot be.
    images: Result<images::Store, String>,
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
    /// Starts the node of `cluster`: a kubelet that acts as the cluster's admin, answers
    /// its `pods/exec` and `pods/log`, binds the pods no node runs (the cluster has no
    /// scheduler) and runs the pods bound to it until [`Kubelet::stop`] (or
    /// [`Kubelet::shutdown`]).
    pub fn start(cluster: &apiserver::Cluster, config: Config) -> Arc<Kubelet> {
        let admin = apiserver::UserInfo::admin();
        let client = kube::Client::new(cluster.service_as(admin), "default");
        let kubelet = Kubelet::new(client, config, true);
        cluster.attach_runtime(kubelet.clone());
        kubelet.watch();
        kubelet
    }

    fn new(client: kube::Client, config: Config, schedules: bool) -> Arc<Kubelet> {
        if !podbox::maps_id_range() {
            // Said once, when the node starts: each refused container says it again.
            tracing::warn!(
                "this node runs without root and its user has no subordinate ids (/etc/subuid and /etc/subgid, with newuidmap and newgidmap from the uidmap package): a pod's user namespace maps one id, its root, so a container that names another user (runAsUser, or its image's User) is refused; grant the user 65535 subordinate ids (usermod --add-subuids and --add-subgids) or run the cluster as root to run such containers"
            );
        }
        Arc::new(Kubelet {
            client,
            config,
            schedules,
            serving: Mutex::new(Vec::new()),
            next_ip: AtomicU32::new(2),
            pods: Mutex::new(HashMap::new()),
            targets: Mutex::new(HashMap::new()),
            watching: Mutex::new(None),
            pull_backoff: pull::PullBackOff::default(),
            seen: events::Seen::default(),
            images: images::Store::user_default().map_err(|e| e.to_string()),
        })
    }

    /// Starts watching for pods.
    fn watch(self: &Arc<Self>) {
        let task = tokio::spawn(self.clone().run());
        *self.watching.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// The running pod `ns`/`pod`, as exec, logs and port forwarding reach it.
    fn target(&self, ns: &str, pod: &str) -> Option<ExecTarget> {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(ns.to_string(), pod.to_string()))
            .cloned()
    }

    /// The node's address.
    pub fn node_ip(&self) -> &str {
        &self.config.node_ip
    }

    /// Stops watching for pods, waits until the watch has ended, then stops every pod.
    pub async fn stop(&self) {
        let watching = self
            .watching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = watching {
            task.abort();
            let _ = task.await;
        }
        self.shutdown();
    }

    /// Watches every pod until the stream ends. Files left by an earlier kubelet that
    /// was killed are removed first: their pods died with it.
    async fn run(self: Arc<Self>) {
        let _ = images::remove_tree(&self.config.runtime_dir.join("pods"));
        let _dns = AbortOnDrop(tokio::spawn(self.clone().keep_dns_records()));
        let _lease = AbortOnDrop(tokio::spawn(lease::keep(
            self.client.clone(),
            self.config.node_name.clone(),
        )));
        // A joined node reports its status itself; the embedded cluster's is seeded.
        let _status = (!self.schedules).then(|| {
            AbortOnDrop(tokio::spawn(node::keep_reporting(
                self.client.clone(),
                self.config.node_name.clone(),
            )))
        });
        let pods: Api<Pod> = Api::all(self.client.clone());
        // A node that schedules sees every pod; any other only those bound to it, as
        // the kubelet's pod source watches (`pkg/kubelet/config/apiserver.go`).
        let selector =
            (!self.schedules).then(|| format!("spec.nodeName={}", self.config.node_name));
        let watch_config = match &selector {
            Some(s) => watcher::Config::default().fields(s),
            None => watcher::Config::default(),
        };
        let list_params = match &selector {
            Some(s) => ListParams::default().fields(s),
            None => ListParams::default(),
        };
        let mut stream = watcher(pods.clone(), watch_config).boxed();
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
                    for pod in pods.list(&list_params).await.map(|l| l.items).unwrap_or_default() {
                        self.clone().reconcile(pod).await;
                    }
                }
            }
        }
    }

    /// Stops watching for pods and stops every pod at once (the node is going away): their
    /// sandboxes are dropped, so every pod process dies.
    pub fn shutdown(&self) {
        if let Some(task) = self
            .watching
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
        self.serving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
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
            if self.schedules {
                self.bind(&pod).await;
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
                pods.insert(uid.clone(), Running { stop, task });
                false
            }
        };
        if delete_now {
            self.delete_now(&ns, &name, &uid).await;
        }
    }

    /// The events this kubelet records about its pods.
    fn recorder(&self) -> events::Recorder<'_> {
        events::Recorder {
            client: &self.client,
            component: "kubelet",
            host: &self.config.node_name,
            seen: &self.seen,
        }
    }
}

/// Starts a connection into a pod (`podbox::Sandbox::connect` and its kin) with its
/// standard streams piped: input to the connection, the connection's output, and why it
/// failed.
fn spawn_connection(cmd: std::process::Command) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::from(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

/// Tells the tasks a server spawned (`until`) to stop when it is dropped: they end, and
/// drop what they hold, whatever they were waiting for.
struct Stop(tokio::sync::watch::Sender<bool>);

impl Stop {
    fn new() -> Stop {
        Stop(tokio::sync::watch::channel(false).0)
    }

    fn signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Runs `work` on its own task until it ends or this is dropped.
    fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        tokio::spawn(until(self.signal(), work));
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// Runs `work` until it ends or `stop` is signalled.
async fn until(
    mut stop: tokio::sync::watch::Receiver<bool>,
    work: impl std::future::Future<Output = ()>,
) {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => {}
        () = work => {}
    }
}

/// Aborts a background task when the owner goes away.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
