use super::json::encode;
use super::proto;
use super::*;
use serde_json::{Value, json};

fn ty(group: &str, version: &str, kind: &str) -> Type {
    SCHEMA.kind_type(group, version, kind).unwrap()
}

#[test]
fn table_covers_the_served_kinds() {
    for gv in &crate::discovery::DISCOVERY.versions {
        for r in gv
            .resources
            .iter()
            .filter(|r| !r.is_subresource() && r.verbs.contains(&"watch"))
        {
            if crate::crds::serving(r).is_some() {
                continue;
            }
            assert!(
                SCHEMA.kind_type(gv.group, gv.version, r.kind).is_some(),
                "{}/{} {}",
                gv.group,
                gv.version,
                r.kind
            );
        }
    }
}

#[test]
fn go_field_order_and_zero_values() {
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "spec": {"template": {"spec": {"containers": [{"image": "busybox", "name": "main"}], "restartPolicy": "Never"}}},
        "metadata": {"namespace": "default", "name": "my-job"},
    });
    let out = encode(&ty("batch", "v1", "Job"), &job);
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"my-job","namespace":"default","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"main","image":"busybox","resources":{}}],"restartPolicy":"Never"}}},"status":{}}"#
    );
}

#[test]
fn non_omitempty_slices_are_null_and_maps_sorted() {
    let role = json!({"metadata": {"name": "admin", "labels": {"z": "1", "a": "2"}}, "aggregationRule": {"clusterRoleSelectors": []}});
    let out = encode(&ty("rbac.authorization.k8s.io", "v1", "ClusterRole"), &role);
    assert_eq!(out["rules"], Value::Null);
    let keys: Vec<&String> = out["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["a", "z"]);
}

#[test]
fn protobuf_round_trip_with_envelope() {
    let tr = json!({
        "metadata": {"name": "default", "creationTimestamp": "2025-01-02T03:04:05Z", "labels": {"b": "2", "a": "1"}},
        "spec": {"audiences": ["x", "y"], "expirationSeconds": 3600, "boundObjectRef": {"kind": "Pod", "name": "p", "uid": "u-1"}},
        "status": {"token": "t", "expirationTimestamp": "2025-01-02T04:04:05Z"},
    });
    let t = ty("authentication.k8s.io", "v1", "TokenRequest");
    let bytes = proto::encode(&t, &tr).unwrap();
    let wire = proto::envelope("authentication.k8s.io/v1", "TokenRequest", &bytes);
    let env = proto::read_envelope(&wire).unwrap();
    assert_eq!(
        (env.api_version.as_str(), env.kind.as_str()),
        ("authentication.k8s.io/v1", "TokenRequest")
    );
    let back = proto::decode(&t, env.raw).unwrap();
    assert_eq!(encode(&t, &back), encode(&t, &tr));
    assert_eq!(proto::read_envelope(b"{}"), Err(proto::ProtoError::NoMagic));
    assert!(proto::decode(&t, &[0x0a, 0xff]).is_err());
}

#[test]
fn a_user_s_extra_values_survive_protobuf() {
    let review = json!({"metadata": {}, "status": {"userInfo": {"username": "system:admin",
        "extra": {"authentication.kubernetes.io/credential-id": ["X509SHA256=ab", "second"]}}}});
    let t = ty("authentication.k8s.io", "v1", "SelfSubjectReview");
    let bytes = proto::encode(&t, &review).unwrap();
    // field 4 of UserInfo: a map entry whose value (field 2) is an ExtraValue message
    // whose items are its field 1.
    let needle = b"\x0a\x0dX509SHA256=ab\x0a\x06second";
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle),
        "{bytes:x?}"
    );
    let back = encode(&t, &proto::decode(&t, &bytes).unwrap());
    assert_eq!(
        back["status"]["userInfo"]["extra"],
        review["status"]["userInfo"]["extra"]
    );
}

#[test]
fn inline_structs_and_int_or_string_survive_protobuf() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}],
        "readinessProbe": {"httpGet": {"port": "http", "path": "/"}}}],
        "volumes": [{"name": "v", "emptyDir": {}}]}});
    let t = ty("", "v1", "Pod");
    let back = encode(
        &t,
        &proto::decode(&t, &proto::encode(&t, &pod).unwrap()).unwrap(),
    );
    assert_eq!(back, encode(&t, &pod));
    assert_eq!(back["spec"]["volumes"][0]["emptyDir"], json!({}));
    assert_eq!(
        back["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"],
        "http"
    );
}

