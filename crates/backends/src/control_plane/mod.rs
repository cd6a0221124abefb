//! The control-plane backend: the reference control plane — etcd v3.5.21, kube-apiserver
//! and kube-controller-manager v1.33.3 built from their Go modules (`xtask/control-plane`,
//! `cargo xtask control-plane build`) — started as k3s v1.33.3 starts them
//! (`k3s-io/k3s:pkg/daemons/control/server.go`, `apiServer` and `controllerManager`; the
//! flags are listed below with what differs and why). Started with a node
//! (`ControlPlane::start_with_node`), it runs kube-scheduler too and kubelab's kubelet joins
//! it as any kubelet joins a cluster (`kubelet::Kubelet::join`): that is the backend the labs
//! run on. Without one (the differential suite's reference), pods are created but never
//! scheduled.

mod files;
mod process;

use files::Files;
use futures::FutureExt;
use futures::future::BoxFuture;
use harness::ClusterInfo;
use process::Component;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use files::FilesError;

/// The binaries `cargo xtask control-plane build` makes, in `<target>/control-plane/`.
pub const BINARIES: [&str; 4] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// Where the binaries are looked for first (a directory holding all three).
pub const BIN_ENV: &str = "KUBELAB_CONTROL_PLANE_BIN";

/// What a learner is told when the binaries are missing.
pub const NOT_BUILT: &str = "the reference control plane is not built: run \
     `cargo xtask control-plane build` (it needs Go ≥ 1.24 on PATH: https://go.dev/dl/), \
     or point KUBELAB_CONTROL_PLANE_BIN at a directory holding etcd, kube-apiserver, \
     kube-controller-manager and kube-scheduler";

/// How long each component may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How often readiness is checked.
const POLL: Duration = Duration::from_millis(100);

