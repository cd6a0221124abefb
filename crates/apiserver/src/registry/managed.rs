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
//! - on update the manager gains the fields it changed and other managers lose them;
//! - an apply owns exactly its configuration's field set (`ToFieldSet`); before it is
//!   written, what the applier applied last time and no longer applies is pruned unless
//!   someone else owns it, and a field it adds or changes that another manager owns is a
//!   409 conflict unless forced (structured-merge-diff merge/update.go, `Updater.Apply`);
//! - entries are sorted as `sortEncodedManagedFields` sorts them, and a write that changes
//!   nothing keeps its manager's time (none for a new entry).
//!
//! `FieldsV1` keys: `f:<field>`, `k:<json of the list-map keys>` for keyed list items,
//! `v:<json>` for set items, and `.` for a node that is itself set: a Go map, a keyed list
//! item, or a pointer to a struct. That last rule is read off real objects (LIKELY); the
//! exact structured-merge-diff membership rules were not traced.

use crate::schema::{ListType, Resolved, SCHEMA, Type};
use crate::status::{ApiError, Cause, Details};
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
///
/// With `apply`, the set is the one structured-merge-diff's `TypedValue.ToFieldSet` gives
/// an applied configuration (`typed/tofieldset.go`): leaves, keyed list items, and map
/// entries, but no member for a struct field or a map that only holds them; otherwise it
/// is the set an update's comparison adds (`typed/compare.go`), where a new pointer or map
/// is a member too.
fn walk(ty: &Type, v: &Value, path: &mut Path, out: &mut BTreeMap<Path, Value>, apply: bool) {
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
            if matches!(ty, Type::Ptr(_)) && !apply {
                let mut dot = path.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
            }
            walk_fields(fields, obj, path, out, apply);
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
                    && !apply
                {
                    let mut dot = path.clone();
                    dot.push(".".into());
                    out.insert(dot, Value::Null);
                }
                walk(inner, v, path, out, apply);
            }
            (Type::Deduced, Value::Object(m)) if !m.is_empty() => {
                let mut dot = path.clone();
                dot.push(".".into());
                out.insert(dot, Value::Null);
                for (k, item) in m {
                    path.push(format!("f:{k}"));
                    walk(&Type::Deduced, item, path, out, apply);
                    path.pop();
                }
            }
            (Type::Map(inner), Value::Object(m)) if !m.is_empty() => {
                if !apply {
                    let mut dot = path.clone();
                    dot.push(".".into());
                    out.insert(dot, Value::Null);
                }
                for (k, item) in m {
                    path.push(format!("f:{k}"));
                    // An applied map entry is a member itself (`visitMapItems`).
                    if apply && item.as_object().is_some_and(|o| !o.is_empty()) {
                        let mut dot = path.clone();
                        dot.push(".".into());
                        out.insert(dot, Value::Null);
                    }
                    walk(inner, item, path, out, apply);
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
    apply: bool,
) {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                walk_fields(inner, obj, path, out, apply);
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
                                if let Some(kv) = item.get(&k).cloned().or_else(|| key_default(&k))
                                {
                                    key.insert(k, kv);
                                }
                            }
                            path.push(format!("k:{}", go_json(&Value::Object(key))));
                            let mut dot = path.clone();
                            dot.push(".".into());
                            out.insert(dot, Value::Null);
                            walk(elem, item, path, out, apply);
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
            _ => walk(&f.ty, v, path, out, apply),
        }
        path.pop();
    }
}

/// The default of a list-map key an item may omit, from the OpenAPI schema's `default`
/// (structured-merge-diff `getAssociativeKeyDefault`, typed/helpers.go): a port's
/// `protocol` is `TCP` (`ContainerPort`, `ServicePort`).
fn key_default(key: &str) -> Option<Value> {
    (key == "protocol").then(|| json!("TCP"))
}

