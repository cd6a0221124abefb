//! The four patch types: JSON patch, JSON merge patch, strategic merge patch, and apply.
//!
//! Strategic merge follows apimachinery `pkg/util/strategicpatch/patch.go` for what
//! kubectl sends: maps merge, `null` deletes, lists with a patch merge key merge by it
//! (`$patch: delete` removes an element), other lists are replaced, and the
//! `$setElementOrder`/`$retainKeys`/`$deleteFromPrimitiveList` directives are honoured or
//! dropped. Merge keys come from the `patchMergeKey` tags of `k8s.io/api` types. Apply
//! (server-side apply) is merged the same way (structured-merge-diff's `typed/merge.go`
//! merges maps, keyed lists by their keys, and replaces atomic lists alike); its field
//! ownership (pruning what the applier stopped applying, conflicts with other managers)
//! is settled afterwards by `registry::apply_ownership` (`managed.rs`).

use crate::schema::{Field, ListType, Resolved, SCHEMA, Type};
use crate::status::ApiError;
use serde_json::{Map, Value};

/// What the schema says about a value being merged: its type, and for a list its merge key.
#[derive(Clone, Copy, Default)]
struct Ctx<'a> {
    ty: Option<&'a Type>,
    field: Option<&'a Field>,
}

fn find_field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty)
                && let Some(found) = find_field(inner, name)
            {
                return Some(found);
            }
        } else if f.json == name {
            return Some(f);
        }
    }
    None
}

impl<'a> Ctx<'a> {
    /// The context of `key` inside this object.
    fn child(self, key: &str) -> Ctx<'a> {
        let Some(ty) = self.ty else {
            return Ctx::default();
        };
        match SCHEMA.resolve(ty) {
            Resolved::Struct(_, fields) => match find_field(fields, key) {
                Some(f) => Ctx {
                    ty: Some(&f.ty),
                    field: Some(f),
                },
                None => Ctx::default(),
            },
            Resolved::Other(t) => match SCHEMA.underlying(t) {
                Type::Map(inner) => Ctx {
                    ty: Some(inner),
                    field: None,
                },
                Type::Ptr(inner) => Ctx {
                    ty: Some(inner),
                    field: self.field,
                }
                .child(key),
                _ => Ctx::default(),
            },
            Resolved::Special(_) => Ctx::default(),
        }
    }

    /// The context of the items of this list.
    fn item(self) -> Ctx<'a> {
        match self.ty.map(|t| SCHEMA.underlying(t)) {
            Some(Type::Slice(inner)) => Ctx {
                ty: Some(inner),
                field: None,
            },
            _ => Ctx::default(),
        }
    }

    /// The merge key of this list, from the schema when known.
    fn merge_key(self, name: &str, sample: Option<&Value>) -> Option<String> {
        match self.field {
            Some(f) => f.merge_key.clone().or_else(|| match &f.list {
                Some(ListType::Map(keys)) if keys.len() == 1 => Some(keys[0].clone()),
                _ => None,
            }),
            None if self.ty.is_none() => merge_key(name, sample).map(String::from),
            None => None,
        }
    }

    fn primitive_merge(self, name: &str) -> bool {
        match self.field {
            Some(f) => {
                f.list == Some(ListType::Set) || (f.merge_key.is_none() && primitive_merge(name))
            }
            None => primitive_merge(name),
        }
    }
}

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
            // `application/apply-patch+cbor` needs the CBOR feature gates, off in v1.33.
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// The patch merge key of a list field by name, for kinds outside the type table.
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

