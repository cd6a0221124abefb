//! What a backend gives the harness: a running cluster reachable through a kubeconfig, and
//! the facts redaction needs. Backends live in their own crates; the harness only knows
//! this trait.

use futures::future::BoxFuture;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("starting the {backend} cluster: {detail}")]
    Start { backend: String, detail: String },
}

/// A running cluster, as the steps of a lab reach it.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// An admin kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The API server's URL, as the kubeconfig gives it.
    pub server: String,
    /// The cluster's CA certificate (PEM), which the kubeconfig trusts.
    pub ca_pem: String,
    /// A scratch directory for the run (removed with the cluster).
    pub workdir: PathBuf,
    /// One line for the learner: what runs and where.
    pub description: String,
    pub redact: crate::redact::Context,
    /// The cluster is someone else's (the kubeconfig backend): the runner labels what it
    /// creates, refuses to change what it did not create, and deletes what it created.
    pub shared: bool,
    /// The Kubernetes minor version the cluster serves, when the backend knows it without
    /// asking (33 for the embedded cluster, the reference and k3s v1.33): the runner then
    /// runs the kubectl of that minor directly where the host's `kubectl` is a dispatcher
    /// that would ask on every call (`run::kubectl_of_minor`).
    pub minor: Option<u32>,
}

/// A cluster the harness can stop.
pub trait RunningCluster: Send + Sync {
    fn info(&self) -> &ClusterInfo;
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// A way to get a cluster: embedded, k3s, or the learner's own.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn start(&self) -> BoxFuture<'_, Result<Box<dyn RunningCluster>, BackendError>>;
}
