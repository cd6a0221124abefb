//! The shared state of one cluster, which every handler and controller reaches.

use crate::{pki, rbac, registry, runtime, tokens};
use std::sync::Arc;

/// Shared state of one cluster.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) registry: registry::Registry,
    pub(crate) authz: rbac::Authorizer,
    pub(crate) keys: tokens::KeyCell,
    /// Tokens that authenticated in the last 10 s.
    pub(crate) token_cache: crate::authn::TokenCache,
    pub(crate) pki: Arc<pki::Pki>,
    /// `host:port` advertised in `/api`'s `serverAddressByClientCIDRs`.
    pub(crate) server_address: String,
    /// What runs pods, once a node has attached (`Cluster::attach_runtime`).
    pub(crate) runtime: std::sync::OnceLock<Arc<dyn runtime::PodRuntime>>,
}