/// The paths of `obj` a write in `scope` can own (as an applied configuration with
/// `apply`).
fn paths(ty: &Type, obj: &Value, scope: Scope<'_>, apply: bool) -> BTreeMap<Path, Value> {
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
                walk(ty, v, &mut path, &mut out, apply);
            }
        }
        _ => walk(ty, &o, &mut Vec::new(), &mut out, apply),
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
    /// For an apply: the configuration as sent, whose field set the applier owns.
    pub config: Option<&'a Value>,
    pub scope: Scope<'a>,
    pub api_version: &'a str,
}

impl Write<'_> {
    fn operation(&self) -> &'static str {
        if self.apply { "Apply" } else { "Update" }
    }

    fn subresource(&self) -> &str {
        match self.scope {
            Scope::Status => "status",
            Scope::Other(name) => name,
            Scope::Main { .. } => "",
        }
    }

    /// Whether `entry` is this writer's own: the same manager identifier
    /// (`BuildManagerIdentifier` in apimachinery `managedfields/internal/managedfields.go`:
    /// manager, operation, subresource, and an update's apiVersion).
    fn owns_entry(&self, entry: &Value) -> bool {
        entry["manager"] == self.manager
            && entry["operation"] == self.operation()
            && entry
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or("")
                == self.subresource()
            && (self.apply || entry["apiVersion"] == self.api_version)
    }
}

/// The `FieldsV1` set of a `managedFields` entry.
fn entry_set(entry: &Value) -> BTreeSet<Path> {
    let mut set = BTreeSet::new();
    from_fields_v1(&entry["fieldsV1"], &mut Vec::new(), &mut set);
    set
}

