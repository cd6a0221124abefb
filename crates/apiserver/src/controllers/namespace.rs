//! The namespace controller (`pkg/controller/namespace`): empties a deleted namespace,
//! then removes it; and what the ServiceAccount and root-CA publisher controllers give
//! every namespace (`default`, `kube-root-ca.crt`).

use crate::bootstrap::create;
use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::Registry;
use serde_json::json;

/// Gives a namespace what the ServiceAccount and root-CA controllers give it.
pub(crate) fn populate_namespace(reg: &Registry, ns: &str, ca_pem: &str) {
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

/// The namespace controller: delete everything in the namespace, then the namespace.
pub(super) fn finalize(reg: &Registry, ns: &str) {
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