#[test]
fn durations_print_as_go() {
    assert_eq!(super::duration::go_duration(0), "0s");
    assert_eq!(super::duration::go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(super::duration::go_duration(1_500_000_000), "1.5s");
    assert_eq!(super::duration::go_duration(300_000_000), "300ms");
    assert_eq!(
        super::duration::parse_go_duration("1h0m0s"),
        Some(3_600_000_000_000)
    );
}

#[test]
fn every_struct_round_trips_its_zero_value_through_protobuf() {
    let mut bad = Vec::new();
    for (name, def) in &SCHEMA.defs {
        if let Def::Struct(_) = def {
            let t = Type::Named(name.clone());
            let b = proto::encode(&t, &json!({})).unwrap();
            if proto::decode(&t, &b).is_err() {
                bad.push(name.clone());
            }
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

/// `metav1.Time` marshals as a `Timestamp` with both fields, `Nanos` always zero; a
/// `MicroTime` keeps its microseconds; a zero time is an empty message
/// (apimachinery `pkg/apis/meta/v1/time_proto.go`, `micro_time_proto.go`).
#[test]
fn times_marshal_as_go_writes_them() {
    fn varint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    }
    // The first length-delimited field with this key among the message's own fields
    // (lengths and varints under 128 bytes suffice here).
    fn field(bytes: &[u8], key: u8) -> Option<Vec<u8>> {
        let mut at = 0;
        while at < bytes.len() {
            let k = bytes[at];
            if k & 7 == 0 {
                at += 2 + bytes[at + 1..]
                    .iter()
                    .take_while(|&&b| b & 0x80 != 0)
                    .count();
                continue;
            }
            let len = bytes[at + 1] as usize;
            if k == key {
                return Some(bytes[at + 2..at + 2 + len].to_vec());
            }
            at += 2 + len;
        }
        None
    }
    let secs = varint(1_735_787_045);
    let time = |nanos: &[u8]| [&[0x08][..], &secs, &[0x10], nanos].concat();

    let meta = ty("", "v1", "ConfigMap");
    let cm = json!({"metadata": {"name": "a", "creationTimestamp": "2025-01-02T03:04:05Z"}});
    let bytes = proto::encode(&meta, &cm).unwrap();
    let object_meta = field(&bytes, 0x0a).unwrap();
    assert_eq!(field(&object_meta, 0x42), Some(time(&[0x00])));

    let lease = ty("coordination.k8s.io", "v1", "Lease");
    let renewed = json!({"spec": {"renewTime": "2025-01-02T03:04:05.123456Z"}});
    let bytes = proto::encode(&lease, &renewed).unwrap();
    let spec = field(&bytes, 0x12).unwrap();
    assert_eq!(field(&spec, 0x22), Some(time(&varint(123_456_000))));

    let zero = json!({"metadata": {"name": "a", "creationTimestamp": null}});
    let object_meta = field(&proto::encode(&meta, &zero).unwrap(), 0x0a).unwrap();
    assert_eq!(field(&object_meta, 0x42), Some(Vec::new()));
}

/// apiextensions' unions (`marshal.go`) read back from protobuf as the side they hold, and
/// a schema inside one is written in `JSONSchemaProps`' field order.
#[test]
fn schema_unions_round_trip() {
    let props = Type::Named(JSON_SCHEMA_PROPS.into());
    let schema = json!({
        "type": "object",
        "properties": {
            "tags": {"items": {"type": "string"}, "type": "array"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "open": {"type": "object", "additionalProperties": true},
        },
        "dependencies": {"a": ["b", "c"], "b": {"required": ["a"]}},
    });
    let json = encode(&props, &schema);
    assert_eq!(
        serde_json::to_string(&json["properties"]["tags"]).unwrap(),
        r#"{"type":"array","items":{"type":"string"}}"#
    );
    let wire = proto::encode(&props, &json).unwrap();
    // Decoded as Go decodes it (zero values filled), then written as Go writes it.
    assert_eq!(encode(&props, &proto::decode(&props, &wire).unwrap()), json);
}