/// The entries of an object's `metadata.managedFields`.
fn entries(obj: Option<&Value>) -> Vec<Value> {
    obj.and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The node a path names: a `.` member is its parent node.
fn node(p: &[String]) -> &[String] {
    match p.split_last() {
        Some((last, rest)) if last == "." => rest,
        _ => p,
    }
}

/// What `new` adds or modifies over `old` (structured-merge-diff `Compare`'s `Added` and
/// `Modified`), as nodes.
fn changed_nodes(ty: &Type, old: &Value, new: &Value, scope: Scope<'_>) -> BTreeSet<Path> {
    let old_paths = paths(ty, old, scope, false);
    paths(ty, new, scope, false)
        .into_iter()
        .filter(|(p, v)| old_paths.get(p) != Some(v))
        .map(|(p, _)| node(&p).to_vec())
        .collect()
}

/// Orders entries as apimachinery `sortEncodedManagedFields` (managedfields.go): by
/// operation, time, manager, apiVersion, subresource.
fn sort_entries(entries: &mut [Value]) {
    let key = |e: &Value| {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (
            s("operation"),
            s("time"),
            s("manager"),
            s("apiVersion"),
            s("subresource"),
        )
    };
    entries.sort_by_key(key);
}

/// The `managedFields` of `new` after `write` turned `old` (absent on create) into it.
///
/// Structured-merge-diff's `Updater.update` (merge/update.go): other managers lose what
/// the write added or modified (an apply that would take a field from another manager has
/// been refused before, unless forced: `check_conflicts`) and what it removed. An update
/// adds what it changed to its entry (`managedFieldsUpdater`); an apply's entry is its
/// configuration's set (`Updater.Apply`).
pub fn update(ty: &Type, old: Option<&Value>, new: &Value, write: &Write<'_>) -> Value {
    let new_paths = paths(ty, new, write.scope, false);
    let old_paths = old
        .map(|o| paths(ty, o, write.scope, false))
        .unwrap_or_default();
    let changed: BTreeSet<Path> = new_paths
        .iter()
        .filter(|(p, v)| old_paths.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    // What still exists, in every scope: other managers keep only that.
    let whole = Scope::Main {
        strip_status: false,
    };
    let present_values = paths(ty, new, whole, false);
    let unchanged = match old {
        Some(o) if write.apply => paths(ty, o, whole, false) == present_values,
        Some(_) => changed.is_empty(),
        None => false,
    };
    let present: BTreeSet<Path> = present_values.into_keys().collect();
    let mut out: Vec<Value> = Vec::new();
    let mut mine: BTreeSet<Path> = BTreeSet::new();
    let mut mine_time: Option<Value> = None;
    for e in entries(old) {
        let set = entry_set(&e);
        if write.owns_entry(&e) {
            mine = set;
            mine_time = e.get("time").cloned();
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
        out.push(e);
    }
    let mine: BTreeSet<Path> = match (write.apply, write.config) {
        // An apply owns its configuration's field set (`configObject.ToFieldSet()`).
        (true, Some(config)) => paths(ty, config, write.scope, true).into_keys().collect(),
        (true, None) => new_paths
            .keys()
            .filter(|p| p.last().map(String::as_str) != Some("."))
            .cloned()
            .collect(),
        (false, _) => mine
            .into_iter()
            .filter(|p| present.contains(p))
            .chain(changed)
            .collect(),
    };
    if !mine.is_empty() {
        // A write that changes nothing leaves its manager's time as it was, or without one
        // (`managedFieldsUpdater` in apimachinery managedfields/internal).
        let time = if unchanged {
            mine_time
        } else {
            Some(json!(crate::object::now()))
        };
        let mut e = json!({
            "manager": write.manager,
            "operation": write.operation(),
            "apiVersion": write.api_version,
        });
        if let (Some(t), Some(m)) = (time, e.as_object_mut()) {
            m.insert("time".into(), t);
        }
        e["fieldsType"] = json!("FieldsV1");
        e["fieldsV1"] = to_fields_v1(&mine);
        if !write.subresource().is_empty() {
            e["subresource"] = json!(write.subresource());
        }
        out.push(e);
    }
    sort_entries(&mut out);
    Value::Array(out)
}

/// Removes what the applier set in its previous apply and no longer sets, unless another
/// manager (or this configuration) owns it or something under it: structured-merge-diff
/// `Updater.prune`, `addBackOwnedItems` and `addBackDanglingItems` (merge/update.go).
pub fn prune(ty: &Type, live: &Value, merged: Value, write: &Write<'_>) -> Value {
    let live_entries = entries(Some(live));
    let Some(last) = live_entries.iter().find(|e| write.owns_entry(e)) else {
        return merged;
    };
    let mut owned: BTreeSet<Path> = live_entries
        .iter()
        .filter(|e| !write.owns_entry(e))
        .flat_map(entry_set)
        .map(|p| node(&p).to_vec())
        .collect();
    if let Some(config) = write.config {
        owned.extend(
            paths(ty, config, write.scope, true)
                .into_keys()
                .map(|p| node(&p).to_vec()),
        );
    }
    let mut pruned = merged;
    for p in entry_set(last) {
        let n = node(&p);
        if n.is_empty() || owned.iter().any(|q| q.starts_with(n)) {
            continue;
        }
        remove_node(&mut pruned, n);
    }
    pruned
}

/// The element of `list` a `k:` or `v:` path segment names.
fn list_position(list: &[Value], seg: &str) -> Option<usize> {
    if let Some(key) = seg.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return list.iter().position(|item| {
            key.iter()
                .all(|(k, v)| item.get(k).cloned().or_else(|| key_default(k)).as_ref() == Some(v))
        });
    }
    let want: Value = serde_json::from_str(seg.strip_prefix("v:")?).ok()?;
    list.iter().position(|item| *item == want)
}

/// The value at `path` in `v`, if there is one.
fn child_mut<'v>(v: &'v mut Value, seg: &str) -> Option<&'v mut Value> {
    match v {
        Value::Object(m) => m.get_mut(seg.strip_prefix("f:")?),
        Value::Array(items) => {
            let i = list_position(items, seg)?;
            items.get_mut(i)
        }
        _ => None,
    }
}

