//! The controllers the embedded cluster runs beside its API server, as k3s runs
//! kube-controller-manager's in its process: the namespace controller (`namespace`), the
//! ServiceAccount and root-CA publisher controllers, ClusterRole aggregation
//! (`aggregation`) and the Job controller (`job`). They watch the registry's events and
//! write through the registry, like any client.

mod aggregation;
mod job;
mod namespace;

pub(crate) use aggregation::aggregate_cluster_roles;
pub(crate) use namespace::populate_namespace;

use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::Registry;
use crate::store::{EventType, resource_key};

/// Runs the namespace, service-account and aggregation controllers until the store's
/// event channel closes.
pub async fn run(reg: Registry, ca_pem: String) {
    let Ok(crate::store::Watch { live: mut rx, .. }) = reg.watch(0) else {
        return;
    };
    let ns_key = resource_key("", "namespaces");
    let sa_key = resource_key("", "serviceaccounts");
    let cm_key = resource_key("", "configmaps");
    let cr_key = resource_key("rbac.authorization.k8s.io", "clusterroles");
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Events were missed: look at everything again, as an informer re-lists.
                resync(&reg, &ca_pem);
                continue;
            }
            Err(_) => return,
        };
        if ev.resource == ns_key {
            let terminating = ev.object.pointer("/metadata/deletionTimestamp").is_some();
            match ev.kind {
                EventType::Added => populate_namespace(&reg, &ev.name, &ca_pem),
                EventType::Modified if terminating => namespace::finalize(&reg, &ev.name),
                _ => {}
            }
        } else if ev.kind == EventType::Deleted
            && ((ev.resource == sa_key && ev.name == "default")
                || (ev.resource == cm_key && ev.name == "kube-root-ca.crt"))
        {
            // The controllers put these back unless the namespace is going away.
            let alive = reg
                .find(DISCOVERY.served("", "namespaces"), "", &ev.namespace)
                .is_some_and(|ns| ns.pointer("/metadata/deletionTimestamp").is_none());
            if alive {
                populate_namespace(&reg, &ev.namespace, &ca_pem);
            }
        } else if ev.resource == cr_key && ev.object.get("aggregationRule").is_none() {
            aggregate_cluster_roles(&reg);
        } else {
            job::on_event(&reg, &ev);
        }
    }
}

/// One pass of every controller over the whole store.
fn resync(reg: &Registry, ca_pem: &str) {
    let (namespaces, _) = reg.list(DISCOVERY.served("", "namespaces"), None);
    for ns in namespaces {
        let name = object::name(&ns);
        if ns.pointer("/metadata/deletionTimestamp").is_some() {
            namespace::finalize(reg, name);
        } else {
            populate_namespace(reg, name, ca_pem);
        }
    }
    aggregate_cluster_roles(reg);
    job::resync(reg);
}
