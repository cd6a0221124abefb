//! `metadata.managedFields`: which manager set which fields, as `FieldsV1` sets.
//!
//! Follows the behaviour of `k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager` and
//! structured-merge-diff as far as the course's objects show it:
//! - the manager is `fieldManager`, else the User-Agent up to its first `/`;
//! - create and update record an `Update` entry, apply an `Apply` entry; a `/status`
//!   write carries `subresource: status`;
//! - the set covers what the request set after decoding and defaulting (not what
//!   admission adds), without `apiVersion`, `kind`, the server-owned metadata, and
//!   `status` on the main resource (`NewStripMetaManager`, `ResetFieldsStrategy`);
//! - on update the manager gains the fields it changed and other managers lose them.
//!
//! `FieldsV1` keys: `f:<field>`, `k:<json of the list-map keys>` for keyed list items,
//! `v:<json>` for set items, and `.` for a node that is itself set: a Go map, a keyed list
//! item, or a pointer to a struct. That last rule is read off real objects (LIKELY); the
//! exact structured-merge-diff membership rules were not traced.

use crate::schema::{ListType, Resolved, SCHEMA, Type};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Metadata the strip-meta manager removes from every set.
const STRIPPED_META: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// A path in an object: `["f:spec", "f:containers", "k:{\"name\":\"c\"}", "f:image"]`.
type Path = Vec<String>;

/// Which part of an object a write owns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope<'a> {
    /// The main resource: everything but status (when the kind has a status subresource).
    Main { strip_status: bool },
    /// The `/status` subresource: status only.
    Status,
    /// Another subresource that writes the whole object (`serviceaccounts/token`'s
    /// TokenRequest): everything, recorded with the subresource's name.
    Other(&'a str),
}

fn go_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// All paths (leaves and `.` members) of `v` as type `ty`, with the leaf values.
fn walk(ty: &Type, v: &Value, path: &mut Path, out: &mut BTreeMap<Path, Value>) {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(name, fields) => {
            let Some(obj) = v.as_object() else {
                out.insert(path.clone(), v.clone());
                return;
            };
            if SCHEMA.is_atomic_struct(name) || obj.is_empty() {
                out.insert(path.clone(), v.clone());
                return;
            }
            if matches!(ty, Type::Ptr(_)) {
                let mut dot = path.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
            }
            walk_fields(fields, obj, path, out);
        }
        Resolved::Special(_) => {
            out.insert(path.clone(), v.clone());
        }
        Resolved::Other(t) => match (t, v) {
            (Type::Ptr(inner), v) => {
                // A pointer to a struct owns itself (`.`) as well as its fields, unless the
                // struct is atomic (then it is one leaf).
                if let (Resolved::Struct(name, _), Some(o)) = (SCHEMA.resolve(inner), v.as_object())
                    && !o.is_empty()
                    && !SCHEMA.is_atomic_struct(name)
                {
                    let mut dot = path.clone();
                    dot.push(".".into());
                    out.insert(dot, Value::Null);
                }
                walk(inner, v, path, out);
            }
            (Type::Deduced, Value::Object(m)) if !m.is_empty() => {
                let mut dot = path.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
                for (k, item) in m {
                    path.push(format!("f:{k}"));
                    walk(&Type::Deduced, item, path, out);
                    path.pop();
                }
            }
            (Type::Map(inner), Value::Object(m)) if !m.is_empty() => {
                let mut dot = path.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
                for (k, item) in m {
                    path.push(format!("f:{k}"));
                    walk(inner, item, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone(), v.clone());
            }
        },
    }
}

