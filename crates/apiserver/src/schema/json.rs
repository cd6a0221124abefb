//! Go `encoding/json` output for API objects: fields in struct order, `omitempty`
//! honoured, zero values written for the rest (`"creationTimestamp": null`,
//! `"rules": null`), map keys sorted, unknown keys dropped.
//!
//! Mirrors what the API server's JSON serializer produces after decoding a request into
//! the Go struct and encoding it again (apimachinery `pkg/runtime/serializer/json`).

use super::{Resolved, SCHEMA, Special, Type};
use serde_json::{Map, Value};

/// Re-encodes `v` as a value of type `ty` would be written by Go.
pub fn encode(ty: &Type, v: &Value) -> Value {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fields) => {
            let mut out = Map::new();
            encode_struct_into(fields, v.as_object(), &mut out);
            Value::Object(out)
        }
        Resolved::Special(sp) => match (sp, v) {
            (Special::Time | Special::MicroTime | Special::RawJson, Value::Null) => Value::Null,
            // apiextensions `marshal.go`: each union writes the side it holds, a schema as
            // `JSONSchemaProps`; an empty list holds neither side, which is `null`.
            (
                Special::SchemaOrBool | Special::SchemaOrArray | Special::SchemaOrStringArray,
                Value::Object(_),
            ) => encode(&Type::Named(super::JSON_SCHEMA_PROPS.into()), v),
            (Special::SchemaOrArray, Value::Array(items)) if !items.is_empty() => Value::Array(
                items
                    .iter()
                    .map(|i| encode(&Type::Named(super::JSON_SCHEMA_PROPS.into()), i))
                    .collect(),
            ),
            (Special::SchemaOrArray | Special::SchemaOrStringArray, Value::Array(items))
                if items.is_empty() =>
            {
                Value::Null
            }
            // Neither a schema nor a list: `UnmarshalJSON` leaves both sides empty.
            (Special::SchemaOrArray | Special::SchemaOrStringArray, v) if !v.is_array() => {
                Value::Null
            }
            _ => v.clone(),
        },
        Resolved::Other(t) => match (t, v) {
            (_, Value::Null) => Value::Null,
            (Type::Ptr(inner), v) => encode(inner, v),
            (Type::Slice(inner), Value::Array(items)) => {
                Value::Array(items.iter().map(|i| encode(inner, i)).collect())
            }
            (Type::Map(inner), Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), encode(inner, &m[k])))
                        .collect(),
                )
            }
            (_, v) => v.clone(),
        },
    }
}

fn encode_struct_into(
    fields: &[super::Field],
    input: Option<&Map<String, Value>>,
    out: &mut Map<String, Value>,
) {
    for f in fields {
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                encode_struct_into(inner, input, out);
            }
            continue;
        }
        let given = input.and_then(|m| m.get(&f.json));
        let value = match given {
            Some(v) if !v.is_null() => encode(&f.ty, v),
            // Absent or null: Go holds the zero value.
            _ => zero(&f.ty),
        };
        if f.omitempty && is_empty(&f.ty, &value) {
            continue;
        }
        out.insert(f.json.clone(), value);
    }
}

/// What Go writes for the zero value of `ty`.
pub fn zero(ty: &Type) -> Value {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fields) => {
            let mut out = Map::new();
            encode_struct_into(fields, None, &mut out);
            Value::Object(out)
        }
        Resolved::Special(sp) => match sp {
            Special::Time
            | Special::MicroTime
            | Special::RawJson
            | Special::SchemaOrBool
            | Special::SchemaOrArray
            | Special::SchemaOrStringArray => Value::Null,
            Special::Duration => Value::String("0s".into()),
            Special::Quantity => Value::String("0".into()),
            Special::IntOrString => Value::from(0),
            Special::String => Value::String(String::new()),
        },
        Resolved::Other(t) => match t {
            Type::String => Value::String(String::new()),
            Type::Bool => Value::Bool(false),
            Type::Int => Value::from(0),
            Type::Float => Value::from(0),
            _ => Value::Null,
        },
    }
}

/// Go's `isEmptyValue`: false, 0, "", nil pointers and interfaces, empty slices and maps.
/// Structs are never empty.
fn is_empty(ty: &Type, v: &Value) -> bool {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(..) => false,
        Resolved::Special(sp) => match sp {
            // Time and friends are structs in Go: never omitted by omitempty (an empty
            // RawExtension is written `null`, `runtime.RawExtension.MarshalJSON`; a nil
            // `*FieldsV1` is a pointer, omitted before it gets here).
            Special::Time
            | Special::MicroTime
            | Special::Duration
            | Special::Quantity
            | Special::IntOrString
            | Special::RawJson
            | Special::SchemaOrBool
            | Special::SchemaOrArray
            | Special::SchemaOrStringArray => false,
            Special::String => v.as_str() == Some(""),
        },
        Resolved::Other(t) => match (t, v) {
            (_, Value::Null) => true,
            (Type::Ptr(_), _) => false,
            (_, Value::Bool(b)) => !b,
            (_, Value::Number(n)) => n.as_f64() == Some(0.0),
            (_, Value::String(s)) => s.is_empty(),
            (_, Value::Array(a)) => a.is_empty(),
            (_, Value::Object(o)) => o.is_empty(),
        },
    }
}
