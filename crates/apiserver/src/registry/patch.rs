//! The four patch types: JSON patch, JSON merge patch, strategic merge patch, and apply.
//!
//! Strategic merge follows apimachinery `pkg/util/strategicpatch/patch.go` for what
//! kubectl sends: maps merge, `null` deletes, lists with a patch merge key merge by it
//! (`$patch: delete` removes an element), other lists are replaced, and the
//! `$setElementOrder`/`$retainKeys`/`$deleteFromPrimitiveList` directives are honoured or
//! dropped. Merge keys come from the `patchMergeKey` tags of `k8s.io/api` types. Apply
//! (server-side apply) is merged the same way without field ownership, which is what the
//! course's clients (`kube`'s `Patch::Apply`) observe for a single manager.

use crate::status::ApiError;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// From the request's `Content-Type`.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// The patch merge key of a list field, by field name and a sample element.
fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "readinessGates"
        | "resourceClaims"
        | "hostAliases" => {
            if field == "hostAliases" {
                "ip"
            } else if field == "readinessGates" {
                "conditionType"
            } else {
                "name"
            }
        }
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "ports" => {
            if sample.and_then(|s| s.get("containerPort")).is_some() {
                "containerPort"
            } else {
                "port"
            }
        }
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists merged as sets of primitives (`patchStrategy:"merge"` on `[]string`).
fn primitive_merge(field: &str) -> bool {
    matches!(field, "finalizers")
}

/// Applies a patch of type `pt` to `current` and returns the result.
pub fn apply(pt: PatchType, current: &Value, patch: &[u8]) -> Result<Value, ApiError> {
    match pt {
        PatchType::Json => {
            let p: json_patch::Patch = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut doc = current.clone();
            json_patch::patch(&mut doc, &p).map_err(|e| ApiError::invalid_patch(e.to_string()))?;
            Ok(doc)
        }
        PatchType::Merge => {
            let p: Value = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut doc = current.clone();
            json_patch::merge(&mut doc, &p);
            Ok(doc)
        }
        PatchType::Strategic => {
            let p: Value = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: the patch must be a JSON object",
                ));
            }
            Ok(strategic(current, &p, ""))
        }
        PatchType::Apply => {
            let p: Value = serde_yaml::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding YAML: the applied configuration must be an object",
                ));
            }
            Ok(strategic(current, &p, ""))
        }
    }
}

/// A strategic merge of `patch` onto `base`; `field` names the value being merged.
pub fn strategic(base: &Value, patch: &Value, field: &str) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            if p.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut out = p.clone();
                out.remove("$patch");
                return Value::Object(strip_directives(out));
            }
            let mut out = b.clone();
            let mut orders: Map<String, Value> = Map::new();
            for (k, v) in p {
                if let Some(f) = k.strip_prefix("$setElementOrder/") {
                    orders.insert(f.to_string(), v.clone());
                    continue;
                }
                if let Some(f) = k.strip_prefix("$deleteFromPrimitiveList/") {
                    if let (Some(Value::Array(list)), Value::Array(del)) = (out.get_mut(f), v) {
                        list.retain(|x| !del.contains(x));
                    }
                    continue;
                }
                if k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(existing) => strategic(existing, v, k),
                    None => clean(v),
                };
                out.insert(k.clone(), merged);
            }
            for (f, order) in orders {
                if let (Some(Value::Array(list)), Value::Array(order)) = (out.get_mut(&f), order) {
                    let key = merge_key(&f, list.first());
                    reorder(list, &order, key);
                }
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(p)) => {
            if let Some(key) = merge_key(field, p.first().or(b.first())) {
                let mut out: Vec<Value> = b.clone();
                for item in p {
                    let id = item.get(key);
                    let pos = out.iter().position(|e| e.get(key) == id && id.is_some());
                    let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                    match (pos, delete) {
                        (Some(i), true) => {
                            out.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => out[i] = strategic(&out[i], item, ""),
                        (None, false) => out.push(clean(item)),
                    }
                }
                Value::Array(out)
            } else if primitive_merge(field) {
                let mut out = b.clone();
                for item in p {
                    if !out.contains(item) {
                        out.push(item.clone());
                    }
                }
                Value::Array(out)
            } else {
                clean(patch)
            }
        }
        _ => clean(patch),
    }
}

fn reorder(list: &mut [Value], order: &[Value], key: Option<&str>) {
    let pos = |v: &Value| {
        order
            .iter()
            .position(|o| match key {
                Some(k) => o.get(k).is_some() && o.get(k) == v.get(k),
                None => o == v,
            })
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(pos);
}

fn strip_directives(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k, clean(&v)))
        .collect()
}

/// A patch value inserted as is, without directives or nulls.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| e.get("$patch").is_none())
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_containers_by_name() {
        let base = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "a", "$patch": "delete"}]}});
        let out = apply(PatchType::Strategic, &base, patch.to_string().as_bytes()).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "b", "image": "z"}]}})
        );
    }

    #[test]
    fn null_deletes_and_plain_lists_replace() {
        let base = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "args": ["x"]});
        let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "args": ["y"]});
        let out = strategic(&base, &patch, "");
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "args": ["y"]})
        );
    }

    #[test]
    fn json_patch_errors_are_status() {
        let base = json!({"a": 1});
        let err = apply(
            PatchType::Json,
            &base,
            br#"[{"op":"remove","path":"/nope"}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        let err = apply(PatchType::Merge, &base, b"{not json").unwrap_err();
        assert_eq!(err.code, 400);
    }
}