fn walk_fields(
    fields: &[crate::schema::Field],
    obj: &Map<String, Value>,
    path: &mut Path,
    out: &mut BTreeMap<Path, Value>,
) {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                walk_fields(inner, obj, path, out);
            }
            continue;
        }
        let Some(v) = obj.get(&f.json).filter(|v| !v.is_null()) else {
            continue;
        };
        path.push(format!("f:{}", f.json));
        let underlying = SCHEMA.underlying(&f.ty);
        match (underlying, v) {
            (Type::Slice(elem), Value::Array(items)) if !items.is_empty() => {
                let keys = match (&f.list, &f.merge_key) {
                    (Some(ListType::Map(keys)), _) if !keys.is_empty() => Some(keys.clone()),
                    (_, Some(k)) if f.list != Some(ListType::Atomic) => Some(vec![k.clone()]),
                    _ => None,
                };
                match (keys, &f.list) {
                    (Some(keys), _) => {
                        for item in items {
                            let mut key = Map::new();
                            let mut sorted = keys.clone();
                            sorted.sort();
                            for k in sorted {
                                if let Some(kv) = item.get(&k) {
                                    key.insert(k, kv.clone());
                                }
                            }
                            path.push(format!("k:{}", go_json(&Value::Object(key))));
                            let mut dot = path.clone();
                            dot.push(".".into());
                            out.insert(dot, Value::Null);
                            walk(elem, item, path, out);
                            path.pop();
                        }
                    }
                    (None, Some(ListType::Set)) => {
                        for item in items {
                            path.push(format!("v:{}", go_json(item)));
                            out.insert(path.clone(), Value::Null);
                            path.pop();
                        }
                    }
                    _ => {
                        out.insert(path.clone(), v.clone());
                    }
                }
            }
            _ if f.atomic => {
                out.insert(path.clone(), v.clone());
            }
            _ => walk(&f.ty, v, path, out),
        }
        path.pop();
    }
}

/// The paths of `obj` a write in `scope` can own.
fn paths(ty: &Type, obj: &Value, scope: Scope<'_>) -> BTreeMap<Path, Value> {
    let mut o = obj.clone();
    if let Some(root) = o.as_object_mut() {
        root.shift_remove("kind");
        root.shift_remove("apiVersion");
        if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in STRIPPED_META {
                meta.shift_remove(*k);
            }
        }
        if root
            .get("metadata")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            root.shift_remove("metadata");
        }
        match scope {
            Scope::Main { strip_status: true } => {
                root.shift_remove("status");
            }
            Scope::Main { .. } | Scope::Other(_) => {}
            Scope::Status => root.retain(|k, _| k == "status"),
        }
    }
    let mut out = BTreeMap::new();
    match (ty, o.as_object()) {
        // A custom resource: its metadata is still `ObjectMeta`; the rest is deduced.
        (Type::Deduced, Some(root)) => {
            let meta = SCHEMA.named("meta/v1.ObjectMeta").expect("ObjectMeta");
            for (k, v) in root {
                let mut path = vec![format!("f:{k}")];
                let ty = if k == "metadata" { &meta } else { ty };
                walk(ty, v, &mut path, &mut out);
            }
        }
        _ => walk(ty, &o, &mut Vec::new(), &mut out),
    }
    // The root itself is not a member.
    out.remove(&Vec::new());
    out
}

fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut node = &mut root;
        for seg in p {
            node = node
                .entry(seg.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("fieldsV1 nodes are objects");
        }
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    if let Some(m) = v.as_object() {
        if m.is_empty() && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (k, child) in m {
            prefix.push(k.clone());
            from_fields_v1(child, prefix, out);
            prefix.pop();
        }
    }
}

/// The manager name for a request: `fieldManager`, else the User-Agent's first segment
/// (`prefixFromUserAgent`).
pub fn manager_name(field_manager: Option<&str>, user_agent: &str) -> String {
    match field_manager.filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => user_agent.split('/').next().unwrap_or("").to_string(),
    }
}

/// Who is writing and how.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    pub manager: &'a str,
    pub apply: bool,
    pub scope: Scope<'a>,
    pub api_version: &'a str,
}

