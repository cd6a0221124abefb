//! A kubelet that joins a control plane it does not run in, as any kubelet joins one: it
//! reaches the API server over the network with the node's credentials (`system:node:<name>`
//! in `system:nodes`, which the Node authorizer and NodeRestriction hold to what a node
//! may do), registers its Node, watches only the pods bound to it, and serves the API
//! server's `exec`, `attach`, `containerLogs` and `portForward` over HTTPS (`server`).

use crate::{Config, Kubelet, Stop, node, server};
use std::sync::Arc;

/// What joining needs besides the node's `Config`.
#[derive(Clone)]
pub struct Join {
    /// The API server, its CA and the node's client certificate.
    pub kubeconfig: kube::config::Kubeconfig,
    /// The kubelet's serving certificate chain (PEM, leaf first) and its key: the API
    /// server checks it against `--kubelet-certificate-authority`.
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    /// The CA whose client certificates the kubelet's server accepts
    /// (`--client-ca-file`): the API server's `--kubelet-client-certificate` is signed by it.
    pub client_ca_pem: String,
}

impl std::fmt::Debug for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}

/// Why a node could not join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("reading the node's kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("serving the kubelet's HTTPS endpoint on {addr}: {message}")]
    Serve { addr: String, message: String },
    #[error("relaying pods' API connections through {path}: {source}")]
    Relay {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("registering node {node}: {source}")]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
}

impl Kubelet {
    /// Joins the control plane `join.kubeconfig` names as node `config.node_name` at
    /// `config.node_ip`, and runs the pods bound to it until [`Kubelet::stop`].
    pub async fn join(join: Join, config: Config) -> Result<Arc<Kubelet>, JoinError> {
        let kube_config = kube::Config::from_custom_kubeconfig(
            join.kubeconfig.clone(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| JoinError::Kubeconfig(e.to_string()))?;
        let api_addr = authority(&kube_config.cluster_url).ok_or_else(|| {
            JoinError::Kubeconfig(format!("no host in {}", kube_config.cluster_url))
        })?;
        let client = kube::Client::try_from(kube_config)
            .map_err(|e| JoinError::Kubeconfig(e.to_string()))?;

        // Pods reach the API server through the node's socket, as in the embedded cluster:
        // here the socket relays each connection to the API server's address (TLS stays
        // end to end, between the pod and the API server).
        let relay = relay(&config.api_socket, api_addr).map_err(|source| JoinError::Relay {
            path: config.api_socket.display().to_string(),
            source,
        })?;
        let kubelet = Kubelet::new(client.clone(), config, false);
        let tls = server::Tls {
            cert_pem: &join.serving_cert_pem,
            key_pem: &join.serving_key_pem,
            client_ca_pem: &join.client_ca_pem,
        };
        let (port, serving) = match server::serve(kubelet.clone(), &tls).await {
            Ok(served) => served,
            Err(message) => {
                return Err(JoinError::Serve {
                    addr: format!("{}:0", kubelet.config.node_ip),
                    message,
                });
            }
        };
        kubelet
            .serving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend([relay, serving]);
        match kubelet.register(client, port).await {
            Ok(()) => {
                kubelet.watch();
                Ok(kubelet)
            }
            Err(e) => {
                kubelet.shutdown();
                Err(e)
            }
        }
    }

    async fn register(&self, client: kube::Client, port: u16) -> Result<(), JoinError> {
        let object = node::object(
            &self.config.node_name,
            &self.config.node_ip,
            port,
            &node::Machine::this(),
        );
        node::register(&client, &object)
            .await
            .map_err(|source| JoinError::Register {
                node: self.config.node_name.clone(),
                source,
            })
    }
}

/// `host:port` of an `https://` URL.
fn authority(url: &http::Uri) -> Option<String> {
    let host = url.host()?;
    Some(format!("{host}:{}", url.port_u16().unwrap_or(443)))
}

/// Accepts connections on a Unix socket at `path` and relays each to `to` over TCP, until
/// the returned guard is dropped.
fn relay(path: &std::path::Path, to: String) -> std::io::Result<Stop> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)?;
    // Pods connect as their own user (nobody when the host is root); the socket offers
    // what the API server's port offers every local user: TLS, then authentication.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    let stop = Stop::new();
    let signal = stop.signal();
    stop.spawn(async move {
        while let Ok((mut inner, _)) = listener.accept().await {
            let to = to.clone();
            tokio::spawn(crate::until(signal.clone(), async move {
                if let Ok(mut outer) = tokio::net::TcpStream::connect(&to).await {
                    let _ = outer.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut inner, &mut outer).await;
                }
            }));
        }
    });
    Ok(stop)
}
