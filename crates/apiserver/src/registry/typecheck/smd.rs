//! structured-merge-diff's check of an applied configuration against the kind's schema
//! (sigs.k8s.io/structured-merge-diff/v4 `typed/validate.go`, `typed/helpers.go`), with
//! the schema kube-apiserver builds from its OpenAPI definitions (k8s.io/kube-openapi
//! `pkg/schemaconv/openapi.go`, `smd.go`) read off the type table instead:
//!
//! - a struct is a map of its fields, and a key it lacks is `field not declared in
//!   schema`; a struct without fields is a free-form map (`__untyped_deduced_`);
//! - `string` and `[]byte` are `string`, integers and floats `numeric`, `bool` `boolean`;
//!   `Time`, `MicroTime`, `IntOrString` and `Quantity` (string formats, hard-coded for
//!   Quantity) are `untyped` scalars, `RawExtension` anything, `Duration` a string;
//! - a list is keyed by its `listMapKey`s, else by its patch merge key, a set with
//!   `listType=set`, otherwise atomic (`getListElementRelationship`); a key an item omits
//!   takes the field's OpenAPI default: the `+default` of a port's `protocol` (`TCP`), or
//!   the zero value openapi-gen gives a field without `omitempty`.
//!
//! Go iterates a map in random order, so which of several errors come first differs
//! from one request to the next upstream; keys are visited sorted here.

use super::gofmt::{Ints, go_sharp_v, go_type, go_v};
use crate::schema::{Field, ListType, Resolved, SCHEMA, Special, Type};
use serde_json::{Map, Value};

/// Numbers of an applied configuration (apimachinery `pkg/util/yaml` `Unmarshal`).
const INTS: Ints = Ints::Integral;

/// One `ValidationError`: its path (`.spec.containers[name="a"].image`) and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub path: String,
    pub message: String,
}

/// `ValidationErrors.Error()`: one error as `path: message`, several as a list.
pub fn errors_text(errs: &[Error]) -> String {
    let one = |e: &Error| {
        if e.path.is_empty() {
            e.message.clone()
        } else {
            format!("{}: {}", e.path, e.message)
        }
    };
    match errs {
        [e] => one(e),
        _ => {
            let mut lines = vec!["errors:".to_string()];
            lines.extend(errs.iter().map(|e| format!("  {}", one(e))));
            lines.join("\n")
        }
    }
}

/// The scalars of the schema (`schema.Scalar`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    String,
    Numeric,
    Boolean,
    Untyped,
}

/// How a list's items are told apart (`schema.List`).
#[derive(Debug, Clone, PartialEq)]
enum ListKind {
    Atomic,
    Set,
    Keyed(Vec<String>),
}

/// What the schema says a value is (`schema.Atom`).
enum Atom<'a> {
    Scalar(Scalar),
    Struct(Vec<&'a Field>),
    Map(&'a Type),
    List(&'a Type, ListKind),
    /// A free-form value: anything goes.
    Any,
}

/// A struct's fields with the inline structs' (`TypeMeta`) in place.
fn flatten<'a>(fields: &'a [Field], out: &mut Vec<&'a Field>) {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                flatten(inner, out);
            }
        } else {
            out.push(f);
        }
    }
}

