//! JSON to protobuf, as gogo's generated marshallers write it: fields in number order,
//! non-pointer fields always, map entries sorted by key.

use super::{ProtoError, put_bytes, put_key, put_varint};
use crate::schema::duration::parse_go_duration;
use crate::schema::{Field, Resolved, SCHEMA, Special, Type};
use base64::Engine;
use serde_json::{Map, Value};

/// Encodes the JSON form `v` of type `ty` as a protobuf message.
pub fn encode(ty: &Type, v: &Value) -> Result<Vec<u8>, ProtoError> {
    let Resolved::Struct(_, fs) = SCHEMA.resolve(ty) else {
        return Err(ProtoError::UnknownType(format!("{ty:?}")));
    };
    let mut out = Vec::new();
    encode_struct(fs, v.as_object(), &mut out);
    Ok(out)
}

fn encode_struct(fs: &[Field], obj: Option<&Map<String, Value>>, out: &mut Vec<u8>) {
    let mut ordered: Vec<&Field> = fs.iter().filter(|f| f.pb.is_some()).collect();
    ordered.sort_by_key(|f| f.pb);
    for f in ordered {
        let num = f.pb.expect("filtered");
        if f.inline {
            if let Resolved::Struct(_, inner) = SCHEMA.resolve(&f.ty) {
                let mut buf = Vec::new();
                encode_struct(inner, obj, &mut buf);
                put_bytes(out, num, &buf);
            }
            continue;
        }
        let given = obj.and_then(|o| o.get(&f.json)).filter(|v| !v.is_null());
        // A named slice (`Verbs`, `ExtraValue`) is a message of its own, written when the
        // slice is not nil (`metav1` `generated.pb.go`, `APIResource.MarshalToSizedBuffer`).
        if is_named_slice(&f.ty) {
            if let Some(v) = given {
                encode_value(&f.ty, num, v, out);
            }
            continue;
        }
        match SCHEMA.underlying(&f.ty) {
            Type::Ptr(inner) => {
                if let Some(v) = given {
                    encode_value(inner, num, v, out);
                }
            }
            // A `[]byte` is written when it is not nil (`if m.CABundle != nil`,
            // kube-aggregator v0.33.3 `apiregistration/v1/generated.pb.go`); JSON leaves a
            // nil one out.
            Type::Bytes => {
                if let Some(v) = given {
                    encode_scalar(&Type::Bytes, num, v, out);
                }
            }
            Type::Slice(inner) => {
                for item in given.and_then(Value::as_array).into_iter().flatten() {
                    encode_value(inner, num, item, out);
                }
            }
            Type::Map(inner) => {
                if let Some(m) = given.and_then(Value::as_object) {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    for k in keys {
                        let mut entry = Vec::new();
                        put_bytes(&mut entry, 1, k.as_bytes());
                        encode_value(inner, 2, &m[k], &mut entry);
                        put_bytes(out, num, &entry);
                    }
                }
            }
            t => {
                // gogo writes non-pointer fields even when they hold the zero value.
                let zero = crate::schema::json::zero(t);
                encode_value(t, num, given.unwrap_or(&zero), out);
            }
        }
    }
}

/// A named slice marked `+protobuf.nullable=true`: go-to-protobuf makes it a message whose
/// items are field 1 (`Verbs`, `ExtraValue`); any other named slice is a repeated field.
pub(super) fn is_named_slice(ty: &Type) -> bool {
    SCHEMA.is_nullable_slice(ty) && matches!(SCHEMA.underlying(ty), Type::Slice(_))
}

fn encode_value(ty: &Type, num: u32, v: &Value, out: &mut Vec<u8>) {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fs) => {
            let mut buf = Vec::new();
            encode_struct(fs, v.as_object(), &mut buf);
            put_bytes(out, num, &buf);
        }
        Resolved::Special(Special::String) => {
            put_bytes(out, num, v.as_str().unwrap_or("").as_bytes())
        }
        Resolved::Special(sp) => {
            let mut buf = Vec::new();
            encode_special(sp, v, &mut buf);
            put_bytes(out, num, &buf);
        }
        // A named slice in a map's value (`ExtraValue []string`) is a message of its own
        // whose items are field 1 (`k8s.io/api/authentication/v1/generated.proto`,
        // `message ExtraValue { repeated string items = 1; }`).
        Resolved::Other(Type::Slice(inner)) => {
            let mut buf = Vec::new();
            for item in v.as_array().into_iter().flatten() {
                encode_value(inner, 1, item, &mut buf);
            }
            put_bytes(out, num, &buf);
        }
        Resolved::Other(t) => encode_scalar(t, num, v, out),
    }
}

