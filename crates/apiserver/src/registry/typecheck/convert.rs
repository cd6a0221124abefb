//! The error apimachinery's unstructured converter reports when a map of JSON values does
//! not fit the kind's Go struct (`pkg/runtime/converter.go`, `fromUnstructured`): a
//! strategic merge patch's result is converted this way (apiserver
//! `pkg/endpoints/handlers/patch.go`, `applyPatchToObject`). The walk follows the struct's
//! fields in Go order and stops at the first error; Go visits a map's entries in random
//! order, here in the map's own.
//!
//! - a simple type takes a value of its kind, an integer a float without a fraction; an
//!   int64 refused by a string is `cannot convert int64 to string` (Go can convert one to
//!   the other, the converter will not), a float with a fraction refused by an integer is
//!   `cannot convert float64 to int32`, anything else `unrecognized type: <kind>`;
//! - a map, slice or struct refuses another kind of value: `cannot restore map from
//!   slice`, `cannot restore slice from map`, `cannot restore struct from: string`;
//! - a `[]byte` takes base64 text, read by `json.Unmarshal`;
//! - the types with their own `UnmarshalJSON` (`Time`, `Quantity`, `IntOrString`, ...)
//!   are handed the value's JSON, and their error is the converter's.

use super::gofmt::{Ints, Num, num};
use crate::schema::{Field, Resolved, SCHEMA, Special, Type};
use serde_json::Value;

/// Numbers of a strategic merge patch (`kjson.UnmarshalStrict`) or a stored object.
const INTS: Ints = Ints::Literal;

/// The converter's error for `v` as the kind `ty`, if any. Like the conversion, this
/// leaves an integral float where Go has an integer as the integer it becomes.
pub fn from_unstructured(ty: &Type, v: &mut Value) -> Option<String> {
    value(ty, &crate::schema::gojson::expr_of(ty), v).err()
}

/// `reflect.Kind` of a value as the decoder left it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n, INTS) {
            Num::Int(_) => "int64",
            Num::Float(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// `reflect.Type.String` of a named type: `core/v1.Protocol` is `v1.Protocol`.
fn display(expr: &str) -> &str {
    expr.rsplit('/').next().unwrap_or(expr)
}

/// The element or value type of a slice or map expression; of a named one
/// (`core/v1.ResourceList`), the table's `inner`.
fn elem(expr: &str, inner: &Type) -> String {
    if let Some(e) = expr.strip_prefix("[]") {
        return e.to_string();
    }
    match expr.strip_prefix("map[").and_then(|r| r.split_once(']')) {
        Some((_, v)) => v.to_string(),
        None => crate::schema::gojson::expr_of(inner),
    }
}

fn value(ty: &Type, expr: &str, v: &mut Value) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    let expr = expr.trim_start_matches('*');
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fields) => match v {
            Value::Object(_) => strukt(fields, v),
            other => Err(format!("cannot restore struct from: {}", kind(other))),
        },
        Resolved::Special(Special::String) => simple("string", display(expr), v),
        // The special's own name, whatever alias led to it.
        Resolved::Special(_) => match ty {
            Type::Named(id) => unmarshal(id, v),
            _ => unmarshal(expr, v),
        },
        Resolved::Other(t) => match t {
            Type::Ptr(inner) => value(inner, expr, v),
            Type::Any | Type::Deduced | Type::Named(_) => Ok(()),
            Type::Bytes => bytes(v),
            Type::Slice(inner) => match v {
                Value::Array(items) => {
                    let e = elem(expr, inner);
                    items.iter_mut().try_for_each(|i| value(inner, &e, i))
                }
                other => Err(format!("cannot restore slice from {}", kind(other))),
            },
            Type::Map(inner) => match v {
                Value::Object(m) => {
                    let e = elem(expr, inner);
                    m.values_mut().try_for_each(|i| value(inner, &e, i))
                }
                other => Err(format!("cannot restore map from {}", kind(other))),
            },
            basic => match basic_kind(expr) {
                Some(k) => simple(k, k, v),
                // A named type over a basic one (`type Protocol string`): named by
                // itself, of the basic one's kind.
                None => {
                    let k = match basic {
                        Type::String => "string",
                        Type::Bool => "bool",
                        Type::Float => "float64",
                        _ => "int64",
                    };
                    simple(k, display(expr), v)
                }
            },
        },
    }
}

/// The `reflect.Kind` of a basic Go type's name.
fn basic_kind(expr: &str) -> Option<&str> {
    match expr {
        "byte" => Some("uint8"),
        "string" | "bool" | "int" | "int8" | "int16" | "int32" | "int64" | "uint" | "uint8"
        | "uint16" | "uint32" | "uint64" | "float32" | "float64" => Some(expr),
        _ => None,
    }
}

/// `structFromUnstructured`: the fields in Go order, the inline ones over the same map.
fn strukt(fields: &[Field], v: &mut Value) -> Result<(), String> {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                strukt(inner, v)?;
            }
            continue;
        }
        if let Some(fv) = v.get_mut(&f.json) {
            value(&f.ty, &f.go, fv)?;
        }
    }
    Ok(())
}

