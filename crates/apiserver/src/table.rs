//! Server-side printing: lists answered as `meta.k8s.io/v1` `Table` when the client asks
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), as `kubectl get` does.
//!
//! Columns and cells mirror `kubernetes/kubernetes:pkg/printers/internalversion/printers.go`
//! for the kinds the course lists, and the apiserver's default table convertor
//! (`apiserver pkg/registry/rest/table.go`: Name, Created At) for all others.

use crate::discovery::ApiResource;
use crate::object;
use crate::schema::SCHEMA;
use serde_json::{Value, json};

/// `duration.HumanDuration` from apimachinery `pkg/util/duration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(obj: &Value, now: i64) -> Value {
    let ts = object::meta_str(obj, "creationTimestamp");
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => json!(human_duration(now - t.as_second())),
        Err(_) => json!("<unknown>"),
    }
}

fn col(name: &str, ty: &str, description: &str, priority: i32) -> Value {
    json!({"name": name, "type": ty, "format": if name == "Name" { "name" } else { "" }, "description": description, "priority": priority})
}

fn doc(key: &str) -> &'static str {
    SCHEMA.doc(key)
}

fn name_col() -> Value {
    col("Name", "string", doc("meta/v1.ObjectMeta.name"), 0)
}

fn age_col() -> Value {
    col(
        "Age",
        "string",
        doc("meta/v1.ObjectMeta.creationTimestamp"),
        0,
    )
}

fn none_if_empty(s: &str) -> Value {
    json!(if s.is_empty() { "<none>" } else { s })
}

fn count(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// `printPod`'s STATUS: the phase, overridden by the pod's reason, a container's waiting
/// or terminated reason, and `Terminating` for a deleted pod.
fn pod_status(pod: &Value) -> String {
    let mut reason = str_at(pod, "/status/phase").to_string();
    if !str_at(pod, "/status/reason").is_empty() {
        reason = str_at(pod, "/status/reason").to_string();
    }
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut has_running = false;
    for cs in statuses.iter().rev() {
        if let Some(w) = cs
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reason = w.to_string();
        } else if let Some(t) = cs.pointer("/state/terminated") {
            reason = match t
                .get("reason")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                Some(r) => r.to_string(),
                None => match t.get("signal").and_then(Value::as_i64).filter(|s| *s != 0) {
                    Some(sig) => format!("Signal:{sig}"),
                    None => format!(
                        "ExitCode:{}",
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                    ),
                },
            };
        } else if cs.pointer("/state/running").is_some()
            && cs.get("ready").and_then(Value::as_bool) == Some(true)
        {
            has_running = true;
        }
    }
    if reason == "Completed" && has_running {
        reason = "Running".into();
    }
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
    {
        reason = "Terminating".into();
    }
    reason
}

fn pod_restarts(pod: &Value) -> String {
    let restarts: i64 = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .sum()
        })
        .unwrap_or(0);
    restarts.to_string()
}

