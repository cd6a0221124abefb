//! The k3s backend: a real k3s v1.33.3 server in a privileged container, through
//! `testcontainers-modules` (feature `k3s`).
//!
//! The container runs `k3s server` with the packaged components the labs do not use
//! switched off (`--disable=traefik,metrics-server`), writes its kubeconfig into a fresh
//! directory per cluster, and is ready when its node is Ready, the `default`
//! ServiceAccount exists and CoreDNS is Ready. It needs a Docker engine; without one it
//! fails at once and says so.

use futures::FutureExt;
use futures::future::BoxFuture;
use harness::ClusterInfo;
use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use kube::api::{Api, ListParams};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testcontainers_modules::k3s::{K3s as K3sImage, KUBE_SECURE_PORT};
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt, runners::AsyncRunner};

/// The image the course is verified against (DESIGN.md, Backends).
pub const IMAGE_TAG: &str = "v1.33.3-k3s1";

/// How long a cold start may take (image pull included) before giving up.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// What the learner is told when there is no engine to run k3s in.
const NO_DOCKER: &str = "the k3s backend runs k3s in a container and needs a Docker engine \
     (set DOCKER_HOST, or start Docker so that /var/run/docker.sock exists); \
     without one, use the embedded backend (KUBELAB_BACKEND=embedded, or --backend embedded)";

#[derive(Debug, Clone, Copy, Default)]
pub struct K3s;

/// `k3s server`'s arguments: the module's defaults plus the components the labs never use.
pub fn server_args() -> Vec<String> {
    [
        "server",
        "--snapshotter=native",
        "--disable=traefik,metrics-server",
    ]
    .map(String::from)
    .to_vec()
}

/// The kubeconfig k3s wrote (`https://127.0.0.1:6443`) pointed at the port Docker mapped:
/// every cluster's server becomes `https://<host>:<port>`.
pub fn rewrite_kubeconfig(
    text: &str,
    host: &str,
    port: u16,
) -> Result<kube::config::Kubeconfig, String> {
    let mut kc = kube::config::Kubeconfig::from_yaml(text)
        .map_err(|e| format!("reading k3s's kubeconfig: {e}"))?;
    let servers: Vec<&mut String> = kc
        .clusters
        .iter_mut()
        .filter_map(|c| c.cluster.as_mut()?.server.as_mut())
        .collect();
    if servers.is_empty() {
        return Err("k3s's kubeconfig names no server".into());
    }
    for server in servers {
        *server = format!("https://{host}:{port}");
    }
    Ok(kc)
}

/// The host name the kubeconfig uses for the mapped API port: k3s's own kubeconfig says
/// `127.0.0.1`, and so does the embedded cluster's, so a local Docker engine's `localhost`
/// becomes `127.0.0.1` (both are in the serving certificate) and the server URL a lab
/// shows is the same on both backends; a remote engine's host is kept.
pub fn api_host(docker_host: &str) -> &str {
    if docker_host == "localhost" {
        "127.0.0.1"
    } else {
        docker_host
    }
}

/// The node condition `Ready` is `True`.
pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Every pod is Ready, and there is at least one.
pub fn all_ready(pods: &[Pod]) -> bool {
    !pods.is_empty()
        && pods.iter().all(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
}

/// The k3s container and the directory it writes its kubeconfig to.
struct K3sContainer {
    container: ContainerAsync<K3sImage>,
    conf_dir: PathBuf,
}

impl crate::Release for K3sContainer {
    fn release(self) -> BoxFuture<'static, ()> {
        async move {
            if let Err(e) = self.container.rm().await {
                tracing::warn!(error = %e, "removing the k3s container");
            }
            // k3s writes its files as root; on a rootless engine some may stay behind.
            let _ = std::fs::remove_dir_all(&self.conf_dir);
        }
        .boxed()
    }
}