/// Removes the node at `path` (`typed.TypedValue.RemoveItems` for one path); nothing when
/// it is not there.
fn remove_node(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = v;
    for seg in parents {
        match child_mut(node, seg) {
            Some(next) => node = next,
            None => return,
        }
    }
    match node {
        Value::Object(m) => {
            if let Some(k) = last.strip_prefix("f:") {
                m.shift_remove(k);
            }
        }
        Value::Array(items) => {
            if let Some(i) = list_position(items, last) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Go's `%v` of a key or set value (structured-merge-diff `value.ToString`).
fn value_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => go_json(&Value::String(s.clone())),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(value_string).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_string(v)))
            .collect(),
        other => other.to_string(),
    }
}

/// A path as `fieldpath.Path.String()` prints it: `.data.owner`,
/// `.spec.containers[name="c"].image`, `.metadata.finalizers[="x"]`.
fn path_string(path: &[String]) -> String {
    path.iter()
        .map(|seg| {
            if let Some(f) = seg.strip_prefix("f:") {
                format!(".{f}")
            } else if let Some(k) = seg.strip_prefix("k:") {
                let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = key
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_string(v)))
                    .collect();
                format!("[{}]", parts.join(","))
            } else if let Some(v) = seg.strip_prefix("v:") {
                let v: Value = serde_json::from_str(v).unwrap_or(Value::Null);
                format!("[={}]", value_string(&v))
            } else {
                String::new()
            }
        })
        .collect()
}

/// The order `fieldpath.Set.Iterate` visits paths in: at each level the members, sorted,
/// then the children, sorted (fieldpath/set.go).
fn iterate_order(p: &[String], q: &[String]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let c = p.iter().zip(q).take_while(|(a, b)| a == b).count();
    match (p.len() == c, q.len() == c) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (p.len() == c + 1, q.len() == c + 1) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => p[c].cmp(&q[c]),
    }
}

/// One other manager's conflicts: its identifier (as `BuildManagerIdentifier` encodes
/// it, which is how conflicts are sorted), how `printManager` names it, and its paths.
struct Conflicting {
    identifier: String,
    name: String,
    paths: Vec<Path>,
}

/// A manager as apimachinery `printManager` (managedfields/internal/conflict.go) names
/// it: `"bob"`, `"bob" with subresource "status"`, `"bob" using v1` for an update.
fn conflicting(entry: &Value) -> (String, String) {
    let s = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
    let q = |v: &str| go_json(&Value::String(v.to_string()));
    let mut identifier = format!(
        "{{\"manager\":{},\"operation\":{}",
        q(s("manager")),
        q(s("operation"))
    );
    let mut name = q(s("manager"));
    if s("operation") == "Update" {
        identifier.push_str(&format!(",\"apiVersion\":{}", q(s("apiVersion"))));
    }
    if !s("subresource").is_empty() {
        identifier.push_str(&format!(",\"subresource\":{}", q(s("subresource"))));
        name.push_str(&format!(" with subresource {}", q(s("subresource"))));
    }
    identifier.push('}');
    if s("operation") == "Update" {
        name.push_str(&format!(" using {}", s("apiVersion")));
    }
    (identifier, name)
}

/// The 409 of an apply that would take fields from other managers: structured-merge-diff
/// `Updater.update` finds them (the other managers' fields the apply adds or modifies),
/// apimachinery `NewConflictError` (managedfields/internal/conflict.go) words them.
/// `Ok` when there is none.
pub fn check_conflicts(
    ty: &Type,
    live: &Value,
    next: &Value,
    write: &Write<'_>,
) -> Result<(), ApiError> {
    let changed = changed_nodes(ty, live, next, write.scope);
    let mut found: Vec<Conflicting> = Vec::new();
    for e in entries(Some(live)) {
        if write.owns_entry(&e) {
            continue;
        }
        let mut paths: Vec<Path> = entry_set(&e)
            .iter()
            .map(|p| node(p).to_vec())
            .filter(|p| changed.contains(p))
            .collect();
        if paths.is_empty() {
            continue;
        }
        paths.sort_by(|a, b| iterate_order(a, b));
        paths.dedup();
        let (identifier, name) = conflicting(&e);
        found.push(Conflicting {
            identifier,
            name,
            paths,
        });
    }
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    Err(conflict_error(&found))
}

