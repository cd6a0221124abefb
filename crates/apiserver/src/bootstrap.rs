//! What a new cluster holds before anyone asks, and the controllers that keep it so.
//!
//! Seeds the objects a fresh k3s has that users meet — namespaces `default`, `kube-system`,
//! `kube-public`, `kube-node-lease`; the `kubernetes` Service with its Endpoints and
//! EndpointSlice; one Ready Node; the bootstrap RBAC policy; k3s's CustomResourceDefinitions
//! (`crds.rs`) — and runs the controllers that
//! give every namespace its `default` ServiceAccount and `kube-root-ca.crt` ConfigMap,
//! empty a deleted namespace, and aggregate ClusterRoles.

use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::{Registry, Writer};
use crate::store::{EventType, resource_key};
use serde_json::{Value, json};

/// The field managers of what the cluster writes itself. k3s runs its API server and
/// controllers in one `k3s` process; the controller names follow upstream's clients
/// (UNCONFIRMED for k3s, whose embedded controllers may report `k3s`).
const APISERVER: &str = "k3s";
const CONTROLLER_MANAGER: &str = "kube-controller-manager";
const KUBELET: &str = "k3s";

pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];
pub const KUBERNETES_SERVICE_IP: &str = "10.43.0.1";
pub const NODE_IP: &str = "10.42.0.1";

fn create(reg: &Registry, group: &str, version: &str, resource: &str, ns: &str, obj: Value) {
    let res = DISCOVERY
        .resource(group, version, resource)
        .expect("bootstrap resources exist");
    let manager = match resource {
        "serviceaccounts" | "configmaps" | "endpointslices" => CONTROLLER_MANAGER,
        "nodes" => KUBELET,
        _ => APISERVER,
    };
    if let Err(e) = reg.create(res, ns, obj, &Writer::internal(manager)) {
        // Objects may already exist (a controller made them first); anything else is a bug.
        if e.code != 409 {
            tracing::error!(resource, error = %e.message, "bootstrap object rejected");
        }
    }
}

/// Gives a namespace what the ServiceAccount and root-CA controllers give it.
fn populate_namespace(reg: &Registry, ns: &str, ca_pem: &str) {
    create(
        reg,
        "",
        "v1",
        "serviceaccounts",
        ns,
        json!({"metadata": {"name": "default"}}),
    );
    create(
        reg,
        "",
        "v1",
        "configmaps",
        ns,
        json!({
            "metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": ca_pem},
        }),
    );
}

/// Seeds a new cluster.
pub fn seed(reg: &Registry, ca_pem: &str, node_name: &str, api_port: u16) {
    let policy: Vec<Value> =
        serde_saphyr::from_str(crate::rbac::BOOTSTRAP).expect("bootstrap policy is valid YAML");
    for obj in policy {
        let resource = match obj["kind"].as_str() {
            Some("ClusterRole") => "clusterroles",
            _ => "clusterrolebindings",
        };
        create(reg, "rbac.authorization.k8s.io", "v1", resource, "", obj);
    }
    aggregate_cluster_roles(reg);
    for crd in crate::crds::K3S_CRDS {
        create(
            reg,
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "",
            crd.object(),
        );
        let status =
            json!({"metadata": {"name": crd.name()}, "status": crd.status(&object::now())});
        let crds = DISCOVERY
            .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .expect("customresourcedefinitions");
        if let Err(e) = reg.update(
            crds,
            Some("status"),
            "",
            &crd.name(),
            status,
            &Writer::internal(APISERVER),
        ) {
            tracing::error!(error = %e.message, "CRD status rejected");
        }
    }
    for ns in INITIAL_NAMESPACES {
        create(
            reg,
            "",
            "v1",
            "namespaces",
            "",
            json!({"metadata": {"name": ns}}),
        );
        populate_namespace(reg, ns, ca_pem);
    }
    create(
        reg,
        "",
        "v1",
        "services",
        "default",
        json!({
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}],
                "clusterIP": KUBERNETES_SERVICE_IP,
                "clusterIPs": [KUBERNETES_SERVICE_IP],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {}},
        }),
    );
    create(
        reg,
        "",
        "v1",
        "endpoints",
        "default",
        json!({
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": NODE_IP}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}],
        }),
    );
    create(
        reg,
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "default",
        json!({
            "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "protocol": "TCP", "port": 6443}],
        }),
    );
    let now = object::now();
    let node = json!({
        "metadata": {"name": node_name, "labels": {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": node_name,
            "kubernetes.io/os": "linux",
            "node-role.kubernetes.io/control-plane": "true",
        }},
        "spec": {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"]},
    });
    create(reg, "", "v1", "nodes", "", node);
    // Status is the kubelet's to write, through nodes/status, as on a real node.
    let status = json!({"metadata": {"name": node_name}, "status": {
        "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": api_port}},
        "nodeInfo": {"kernelVersion": "", "osImage": "kubelab embedded", "containerRuntimeVersion": "kubelab://podbox", "kubeletVersion": crate::version::GIT_VERSION, "kubeProxyVersion": crate::version::GIT_VERSION, "operatingSystem": "linux", "architecture": "amd64", "machineID": "", "systemUUID": "", "bootID": ""},
    }});
    let nodes = DISCOVERY.resource("", "v1", "nodes").expect("nodes");
    if let Err(e) = reg.update(
        nodes,
        Some("status"),
        "",
        node_name,
        status,
        &Writer::internal(KUBELET),
    ) {
        tracing::error!(error = %e.message, "node status rejected");
    }
}

