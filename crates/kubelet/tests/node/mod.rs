//! A cluster whose node is this crate's kubelet, its files in a scratch directory: what
//! the tests and the bench (`#[path]`) run pods on.

use apiserver::{Cluster, Config};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Node {
    /// The API server the kubelet talks to.
    pub cluster: Cluster,
    pub kubelet: Arc<kubelet::Kubelet>,
    pub dir: PathBuf,
    /// `default`'s pods, as the cluster's admin over the in-process connection.
    pub pods: Api<Pod>,
}

impl Node {
    /// A node whose files live in a fresh directory named for `tag` and this process.
    pub async fn start(tag: &str) -> Node {
        let dir = std::env::temp_dir().join(format!("kubelet-{tag}-{}", std::process::id()));
        Node::start_in(dir).await
    }

    /// A node whose files (API socket, kubelet runtime directory) live in `dir`.
    pub async fn start_in(dir: PathBuf) -> Node {
        Node::start_observed(dir, kubelet::PullObserver::default()).await
    }

    /// `start_in`, with `pulls` told of the node's image pulls.
    pub async fn start_observed(dir: PathBuf, pulls: kubelet::PullObserver) -> Node {
        std::fs::create_dir_all(&dir).unwrap();
        let api_socket = dir.join("apiserver.sock");
        let config = Config {
            socket: Some(api_socket.clone()),
            ..Default::default()
        };
        let cluster = Cluster::start(config).await.unwrap();
        let runtime_dir = dir.join("run");
        let kubelet = kubelet::Kubelet::start(
            &cluster,
            kubelet::Config {
                node_name: apiserver::NODE_NAME.into(),
                node_ip: kubelet::NODE_IP.into(),
                runtime_dir,
                api_socket,
                pulls,
            },
        );
        let admin = cluster.service_as(apiserver::UserInfo::admin());
        let pods = Api::namespaced(kube::Client::new(admin, "default"), "default");
        Node {
            cluster,
            kubelet,
            dir,
            pods,
        }
    }

    /// `default`'s pods over TLS with the admin kubeconfig, as a client outside the
    /// cluster reaches them (an upgrade, such as exec's, needs a real connection).
    pub async fn pods_over_tls(&self) -> Api<Pod> {
        let kc = self.cluster.admin_kubeconfig();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        Api::namespaced(kube::Client::try_from(config).unwrap(), "default")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kubelet.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
