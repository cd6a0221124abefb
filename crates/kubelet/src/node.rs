//! The Node a joining kubelet registers (`pkg/kubelet/kubelet_node_status.go`,
//! `registerWithAPIServer` and `initialNode`, with the status the setters of
//! `pkg/kubelet/nodestatus/setters.go` fill in): its labels, addresses, the kubelet's
//! port, capacity and allocatable, node info and conditions. A node may create only itself
//! (`plugin/pkg/admission/noderestriction/admission.go`, `admitNode`), and a Node's create
//! keeps its status (`pkg/registry/core/node/strategy.go`, `PrepareForCreate`).

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// What the kubelet reports about its machine.
pub(crate) struct Machine {
    pub cpus: usize,
    pub memory_kib: u64,
    pub kernel: String,
    pub boot_id: String,
    pub machine_id: String,
    pub system_uuid: String,
}

impl Machine {
    /// This machine, read as cAdvisor reads it (`/proc/meminfo`, `/proc/sys/kernel`,
    /// `/etc/machine-id`, and the firmware's `product_uuid`, which only root may read:
    /// empty otherwise, as cAdvisor leaves it, `utils/sysfs/sysfs.go`, `GetSystemUUID`).
    pub fn this() -> Machine {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let memory_kib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_kib,
            kernel: read("/proc/sys/kernel/osrelease"),
            boot_id: read("/proc/sys/kernel/random/boot_id"),
            machine_id: read("/etc/machine-id"),
            system_uuid: read("/sys/class/dmi/id/product_uuid"),
        }
    }
}

/// This machine's architecture as Go names it (`runtime.GOARCH`), which the Node's labels
/// and `nodeInfo` carry.
fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The Node object for `name` at `ip`, its kubelet serving on `port`.
pub(crate) fn object(name: &str, ip: &str, port: u16, machine: &Machine) -> Value {
    let now = crate::now();
    // `pods: 110` is the kubelet's `maxPods` default; allocatable is capacity less the
    // eviction threshold for memory (`memory.available<100Mi`) with no reservations.
    // Ephemeral storage is not reported: pods' files are not accounted for here.
    let capacity = json!({
        "cpu": machine.cpus.to_string(),
        "memory": format!("{}Ki", machine.memory_kib),
        "pods": "110",
    });
    let mut allocatable = capacity.clone();
    allocatable["memory"] = json!(format!(
        "{}Ki",
        machine.memory_kib.saturating_sub(100 * 1024)
    ));
    let condition = |kind: &str, status: &str, reason: &str, message: &str| json!({"type": kind, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": reason, "message": message});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": goarch(),
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": goarch(),
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {
                "machineID": machine.machine_id,
                "systemUUID": machine.system_uuid,
                "bootID": machine.boot_id,
                "kernelVersion": machine.kernel,
                "osImage": "kubelab node",
                "containerRuntimeVersion": "kubelab://podbox",
                "kubeletVersion": apiserver::GIT_VERSION,
                "operatingSystem": "linux",
                "architecture": goarch(),
            },
        },
    })
}

/// Registers the node: creates it, or, when it exists (a kubelet that started again),
/// writes its status afresh, as `tryRegisterWithAPIServer` then the status loop do.
pub(crate) async fn register(client: &kube::Client, node: &Value) -> Result<(), kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let name = node["metadata"]["name"].as_str().unwrap_or_default();
    let typed: Node = serde_json::from_value(node.clone()).map_err(kube::Error::SerdeError)?;
    match api.create(&PostParams::default(), &typed).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let status = json!({"status": node["status"]});
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// How often a node reports its unchanged status (`nodeStatusReportFrequency`'s default);
/// its Lease says it is alive in between.
pub(crate) const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Reports the node's conditions again every `REPORT_EVERY`, their heartbeat times now and
/// their transition times kept, as the kubelet's status loop does
/// (`kubelet_node_status.go`, `tryUpdateNodeStatus`).
pub(crate) async fn keep_reporting(client: kube::Client, name: String) {
    let api: Api<Node> = Api::all(client);
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Ok(node) = api.get_status(&name).await else {
            continue;
        };
        let now = crate::now();
        let conditions: Vec<Value> = node
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .map(|mut c| {
                c["lastHeartbeatTime"] = json!(now);
                c
            })
            .collect();
        let patch = json!({"status": {"conditions": conditions}});
        if let Err(e) = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            tracing::warn!(error = %e, "reporting the node's status failed; trying again later");
        }
    }
}
