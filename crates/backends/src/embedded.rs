//! The embedded backend: the in-process API server with the embedded kubelet, assembled
//! once here as `EmbeddedCluster` for the labs and for `cargo xtask cluster up`.

use futures::FutureExt;
use futures::future::BoxFuture;
use harness::ClusterInfo;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why an embedded cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("creating {path}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the API server")]
    ApiServer(#[from] apiserver::StartError),
}

/// An embedded cluster: the API server on `127.0.0.1` and a Unix socket in its
/// directory, and the kubelet whose pods reach it through that socket.
pub struct EmbeddedCluster {
    cluster: apiserver::Cluster,
    kubelet: Arc<kubelet::Kubelet>,
    dir: PathBuf,
}

impl EmbeddedCluster {
    /// Starts a cluster whose files live in `dir` (the socket, the kubelet's `run/`);
    /// `port` 0 picks a free one.
    pub async fn start(dir: &Path, port: u16) -> Result<EmbeddedCluster, StartError> {
        Self::start_with(dir, port, None, kubelet::PullObserver::default()).await
    }

    /// `start`, with `pulls` told of every image pull the node makes (`cluster up`'s
    /// progress bars).
    pub async fn start_observed(
        dir: &Path,
        port: u16,
        pulls: kubelet::PullObserver,
    ) -> Result<EmbeddedCluster, StartError> {
        Self::start_with(dir, port, None, pulls).await
    }

    /// `start`, with every exchange on the API server's port and socket recorded in
    /// `recorder` (the differential suite's replay of a lab's traffic).
    pub async fn start_recorded(
        dir: &Path,
        port: u16,
        recorder: Option<apiserver::Recorder>,
    ) -> Result<EmbeddedCluster, StartError> {
        Self::start_with(dir, port, recorder, kubelet::PullObserver::default()).await
    }

    async fn start_with(
        dir: &Path,
        port: u16,
        recorder: Option<apiserver::Recorder>,
        pulls: kubelet::PullObserver,
    ) -> Result<EmbeddedCluster, StartError> {
        std::fs::create_dir_all(dir).map_err(|source| StartError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let socket = dir.join("apiserver.sock");
        let cluster = apiserver::Cluster::start(apiserver::Config {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            socket: Some(socket.clone()),
            recorder,
            ..apiserver::Config::default()
        })
        .await?;
        // The node: the embedded kubelet runs the cluster's pods as sandboxed processes.
        let kubelet = kubelet::Kubelet::start(
            &cluster,
            kubelet::Config {
                node_name: apiserver::NODE_NAME.into(),
                runtime_dir: dir.join("run"),
                node_ip: kubelet::NODE_IP.into(),
                api_socket: socket,
                pulls,
            },
        );
        Ok(EmbeddedCluster {
            cluster,
            kubelet,
            dir: dir.to_path_buf(),
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.cluster.url()
    }

    /// The CA certificate (PEM) that signs the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.cluster.pki().server_ca.cert_pem
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> kube::config::Kubeconfig {
        self.cluster.admin_kubeconfig()
    }

    /// Stops every pod, then the API server; removes the kubelet's files.
    pub async fn stop(self) {
        self.kubelet.stop().await;
        self.cluster.shutdown().await;
        let _ = std::fs::remove_dir_all(self.dir.join("run"));
    }
}

/// The embedded backend; `Embedded::default()` is the one `by_name` gives.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    recorder: Option<apiserver::Recorder>,
}

impl Embedded {
    /// An embedded backend whose clusters record their API traffic in `recorder`.
    pub fn recorded(recorder: apiserver::Recorder) -> Embedded {
        Embedded {
            recorder: Some(recorder),
        }
    }
}

impl crate::Release for EmbeddedCluster {
    fn release(self) -> BoxFuture<'static, ()> {
        self.stop().boxed()
    }
}

crate::backend!(Embedded, "embedded");

impl Embedded {
    /// Starts the cluster: what lab runs read, and what it holds until it stops.
    async fn provision(&self) -> Result<(ClusterInfo, EmbeddedCluster), String> {
        let workdir =
            crate::fresh_dir("embedded").map_err(|e| format!("creating a work dir: {e}"))?;
        let cluster = EmbeddedCluster::start_recorded(&workdir, 0, self.recorder.clone())
            .await
            .map_err(|e| crate::chain(&e))?;
        let kubeconfig = workdir.join("kubeconfig");
        harness::kubeconfig::write(&kubeconfig, &cluster.kubeconfig())
            .map_err(|e| crate::chain(&e))?;
        let info = ClusterInfo {
            kubeconfig,
            server: cluster.url(),
            ca_pem: cluster.ca_pem().to_string(),
            workdir,
            shared: false,
            minor: Some(33),
            description: format!("embedded Kubernetes v1.33 at {}", cluster.url()),
            redact: harness::redact::Context {
                node_name: apiserver::NODE_NAME.into(),
                node_ip: kubelet::NODE_IP.into(),
            },
        };
        Ok((info, cluster))
    }
}
