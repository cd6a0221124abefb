//! An in-process Kubernetes v1.33 API server that answers like k3s v1.33.3.
//!
//! This file only assembles: `Cluster::start` makes fresh PKI, seeds the registry
//! (`bootstrap`), starts the controllers (`controllers`) and serves `http::router` over
//! TLS on `127.0.0.1` and a Unix socket. The router is the boundary between the HTTP layer
//! and the core (store, registry, admission, RBAC, tokens), which never see HTTP types.
//! Pods are not run here: a pod runtime attaches from outside (`runtime::PodRuntime`).
//!
//! The public API is `Cluster`, `Config`, `UserInfo`, the pod runtime's interface
//! (`runtime`), the cluster's certificates (`pki`) and service-account tokens (`tokens`).

mod admission;
mod authn;
mod bootstrap;
mod controllers;
mod crds;
mod discovery;
pub mod gotime;
mod http;
pub mod kubeconfig;
mod object;
mod openapi;
pub mod pki;
mod rbac;
mod registry;
pub mod runtime;
mod schema;
mod selectors;
mod state;
mod status;
mod store;
mod table;
pub mod tokens;
mod user;
mod version;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use http::record::{Caller, Exchange, Recorder};
pub use http::request_info::method_verb;
pub use http::serve::{TlsError, tls_config};
pub(crate) use state::State;
pub use user::UserInfo;
pub use version::GIT_VERSION;

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where to put the Unix socket; `None` for no socket.
    pub socket: Option<PathBuf>,
    /// The node's name (k3s uses the host name).
    pub node_name: String,
    /// Records every exchange on the TCP port and the socket, for the differential
    /// suite's replay of a lab's traffic; `None` (the default) records nothing.
    pub recorder: Option<Recorder>,
}

/// The embedded node's name. k3s names its node after the host; this one is chosen so
/// that it appears nowhere else in an answer, because redaction replaces it as a word.
pub const NODE_NAME: &str = "kubelab-node";

