//! Helpers over JSON objects: metadata access, the server-set fields, timestamps, names.
//!
//! Objects are kept as `serde_json::Value` with insertion order preserved, so field order
//! on the wire is under our control; `metadata` is rebuilt in `ObjectMeta` field order.

use serde_json::{Map, Value};

/// `ObjectMeta` JSON keys in Go struct order (apimachinery `pkg/apis/meta/v1/types.go`).
const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// RFC 3339 in seconds, UTC, as `metav1.Time` marshals.
pub fn timestamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now() -> String {
    timestamp(jiff::Timestamp::now())
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `names.SimpleNameGenerator`: five characters from `bcdfghjklmnpqrstvwxz2456789`
/// (apiserver `pkg/storage/names/generate.go`, apimachinery `pkg/util/rand/rand.go`).
pub fn random_suffix() -> String {
    use rand::Rng;
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    (0..5)
        .map(|_| ALPHANUMS[rng.gen_range(0..ALPHANUMS.len())] as char)
        .collect()
}

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let root = obj.as_object_mut().expect("objects are JSON objects");
    let m = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut().expect("just made an object")
}

pub fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

pub fn labels(obj: &Value) -> Map<String, Value> {
    meta(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Puts `kind`, `apiVersion`, `metadata` first and `metadata`'s keys in Go order; drops
/// empty optional metadata (Go's `omitempty`).
pub fn normalize(obj: &mut Value, kind: &str, api_version: &str) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let mut meta = match root.shift_remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut ordered_meta = Map::new();
    for key in META_ORDER {
        if let Some(v) = meta.shift_remove(*key) {
            let empty = match &v {
                Value::Null => *key != "creationTimestamp",
                Value::String(s) => s.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Number(n) => n.as_i64() == Some(0) && *key == "generation",
                Value::Bool(_) => false,
            };
            if !empty {
                ordered_meta.insert((*key).into(), v);
            }
        }
    }
    // Unknown metadata keys have been rejected by validation; keep any left at the end.
    ordered_meta.extend(meta);
    root.shift_remove("kind");
    root.shift_remove("apiVersion");
    let rest = std::mem::take(root);
    root.insert("kind".into(), Value::String(kind.into()));
    root.insert("apiVersion".into(), Value::String(api_version.into()));
    root.insert("metadata".into(), Value::Object(ordered_meta));
    root.extend(rest);
}

/// Puts `metadata`'s keys back in Go order after a key was added at the end.
pub fn order_metadata(meta: &mut Map<String, Value>) {
    let mut ordered = Map::new();
    for key in META_ORDER {
        if let Some(v) = meta.shift_remove(*key) {
            ordered.insert((*key).into(), v);
        }
    }
    ordered.extend(std::mem::take(meta));
    *meta = ordered;
}

/// Strips `kind` and `apiVersion`, as list items are served.
pub fn without_type_meta(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
    o
}

/// A YAML document as a JSON value, as the server reads YAML bodies and apply patches.
pub fn from_yaml(bytes: &[u8]) -> Result<Value, String> {
    serde_saphyr::from_slice(bytes).map_err(|e| e.to_string())
}