/// A special type's message (`metav1.Time`, `Duration`, `Quantity`, `IntOrString`,
/// `RawExtension`) as gogo's marshallers write it.
fn encode_special(sp: Special, v: &Value, buf: &mut Vec<u8>) {
    {
        {
            match sp {
                // `time_proto.go` / `micro_time_proto.go` (apimachinery v0.33.3): a zero time
                // marshals to an empty message; any other is a `Timestamp`, whose generated
                // marshaller writes both fields always. `Time` leaves `Nanos` at zero (its
                // JSON holds seconds only); `MicroTime` keeps them, truncated to microseconds.
                Special::Time | Special::MicroTime => {
                    if let Some(t) = v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
                        put_key(buf, 1, 0);
                        put_varint(buf, t.as_second() as u64);
                        let nanos = match sp {
                            Special::MicroTime => t.subsec_nanosecond() / 1000 * 1000,
                            _ => 0,
                        };
                        put_key(buf, 2, 0);
                        put_varint(buf, nanos as u64);
                    }
                }
                Special::Duration => {
                    let ns = v.as_str().and_then(parse_go_duration).unwrap_or(0);
                    put_key(buf, 1, 0);
                    put_varint(buf, ns as u64);
                }
                Special::Quantity | Special::String => {
                    put_bytes(buf, 1, v.as_str().unwrap_or("").as_bytes())
                }
                Special::IntOrString => match v {
                    Value::String(s) => {
                        put_key(buf, 1, 0);
                        put_varint(buf, 1);
                        put_key(buf, 2, 0);
                        put_varint(buf, 0);
                        put_bytes(buf, 3, s.as_bytes());
                    }
                    other => {
                        put_key(buf, 1, 0);
                        put_varint(buf, 0);
                        put_key(buf, 2, 0);
                        put_varint(buf, other.as_i64().unwrap_or(0) as u64);
                        put_bytes(buf, 3, b"");
                    }
                },
                Special::RawJson => {
                    if !v.is_null() {
                        put_bytes(buf, 1, &serde_json::to_vec(v).unwrap_or_default());
                    }
                }
                // apiextensions v0.33.3 `generated.pb.go`: `JSONSchemaPropsOrBool` writes
                // `allows` (1) always and `schema` (2) when set; `JSONSchemaPropsOrArray`
                // its `schema` (1) when set and each of `jSONSchemas` (2);
                // `JSONSchemaPropsOrStringArray` its `schema` (1) and each `property` (2).
                // A schema in JSON is the side that holds it (`marshal.go`).
                Special::SchemaOrBool => {
                    put_key(buf, 1, 0);
                    put_varint(buf, u64::from(v.as_bool().unwrap_or(v.is_object())));
                    if v.is_object() {
                        encode_value(&schema_props(), 2, v, buf);
                    }
                }
                Special::SchemaOrArray | Special::SchemaOrStringArray => {
                    if v.is_object() {
                        encode_value(&schema_props(), 1, v, buf);
                    }
                    for item in v.as_array().into_iter().flatten() {
                        match sp {
                            Special::SchemaOrArray => encode_value(&schema_props(), 2, item, buf),
                            _ => put_bytes(buf, 2, item.as_str().unwrap_or("").as_bytes()),
                        }
                    }
                }
            }
        }
    }
}

fn schema_props() -> Type {
    Type::Named(crate::schema::JSON_SCHEMA_PROPS.into())
}

/// A scalar field.
fn encode_scalar(t: &Type, num: u32, v: &Value, out: &mut Vec<u8>) {
    {
        match t {
            Type::Bool => {
                put_key(out, num, 0);
                put_varint(out, u64::from(v.as_bool().unwrap_or(false)));
            }
            Type::Int => {
                put_key(out, num, 0);
                put_varint(out, v.as_i64().unwrap_or(0) as u64);
            }
            Type::Float => {
                put_key(out, num, 1);
                out.extend_from_slice(&v.as_f64().unwrap_or(0.0).to_bits().to_le_bytes());
            }
            Type::Bytes => {
                let b = v
                    .as_str()
                    .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    .unwrap_or_default();
                put_bytes(out, num, &b);
            }
            _ => put_bytes(out, num, v.as_str().unwrap_or("").as_bytes()),
        }
    }
}