fn columns_and_cells(res: &ApiResource, obj: &Value, now: i64) -> (Vec<Value>, Vec<Value>) {
    let name = json!(object::name(obj));
    if let Some(crd) = crate::crds::serving(res) {
        // A custom resource: apiextensions' table convertor.
        let mut cells = vec![name];
        cells.extend(crd.cells(obj, |ts| match ts.parse::<jiff::Timestamp>() {
            Ok(t) => human_duration(now - t.as_second()),
            Err(_) => "<unknown>".into(),
        }));
        return (
            crd.table_columns(name_col(), doc("meta/v1.ObjectMeta.creationTimestamp")),
            cells,
        );
    }
    match (res.group, res.kind) {
        ("", "Pod") => {
            let statuses = obj
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let total = count(obj.pointer("/spec/containers"));
            let ready = statuses.map_or(0, |s| {
                s.iter()
                    .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                    .count()
            });
            (
                vec![
                    name_col(),
                    col(
                        "Ready",
                        "string",
                        "The aggregate readiness state of this pod for accepting traffic.",
                        0,
                    ),
                    col(
                        "Status",
                        "string",
                        "The aggregate status of the containers in this pod.",
                        0,
                    ),
                    col(
                        "Restarts",
                        "string",
                        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                        0,
                    ),
                    age_col(),
                    col("IP", "string", doc("core/v1.PodStatus.podIP"), 1),
                    col("Node", "string", doc("core/v1.PodSpec.nodeName"), 1),
                    col(
                        "Nominated Node",
                        "string",
                        doc("core/v1.PodStatus.nominatedNodeName"),
                        1,
                    ),
                    col(
                        "Readiness Gates",
                        "string",
                        doc("core/v1.PodSpec.readinessGates"),
                        1,
                    ),
                ],
                vec![
                    name,
                    json!(format!("{ready}/{total}")),
                    json!(pod_status(obj)),
                    json!(pod_restarts(obj)),
                    age(obj, now),
                    none_if_empty(str_at(obj, "/status/podIP")),
                    none_if_empty(str_at(obj, "/spec/nodeName")),
                    none_if_empty(str_at(obj, "/status/nominatedNodeName")),
                    json!("<none>"),
                ],
            )
        }
        ("", "Endpoints") => {
            let mut eps = Vec::new();
            for subset in obj
                .get("subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for a in subset
                    .get("addresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for p in subset
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        eps.push(format!(
                            "{}:{}",
                            a["ip"].as_str().unwrap_or(""),
                            p["port"].as_i64().unwrap_or(0)
                        ));
                    }
                }
            }
            (
                vec![
                    name_col(),
                    col("Endpoints", "string", doc("core/v1.Endpoints.subsets"), 0),
                    age_col(),
                ],
                vec![name, none_if_empty(&eps.join(",")), age(obj, now)],
            )
        }
        ("", "Namespace") => (
            vec![
                name_col(),
                col("Status", "string", "The status of the namespace", 0),
                age_col(),
            ],
            vec![name, json!(str_at(obj, "/status/phase")), age(obj, now)],
        ),
        ("", "ConfigMap") => (
            vec![
                name_col(),
                col(
                    "Data",
                    "string",
                    "Number of data entries in the configmap",
                    0,
                ),
                age_col(),
            ],
            vec![
                name,
                json!(count(obj.get("data")) + count(obj.get("binaryData"))),
                age(obj, now),
            ],
        ),
        ("", "Secret") => (
            vec![
                name_col(),
                col("Type", "string", doc("core/v1.Secret.type"), 0),
                col("Data", "string", doc("core/v1.Secret.data"), 0),
                age_col(),
            ],
            vec![
                name,
                json!(str_at(obj, "/type")),
                json!(count(obj.get("data"))),
                age(obj, now),
            ],
        ),
        ("", "ServiceAccount") => (
            vec![
                name_col(),
                col(
                    "Secrets",
                    "string",
                    doc("core/v1.ServiceAccount.secrets"),
                    0,
                ),
                age_col(),
            ],
            vec![name, json!(count(obj.get("secrets"))), age(obj, now)],
        ),
        ("", "Service") => {
            let ports: Vec<String> = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) if np != 0 => format!("{port}:{np}/{proto}"),
                        _ => format!("{port}/{proto}"),
                    }
                })
                .collect();
            let selector: Vec<String> = obj
                .pointer("/spec/selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            (
                vec![
                    name_col(),
                    col("Type", "string", doc("core/v1.ServiceSpec.type"), 0),
                    col(
                        "Cluster-IP",
                        "string",
                        doc("core/v1.ServiceSpec.clusterIP"),
                        0,
                    ),
                    col(
                        "External-IP",
                        "string",
                        doc("core/v1.ServiceSpec.externalIPs"),
                        0,
                    ),
                    col("Port(s)", "string", doc("core/v1.ServiceSpec.ports"), 0),
                    age_col(),
                    col("Selector", "string", doc("core/v1.ServiceSpec.selector"), 1),
                ],
                vec![
                    name,
                    json!(str_at(obj, "/spec/type")),
                    none_if_empty(str_at(obj, "/spec/clusterIP")),
                    json!("<none>"),
                    none_if_empty(&ports.join(",")),
                    age(obj, now),
                    none_if_empty(&selector.join(",")),
                ],
            )
        }
        ("batch", "Job") => {
            let succeeded = obj
                .pointer("/status/succeeded")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let completions = obj.pointer("/spec/completions").and_then(Value::as_i64);
            let conditions = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |t: &str| {
                conditions
                    .iter()
                    .any(|c| c["type"] == t && c["status"] == "True")
            };
            let status = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else if obj.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else if has("Suspended") {
                "Suspended"
            } else if has("FailureTarget") {
                "FailureTarget"
            } else {
                "Running"
            };
            let duration = match (
                str_at(obj, "/status/startTime").parse::<jiff::Timestamp>(),
                str_at(obj, "/status/completionTime").parse::<jiff::Timestamp>(),
            ) {
                (Ok(s), Ok(c)) => human_duration(c.as_second() - s.as_second()),
                (Ok(s), Err(_)) => human_duration(now - s.as_second()),
                _ => String::new(),
            };
            let containers = obj
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let names: Vec<&str> = containers
                .iter()
                .filter_map(|c| c["name"].as_str())
                .collect();
            let images: Vec<&str> = containers
                .iter()
                .filter_map(|c| c["image"].as_str())
                .collect();
            let selector: Vec<String> = obj
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            (
                vec![
                    name_col(),
                    col("Status", "string", "Status of the job.", 0),
                    col(
                        "Completions",
                        "string",
                        doc("batch/v1.JobStatus.succeeded"),
                        0,
                    ),
                    col(
                        "Duration",
                        "string",
                        "Time required to complete the job.",
                        0,
                    ),
                    age_col(),
                    col(
                        "Containers",
                        "string",
                        "Names of each container in the template.",
                        1,
                    ),
                    col(
                        "Images",
                        "string",
                        "Images referenced by each container in the template.",
                        1,
                    ),
                    col("Selector", "string", doc("batch/v1.JobSpec.selector"), 1),
                ],
                vec![
                    name,
                    json!(status),
                    json!(match completions {
                        Some(c) => format!("{succeeded}/{c}"),
                        None => format!(
                            "{succeeded}/1 of {}",
                            obj.pointer("/spec/parallelism")
                                .and_then(Value::as_i64)
                                .unwrap_or(1)
                        ),
                    }),
                    json!(duration),
                    age(obj, now),
                    json!(names.join(",")),
                    json!(images.join(",")),
                    none_if_empty(&selector.join(",")),
                ],
            )
        }
        ("", "Node") => {
            let ready = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready")
                .map_or("Unknown", |c| {
                    if c["status"] == "True" {
                        "Ready"
                    } else {
                        "NotReady"
                    }
                });
            let labels = object::labels(obj);
            let roles: Vec<&str> = labels
                .keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect();
            let internal = obj
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str())
                .unwrap_or("");
            (
                vec![
                    name_col(),
                    col("Status", "string", "The status of the node", 0),
                    col("Roles", "string", "The roles of the node", 0),
                    age_col(),
                    col(
                        "Version",
                        "string",
                        doc("core/v1.NodeSystemInfo.kubeletVersion"),
                        0,
                    ),
                    col(
                        "Internal-IP",
                        "string",
                        doc("core/v1.NodeStatus.addresses"),
                        1,
                    ),
                    col(
                        "External-IP",
                        "string",
                        doc("core/v1.NodeStatus.addresses"),
                        1,
                    ),
                    col(
                        "OS-Image",
                        "string",
                        doc("core/v1.NodeSystemInfo.osImage"),
                        1,
                    ),
                    col(
                        "Kernel-Version",
                        "string",
                        doc("core/v1.NodeSystemInfo.kernelVersion"),
                        1,
                    ),
                    col(
                        "Container-Runtime",
                        "string",
                        doc("core/v1.NodeSystemInfo.containerRuntimeVersion"),
                        1,
                    ),
                ],
                vec![
                    name,
                    json!(ready),
                    none_if_empty(&roles.join(",")),
                    age(obj, now),
                    json!(str_at(obj, "/status/nodeInfo/kubeletVersion")),
                    none_if_empty(internal),
                    json!("<none>"),
                    none_if_empty(str_at(obj, "/status/nodeInfo/osImage")),
                    none_if_empty(str_at(obj, "/status/nodeInfo/kernelVersion")),
                    none_if_empty(str_at(obj, "/status/nodeInfo/containerRuntimeVersion")),
                ],
            )
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            let subjects = obj
                .get("subjects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let of = |kind: &str| -> String {
                subjects
                    .iter()
                    .filter(|s| s["kind"] == kind)
                    .map(|s| match s["namespace"].as_str() {
                        Some(ns) if kind == "ServiceAccount" => {
                            format!("{ns}/{}", s["name"].as_str().unwrap_or(""))
                        }
                        _ => s["name"].as_str().unwrap_or("").to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let role_ref = format!(
                "{}/{}",
                str_at(obj, "/roleRef/kind"),
                str_at(obj, "/roleRef/name")
            );
            (
                vec![
                    name_col(),
                    col("Role", "string", doc("rbac/v1.RoleBinding.roleRef"), 0),
                    age_col(),
                    col("Users", "string", "Users in the roleBinding", 1),
                    col("Groups", "string", "Groups in the roleBinding", 1),
                    col(
                        "ServiceAccounts",
                        "string",
                        "ServiceAccounts in the roleBinding",
                        1,
                    ),
                ],
                vec![
                    name,
                    json!(role_ref),
                    age(obj, now),
                    json!(of("User")),
                    json!(of("Group")),
                    json!(of("ServiceAccount")),
                ],
            )
        }
        _ => (
            // The default table convertor.
            vec![
                name_col(),
                col(
                    "Created At",
                    "date",
                    doc("meta/v1.ObjectMeta.creationTimestamp"),
                    0,
                ),
            ],
            vec![name, json!(object::meta_str(obj, "creationTimestamp"))],
        ),
    }
}

