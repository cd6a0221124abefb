//! Where the reference control plane and k3s v1.33.3 answer differently, each with why:
//! the reference runs upstream's kube-apiserver, k3s runs its fork of it behind its own
//! supervisor. Each difference is a rewrite that turns the reference's answer into
//! k3s's, applied before comparing; nothing else is.
//!
//! One difference is not rewritten, because nothing here knows k3s's side of it: the
//! reference serves kubelab's own definitions of k3s's four CRDs
//! (`backends::control_plane`, `install_crds`), whose schema preserves unknown fields
//! where k3s's is generated from its Go types. Cases on those CRD objects, and on custom
//! resources' pruning and validation, compare the embedded server with itself.
//!
//! Nor is a second: k3s deploys its packaged components when it starts (CoreDNS with the
//! `kube-dns` Service at 10.43.0.10, local-path-provisioner, each with its ServiceAccount,
//! RBAC and ConfigMaps; `k3s-io/k3s:manifests/`), which the reference does not run and the
//! embedded server does not hold yet, so `kubectl get sa,svc,cm,roles -A` on k3s lists
//! them where both of these do not. The suite's `kubectl get sa,svc,cm,roles -A` agrees
//! with the reference only; agreeing with k3s needs the embedded cluster to hold them.

/// One rewrite of the reference's answers.
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub from: String,
    pub to: String,
    pub why: &'static str,
}

/// The rewrites for a reference whose API server listens on `port`.
pub fn rewrites(port: u16, node_ip: &str) -> Vec<Rewrite> {
    const ADVERTISED_PORT: &str = "k3s advertises its supervisor's port 6443 \
        (`--advertise-port`, a flag only k3s's fork of kube-apiserver has; \
        `k3s-io/k3s:pkg/daemons/control/server.go`), upstream its secure port: the \
        service-account issuer's `jwks_uri`, the `kubernetes` Service's targetPort and its \
        Endpoints name it";
    [
        (format!("{node_ip}:{port}"), format!("{node_ip}:6443")),
        (
            format!("\"targetPort\":{port}"),
            "\"targetPort\":6443".into(),
        ),
        (format!("\"port\":{port},"), "\"port\":6443,".into()),
    ]
    .into_iter()
    .map(|(from, to)| Rewrite {
        from,
        to,
        why: ADVERTISED_PORT,
    })
    .collect()
}

/// Applies the rewrites to a body.
pub fn apply(rewrites: &[Rewrite], body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let mut text = text.to_string();
    for r in rewrites {
        text = text.replace(&r.from, &r.to);
    }
    text.into_bytes()
}