fn atom<'a>(ty: &'a Type, field: Option<&'a Field>) -> Atom<'a> {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fields) => {
            let mut all = Vec::new();
            flatten(fields, &mut all);
            if all.is_empty() {
                Atom::Any
            } else {
                Atom::Struct(all)
            }
        }
        Resolved::Special(sp) => match sp {
            Special::Duration | Special::String => Atom::Scalar(Scalar::String),
            // apiextensions' schema unions are untyped in structured-merge-diff's schema
            // (`JSONSchemaProps` and friends have custom OpenAPI types).
            Special::RawJson
            | Special::SchemaOrBool
            | Special::SchemaOrArray
            | Special::SchemaOrStringArray => Atom::Any,
            Special::Time | Special::MicroTime | Special::Quantity | Special::IntOrString => {
                Atom::Scalar(Scalar::Untyped)
            }
        },
        Resolved::Other(t) => match t {
            Type::String | Type::Bytes => Atom::Scalar(Scalar::String),
            Type::Bool => Atom::Scalar(Scalar::Boolean),
            Type::Int | Type::Float => Atom::Scalar(Scalar::Numeric),
            Type::Ptr(inner) => atom(inner, field),
            Type::Slice(inner) => Atom::List(inner, list_kind(field)),
            Type::Map(inner) => Atom::Map(inner),
            Type::Any | Type::Deduced | Type::Named(_) => Atom::Any,
        },
    }
}

/// kube-openapi `getListElementRelationship`: `listType` first, then the merge key.
fn list_kind(field: Option<&Field>) -> ListKind {
    let Some(f) = field else {
        return ListKind::Atomic;
    };
    match (&f.list, &f.merge_key) {
        (Some(ListType::Map(keys)), _) if !keys.is_empty() => ListKind::Keyed(keys.clone()),
        (Some(ListType::Set), _) => ListKind::Set,
        (Some(ListType::Atomic), _) => ListKind::Atomic,
        (_, Some(key)) => ListKind::Keyed(vec![key.clone()]),
        _ => ListKind::Atomic,
    }
}

/// `&value.valueUnstructured{Value:...}`, `&{...}`: how the messages print a value.
fn sharp(v: &Value) -> String {
    format!("&value.valueUnstructured{{Value:{}}}", go_sharp_v(v, INTS))
}

fn plain(v: &Value) -> String {
    format!("&{{{}}}", go_v(v, INTS))
}

fn error(message: String) -> Vec<Error> {
    vec![Error {
        path: String::new(),
        message,
    }]
}

fn prefixed(mut errs: Vec<Error>, prefix: &str) -> Vec<Error> {
    for e in &mut errs {
        e.path.insert_str(0, prefix);
    }
    errs
}

/// The errors of `v` as a value of `ty` (`validatingObjectWalker.validate`).
pub fn validate(ty: &Type, field: Option<&Field>, v: &Value) -> Vec<Error> {
    match atom(ty, field) {
        Atom::Any => Vec::new(),
        Atom::Scalar(s) => scalar(s, v),
        Atom::Struct(fields) => match v {
            Value::Null => Vec::new(),
            Value::Object(m) => map_items(m, |k| {
                fields
                    .iter()
                    .find(|f| f.json == k)
                    .map(|f| (&f.ty, Some(*f)))
            }),
            other => error(format!("expected map, got {}", plain(other))),
        },
        Atom::Map(elem) => match v {
            Value::Null => Vec::new(),
            Value::Object(m) => map_items(m, |_| Some((elem, None))),
            other => error(format!("expected map, got {}", plain(other))),
        },
        Atom::List(elem, kind) => match v {
            Value::Null => Vec::new(),
            Value::Array(items) => list_items(elem, &kind, items),
            other => error(format!("expected list, got {}", plain(other))),
        },
    }
}

/// `validateScalar`.
fn scalar(s: Scalar, v: &Value) -> Vec<Error> {
    let ok = matches!(
        (s, v),
        (_, Value::Null)
            | (Scalar::String, Value::String(_))
            | (Scalar::Numeric, Value::Number(_))
            | (Scalar::Boolean, Value::Bool(_))
            | (
                Scalar::Untyped,
                Value::String(_) | Value::Number(_) | Value::Bool(_)
            )
    );
    if ok {
        return Vec::new();
    }
    error(match s {
        Scalar::String => format!("expected string, got {}", sharp(v)),
        Scalar::Numeric => format!("expected numeric (int or float), got {}", go_type(v, INTS)),
        Scalar::Boolean => format!("expected boolean, got {}", plain(v)),
        Scalar::Untyped => format!("expected any scalar, got {}", plain(v)),
    })
}