/// How long a component has to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The directory holding the four binaries: `KUBELAB_CONTROL_PLANE_BIN`, else the
/// `control-plane/` folder of the target directory this program was built in (found
/// from the running executable, so any checkout's tests and xtask find their own).
pub fn binaries() -> Result<PathBuf, String> {
    let complete = |dir: &Path| BINARIES.iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os(BIN_ENV).map(PathBuf::from) {
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{BIN_ENV}={} lacks one of {BINARIES:?}",
                dir.display()
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    exe.ancestors()
        .map(|a| a.join("control-plane"))
        .find(|dir| complete(dir))
        .ok_or_else(|| NOT_BUILT.to_string())
}

/// Why a control plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("preparing the control plane's files")]
    Files(#[from] FilesError),
    #[error("{0}")]
    Component(String),
}

/// A running reference control plane: etcd, kube-apiserver on `127.0.0.1:<port>` and
/// kube-controller-manager, their files in one directory.
pub struct ControlPlane {
    files: Files,
    url: String,
    /// The API server's port.
    port: u16,
    /// Started first, stopped last.
    components: Vec<Component>,
    /// From `start` to the API server's first answered request (`/version`).
    first_answer: Option<Duration>,
}

impl ControlPlane {
    /// Starts the three components in `bin` (see `binaries`) with their files in `dir`
    /// and the API server on `port` (0 picks a free one); ready when the API server's
    /// `/readyz` answers, k3s's CustomResourceDefinitions are established and the
    /// controllers have done what a fresh cluster shows (`controllers_settled`).
    /// `progress` hears what it waits for. It has no node and no scheduler.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        port: u16,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ControlPlane, StartError> {
        Self::start_as(bin, dir, port, None, progress).await
    }

    /// `start`, for a node at `node_ip` to join (`ControlPlane::join`): the API server
    /// advertises that address, as k3s's advertises its node's, and kube-scheduler runs.
    pub async fn start_with_node(
        bin: &Path,
        dir: &Path,
        port: u16,
        node_ip: std::net::IpAddr,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ControlPlane, StartError> {
        Self::start_as(bin, dir, port, Some(node_ip), progress).await
    }

    async fn start_as(
        bin: &Path,
        dir: &Path,
        port: u16,
        node_ip: Option<std::net::IpAddr>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ControlPlane, StartError> {
        // A port found free may be taken by another program before a component binds it
        // (etcd's two and the API server's are found free and then handed over): then the
        // whole start is tried again, on fresh ports and a fresh data directory.
        let mut attempt = 1;
        loop {
            let picked = port == 0;
            let chosen = match port {
                0 => process::free_port().map_err(StartError::Component)?,
                p => p,
            };
            match Self::start_on(bin, dir, chosen, node_ip, progress).await {
                // Not when the port taken is one the caller chose: that stays taken.
                Err(StartError::Component(e))
                    if attempt < 3
                        && e.contains("address already in use")
                        && (picked || !e.contains(&format!("127.0.0.1:{chosen}:"))) =>
                {
                    progress("a port was taken meanwhile; starting again on others");
                    let _ = std::fs::remove_dir_all(dir);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn start_on(
        bin: &Path,
        dir: &Path,
        port: u16,
        node_ip: Option<std::net::IpAddr>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ControlPlane, StartError> {
        let url = format!("https://127.0.0.1:{port}");
        let node = node_ip.map(|ip| (apiserver::NODE_NAME, ip));
        let files = files::write(dir, &url, node).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(dir);
        })?;
        let mut plane = ControlPlane {
            files,
            url,
            port,
            components: Vec::new(),
            first_answer: None,
        };
        match plane
            .boot(bin, port, node_ip, progress, Instant::now())
            .await
        {
            Ok(()) => Ok(plane),
            Err(e) => {
                plane.stop().await;
                Err(StartError::Component(e))
            }
        }
    }

    async fn boot(
        &mut self,
        bin: &Path,
        port: u16,
        node_ip: Option<std::net::IpAddr>,
        progress: &(dyn Fn(&str) + Sync),
        started: Instant,
    ) -> Result<(), String> {
        progress("starting etcd");
        let etcd_port = process::free_port()?;
        let etcd = self.launch(bin, "etcd", etcd_args(&self.files, etcd_port)?)?;
        wait_until(
            &self.components[etcd],
            (READY_TIMEOUT, POLL),
            "etcd to accept connections",
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", etcd_port))
                    .await
                    .is_ok()
            },
        )
        .await?;

        progress("starting kube-apiserver");
        // k3s passes the node's IP (`--node-ip`); without a node, the embedded cluster's
        // node IP is advertised, as the kubelab node's would be.
        let advertise = node_ip.map_or_else(|| kubelet::NODE_IP.to_string(), |ip| ip.to_string());
        let args = apiserver_args(&self.files, port, etcd_port, &advertise);
        let apiserver = self.launch(bin, "kube-apiserver", args)?;
        let client = self.client().await?;
        wait_until(
            &self.components[apiserver],
            (READY_TIMEOUT, Duration::from_millis(5)),
            "kube-apiserver's first answer",
            || responds(&client, "/version"),
        )
        .await?;
        self.first_answer = Some(started.elapsed());
        wait_until(
            &self.components[apiserver],
            (READY_TIMEOUT, POLL),
            "kube-apiserver's /readyz",
            || responds(&client, "/readyz"),
        )
        .await?;

        progress("installing k3s's CustomResourceDefinitions (kubelab's definitions of them)");
        install_crds(&client).await?;

        progress("starting kube-controller-manager");
        let kcm = self.launch(bin, "kube-controller-manager", kcm_args(&self.files))?;
        wait_until(
            &self.components[kcm],
            (READY_TIMEOUT, POLL),
            "the controllers to settle",
            || controllers_settled(&client),
        )
        .await?;

        if self.files.node.is_some() {
            progress("starting kube-scheduler");
            self.launch(bin, "kube-scheduler", scheduler_args(&self.files))?;
        }
        Ok(())
    }

    /// What a node needs to join this control plane (`start_with_node` made it).
    pub fn join(&self) -> Option<&kubelet::Join> {
        self.files.node.as_ref()
    }

    /// Starts one component and keeps it; returns its index in `components`.
    fn launch(
        &mut self,
        bin: &Path,
        name: &'static str,
        args: Vec<String>,
    ) -> Result<usize, String> {
        let component = Component::start(name, &bin.join(name), &args, self.files.log(name))?;
        self.components.push(component);
        Ok(self.components.len() - 1)
    }

    async fn client(&self) -> Result<kube::Client, String> {
        let config = kube::Config::from_custom_kubeconfig(
            self.files.admin.clone(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| format!("reading the admin kubeconfig: {e}"))?;
        kube::Client::try_from(config).map_err(|e| format!("making a client: {e}"))
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server CA (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.files.server_ca_pem
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> kube::config::Kubeconfig {
        self.files.admin.clone()
    }

    /// The component that has exited, if one has: the control plane is broken.
    pub fn exited(&self) -> Option<String> {
        self.components
            .iter()
            .find(|c| c.has_exited())
            .map(|c| c.failure("the control plane stopped"))
    }

    /// Stops the components, last started first, and removes their files.
    pub async fn stop(self) {
        for component in self.components.into_iter().rev() {
            component.stop(STOP_GRACE).await;
        }
        let _ = std::fs::remove_dir_all(&self.files.dir);
    }

    /// From `start` to the API server's first answered request (what a benchmark compares).
    pub fn first_answer(&self) -> Option<Duration> {
        self.first_answer
    }
}

/// Polls `ready` every `every` until it holds, `component` exits, or `timeout` passes.
async fn wait_until<F, Fut>(
    component: &Component,
    (timeout, every): (Duration, Duration),
    what: &str,
    ready: F,
) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if ready().await {
            return Ok(());
        }
        if component.has_exited() {
            return Err(component.failure(&format!("waiting for {what}")));
        }
        if Instant::now() > deadline {
            return Err(component.failure(&format!(
                "waiting for {what}: not ready after {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(every).await;
    }
}

/// `path` answers 200.
async fn responds(client: &kube::Client, path: &str) -> bool {
    match http::Request::get(path).body(Vec::new()) {
        Ok(r) => client.request_text(r).await.is_ok(),
        Err(_) => false,
    }
}

/// The controllers have done what a fresh cluster shows: the `default` ServiceAccount, the
/// root CA ConfigMap, and the aggregated ClusterRoles (`admin`, `edit`, `view`) filled in.
async fn controllers_settled(client: &kube::Client) -> bool {
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use k8s_openapi::api::rbac::v1::ClusterRole;
    let accounts: kube::Api<ServiceAccount> = kube::Api::namespaced(client.clone(), "default");
    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "default");
    let roles: kube::Api<ClusterRole> = kube::Api::all(client.clone());
    if !matches!(accounts.get_opt("default").await, Ok(Some(_)))
        || !matches!(maps.get_opt("kube-root-ca.crt").await, Ok(Some(_)))
    {
        return false;
    }
    for name in ["admin", "edit", "view"] {
        match roles.get_opt(name).await {
            Ok(Some(role)) if role.rules.as_ref().is_some_and(|r| !r.is_empty()) => {}
            _ => return false,
        }
    }
    true
}

/// Creates the CRDs k3s registers at start (`k3s-io/k3s:pkg/server/context.go`,
/// `registerCrds`) and waits until each is `Established`. They are the embedded server's
/// own definitions of them (`apiserver::k3s_crds`): the same names, scope, versions,
/// printer columns and subresources as k3s's, but a schema that preserves unknown fields
/// instead of k3s's generated OpenAPI schemas, which are not in this repository. So a
/// CRD object or a custom resource's validation compared on the reference checks the
/// embedded server against itself there, not against k3s (`fidelity::k3s` says so too).
async fn install_crds(client: &kube::Client) -> Result<(), String> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    let mut names = Vec::new();
    for object in apiserver::k3s_crds() {
        let crd: CustomResourceDefinition =
            serde_json::from_value(object).map_err(|e| format!("reading a k3s CRD: {e}"))?;
        names.push(crd.metadata.name.clone().unwrap_or_default());
        // k3s's supervisor names itself in its user agent (`k3s-io/k3s:pkg/util/client.go`).
        let params = kube::api::PostParams {
            field_manager: Some("k3s-supervisor@kubelab-node".into()),
            ..Default::default()
        };
        api.create(&params, &crd)
            .await
            .map_err(|e| format!("creating CRD {:?}: {e}", crd.metadata.name))?;
    }
    let deadline = Instant::now() + READY_TIMEOUT;
    for name in names {
        loop {
            let crd = api
                .get(&name)
                .await
                .map_err(|e| format!("reading CRD {name}: {e}"))?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("CRD {name} was not established in time"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// etcd as k3s configures its embedded etcd (`k3s-io/k3s:pkg/etcd/etcd.go`, `cluster`),
/// on loopback only and in plain HTTP: etcd's transport is invisible to API clients.
fn etcd_args(files: &Files, client_port: u16) -> Result<Vec<String>, String> {
    let peer_port = process::free_port()?;
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    Ok(vec![
        "--name=kubelab-node".into(),
        format!("--data-dir={}", files.etcd_data().display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=kubelab-node={peer}"),
        "--initial-cluster-state=new".into(),
        "--heartbeat-interval=500".into(),
        "--election-timeout=5000".into(),
        "--snapshot-count=10000".into(),
        "--experimental-initial-corrupt-check=true".into(),
        "--experimental-watch-progress-notify-interval=5s".into(),
        "--logger=zap".into(),
        "--log-outputs=stderr".into(),
    ])
}

/// kube-apiserver with k3s's flags (`k3s-io/k3s:pkg/daemons/control/server.go`,
/// `apiServer`; `--advertise-address` is set when k3s has a node IP, as here), except: `--advertise-port` (a flag only k3s's fork of Kubernetes has),
/// the egress selector and aggregator routing (k3s's supervisor serves that tunnel; its
/// `disabled` mode drops both), the secure port (k3s puts the apiserver on 6444 behind its
/// supervisor on 6443; here the apiserver itself listens where clients connect) and etcd's
/// address (plain HTTP on loopback).
fn apiserver_args(files: &Files, port: u16, etcd_port: u16, advertise: &str) -> Vec<String> {
    let tls = |name: &str| files.tls(name);
    [
        ("advertise-address", advertise.to_string()),
        ("allow-privileged", "true".to_string()),
        ("anonymous-auth", "false".into()),
        ("api-audiences", "https://kubernetes.default.svc.cluster.local,k3s".into()),
        ("authorization-mode", "Node,RBAC".into()),
        ("bind-address", "127.0.0.1".into()),
        ("cert-dir", tls("temporary-certs")),
        ("client-ca-file", tls("client-ca.crt")),
        ("enable-admission-plugins", "NodeRestriction".into()),
        ("enable-bootstrap-token-auth", "true".into()),
        ("etcd-servers", format!("http://127.0.0.1:{etcd_port}")),
        ("kubelet-certificate-authority", tls("server-ca.crt")),
        ("kubelet-client-certificate", tls("client-kube-apiserver.crt")),
        ("kubelet-client-key", tls("client-kube-apiserver.key")),
        ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname".into()),
        ("profiling", "false".into()),
        ("proxy-client-cert-file", tls("client-auth-proxy.crt")),
        ("proxy-client-key-file", tls("client-auth-proxy.key")),
        ("requestheader-allowed-names", "system:auth-proxy".into()),
        ("requestheader-client-ca-file", tls("request-header-ca.crt")),
        ("requestheader-extra-headers-prefix", "X-Remote-Extra-".into()),
        ("requestheader-group-headers", "X-Remote-Group".into()),
        ("requestheader-username-headers", "X-Remote-User".into()),
        ("secure-port", port.to_string()),
        ("service-account-issuer", "https://kubernetes.default.svc.cluster.local".into()),
        ("service-account-key-file", tls("service.key")),
        ("service-account-signing-key-file", tls("service.key")),
        ("service-cluster-ip-range", "10.43.0.0/16".into()),
        ("service-node-port-range", "30000-32767".into()),
        ("storage-backend", "etcd3".into()),
        ("tls-cert-file", tls("serving-kube-apiserver.crt")),
        // `k3s-io/k3s:pkg/cli/server/server.go` adds these when the user gives none.
        ("tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".into()),
        ("tls-private-key-file", tls("serving-kube-apiserver.key")),
    ]
    .into_iter()
    .map(|(k, v)| format!("--{k}={v}"))
    .collect()
}

/// kube-controller-manager with k3s's flags (`controllerManager`), except its own serving
/// port: `--secure-port=0` serves nothing, so two control planes never contend for 10257.
fn kcm_args(files: &Files) -> Vec<String> {
    let tls = |name: &str| files.tls(name);
    let kubeconfig = files.cred("controller.kubeconfig");
    [
        ("allocate-node-cidrs", "true".to_string()),
        ("authentication-kubeconfig", kubeconfig.clone()),
        ("authorization-kubeconfig", kubeconfig.clone()),
        ("bind-address", "127.0.0.1".into()),
        ("cluster-cidr", "10.42.0.0/16".into()),
        (
            "cluster-signing-kube-apiserver-client-cert-file",
            tls("client-ca.crt"),
        ),
        (
            "cluster-signing-kube-apiserver-client-key-file",
            tls("client-ca.key"),
        ),
        (
            "cluster-signing-kubelet-client-cert-file",
            tls("client-ca.crt"),
        ),
        (
            "cluster-signing-kubelet-client-key-file",
            tls("client-ca.key"),
        ),
        (
            "cluster-signing-kubelet-serving-cert-file",
            tls("server-ca.crt"),
        ),
        (
            "cluster-signing-kubelet-serving-key-file",
            tls("server-ca.key"),
        ),
        (
            "cluster-signing-legacy-unknown-cert-file",
            tls("server-ca.crt"),
        ),
        (
            "cluster-signing-legacy-unknown-key-file",
            tls("server-ca.key"),
        ),
        ("configure-cloud-routes", "false".into()),
        (
            "controllers",
            "*,tokencleaner,-service,-route,-cloud-node-lifecycle".into(),
        ),
        ("kubeconfig", kubeconfig),
        ("profiling", "false".into()),
        ("root-ca-file", tls("server-ca.crt")),
        ("secure-port", "0".into()),
        ("service-account-private-key-file", tls("service.key")),
        ("service-cluster-ip-range", "10.43.0.0/16".into()),
        ("use-service-account-credentials", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| format!("--{k}={v}"))
    .collect()
}

/// kube-scheduler with k3s's flags (`scheduler`), except its serving port: `--secure-port=0`
/// serves nothing (so no serving certificate), as for kube-controller-manager.
fn scheduler_args(files: &Files) -> Vec<String> {
    let kubeconfig = files.cred("scheduler.kubeconfig");
    [
        ("authentication-kubeconfig", kubeconfig.clone()),
        ("authorization-kubeconfig", kubeconfig.clone()),
        ("bind-address", "127.0.0.1".to_string()),
        ("kubeconfig", kubeconfig),
        ("profiling", "false".into()),
        ("secure-port", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| format!("--{k}={v}"))
    .collect()
}

/// The address a node on this machine has: the one its default route leaves from, as
/// k3s picks its node IP (`k8s.io/apimachinery/pkg/util/net/interface.go`,
/// `ChooseHostInterface`). The kubelet serves the API server there.
pub fn node_ip() -> Result<std::net::IpAddr, String> {
    // Connecting a UDP socket sends nothing; it only picks the route and its source.
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0))
        .map_err(|e| format!("finding this machine's address: {e}"))?;
    socket
        .connect(("198.51.100.1", 9))
        .and_then(|()| socket.local_addr())
        .map(|a| a.ip())
        .map_err(|e| {
            format!(
                "finding this machine's address: {e} (a node needs an address that is not \
                 loopback, as k3s does: this machine has no default route)"
            )
        })
}

/// A control plane with kubelab's node joined to it: the labs' cluster.
pub struct ControlPlaneCluster {
    plane: ControlPlane,
    kubelet: std::sync::Arc<kubelet::Kubelet>,
}

impl ControlPlaneCluster {
    /// Starts the control plane with its files in `dir/server` and the node's in
    /// `dir/node`, on `port` (0 picks one), and joins the node; `pulls` hears of the
    /// node's image pulls and `progress` of what the start waits for.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        port: u16,
        pulls: kubelet::PullObserver,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<ControlPlaneCluster, String> {
        let ip = node_ip()?;
        let plane = ControlPlane::start_with_node(bin, &dir.join("server"), port, ip, progress)
            .await
            .map_err(|e| crate::chain(&e))?;
        let Some(join) = plane.join().cloned() else {
            plane.stop().await;
            return Err("the control plane was started without a node's files".into());
        };
        progress("joining the node");
        let run = dir.join("node");
        let config = kubelet::Config {
            node_name: apiserver::NODE_NAME.into(),
            node_ip: ip.to_string(),
            runtime_dir: run.clone(),
            api_socket: run.join("apiserver.sock"),
            pulls,
        };
        let kubelet = match kubelet::Kubelet::join(join, config).await {
            Ok(kubelet) => kubelet,
            Err(e) => {
                plane.stop().await;
                return Err(crate::chain(&e));
            }
        };
        let cluster = ControlPlaneCluster { plane, kubelet };
        if let Err(e) = cluster.label_server_node().await {
            cluster.stop().await;
            return Err(e);
        }
        Ok(cluster)
    }

    /// Marks the node as k3s marks a server's node once it has registered: its role
    /// label, which NodeRestriction forbids a kubelet to set on itself
    /// (`k3s-io/k3s:pkg/server/server.go`, `setNodeLabelsAndAnnotations`).
    async fn label_server_node(&self) -> Result<(), String> {
        use k8s_openapi::api::core::v1::Node;
        let client = self.plane.client().await?;
        let nodes: kube::Api<Node> = kube::Api::all(client);
        let patch = serde_json::json!({"metadata": {"labels": {
            "node-role.kubernetes.io/control-plane": "true",
        }}});
        let params = kube::api::PatchParams {
            field_manager: Some("k3s-supervisor@kubelab-node".into()),
            ..Default::default()
        };
        nodes
            .patch(
                apiserver::NODE_NAME,
                &params,
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("labelling the node: {e}"))
    }

    pub fn plane(&self) -> &ControlPlane {
        &self.plane
    }

    /// The node's address.
    pub fn node_ip(&self) -> String {
        self.kubelet.node_ip().to_string()
    }

    /// Stops every pod, then the control plane.
    pub async fn stop(self) {
        self.kubelet.stop().await;
        self.plane.stop().await;
    }
}

/// The backend: a fresh reference control plane per lab run, with kubelab's node joined.
#[derive(Debug, Clone, Copy)]
pub struct ControlPlaneBackend;

impl crate::Release for ControlPlaneCluster {
    fn release(self) -> BoxFuture<'static, ()> {
        self.stop().boxed()
    }
}

crate::backend!(ControlPlaneBackend, "control-plane");

impl ControlPlaneBackend {
    async fn provision(&self) -> Result<(ClusterInfo, ControlPlaneCluster), String> {
        let bin = binaries()?;
        let workdir =
            crate::fresh_dir("control-plane").map_err(|e| format!("creating a work dir: {e}"))?;
        let cluster = ControlPlaneCluster::start(
            &bin,
            &workdir,
            0,
            kubelet::PullObserver::default(),
            &|_| {},
        )
        .await?;
        let plane = cluster.plane();
        let kubeconfig = workdir.join("kubeconfig");
        harness::kubeconfig::write(&kubeconfig, &plane.kubeconfig())
            .map_err(|e| crate::chain(&e))?;
        let info = ClusterInfo {
            kubeconfig,
            server: plane.url().to_string(),
            ca_pem: plane.ca_pem().to_string(),
            workdir,
            shared: false,
            minor: Some(33),
            description: format!(
                "reference control plane (kube-apiserver v1.33.3) at {}, with kubelab's node",
                plane.url()
            ),
            redact: harness::redact::Context {
                node_name: apiserver::NODE_NAME.into(),
                node_ip: cluster.node_ip(),
            },
        };
        Ok((info, cluster))
    }
}