/// A `Table` of `items`; `include` is the `includeObject` parameter (`None`, `Metadata`
/// (the default) or `Object`).
pub fn table(res: &ApiResource, items: &[Value], rv: Option<u64>, include: Option<&str>) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let mut columns = None;
    let mut rows = Vec::new();
    for item in items {
        let (cols, cells) = columns_and_cells(res, item, now);
        columns.get_or_insert(cols);
        let object = match include.unwrap_or("Metadata") {
            "None" => Value::Null,
            "Object" => {
                let mut o = item.clone();
                object::normalize(&mut o, res.kind, &res.api_version());
                o
            }
            _ => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item.get("metadata").cloned().unwrap_or(json!({}))})
            }
        };
        rows.push(json!({"cells": cells, "object": object}));
    }
    let columns = columns.unwrap_or_else(|| columns_and_cells(res, &json!({}), now).0);
    let mut meta = serde_json::Map::new();
    if let Some(rv) = rv {
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
    }
    let t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    });
    match SCHEMA.named("meta/v1.Table") {
        Some(ty) => crate::schema::json::encode(&ty, &t),
        None => t,
    }
}

/// The client asked for a Table (`as=Table;g=meta.k8s.io;v=v1` in its first choice).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        let params: Vec<&str> = first.split(';').map(str::trim).collect();
        params.contains(&"as=Table")
            && params.contains(&"g=meta.k8s.io")
            && params.contains(&"v=v1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        for (s, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
            (3 * 365 * 86400, "3y"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn accept_header() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