/// The ClusterRole aggregation controller: a role with an `aggregationRule` gets the
/// rules of every ClusterRole its selectors match, in name order.
pub fn aggregate_cluster_roles(reg: &Registry) {
    let res = DISCOVERY.served("rbac.authorization.k8s.io", "clusterroles");
    // Aggregation chains (view → edit → admin), so repeat until nothing changes.
    for _ in 0..4 {
        let (roles, _) = reg.list(res, None);
        let mut changed = false;
        for role in roles.iter().filter(|r| r.get("aggregationRule").is_some()) {
            let selectors = role["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut rules: Vec<Value> = Vec::new();
            for other in roles
                .iter()
                .filter(|o| object::name(o) != object::name(role))
            {
                let labels = object::labels(other);
                let selected = selectors.iter().any(|s| {
                    s.get("matchLabels")
                        .and_then(Value::as_object)
                        .is_some_and(|ml| ml.iter().all(|(k, v)| labels.get(k) == Some(v)))
                });
                if selected {
                    for r in other["rules"].as_array().into_iter().flatten() {
                        if !rules.contains(r) {
                            rules.push(r.clone());
                        }
                    }
                }
            }
            if role.get("rules") != Some(&Value::Array(rules.clone())) {
                let mut next = (**role).clone();
                next["rules"] = Value::Array(rules);
                if reg
                    .update(
                        res,
                        None,
                        "",
                        object::name(role),
                        next,
                        &Writer::internal(CONTROLLER_MANAGER),
                    )
                    .is_ok()
                {
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Runs the namespace, service-account and aggregation controllers until the store's
/// event channel closes.
pub async fn run_controllers(reg: Registry, ca_pem: String) {
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
                EventType::Modified if terminating => finalize_namespace(&reg, &ev.name),
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
            crate::jobs::on_event(&reg, &ev);
        }
    }
}

/// One pass of every controller over the whole store.
fn resync(reg: &Registry, ca_pem: &str) {
    let (namespaces, _) = reg.list(DISCOVERY.served("", "namespaces"), None);
    for ns in namespaces {
        let name = object::name(&ns);
        if ns.pointer("/metadata/deletionTimestamp").is_some() {
            finalize_namespace(reg, name);
        } else {
            populate_namespace(reg, name, ca_pem);
        }
    }
    aggregate_cluster_roles(reg);
    crate::jobs::resync(reg);
}

/// The namespace controller: delete everything in the namespace, then the namespace.
fn finalize_namespace(reg: &Registry, ns: &str) {
    for gv in &DISCOVERY.versions {
        for res in gv
            .resources
            .iter()
            .filter(|r| r.namespaced && !r.is_subresource() && r.verbs.contains(&"delete"))
        {
            let (items, _) = reg.list(res, Some(ns));
            for item in items {
                let _ = reg.remove(res, ns, object::name(&item));
            }
        }
    }
    let _ = reg.remove(DISCOVERY.served("", "namespaces"), "", ns);
}
