//! Admission: NamespaceLifecycle and ServiceAccount, the two plugins whose effects the
//! course shows.
//!
//! ServiceAccount mirrors `plugin/pkg/admission/serviceaccount/admission.go` as recorded in
//! FIDELITY.md §3: default `serviceAccountName`, the automount precedence (pod, then
//! ServiceAccount, then true), and the projected `kube-api-access-xxxxx` volume mounted
//! read-only into every init container and container.

use crate::discovery::{ApiResource, DISCOVERY};
use crate::object;
use crate::registry::Registry;
use crate::status::{ApiError, GroupResource};
use serde_json::{Value, json};

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
pub const SERVICE_ACCOUNT_VOLUME_PREFIX: &str = "kube-api-access-";
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// NamespaceLifecycle on create: the namespace must exist and not be terminating.
pub fn namespace_lifecycle(
    reg: &Registry,
    namespace: &str,
    kind_resource: &str,
    name: &str,
) -> Result<(), ApiError> {
    if namespace.is_empty() || kind_resource == "namespaces" {
        return Ok(());
    }
    let namespaces = DISCOVERY
        .resource("", "v1", "namespaces")
        .expect("namespaces are served");
    let Some(ns) = reg.find(namespaces, "", namespace) else {
        return Err(ApiError::not_found(
            GroupResource {
                group: "",
                resource: "namespaces",
            },
            namespace,
        ));
    };
    if ns.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating") {
        // `NewForbidden(..., fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))`
        return Err(ApiError::forbidden(
            GroupResource {
                group: "",
                resource: kind_resource,
            },
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        ));
    }
    Ok(())
}

/// The mutating plugins that act on a new pod, in the order of the default plugin list:
/// ServiceAccount, Priority, DefaultTolerationSeconds. Other resources pass untouched,
/// as each plugin checks the resource it handles.
pub fn mutate_pod(
    reg: &Registry,
    res: &ApiResource,
    namespace: &str,
    obj: &mut Value,
) -> Result<(), ApiError> {
    if !(res.group.is_empty() && res.name == "pods") {
        return Ok(());
    }
    priority_and_tolerations(obj);
    service_account(reg, namespace, obj)
}

/// The Priority and DefaultTolerationSeconds admission plugins (both on by default) for a
/// new pod: priority 0 with `PreemptLowerPriority` when no class is named, and 300 s
/// tolerations of a not-ready or unreachable node
/// (`plugin/pkg/admission/priority`, `plugin/pkg/admission/defaulttolerationseconds`).
fn priority_and_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        spec.entry("priority").or_insert(json!(0));
        spec.entry("preemptionPolicy")
            .or_insert(json!("PreemptLowerPriority"));
    }
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Some(list) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let present = list
                .iter()
                .any(|t| t.get("key").and_then(Value::as_str) == Some(key));
            if !present {
                list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
}

/// ServiceAccount admission for a pod being created in `namespace`.
fn service_account(reg: &Registry, namespace: &str, pod: &mut Value) -> Result<(), ApiError> {
    let pod_name = object::name(pod).to_string();
    let Some(root) = pod.as_object_mut() else {
        return Err(ApiError::bad_request("a pod must be an object"));
    };
    let spec = root.entry("spec").or_insert_with(|| json!({}));
    let spec = spec
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("spec must be an object"))?;
    let sa_name = match spec.get("serviceAccountName").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => DEFAULT_SERVICE_ACCOUNT.to_string(),
    };
    spec.insert("serviceAccountName".into(), json!(sa_name));
    // The deprecated `serviceAccount` field mirrors `serviceAccountName` (pod defaulting).
    spec.insert("serviceAccount".into(), json!(sa_name));
    let service_accounts = DISCOVERY
        .resource("", "v1", "serviceaccounts")
        .expect("serviceaccounts are served");
    let Some(sa) = reg.find(service_accounts, namespace, &sa_name) else {
        // `admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", ...))`
        let detail = format!(
            "error looking up service account {namespace}/{sa_name}: serviceaccount {} not found",
            crate::status::quote(&sa_name)
        );
        return Err(ApiError::forbidden(
            GroupResource {
                group: "",
                resource: "pods",
            },
            &pod_name,
            &detail,
        ));
    };
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| {
            sa.get("automountServiceAccountToken")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true);
    if spec.get("imagePullSecrets").is_none()
        && let Some(secrets) = sa.get("imagePullSecrets")
    {
        spec.insert("imagePullSecrets".into(), secrets.clone());
    }
    if !automount {
        return Ok(());
    }
    mount_token_volume(spec)
}

/// The projected `kube-api-access-xxxxx` volume (token, root CA, namespace), added unless
/// the pod has one, and mounted read-only at the token path into every init container
/// and container that mounts nothing there.
fn mount_token_volume(spec: &mut serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    let Some(volumes) = volumes.as_array_mut() else {
        return Err(ApiError::bad_request("spec.volumes must be a list"));
    };
    let existing = volumes
        .iter()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(SERVICE_ACCOUNT_VOLUME_PREFIX))
        .map(str::to_string);
    let volume_name = match existing {
        Some(n) => n,
        None => {
            let n = format!("{SERVICE_ACCOUNT_VOLUME_PREFIX}{}", object::random_suffix());
            volumes.push(json!({
                "name": n,
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": crate::tokens::WARN_ONLY_EXPIRATION_SECONDS, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ],
                    "defaultMode": 420,
                },
            }));
            n
        }
    };
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(cs)) = spec.get_mut(list) else {
            continue;
        };
        for c in cs.iter_mut().filter_map(Value::as_object_mut) {
            let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
            let Some(mounts) = mounts.as_array_mut() else {
                continue;
            };
            let has_mount = mounts
                .iter()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if !has_mount {
                mounts.push(
                    json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}),
                );
            }
        }
    }
    Ok(())
}