/// `NewConflictError`'s Status: one cause per conflict, and the message of
/// `getConflictMessage`.
fn conflict_error(found: &[Conflicting]) -> ApiError {
    let causes: Vec<Cause> = found
        .iter()
        .flat_map(|c| {
            c.paths.iter().map(|p| Cause {
                reason: "FieldManagerConflict".into(),
                message: format!("conflict with {}", c.name),
                field: path_string(p),
            })
        })
        .collect();
    let message = match (found, causes.len()) {
        ([one], 1) => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.name,
            path_string(&one.paths[0])
        ),
        (_, n) => {
            let mut lines = Vec::new();
            for c in found {
                lines.push(format!("conflicts with {}:", c.name));
                lines.extend(c.paths.iter().map(|p| format!("- {}", path_string(p))));
            }
            format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
        }
    };
    ApiError {
        code: 409,
        reason: "Conflict",
        message,
        details: Some(Box::new(Details {
            causes,
            ..Details::default()
        })),
    }
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
            config: None,
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
            config: None,
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

    fn configmap() -> Type {
        SCHEMA.kind_type("", "v1", "ConfigMap").unwrap()
    }

    fn apply_by<'a>(manager: &'a str, config: &'a Value) -> Write<'a> {
        Write {
            manager,
            apply: true,
            config: Some(config),
            scope: Scope::Main {
                strip_status: false,
            },
            api_version: "v1",
        }
    }

    /// `obj` after `write` made it from `old`, with its managedFields.
    fn written(old: Option<&Value>, obj: Value, write: &Write<'_>) -> Value {
        let mut obj = obj;
        obj["metadata"]["managedFields"] = update(&configmap(), old, &obj, write);
        obj
    }

    #[test]
    fn an_apply_owns_its_configuration_only() {
        let c1 = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let v1 = written(None, c1.clone(), &apply_by("alice", &c1));
        let c2 = json!({"metadata": {"name": "x", "labels": {"t": "c"}}});
        let merged = json!({"metadata": {"name": "x", "labels": {"t": "c"}}, "data": {"a": "1"}});
        let mf = update(&configmap(), Some(&v1), &merged, &apply_by("carol", &c2));
        let carol = mf
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == "carol")
            .unwrap();
        assert_eq!(
            carol["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:t": {}}}})
        );
    }

    #[test]
    fn conflicts_name_the_other_managers() {
        let c1 = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        let live = written(None, c1.clone(), &apply_by("alice", &c1));
        let c2 = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "3"}});
        let merged = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "3"}});
        let err = check_conflicts(&configmap(), &live, &merged, &apply_by("bob", &c2)).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"alice\": .data.b"
        );
        let causes = &err.details.unwrap().causes;
        assert_eq!(causes[0].field, ".data.b");
        assert_eq!(causes[0].reason, "FieldManagerConflict");
        // The same value is shared, not a conflict.
        let same = live.clone();
        assert!(check_conflicts(&configmap(), &live, &same, &apply_by("bob", &c1)).is_ok());
    }

    #[test]
    fn prune_drops_what_only_the_applier_owned() {
        let c1 = json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}});
        let live = written(None, c1.clone(), &apply_by("alice", &c1));
        let c2 = json!({"metadata": {"name": "x"}, "data": {"a": "1"}});
        let pruned = prune(&configmap(), &live, live.clone(), &apply_by("alice", &c2));
        assert_eq!(pruned["data"], json!({"a": "1"}));
        // A field bob also applied stays.
        let shared = json!({"metadata": {"name": "x"}, "data": {"b": "2"}});
        let both = written(Some(&live), live.clone(), &apply_by("bob", &shared));
        let pruned = prune(&configmap(), &both, both.clone(), &apply_by("alice", &c2));
        assert_eq!(pruned["data"], json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn paths_print_as_fieldpath_does() {
        let p: Path = vec![
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"c\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(path_string(&p), ".spec.containers[name=\"c\"].image");
        assert_eq!(
            path_string(&["f:finalizers".into(), "v:\"x\"".into()]),
            ".finalizers[=\"x\"]"
        );
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
