//! What a new cluster holds before anyone asks: the objects a fresh k3s has that users
//! meet — namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease` (given
//! their ServiceAccount and root CA as the controllers give them); the `kubernetes`
//! Service with its Endpoints and EndpointSlice; one Ready Node; what every upstream
//! cluster holds alike (`UPSTREAM`, generated from the reference control plane: RBAC,
//! priority classes, flow control, APIServices, the controllers' ServiceAccounts); k3s's
//! CustomResourceDefinitions (`crds.rs`). The controllers that keep it so
//! are in `controllers`.

use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::{Registry, Writer};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// The field managers of what the cluster writes itself. k3s runs its API server and
/// controllers in one `k3s` process, and a client's default manager is the basename of
/// its program (`k8s.io/client-go/rest/config.go`, `adjustCommand`): every one is `k3s`.
/// The reference, started as `k3s`, writes the same (the differential suite's protobuf
/// cases show it, where JSON answers redact managedFields).
pub(crate) const APISERVER: &str = "k3s";
pub(crate) const CONTROLLER_MANAGER: &str = "k3s";
const KUBELET: &str = "k3s";

pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];
/// The cluster's addresses, k3s's defaults (FIDELITY.md §1): the `kubernetes` Service's
/// ClusterIP, the first of the service CIDR `10.43.0.0/16`; the cluster DNS Service's,
/// the tenth (`utilsnet.GetIndexedIP(ServiceIPRange, 10)`); and the node's.
pub const KUBERNETES_SERVICE_IP: &str = "10.43.0.1";
pub const CLUSTER_DNS_IP: &str = "10.43.0.10";
pub const NODE_IP: &str = "10.42.0.1";

pub(crate) fn create(
    reg: &Registry,
    group: &str,
    version: &str,
    resource: &str,
    ns: &str,
    obj: Value,
) {
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

/// The objects every fresh cluster holds alike, generated from the reference control plane
/// by `cargo xtask gen-bootstrap`: the bootstrap RBAC policy (kube-apiserver's
/// `rbac/bootstrap-roles` hook, the controllers' roles included), the priority classes,
/// the API Priority and Fairness configuration, the APIServices and
/// kube-controller-manager's own ServiceAccounts.
pub const UPSTREAM: &str = include_str!("bootstrap/upstream.yaml");

/// Seeds a new cluster.
pub fn seed(reg: &Registry, pki: &crate::pki::Pki, node_name: &str, api_port: u16) {
    let ca_pem = pki.server_ca.cert_pem.as_str();
    for ns in INITIAL_NAMESPACES {
        create(
            reg,
            "",
            "v1",
            "namespaces",
            "",
            json!({"metadata": {"name": ns}}),
        );
    }
    seed_upstream(reg);
    seed_crds(reg, node_name);
    for ns in INITIAL_NAMESPACES {
        crate::controllers::populate_namespace(reg, ns, ca_pem);
    }
    seed_kubernetes_service(reg);
    seed_node(reg, node_name, api_port);
    seed_kube_system_configmaps(reg, pki);
}

/// The two ConfigMaps kube-apiserver's own controllers keep in kube-system:
/// `extension-apiserver-authentication`, what an extension API server needs to trust the
/// clients and proxies this one trusts (`pkg/controlplane/controller/
/// clusterauthenticationtrust/cluster_authentication_trust_controller.go`: the CA bundles
/// as PEM, each request-header list as JSON), with k3s's request-header settings; and
/// `kube-apiserver-legacy-service-account-token-tracking`, the day tracking of legacy
/// tokens began (`pkg/controlplane/controller/legacytokentracking/controller.go`, UTC,
/// `2006-01-02`).
fn seed_kube_system_configmaps(reg: &Registry, pki: &crate::pki::Pki) {
    let list = |items: &[&str]| serde_json::to_string(items).expect("strings serialize");
    let authentication = json!({
        "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"},
        "data": {
            "client-ca-file": pki.client_ca.cert_pem,
            "requestheader-allowed-names": list(crate::pki::REQUEST_HEADER_ALLOWED_NAMES),
            "requestheader-client-ca-file": pki.request_header_ca.cert_pem,
            "requestheader-extra-headers-prefix": list(&["X-Remote-Extra-"]),
            "requestheader-group-headers": list(&["X-Remote-Group"]),
            "requestheader-username-headers": list(&["X-Remote-User"]),
        },
    });
    let since = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let tracking = json!({
        "metadata": {"name": "kube-apiserver-legacy-service-account-token-tracking", "namespace": "kube-system"},
        "data": {"since": since},
    });
    let res = DISCOVERY
        .resource("", "v1", "configmaps")
        .expect("configmaps are served");
    for obj in [authentication, tracking] {
        if let Err(e) = reg.create(res, "kube-system", obj, &Writer::internal(APISERVER)) {
            tracing::error!(error = %e.message, "bootstrap ConfigMap rejected");
        }
    }
}

/// `UPSTREAM`, each object stored whole as the reference wrote it (`Registry::restore`):
/// its managed fields and status included, their times and its conditions' set to now.
fn seed_upstream(reg: &Registry) {
    // Parsed once per process: every cluster starts from the same objects.
    static OBJECTS: LazyLock<Vec<Value>> = LazyLock::new(|| {
        serde_saphyr::from_str(UPSTREAM).expect("bootstrap/upstream.yaml is valid YAML")
    });
    for obj in OBJECTS.iter() {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let kind = obj["kind"].as_str().unwrap_or_default();
        let Some(res) = DISCOVERY.group_version(group, version).and_then(|gv| {
            gv.resources
                .iter()
                .find(|r| r.kind == kind && !r.is_subresource())
        }) else {
            tracing::error!(api_version, kind, "bootstrap object of a kind not served");
            continue;
        };
        let ns = object::meta_str(obj, "namespace").to_string();
        // A controller may have made one first (409); anything else is a bug.
        if let Err(e) = reg.restore(res, &ns, obj.clone())
            && e.code != 409
        {
            tracing::error!(kind, error = %e.message, "bootstrap object rejected");
        }
    }
}

/// k3s's CustomResourceDefinitions, created by k3s's supervisor (whose client names
/// itself `k3s-supervisor@<node>`, `k3s-io/k3s:pkg/util/client.go`) and established as
/// apiextensions establishes them.
fn seed_crds(reg: &Registry, node_name: &str) {
    let crds = DISCOVERY
        .resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .expect("customresourcedefinitions");
    let supervisor = Writer::internal(&format!("k3s-supervisor@{node_name}"));
    for crd in crate::crds::K3S_CRDS {
        if let Err(e) = reg.create(crds, "", crd.object(), &supervisor) {
            tracing::error!(error = %e.message, "CRD rejected");
        }
        let status =
            json!({"metadata": {"name": crd.name()}, "status": crd.status(&object::now())});
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
}

/// The `kubernetes` Service in `default`, with its Endpoints and EndpointSlice.
fn seed_kubernetes_service(reg: &Registry) {
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
}

/// The node, with the status its kubelet reports.
fn seed_node(reg: &Registry, node_name: &str, api_port: u16) {
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