/// `visitMapItems`: a key the struct lacks ends the walk of this map.
fn map_items<'a>(
    m: &Map<String, Value>,
    lookup: impl Fn(&str) -> Option<(&'a Type, Option<&'a Field>)>,
) -> Vec<Error> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let mut errs = Vec::new();
    for k in keys {
        let prefix = format!(".{k}");
        let Some((ty, field)) = lookup(k) else {
            errs.extend(prefixed(
                error("field not declared in schema".into()),
                &prefix,
            ));
            break;
        };
        errs.extend(prefixed(validate(ty, field, &m[k]), &prefix));
    }
    errs
}

/// `visitListItems`: items of an atomic list by index, of a set by value, of a keyed
/// list by their keys; duplicates are errors (an applied configuration may have none).
fn list_items(elem: &Type, kind: &ListKind, items: &[Value]) -> Vec<Error> {
    let mut errs = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pe = match kind {
            ListKind::Atomic => format!("[{i}]"),
            ListKind::Set => match set_element(item) {
                Ok(pe) => pe,
                Err(why) => {
                    errs.extend(error(format!("element {i}: {why}")));
                    return errs;
                }
            },
            ListKind::Keyed(keys) => match keyed_element(elem, keys, item) {
                Ok(pe) => pe,
                Err(why) => {
                    errs.extend(error(format!("element {i}: {why}")));
                    return errs;
                }
            },
        };
        if *kind != ListKind::Atomic {
            if seen.contains(&pe) {
                errs.extend(error(format!("duplicate entries for key {pe}")));
            }
            seen.push(pe.clone());
        }
        errs.extend(prefixed(validate(elem, None, item), &pe));
    }
    errs
}

/// `setItemToPathElement`: `[="a"]`.
fn set_element(item: &Value) -> Result<String, &'static str> {
    match item {
        Value::Object(_) => Err("associative list without keys has an element that's a map type"),
        Value::Array(_) => Err("not supported: associative list with lists as elements"),
        Value::Null => Err("associative list without keys has an element that's an explicit null"),
        v => Ok(format!("[={}]", to_string(v))),
    }
}

/// `keyedAssociativeListItemToPathElement`: `[containerPort=80,protocol="TCP"]`, the keys
/// sorted by name.
fn keyed_element(elem: &Type, keys: &[String], item: &Value) -> Result<String, String> {
    let m = match item {
        Value::Null => return Err("associative list with keys may not have a null element".into()),
        Value::Object(m) => m,
        _ => return Err("associative list with keys may not have non-map elements".into()),
    };
    let mut parts: Vec<(&str, String)> = Vec::new();
    for key in keys {
        let v = match m.get(key) {
            Some(v) => v.clone(),
            None => key_default(elem, key).ok_or_else(|| {
                format!(
                    "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                    crate::status::quote(key)
                )
            })?,
        };
        parts.push((key, to_string(&v)));
    }
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(format!("[{}]", parts.join(",")))
}

/// The OpenAPI default of a list key (`getAssociativeKeyDefault`): the `+default` a port's
/// `protocol` carries, or the zero value openapi-gen writes for a field without
/// `omitempty` that is no pointer.
fn key_default(elem: &Type, key: &str) -> Option<Value> {
    let Resolved::Struct(_, fields) = SCHEMA.resolve(elem) else {
        return None;
    };
    let mut all = Vec::new();
    flatten(fields, &mut all);
    let f = all.into_iter().find(|f| f.json == key)?;
    if key == "protocol" {
        return Some(Value::String("TCP".into()));
    }
    if f.omitempty {
        return None;
    }
    match SCHEMA.resolve(&f.ty) {
        Resolved::Other(Type::String) | Resolved::Special(Special::String) => {
            Some(Value::String(String::new()))
        }
        Resolved::Other(Type::Int | Type::Float) => Some(Value::from(0)),
        Resolved::Other(Type::Bool) => Some(Value::Bool(false)),
        _ => None,
    }
}