/// `fromUnstructured` for a destination of a simple kind (`dt_kind`: `string`, `int32`,
/// `float64`, `bool`), named `dt_name`.
fn simple(dt_kind: &str, dt_name: &str, v: &mut Value) -> Result<(), String> {
    let int_kind = dt_kind.starts_with("int") || dt_kind.starts_with("uint");
    let float_kind = dt_kind.starts_with("float");
    let fits = match v {
        Value::String(_) => dt_kind == "string",
        Value::Bool(_) => dt_kind == "bool",
        Value::Number(n) => match num(n, INTS) {
            Num::Int(_) if int_kind || float_kind => true,
            // Go converts an integer to a string (a rune), the converter refuses it.
            Num::Int(_) if dt_kind == "string" => {
                return Err(format!("cannot convert int64 to {dt_name}"));
            }
            Num::Float(_) if float_kind => true,
            Num::Float(f) if int_kind => {
                if f.trunc() == f {
                    // `sv.Convert(dt)`: the integer it is.
                    *v = Value::from(f as i64);
                    return Ok(());
                } else {
                    return Err(format!("cannot convert float64 to {dt_name}"));
                }
            }
            _ => false,
        },
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("unrecognized type: {dt_kind}"))
    }
}

/// `sliceFromUnstructured` into a `[]byte`: base64 text through `json.Unmarshal`.
fn bytes(v: &mut Value) -> Result<(), String> {
    match v {
        Value::String(s) if s.is_empty() => Ok(()),
        Value::String(_) => match crate::schema::gojson::type_error("[]byte", &*v, &[]) {
            Some(e) => Err(format!("error decoding from json: {e}")),
            None => Ok(()),
        },
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| simple("uint8", "uint8", i)),
        other => Err(format!("cannot restore slice from {}", kind(other))),
    }
}

/// `TypeReflectCacheEntry.FromUnstructured` (structured-merge-diff `value/reflectcache.go`):
/// the value's JSON handed to the type's `UnmarshalJSON`, whose error is the converter's.
fn unmarshal(type_id: &str, v: &Value) -> Result<(), String> {
    let literal = match v {
        Value::Number(n) => Some(match num(n, INTS) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_json_float(f),
        }),
        _ => None,
    };
    let numbers: Vec<&str> = literal.iter().map(String::as_str).collect();
    match crate::schema::gojson::type_error(type_id, v, &numbers) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `json.Marshal` of a float64 (`$GOROOT/src/encoding/json/encode.go`, `floatEncoder`):
/// `%f` between 1e-6 and 1e21, else `%e` with a two-digit exponent trimmed to one.
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return super::gofmt::go_g(f).replace("e-0", "e-");
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: (&str, &str, &str), v: Value) -> Option<String> {
        let ty = SCHEMA.kind_type(kind.0, kind.1, kind.2).unwrap();
        let mut v = v;
        from_unstructured(&ty, &mut v)
    }

    #[test]
    fn simple_kinds_refuse_as_the_converter_does() {
        // Each checked against the reference's answer to a strategic merge patch.
        let cm = ("", "v1", "ConfigMap");
        let deploy = ("apps", "v1", "Deployment");
        let cases = [
            (
                cm,
                json!({"data": {"a": true}}),
                "unrecognized type: string",
            ),
            (
                cm,
                json!({"data": {"a": 1}}),
                "cannot convert int64 to string",
            ),
            (cm, json!({"data": {"a": 1.5}}), "unrecognized type: string"),
            (cm, json!({"data": [1]}), "cannot restore map from slice"),
            (
                cm,
                json!({"metadata": {"labels": "x"}}),
                "cannot restore map from string",
            ),
            (
                cm,
                json!({"metadata": {"generation": "x"}}),
                "unrecognized type: int64",
            ),
            (
                cm,
                json!({"metadata": {"generation": 1.5}}),
                "cannot convert float64 to int64",
            ),
            (
                cm,
                json!({"metadata": {"finalizers": [1]}}),
                "cannot convert int64 to string",
            ),
            (cm, json!({"immutable": "x"}), "unrecognized type: bool"),
            (
                deploy,
                json!({"spec": {"replicas": "2"}}),
                "unrecognized type: int32",
            ),
            (
                deploy,
                json!({"spec": {"replicas": 2.5}}),
                "cannot convert float64 to int32",
            ),
            (
                deploy,
                json!({"spec": {"paused": "yes"}}),
                "unrecognized type: bool",
            ),
            (
                deploy,
                json!({"spec": {"strategy": "x"}}),
                "cannot restore struct from: string",
            ),
        ];
        for (kind, v, want) in cases {
            assert_eq!(check(kind, v.clone()).as_deref(), Some(want), "{v}");
        }
        assert_eq!(check(deploy, json!({"spec": {"replicas": 2.0}})), None);
    }

    #[test]
    fn own_unmarshallers_give_their_errors() {
        let cm = ("", "v1", "ConfigMap");
        assert_eq!(
            check(cm, json!({"metadata": {"creationTimestamp": 1}})).as_deref(),
            Some("json: cannot unmarshal number into Go value of type string")
        );
        let pod = ("", "v1", "Pod");
        let cpu = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": true}}}]}});
        assert_eq!(
            check(pod, cpu).as_deref(),
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            )
        );
        assert_eq!(go_json_float(1.5), "1.5");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
    }
}