/// The cluster's addresses: the `kubernetes` Service, cluster DNS, and the node (its pods'
/// `hostIP`, where k3s advertises the API server).
pub use bootstrap::{CLUSTER_DNS_IP, KUBERNETES_SERVICE_IP, NODE_IP};

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            socket: None,
            node_name: NODE_NAME.into(),
            recorder: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("generating the cluster's certificates")]
    Pki(#[from] pki::PkiError),
    #[error("configuring TLS")]
    Tls(#[from] TlsError),
    #[error("listening on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why `Cluster::service_account_token` gave no token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("serviceaccount {namespace}/{name} not found")]
    NoServiceAccount { namespace: String, name: String },
    #[error(transparent)]
    Key(#[from] tokens::KeyError),
}

/// A running cluster. Dropping it stops serving; `shutdown` waits for that.
#[derive(Debug)]
pub struct Cluster {
    state: Arc<State>,
    pub addr: SocketAddr,
    pub socket: Option<PathBuf>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Cluster {
    /// Starts a cluster and returns once it accepts connections.
    pub async fn start(config: Config) -> Result<Cluster, StartError> {
        let keys = tokens::KeyCell::spawn();
        let pki = Arc::new(pki::Pki::generate()?);
        let tls = http::serve::tls_config(&pki)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen.to_string(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen.to_string(),
            source,
        })?;
        let registry = registry::Registry::new();
        bootstrap::seed(&registry, &pki, &config.node_name, addr.port());
        // The seeding is the state the watch caches first list, as upstream's list once
        // the server starts; a watch from before it is too old (410).
        registry.start_watch_cache();
        let state = Arc::new(State {
            authz: rbac::Authorizer::new(registry.clone()),
            registry: registry.clone(),
            keys,
            token_cache: authn::TokenCache::default(),
            pki: pki.clone(),
            // The advertised address, as k3s's kube-apiserver has it: the node's IP
            // (`--advertise-address`) and the supervisor's port 6443 (`--advertise-port`,
            // k3s-io/k3s:pkg/daemons/control/server.go), joined as `ExternalAddress` in
            // k8s.io/apiserver/pkg/server/config.go.
            server_address: format!("{}:6443", bootstrap::NODE_IP),
            runtime: std::sync::OnceLock::new(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(controllers::run(
            registry,
            pki.server_ca.cert_pem.clone(),
        )));
        let mut router = http::router(state.clone());
        if let Some(recorder) = &config.recorder {
            router = router.layer(axum::middleware::from_fn_with_state(
                recorder.clone(),
                http::record::record,
            ));
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let request_header_ca = Arc::new(pki.request_header_ca.cert_der.to_vec());
        tasks.push(tokio::spawn(http::serve::accept_loop(
            http::serve::Listener::Tcp(listener),
            acceptor.clone(),
            router.clone(),
            request_header_ca.clone(),
            stop_rx.clone(),
        )));
        if let Some(path) = &config.socket {
            let _ = std::fs::remove_file(path);
            let unix = UnixListener::bind(path).map_err(|source| StartError::Listen {
                addr: path.display().to_string(),
                source,
            })?;
            // Pods connect as their own user (nobody when the host is root). The socket
            // offers what the loopback TCP port offers to every local user: TLS, then
            // authentication.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(
                |source| StartError::Listen {
                    addr: path.display().to_string(),
                    source,
                },
            )?;
            tasks.push(tokio::spawn(http::serve::accept_loop(
                http::serve::Listener::Unix(unix),
                acceptor,
                router,
                request_header_ca,
                stop_rx,
            )));
        }
        Ok(Cluster {
            state,
            addr,
            socket: config.socket,
            stop,
            tasks,
        })
    }

    /// The cluster's certificates and keys.
    pub fn pki(&self) -> &pki::Pki {
        &self.state.pki
    }

    /// The key that signs service-account tokens (generated in the background at start).
    pub async fn service_account_key(&self) -> Result<&tokens::SaKey, tokens::KeyError> {
        self.state.keys.get().await
    }

    /// Attaches the pod runtime that answers `pods/exec`; the first one attached stays.
    pub fn attach_runtime(&self, runtime: Arc<dyn runtime::PodRuntime>) {
        let _ = self.state.runtime.set(runtime);
    }

    /// A token for a service account, as `kubectl create token <name>` gets one.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        expiration_seconds: i64,
    ) -> Result<String, TokenError> {
        let sa = self
            .state
            .registry
            .find(
                discovery::DISCOVERY.served("", "serviceaccounts"),
                namespace,
                name,
            )
            .ok_or_else(|| TokenError::NoServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            })?;
        let key = self.state.keys.get().await?;
        let spec = tokens::TokenSpec {
            namespace: namespace.into(),
            service_account: tokens::Ref {
                name: name.into(),
                uid: object::meta_str(&sa, "uid").into(),
            },
            pod: None,
            node: None,
            audiences: tokens::API_AUDIENCES
                .iter()
                .map(|a| a.to_string())
                .collect(),
            expiration_seconds,
        };
        Ok(tokens::issue(key, &spec, jiff::Timestamp::now().as_second()).token)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig for the admin, shaped like k3s's `k3s.yaml`.
    pub fn admin_kubeconfig(&self) -> kube::config::Kubeconfig {
        kubeconfig::admin(
            &self.url(),
            &self.state.pki.server_ca.cert_pem,
            &self.state.pki.admin,
        )
    }

    /// The router as `user` would reach it, for in-process clients (`kube::Client::new`).
    pub fn service_as(&self, user: UserInfo) -> axum::Router {
        let identity = http::PeerIdentity(Some(Arc::new(user)));
        http::router(self.state.clone()).layer(axum::Extension(identity))
    }

    /// The router as a client without a client certificate reaches it: only the request's
    /// own `Authorization` header can authenticate it.
    pub fn service(&self) -> axum::Router {
        http::router(self.state.clone()).layer(axum::Extension(http::PeerIdentity(None)))
    }

    /// Stops serving and the controllers, and waits for them, and for the signing key's
    /// generation (started with the cluster) so that it does not go on using a core
    /// after the cluster is gone.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
        let _ = self.state.keys.get().await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The CustomResourceDefinitions every k3s server installs at start, as this server serves
/// them, ready to create on another API server (`apiextensions.k8s.io/v1`).
pub fn k3s_crds() -> Vec<serde_json::Value> {
    crds::K3S_CRDS
        .iter()
        .map(|crd| {
            let mut object = crd.object();
            let map = object
                .as_object_mut()
                .expect("a CRD object is a JSON object");
            map.insert("apiVersion".into(), "apiextensions.k8s.io/v1".into());
            map.insert("kind".into(), "CustomResourceDefinition".into());
            object
        })
        .collect()
}

/// A Kubernetes protobuf body (`application/vnd.kubernetes.protobuf`: the `k8s\0` magic
/// and a `runtime.Unknown` envelope) as the JSON object it encodes, read with this server's
/// type table; `None` when it is not one the table knows. For tools that compare answers:
/// a protobuf answer's times and uids are bytes, and only its JSON form can be redacted.
pub fn protobuf_as_json(body: &[u8]) -> Option<serde_json::Value> {
    let envelope = schema::proto::read_envelope(body).ok()?;
    let (group, version) = envelope
        .api_version
        .split_once('/')
        .unwrap_or(("", envelope.api_version.as_str()));
    let ty = schema::SCHEMA
        .kind_type(group, version, &envelope.kind)
        .or_else(|| schema::SCHEMA.object_type(&envelope.api_version, &envelope.kind))?;
    let decoded = schema::proto::decode(&ty, envelope.raw).ok()?;
    let mut object = serde_json::Map::new();
    object.insert("apiVersion".into(), envelope.api_version.clone().into());
    object.insert("kind".into(), envelope.kind.clone().into());
    if let serde_json::Value::Object(fields) = decoded {
        object.extend(fields);
    }
    Some(serde_json::Value::Object(object))
}

/// A protobuf watch stream read as `{"type", "object"}` events, each object as
/// `protobuf_as_json` reads it: length-prefixed raw `WatchEvent`s. `None` if any frame is
/// not one.
pub fn protobuf_watch_as_json(mut body: &[u8]) -> Option<Vec<serde_json::Value>> {
    let mut events = Vec::new();
    while !body.is_empty() {
        let len = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
        let frame = body.get(4..4 + len)?;
        body = &body[4 + len..];
        let (kind, object) = schema::proto::read_watch_event(frame).ok()?;
        events.push(serde_json::json!({"type": kind, "object": protobuf_as_json(object)?}));
    }
    Some(events)
}
