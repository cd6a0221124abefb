//! What every kind's strategy shares on create and update: the spec/status split of kinds
//! with a status subresource, server-owned metadata, generation counting. What a kind does
//! of its own is in `registry::kinds`.
//!
//! Mirrors the generic parts of `PrepareForCreate`/`PrepareForUpdate` in
//! `kubernetes/kubernetes:pkg/registry/<group>/<kind>/strategy.go`.

use super::kinds;
use crate::discovery::ApiResource;
use crate::object;
use serde_json::{Value, json};

/// Kinds with a status subresource: the main resource ignores status changes, and
/// `/status` ignores everything but status (`ResetFieldsFor`).
pub fn has_status(res: &ApiResource) -> bool {
    crate::discovery::DISCOVERY
        .resource(
            res.group,
            res.version,
            &format!("{}/status", res.resource()),
        )
        .is_some()
}

/// The v1 defaulters of `res`'s kind, which run while the request is decoded.
pub fn default_object(res: &ApiResource, obj: &mut Value) {
    kinds::strategy(res).defaults(obj);
}

/// Fields every new object of `res` gets before admission and validation.
pub fn prepare_create(res: &ApiResource, obj: &mut Value) {
    let strategy = kinds::strategy(res);
    if has_status(res)
        && !strategy.keeps_status_on_create()
        && let Some(m) = obj.as_object_mut()
    {
        // `PrepareForCreate` clears status; the controllers own it.
        m.shift_remove("status");
    }
    if strategy.has_generation() {
        object::meta_mut(obj).insert("generation".into(), json!(1));
    }
    strategy.prepare_create(obj);
}

/// Carries server-owned fields from `old` to `new` on update: identity, creation time,
/// generation (bumped when the spec changed) and status or spec depending on `subresource`.
pub fn prepare_update(res: &ApiResource, subresource: Option<&str>, old: &Value, new: &mut Value) {
    let keep = [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ];
    let old_meta = object::meta(old).cloned().unwrap_or_default();
    {
        let m = object::meta_mut(new);
        for k in keep {
            match old_meta.get(k) {
                Some(v) => {
                    m.insert(k.into(), v.clone());
                }
                None => {
                    m.shift_remove(k);
                }
            }
        }
    }
    let status_split = has_status(res);
    let Some(root) = new.as_object_mut() else {
        return;
    };
    match subresource {
        Some("status") => {
            // Only status changes through /status; everything else stays as stored.
            let status = root.shift_remove("status");
            let meta = root.shift_remove("metadata");
            *root = old.as_object().cloned().unwrap_or_default();
            if let Some(s) = status {
                root.insert("status".into(), s);
            }
            if let Some(Value::Object(m)) = meta {
                // Labels and annotations may change through /status too.
                let target = root.entry("metadata").or_insert_with(|| json!({}));
                if let Some(t) = target.as_object_mut() {
                    for k in ["labels", "annotations", "resourceVersion"] {
                        if let Some(v) = m.get(k) {
                            t.insert(k.into(), v.clone());
                        }
                    }
                }
            }
        }
        _ if status_split => {
            match old.get("status") {
                Some(s) => root.insert("status".into(), s.clone()),
                None => root.shift_remove("status"),
            };
        }
        _ => {}
    }
    if super::kinds::strategy(res).has_generation()
        && subresource.is_none()
        && old.get("spec") != new.get("spec")
    {
        let g = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object::meta_mut(new).insert("generation".into(), json!(g + 1));
    }
}
