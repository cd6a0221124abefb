//! Namespace: `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label), the
//! strategy (`pkg/registry/core/namespace/strategy.go`: the `kubernetes` finalizer and
//! `Active` phase on create), deletion through `Terminating` (the namespace's REST storage
//! sets `deletionTimestamp`; the namespace controller empties it and removes it), its field
//! label and printer columns (`printNamespace`).

use super::{Deletion, Strategy, default, obj_mut};
use crate::object;
use crate::status::ApiError;
use crate::table::{AGE, Column, NAME, Printer, age, str_at};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Namespace;

impl Strategy for Namespace {
    fn defaults(&self, obj: &mut Value) {
        let name = object::name(obj).to_string();
        object::meta_mut(obj);
        let meta = obj.get_mut("metadata").expect("made above");
        obj_mut(meta, "labels").insert("kubernetes.io/metadata.name".into(), json!(name));
    }

    fn prepare_create(&self, obj: &mut Value) {
        default(obj_mut(obj, "spec"), "finalizers", json!(["kubernetes"]));
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Active"}));
        }
    }

    fn keeps_status_on_create(&self) -> bool {
        true
    }

    fn delete(&self, deletion: &Deletion<'_>) -> Result<Option<Arc<Value>>, ApiError> {
        deletion.linger(|old| {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(None);
            }
            let mut next = old.clone();
            let m = object::meta_mut(&mut next);
            // The namespace REST storage sets the time only: no grace period
            // (`pkg/registry/core/namespace/storage/storage.go`, `Delete`).
            m.insert("deletionTimestamp".into(), json!(object::now()));
            if let Some(root) = next.as_object_mut() {
                root.insert("status".into(), json!({"phase": "Terminating"}));
            }
            Ok(Some(next))
        })
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.phase"]
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer::new(COLUMNS, cells);

#[rustfmt::skip]
const COLUMNS: &[Column] = &[
    NAME,
    Column::text("Status", "string", "The status of the namespace", 0),
    AGE,
];

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![json!(str_at(obj, "/status/phase")), age(obj, now)]
}