/// The `managedFields` of `new` after `write` turned `old` (absent on create) into it.
pub fn update(ty: &Type, old: Option<&Value>, new: &Value, write: &Write<'_>) -> Value {
    let new_paths = paths(ty, new, write.scope);
    let old_paths = old.map(|o| paths(ty, o, write.scope)).unwrap_or_default();
    let changed: BTreeSet<Path> = new_paths
        .iter()
        .filter(|(p, v)| old_paths.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    // What still exists, in every scope: other managers keep only that.
    let present: BTreeSet<Path> = paths(
        ty,
        new,
        Scope::Main {
            strip_status: false,
        },
    )
    .into_keys()
    .collect();
    let operation = if write.apply { "Apply" } else { "Update" };
    let subresource = match write.scope {
        Scope::Status => "status",
        Scope::Other(name) => name,
        Scope::Main { .. } => "",
    };
    let mut entries: Vec<Value> = Vec::new();
    let mut mine: BTreeSet<Path> = BTreeSet::new();
    let previous = old
        .and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in previous {
        let is_mine = e["manager"] == write.manager
            && e["operation"] == operation
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == subresource;
        let mut set = BTreeSet::new();
        from_fields_v1(&e["fieldsV1"], &mut Vec::new(), &mut set);
        if is_mine {
            mine = set;
            continue;
        }
        // Other managers lose what this write changed, and what no longer exists.
        let kept: BTreeSet<Path> = set
            .into_iter()
            .filter(|p| !changed.contains(p) && present.contains(p))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let mut e = e.clone();
        e["fieldsV1"] = to_fields_v1(&kept);
        entries.push(e);
    }
    let mine: BTreeSet<Path> = if write.apply {
        // An apply owns its configuration's field set, which holds leaves only: no `.` for
        // the maps and structs that contain them (structured-merge-diff
        // `TypedValue.ToFieldSet`, as `pkg/endpoints/handlers/fieldmanager` records it).
        new_paths
            .keys()
            .filter(|p| p.last().map(String::as_str) != Some("."))
            .cloned()
            .collect()
    } else {
        mine.into_iter()
            .filter(|p| present.contains(p))
            .chain(changed)
            .collect()
    };
    if !mine.is_empty() {
        let mut e = json!({
            "manager": write.manager,
            "operation": operation,
            "apiVersion": write.api_version,
            "time": crate::object::now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&mine),
        });
        if !subresource.is_empty() {
            e["subresource"] = json!(subresource);
        }
        entries.push(e);
    }
    Value::Array(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_type() -> Type {
        SCHEMA.kind_type("", "v1", "Pod").unwrap()
    }

    #[test]
    fn create_records_the_request_fields() {
        let pod = json!({"metadata": {"name": "p", "uid": "u", "labels": {"run": "p"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {}}], "securityContext": {}},
            "status": {"phase": "Pending"}});
        let w = Write {
            manager: "kubectl-run",
            apply: false,
            scope: Scope::Main { strip_status: true },
            api_version: "v1",
        };
        let mf = update(&pod_type(), None, &pod, &w);
        assert_eq!(mf[0]["manager"], "kubectl-run");
        assert_eq!(mf[0]["operation"], "Update");
        assert_eq!(
            mf[0]["fieldsV1"],
            json!({
                "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}}, "f:securityContext": {}},
            })
        );
    }

    #[test]
    fn updates_move_ownership() {
        let ty = SCHEMA.kind_type("", "v1", "ConfigMap").unwrap();
        let w1 = Write {
            manager: "a",
            apply: false,
            scope: Scope::Main {
                strip_status: false,
            },
            api_version: "v1",
        };
        let v1 = json!({"metadata": {"name": "x"}, "data": {"k": "1", "j": "1"}});
        let mut v1m = v1.clone();
        v1m["metadata"]["managedFields"] = update(&ty, None, &v1, &w1);
        let w2 = Write {
            manager: "b",
            ..w1.clone()
        };
        let v2 = json!({"metadata": {"name": "x", "managedFields": v1m["metadata"]["managedFields"]}, "data": {"k": "2", "j": "1"}});
        let mf = update(&ty, Some(&v1m), &v2, &w2);
        let by = |m: &str| {
            mf.as_array()
                .unwrap()
                .iter()
                .find(|e| e["manager"] == m)
                .unwrap()["fieldsV1"]
                .clone()
        };
        assert_eq!(by("a"), json!({"f:data": {".": {}, "f:j": {}}}));
        assert_eq!(by("b"), json!({"f:data": {"f:k": {}}}));
    }

    #[test]
    fn manager_from_user_agent() {
        assert_eq!(
            manager_name(None, "kubectl/v1.33.3 (linux/amd64) kubernetes/abc"),
            "kubectl"
        );
        assert_eq!(
            manager_name(Some("kubectl-create"), "kubectl/v1.33.3"),
            "kubectl-create"
        );
    }
}