/// Applies a patch of type `pt` to `current` and returns the result. A JSON patch or
/// merge patch is applied as gopkg.in/evanphx/json-patch.v4 applies it and its result
/// decoded, a strategic merge patch's result converted, as upstream does
/// (`registry::typecheck`); an apply is only merged here.
pub fn apply(
    pt: PatchType,
    ty: Option<&Type>,
    current: &Value,
    patch: &[u8],
) -> Result<Value, ApiError> {
    use super::typecheck;
    match pt {
        PatchType::Json | PatchType::Merge => {
            // The handler's strict decoding of the patch reads it first
            // (apiserver `pkg/endpoints/handlers/patch.go`, `applyJSPatch`).
            if let Some(e) = crate::schema::gojson::syntax_error(patch) {
                return Err(ApiError::bad_request(format!("error decoding patch: {e}")));
            }
            let text = String::from_utf8_lossy(patch);
            let patched = if pt == PatchType::Json {
                typecheck::json_patch(current, &text)?
            } else {
                typecheck::merge_patch(current, &text)?
            };
            typecheck::patched_object(ty, &patched)
        }
        PatchType::Strategic => {
            // `strategicPatchObject`: the patch read into a map, its error as is.
            if let Some(e) = typecheck::not_a_map(patch) {
                return Err(ApiError::bad_request(e));
            }
            let p: Value = serde_json::from_slice(patch).unwrap_or(Value::Null);
            let p = if p.is_null() {
                Value::Object(Map::new())
            } else {
                p
            };
            let mut merged = merge(current, &p, "", Ctx { ty, field: None });
            typecheck::strategic_result(ty, &p, &mut merged)?;
            Ok(merged)
        }
        PatchType::Apply => {
            let p: Value = crate::object::from_yaml(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding YAML: the applied configuration must be an object",
                ));
            }
            Ok(merge(current, &p, "", Ctx { ty, field: None }))
        }
    }
}

/// A strategic merge of `patch` onto `base` without type information.
#[cfg(test)]
pub fn strategic(base: &Value, patch: &Value, field: &str) -> Value {
    merge(base, patch, field, Ctx::default())
}

fn merge(base: &Value, patch: &Value, field: &str, cx: Ctx<'_>) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            if p.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut out = p.clone();
                out.shift_remove("$patch");
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
                    Some(existing) => merge(existing, v, k, cx.child(k)),
                    None => clean(v),
                };
                out.insert(k.clone(), merged);
            }
            for (f, order) in orders {
                if let (Some(Value::Array(list)), Value::Array(order)) = (out.get_mut(&f), order) {
                    let key = cx.child(&f).merge_key(&f, list.first());
                    reorder(list, &order, key.as_deref());
                }
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(p)) => {
            if let Some(key) = cx.merge_key(field, p.first().or(b.first())) {
                let key = key.as_str();
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
                        (Some(i), false) => out[i] = merge(&out[i], item, "", cx.item()),
                        (None, false) => out.push(clean(item)),
                    }
                }
                Value::Array(out)
            } else if cx.primitive_merge(field) {
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

    /// `patch` applied to the Pod `base` as a strategic merge patch.
    fn strategic_pod_patch(base: &Value, patch: &Value) -> Value {
        let pod = SCHEMA.kind_type("", "v1", "Pod");
        let patch = patch.to_string();
        apply(PatchType::Strategic, pod.as_ref(), base, patch.as_bytes()).unwrap()
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let base = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "a", "$patch": "delete"}]}});
        let out = strategic_pod_patch(&base, &patch);
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "b", "image": "z"}]}})
        );
    }

    #[test]
    fn schema_merge_keys_apply_per_type() {
        // Container ports merge by containerPort; env by name; args replace.
        let base = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 81}], "env": [{"name": "X", "value": "1"}], "args": ["x"]}]}});
        let patch = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 81, "name": "b"}], "env": [{"name": "Y", "value": "2"}], "args": ["y"]}]}});
        let out = strategic_pod_patch(&base, &patch);
        let c = &out["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80}, {"containerPort": 81, "name": "b"}])
        );
        assert_eq!(
            c["env"],
            json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
        );
        assert_eq!(c["args"], json!(["y"]));
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
            None,
            &base,
            br#"[{"op":"remove","path":"/nope"}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        let err = apply(PatchType::Merge, None, &base, b"{not json").unwrap_err();
        assert_eq!(err.code, 400);
    }
}
