//! The Kubernetes protobuf wire: the `k8s\0` envelope around `runtime.Unknown`, and
//! objects converted between protobuf and their JSON form field by field from the type
//! table.
//!
//! Mirrors apimachinery `pkg/runtime/serializer/protobuf/protobuf.go` (envelope) and the
//! gogo-generated `generated.pb.go` marshallers: fields in field-number order, non-pointer
//! fields always written, map entries sorted by key, `Time` as `{seconds, nanos}`.

mod decode;
mod encode;

pub use decode::{decode, read_envelope, read_watch_event};
pub use encode::encode;

/// `time.Time{}.Unix()`: the zero Go time, 0001-01-01T00:00:00Z.
pub(super) const GO_ZERO_TIME: i64 = -62_135_596_800;

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

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn put_key(out: &mut Vec<u8>, num: u32, wire: u8) {
    put_varint(out, (u64::from(num) << 3) | u64::from(wire));
}

pub(super) fn put_bytes(out: &mut Vec<u8>, num: u32, b: &[u8]) {
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

/// A `metav1.WatchEvent` as the raw protobuf serializer writes it (no envelope): its type,
/// then its object (a `runtime.RawExtension`) holding `object`, already encoded
/// (`k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto`).
pub fn watch_event(kind: &str, object: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(object.len() + 8);
    put_bytes(&mut raw, 1, object);
    let mut out = Vec::with_capacity(raw.len() + kind.len() + 8);
    put_bytes(&mut out, 1, kind.as_bytes());
    put_bytes(&mut out, 2, &raw);
    out
}
