//! Node: its field label and printer columns (`printNode`).

use super::Strategy;
use crate::object;
use crate::table::{age, age_col, col, doc, name_col, none_if_empty, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Node;

impl Strategy for Node {
    fn field_labels(&self) -> &'static [&'static str] {
        &["spec.unschedulable"]
    }

    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some({
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
        })
    }
}