/// Waits for k3s to write its kubeconfig into the mounted directory.
async fn read_kubeconfig(conf_dir: &Path, deadline: Instant) -> Result<String, String> {
    let file = conf_dir.join("k3s.yaml");
    loop {
        match std::fs::read_to_string(&file) {
            Ok(text) if text.contains("server:") => return Ok(text),
            _ if Instant::now() > deadline => {
                return Err(format!("k3s wrote no kubeconfig to {}", file.display()));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Polls until the cluster is ready for a lab; returns the node for redaction.
async fn wait_ready(client: kube::Client, deadline: Instant) -> Result<Node, String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let system: Api<Pod> = Api::namespaced(client, "kube-system");
    let coredns = ListParams::default().labels("k8s-app=kube-dns");
    loop {
        let state = async {
            let node = nodes
                .list(&ListParams::default())
                .await
                .map_err(|_| "the API server")?
                .items
                .into_iter()
                .find(node_ready)
                .ok_or("a Ready node")?;
            sas.get_opt("default")
                .await
                .ok()
                .flatten()
                .ok_or("the default ServiceAccount")?;
            let pods = system.list(&coredns).await.map_err(|_| "CoreDNS")?;
            if !all_ready(&pods.items) {
                return Err("CoreDNS");
            }
            Ok(node)
        }
        .await;
        let waiting_for = match state {
            Ok(node) => return Ok(node),
            Err(what) => what,
        };
        if Instant::now() > deadline {
            return Err(format!(
                "k3s was not ready after {} s: still waiting for {waiting_for}",
                START_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

crate::backend!(K3s, "k3s");

impl K3s {
    /// Starts the cluster: what lab runs read, and what it holds until it stops.
    async fn provision(&self) -> Result<(ClusterInfo, K3sContainer), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let conf_dir =
            crate::fresh_dir("k3s-conf").map_err(|e| format!("creating a conf dir: {e}"))?;
        let workdir =
            crate::fresh_dir("k3s-work").map_err(|e| format!("creating a work dir: {e}"))?;
        let cleanup = || {
            let _ = std::fs::remove_dir_all(&conf_dir);
            let _ = std::fs::remove_dir_all(&workdir);
        };
        let request = K3sImage::default()
            .with_conf_mount(&conf_dir)
            .with_tag(IMAGE_TAG)
            .with_cmd(server_args())
            .with_privileged(true)
            .with_userns_mode("host")
            .with_startup_timeout(START_TIMEOUT);
        let container = match request.start().await {
            Ok(c) => c,
            Err(e) => {
                cleanup();
                return Err(format!("{e}\n{NO_DOCKER}"));
            }
        };
        let ready = async {
            let port = container
                .get_host_port_ipv4(KUBE_SECURE_PORT)
                .await
                .map_err(|e| format!("finding the mapped API port: {e}"))?;
            let docker_host = container
                .get_host()
                .await
                .map_err(|e| format!("finding the Docker host: {e}"))?
                .to_string();
            let host = api_host(&docker_host).to_string();
            let text = read_kubeconfig(&conf_dir, deadline).await?;
            let kc = rewrite_kubeconfig(&text, &host, port)?;
            let kubeconfig = workdir.join("kubeconfig");
            harness::kubeconfig::write(&kubeconfig, &kc).map_err(|e| crate::chain(&e))?;
            let (server, ca_pem) =
                harness::kubeconfig::server_and_ca(&kc).map_err(|e| e.to_string())?;
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| format!("reading k3s's kubeconfig: {e}"))?;
            let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
            let node = wait_ready(client, deadline).await?;
            Ok::<_, String>((kubeconfig, server, ca_pem, node))
        }
        .await;
        let (kubeconfig, server, ca_pem, node) = match ready {
            Ok(r) => r,
            Err(e) => {
                let _ = container.rm().await;
                cleanup();
                return Err(e);
            }
        };
        let (node_name, node_ip) = crate::node_identity(&node);
        let info = ClusterInfo {
            kubeconfig,
            description: format!("k3s {IMAGE_TAG} in Docker at {server}"),
            server,
            ca_pem,
            workdir,
            shared: false,
            minor: Some(33),
            redact: harness::redact::Context { node_name, node_ip },
        };
        Ok((
            info,
            K3sContainer {
                container,
                conf_dir,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_server_runs_without_traefik_and_metrics_server() {
        assert_eq!(
            server_args(),
            [
                "server",
                "--snapshotter=native",
                "--disable=traefik,metrics-server"
            ]
        );
    }

    #[test]
    fn the_kubeconfig_points_at_the_mapped_port() {
        let k3s = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QQ==\n    server: https://127.0.0.1:6443\n  name: default\n";
        let kc = rewrite_kubeconfig(k3s, "localhost", 32771).unwrap();
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://localhost:32771"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("QQ=="));
        assert!(rewrite_kubeconfig("apiVersion: v1\n", "localhost", 1).is_err());
        assert_eq!(api_host("localhost"), "127.0.0.1");
        assert_eq!(api_host("docker.example"), "docker.example");
    }

    #[test]
    fn readiness_needs_ready_conditions() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "3f9c2a1b7d4e"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "172.17.0.2"}, {"type": "Hostname", "address": "3f9c2a1b7d4e"}],
            },
        }))
        .unwrap();
        assert!(node_ready(&node));
        assert_eq!(
            crate::node_identity(&node),
            ("3f9c2a1b7d4e".to_string(), "172.17.0.2".to_string())
        );
        let not_ready: Node = serde_json::from_value(
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        )
        .unwrap();
        assert!(!node_ready(&not_ready));
        assert!(!node_ready(&Node::default()));

        let pod = |ready: &str| -> Pod {
            serde_json::from_value(
                json!({"status": {"conditions": [{"type": "Ready", "status": ready}]}}),
            )
            .unwrap()
        };
        assert!(all_ready(&[pod("True")]));
        assert!(!all_ready(&[pod("True"), pod("False")]));
        assert!(!all_ready(&[]));
    }
}