/// `value.ToString`: how a key or set item prints in a path.
fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => crate::status::quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(to_string).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", to_string(v)))
            .collect(),
        Value::Null => "null".into(),
        other => go_v(other, INTS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: (&str, &str, &str), v: Value) -> String {
        let ty = SCHEMA.kind_type(kind.0, kind.1, kind.2).unwrap();
        errors_text(&validate(&ty, None, &v))
    }

    #[test]
    fn scalar_refusals_print_as_go() {
        let cm = ("", "v1", "ConfigMap");
        assert_eq!(
            check(cm, json!({"data": {"a": 1}})),
            ".data.a: expected string, got &value.valueUnstructured{Value:1}"
        );
        assert_eq!(
            check(cm, json!({"data": {"a": {"z": 1.5, "b": ["x", null]}}})),
            r#".data.a: expected string, got &value.valueUnstructured{Value:map[string]interface {}{"b":[]interface {}{"x", interface {}(nil)}, "z":1.5}}"#
        );
        assert_eq!(
            check(cm, json!({"data": ["a"]})),
            ".data: expected map, got &{[a]}"
        );
        let deploy = ("apps", "v1", "Deployment");
        assert_eq!(
            check(deploy, json!({"spec": {"replicas": "2"}})),
            ".spec.replicas: expected numeric (int or float), got string"
        );
        let pod = ("", "v1", "Pod");
        assert_eq!(
            check(pod, json!({"spec": {"hostNetwork": {"a": [1, "b"]}}})),
            ".spec.hostNetwork: expected boolean, got &{map[a:[1 b]]}"
        );
        assert_eq!(
            check(pod, json!({"metadata": {"creationTimestamp": [1]}})),
            ".metadata.creationTimestamp: expected any scalar, got &{[1]}"
        );
    }

    #[test]
    fn several_errors_and_unknown_fields() {
        let cm = ("", "v1", "ConfigMap");
        assert_eq!(
            check(
                cm,
                json!({"metadata": {"labels": {"x": 1}}, "data": {"a": 1.5}})
            ),
            "errors:\n  .data.a: expected string, got &value.valueUnstructured{Value:1.5}\n  .metadata.labels.x: expected string, got &value.valueUnstructured{Value:1}"
        );
        assert_eq!(
            check(cm, json!({"spec": {"a": 1}})),
            ".spec: field not declared in schema"
        );
        // The walk of a map ends at its first undeclared key.
        assert_eq!(
            check(cm, json!({"metadata": {"bar": 1, "foo": 2}})),
            ".metadata.bar: field not declared in schema"
        );
    }

    #[test]
    fn list_items_are_named_by_their_keys() {
        let pod = ("", "v1", "Pod");
        let spec = json!({"spec": {"containers": [{"name": "a", "image": 1, "ports": [{"containerPort": "x"}, {"name": true}]}]}});
        assert_eq!(
            check(pod, spec),
            "errors:\n  .spec.containers[name=\"a\"].image: expected string, got &value.valueUnstructured{Value:1}\n  .spec.containers[name=\"a\"].ports[containerPort=\"x\",protocol=\"TCP\"].containerPort: expected numeric (int or float), got string\n  .spec.containers[name=\"a\"].ports[containerPort=0,protocol=\"TCP\"].name: expected string, got &value.valueUnstructured{Value:true}"
        );
        let dup = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        assert_eq!(
            check(pod, dup),
            ".spec.containers: duplicate entries for key [name=\"a\"]"
        );
        let cm = ("", "v1", "ConfigMap");
        assert_eq!(
            check(
                cm,
                json!({"metadata": {"finalizers": ["a", "a", {"b": 1}]}})
            ),
            "errors:\n  .metadata.finalizers: duplicate entries for key [=\"a\"]\n  .metadata.finalizers: element 2: associative list without keys has an element that's a map type"
        );
    }
}
