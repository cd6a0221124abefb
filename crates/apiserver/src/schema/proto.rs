//! The Kubernetes protobuf wire: the `k8s\0` envelope around `runtime.Unknown`, and
//! objects converted between protobuf and their JSON form field by field from the type
//! table.
//!
//! Mirrors apimachinery `pkg/runtime/serializer/protobuf/protobuf.go` (envelope) and the
//! gogo-generated `generated.pb.go` marshallers: fields in field-number order, non-pointer
//! fields always written, map entries sorted by key, `Time` as `{seconds, nanos}`.

use super::{Field, Resolved, SCHEMA, Special, Type};
use base64::Engine;
use serde_json::{Map, Value};

/// `time.Time{}.Unix()`: the zero Go time, 0001-01-01T00:00:00Z.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// The four-byte prefix of every protobuf-encoded Kubernetes object.
pub const MAGIC: &[u8] = b"k8s\x00";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtoError {
    #[error(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )]
    NoMagic,
    #[error("protobuf message is truncated or malformed")]
    Malformed,
    #[error("no protobuf schema for {0}")]
    UnknownType(String),
}

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
    })
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1.5s`, `300ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut s = if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        format!("{}{unit}", trim_frac(u, div))
    } else {
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, sec) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let sec_str = if frac == 0 {
            sec.to_string()
        } else {
            format!("{sec}.{}", format!("{frac:09}").trim_end_matches('0'))
        };
        if h > 0 {
            format!("{h}h{m}m{sec_str}s")
        } else if m > 0 {
            format!("{m}m{sec_str}s")
        } else {
            format!("{sec_str}s")
        }
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

fn trim_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        whole.to_string()
    } else {
        let width = div.to_string().len() - 1;
        format!(
            "{whole}.{}",
            format!("{frac:0width$}").trim_end_matches('0')
        )
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, num: u32, wire: u8) {
    put_varint(out, (u64::from(num) << 3) | u64::from(wire));
}

fn put_bytes(out: &mut Vec<u8>, num: u32, b: &[u8]) {
    put_key(out, num, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Wraps an encoded object in the `k8s\0` + `runtime.Unknown` envelope.
pub fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut tm = Vec::new();
    put_bytes(&mut tm, 1, api_version.as_bytes());
    put_bytes(&mut tm, 2, kind.as_bytes());
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, 1, &tm);
    put_bytes(&mut out, 2, raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    out
}

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
        match SCHEMA.underlying(&f.ty) {
            Type::Ptr(inner) => {
                if let Some(v) = given {
                    encode_value(inner, num, v, out);
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
                let zero = super::json::zero(t);
                encode_value(t, num, given.unwrap_or(&zero), out);
            }
        }
    }
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
            match sp {
                Special::Time | Special::MicroTime if v.is_null() => {
                    put_key(&mut buf, 1, 0);
                    put_varint(&mut buf, GO_ZERO_TIME as u64);
                }
                Special::Time | Special::MicroTime => {
                    if let Some(t) = v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
                        put_key(&mut buf, 1, 0);
                        put_varint(&mut buf, t.as_second() as u64);
                        if t.subsec_nanosecond() != 0 {
                            put_key(&mut buf, 2, 0);
                            put_varint(&mut buf, t.subsec_nanosecond() as u64);
                        }
                    }
                }
                Special::Duration => {
                    let ns = v.as_str().and_then(parse_go_duration).unwrap_or(0);
                    put_key(&mut buf, 1, 0);
                    put_varint(&mut buf, ns as u64);
                }
                Special::Quantity | Special::String => {
                    put_bytes(&mut buf, 1, v.as_str().unwrap_or("").as_bytes())
                }
                Special::IntOrString => match v {
                    Value::String(s) => {
                        put_key(&mut buf, 1, 0);
                        put_varint(&mut buf, 1);
                        put_key(&mut buf, 2, 0);
                        put_varint(&mut buf, 0);
                        put_bytes(&mut buf, 3, s.as_bytes());
                    }
                    other => {
                        put_key(&mut buf, 1, 0);
                        put_varint(&mut buf, 0);
                        put_key(&mut buf, 2, 0);
                        put_varint(&mut buf, other.as_i64().unwrap_or(0) as u64);
                        put_bytes(&mut buf, 3, b"");
                    }
                },
                Special::RawJson => {
                    if !v.is_null() {
                        put_bytes(&mut buf, 1, &serde_json::to_vec(v).unwrap_or_default());
                    }
                }
            }
            put_bytes(out, num, &buf);
        }
        Resolved::Other(t) => match t {
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
        },
    }
}

/// Parses Go duration strings (`1h0m0s`, `30s`, `1.5s`, `300ms`) into nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}
