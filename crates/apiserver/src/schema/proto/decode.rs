//! Protobuf to JSON: the envelope, then each field by its number in the type table.

use super::{GO_ZERO_TIME, MAGIC, ProtoError};
use crate::schema::duration::go_duration;
use crate::schema::{Field, Resolved, SCHEMA, Special, Type};
use base64::Engine;
use serde_json::{Map, Value};

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or(ProtoError::Malformed)?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(ProtoError::Malformed)
    }

    fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let len = usize::try_from(self.varint()?).map_err(|_| ProtoError::Malformed)?;
        let end = self.pos.checked_add(len).ok_or(ProtoError::Malformed)?;
        let s = self.buf.get(self.pos..end).ok_or(ProtoError::Malformed)?;
        self.pos = end;
        Ok(s)
    }

    fn fixed64(&mut self) -> Result<u64, ProtoError> {
        let s = self
            .buf
            .get(self.pos..self.pos + 8)
            .ok_or(ProtoError::Malformed)?;
        self.pos += 8;
        Ok(u64::from_le_bytes(
            s.try_into().map_err(|_| ProtoError::Malformed)?,
        ))
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// A raw field value as read off the wire.
#[derive(Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn fields(buf: &[u8]) -> Result<Vec<(u32, Raw<'_>)>, ProtoError> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = Vec::new();
    while !r.done() {
        let key = r.varint()?;
        let num = u32::try_from(key >> 3).map_err(|_| ProtoError::Malformed)?;
        let raw = match key & 7 {
            0 => Raw::Varint(r.varint()?),
            1 => Raw::Fixed64(r.fixed64()?),
            2 => Raw::Bytes(r.bytes()?),
            5 => {
                let s = r.buf.get(r.pos..r.pos + 4).ok_or(ProtoError::Malformed)?;
                r.pos += 4;
                Raw::Varint(u64::from(u32::from_le_bytes(
                    s.try_into().map_err(|_| ProtoError::Malformed)?,
                )))
            }
            _ => return Err(ProtoError::Malformed),
        };
        out.push((num, raw));
    }
    Ok(out)
}

/// The `runtime.Unknown` envelope: apiVersion, kind and the raw object.
#[derive(Debug, PartialEq)]
pub struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
}

pub fn read_envelope(data: &[u8]) -> Result<Envelope<'_>, ProtoError> {
    let body = data.strip_prefix(MAGIC).ok_or(ProtoError::NoMagic)?;
    let mut env = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
    };
    for (num, raw) in fields(body)? {
        match (num, raw) {
            (1, Raw::Bytes(tm)) => {
                for (n, r) in fields(tm)? {
                    if let Raw::Bytes(b) = r {
                        let s = String::from_utf8_lossy(b).into_owned();
                        match n {
                            1 => env.api_version = s,
                            2 => env.kind = s,
                            _ => {}
                        }
                    }
                }
            }
            (2, Raw::Bytes(b)) => env.raw = b,
            _ => {}
        }
    }
    Ok(env)
}

/// A raw `metav1.WatchEvent` (no envelope): its type and its object's bytes.
pub fn read_watch_event(data: &[u8]) -> Result<(String, &[u8]), ProtoError> {
    let (mut kind, mut object) = (String::new(), &[][..]);
    for (num, raw) in fields(data)? {
        match (num, raw) {
            (1, Raw::Bytes(b)) => kind = String::from_utf8_lossy(b).into_owned(),
            (2, Raw::Bytes(ext)) => {
                for (n, r) in fields(ext)? {
                    if let (1, Raw::Bytes(b)) = (n, r) {
                        object = b;
                    }
                }
            }
            _ => {}
        }
    }
    Ok((kind, object))
}

/// Decodes a message of type `ty` into its JSON form.
pub fn decode(ty: &Type, buf: &[u8]) -> Result<Value, ProtoError> {
    let Resolved::Struct(_, fs) = SCHEMA.resolve(ty) else {
        return Err(ProtoError::UnknownType(format!("{ty:?}")));
    };
    let mut out = Map::new();
    decode_into(fs, buf, &mut out)?;
    Ok(Value::Object(out))
}

