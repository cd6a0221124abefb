//! The node's heartbeat, as the kubelet keeps it: a Lease named after the node in
//! `kube-node-lease`, held by the node for 40 s (`nodeLeaseDurationSeconds`'s default) and
//! renewed every quarter of that, 10 s (`pkg/kubelet/kubelet.go`,
//! `nodeLeaseRenewIntervalFraction`), by the lease controller
//! (`k8s.io/component-helpers/apimachinery/lease/controller.go`: `newLease` sets only the
//! holder, the duration and the renew time; a failed renewal gets the lease again), owned
//! by the Node (`pkg/kubelet/util/nodelease.go`, `SetNodeOwnerFunc`).

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};
use std::time::Duration;

/// `nodeLeaseDurationSeconds`' default.
pub(crate) const DURATION_SECONDS: i32 = 40;
/// A quarter of the duration.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(10);

/// Renews the node's Lease every `RENEW_EVERY` until the task is dropped.
pub(crate) async fn keep(client: kube::Client, node: String) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let nodes: Api<Node> = Api::all(client);
    let mut tick = tokio::time::interval(RENEW_EVERY);
    let mut last: Option<Lease> = None;
    loop {
        tick.tick().await;
        match renew(&leases, &nodes, &node, last.take()).await {
            Ok(lease) => last = Some(lease),
            Err(e) => tracing::warn!(error = %e, "renewing the node's lease failed; retrying"),
        }
    }
}

/// One renewal: the lease as last written (or read, or new) with the renew time now and
/// the Node as its owner once the Node can be read.
async fn renew(
    leases: &Api<Lease>,
    nodes: &Api<Node>,
    node: &str,
    last: Option<Lease>,
) -> Result<Lease, kube::Error> {
    let base = match last {
        Some(lease) => Some(lease),
        None => leases.get_opt(node).await?,
    };
    let exists = base.is_some();
    let mut lease = base.unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(node.to_string()),
            namespace: Some("kube-node-lease".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            ..LeaseSpec::default()
        }),
    });
    lease.spec.get_or_insert_with(LeaseSpec::default).renew_time =
        Some(MicroTime(jiff::Timestamp::now()));
    if lease
        .metadata
        .owner_references
        .as_ref()
        .is_none_or(Vec::is_empty)
        && let Some(uid) = nodes.get_opt(node).await?.and_then(|n| n.metadata.uid)
    {
        lease.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: node.to_string(),
            uid,
            ..OwnerReference::default()
        }]);
    }
    let pp = PostParams::default();
    if exists {
        leases.replace(node, &pp, &lease).await
    } else {
        leases.create(&pp, &lease).await
    }
}
