//! Node: its field label and printer columns (`printNode`).

use super::Strategy;
use crate::object;
use crate::table::{AGE, Column, NAME, Printer, age, none_if_empty, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Node;

impl Strategy for Node {
    fn field_labels(&self) -> &'static [&'static str] {
        &["spec.unschedulable"]
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::text("Status", "string", "The status of the node", 0),
        Column::text("Roles", "string", "The roles of the node", 0),
        AGE,
        Column::field(
            "Version",
            "string",
            "core/v1.NodeSystemInfo.kubeletVersion",
            0,
        ),
        Column::field("Internal-IP", "string", "core/v1.NodeStatus.addresses", 1),
        Column::field("External-IP", "string", "core/v1.NodeStatus.addresses", 1),
        Column::field("OS-Image", "string", "core/v1.NodeSystemInfo.osImage", 1),
        Column::field(
            "Kernel-Version",
            "string",
            "core/v1.NodeSystemInfo.kernelVersion",
            1,
        ),
        Column::field(
            "Container-Runtime",
            "string",
            "core/v1.NodeSystemInfo.containerRuntimeVersion",
            1,
        ),
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
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
    vec![
        json!(ready),
        none_if_empty(&roles.join(",")),
        age(obj, now),
        json!(str_at(obj, "/status/nodeInfo/kubeletVersion")),
        none_if_empty(internal),
        json!("<none>"),
        none_if_empty(str_at(obj, "/status/nodeInfo/osImage")),
        none_if_empty(str_at(obj, "/status/nodeInfo/kernelVersion")),
        none_if_empty(str_at(obj, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}