fn decode_into(fs: &[Field], buf: &[u8], out: &mut Map<String, Value>) -> Result<(), ProtoError> {
    for (num, raw) in fields(buf)? {
        let Some(f) = fs.iter().find(|f| f.pb == Some(num)) else {
            continue;
        };
        if f.inline {
            if let (Resolved::Struct(_, inner), Raw::Bytes(b)) = (SCHEMA.resolve(&f.ty), raw) {
                decode_into(inner, b, out)?;
            }
            continue;
        }
        if super::encode::is_named_slice(&f.ty) {
            out.insert(f.json.clone(), value(&f.ty, raw)?);
            continue;
        }
        let (elem, repeated, map) = match SCHEMA.underlying(&f.ty) {
            Type::Slice(inner) => (inner.as_ref(), true, false),
            Type::Map(inner) => (inner.as_ref(), false, true),
            Type::Ptr(inner) => (inner.as_ref(), false, false),
            t => (t, false, false),
        };
        if map {
            let Raw::Bytes(entry) = raw else {
                return Err(ProtoError::Malformed);
            };
            let (mut k, mut v) = (String::new(), Value::Null);
            for (n, r) in fields(entry)? {
                match n {
                    1 => {
                        k = scalar(&Type::String, r)?
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    }
                    2 => v = value(elem, r)?,
                    _ => {}
                }
            }
            let m = out
                .entry(f.json.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(m) = m.as_object_mut() {
                m.insert(k, v);
            }
        } else if repeated {
            let a = out
                .entry(f.json.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            // Packed repeated scalars arrive as one length-delimited field.
            if let (Raw::Bytes(b), Resolved::Other(Type::Int | Type::Bool)) =
                (&raw, SCHEMA.resolve(elem))
            {
                let mut r = Reader { buf: b, pos: 0 };
                while !r.done() {
                    if let Some(a) = a.as_array_mut() {
                        a.push(scalar(elem, Raw::Varint(r.varint()?))?);
                    }
                }
                continue;
            }
            let item = value(elem, raw)?;
            if let Some(a) = a.as_array_mut() {
                a.push(item);
            }
        } else {
            out.insert(f.json.clone(), value(elem, raw)?);
        }
    }
    Ok(())
}

fn value(ty: &Type, raw: Raw<'_>) -> Result<Value, ProtoError> {
    match SCHEMA.resolve(ty) {
        Resolved::Struct(_, fs) => {
            let Raw::Bytes(b) = raw else {
                return Err(ProtoError::Malformed);
            };
            let mut out = Map::new();
            decode_into(fs, b, &mut out)?;
            Ok(Value::Object(out))
        }
        Resolved::Special(sp) => special(sp, raw),
        // A named slice as a message: its items are field 1 (see `encode_value`).
        Resolved::Other(Type::Slice(inner)) => {
            let Raw::Bytes(b) = raw else {
                return Err(ProtoError::Malformed);
            };
            let mut items = Vec::new();
            for (n, r) in fields(b)? {
                if n == 1 {
                    items.push(value(inner, r)?);
                }
            }
            Ok(Value::Array(items))
        }
        Resolved::Other(t) => scalar(t, raw),
    }
}

fn scalar(ty: &Type, raw: Raw<'_>) -> Result<Value, ProtoError> {
    Ok(match (ty, raw) {
        (Type::Bool, Raw::Varint(v)) => Value::Bool(v != 0),
        (Type::Int, Raw::Varint(v)) => Value::from(v as i64),
        (Type::Float, Raw::Fixed64(v)) => Value::from(f64::from_bits(v)),
        (Type::Bytes, Raw::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Type::Any, Raw::Bytes(b)) | (Type::String, Raw::Bytes(b)) => {
            Value::String(String::from_utf8(b.to_vec()).map_err(|_| ProtoError::Malformed)?)
        }
        _ => return Err(ProtoError::Malformed),
    })
}

fn schema_props() -> Type {
    Type::Named(crate::schema::JSON_SCHEMA_PROPS.into())
}

/// The schema in field `n` of `fs`, or `null`.
fn schema_of(fs: &[(u32, Raw<'_>)], n: u32) -> Result<Value, ProtoError> {
    match fs.iter().find(|(k, _)| *k == n) {
        Some((_, r)) => value(&schema_props(), *r),
        None => Ok(Value::Null),
    }
}

fn special(sp: Special, raw: Raw<'_>) -> Result<Value, ProtoError> {
    let Raw::Bytes(b) = raw else {
        return Err(ProtoError::Malformed);
    };
    if sp == Special::String {
        // `types.UID` and friends are plain strings on the wire.
        return Ok(Value::String(
            String::from_utf8(b.to_vec()).map_err(|_| ProtoError::Malformed)?,
        ));
    }
    let fs = fields(b)?;
    let int = |n: u32| {
        fs.iter()
            .find_map(|(k, r)| match r {
                Raw::Varint(v) if *k == n => Some(*v as i64),
                _ => None,
            })
            .unwrap_or(0)
    };
    let bytes = |n: u32| {
        fs.iter().find_map(|(k, r)| match r {
            Raw::Bytes(v) if *k == n => Some(*v),
            _ => None,
        })
    };
    Ok(match sp {
        // Go's zero time is year 1, which `ProtoTime` writes as its Unix seconds; an empty
        // message is zero too. Both read back as the JSON `null` of a zero `metav1.Time`.
        Special::Time | Special::MicroTime
            if fs.is_empty() || (int(1) == GO_ZERO_TIME && int(2) == 0) =>
        {
            Value::Null
        }
        Special::Time | Special::MicroTime => {
            let t =
                jiff::Timestamp::new(int(1), int(2) as i32).map_err(|_| ProtoError::Malformed)?;
            let s = if sp == Special::Time {
                t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
            };
            Value::String(s)
        }
        Special::Duration => Value::String(go_duration(int(1))),
        Special::Quantity | Special::String => {
            Value::String(String::from_utf8_lossy(bytes(1).unwrap_or_default()).into_owned())
        }
        Special::IntOrString => {
            if int(1) == 1 {
                Value::String(String::from_utf8_lossy(bytes(3).unwrap_or_default()).into_owned())
            } else {
                Value::from(int(2))
            }
        }
        Special::RawJson => match bytes(1) {
            Some(raw) if !raw.is_empty() => {
                serde_json::from_slice(raw).map_err(|_| ProtoError::Malformed)?
            }
            _ => Value::Null,
        },
        // The side each apiextensions union holds, as its `MarshalJSON` writes it.
        Special::SchemaOrBool => match bytes(2) {
            Some(_) => schema_of(&fs, 2)?,
            None => Value::Bool(int(1) != 0),
        },
        Special::SchemaOrArray | Special::SchemaOrStringArray => {
            let mut items = Vec::new();
            for (k, r) in &fs {
                if *k == 2 {
                    items.push(match sp {
                        Special::SchemaOrArray => value(&schema_props(), *r)?,
                        _ => scalar(&Type::String, *r)?,
                    });
                }
            }
            if items.is_empty() {
                schema_of(&fs, 1)?
            } else {
                Value::Array(items)
            }
        }
    })
}
