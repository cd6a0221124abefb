//! Helpers over JSON objects: metadata access, the server-set fields, timestamps, names.
//!
//! Objects are kept as `serde_json::Value` with insertion order preserved, so field order
//! on the wire is under our control; `metadata` is rebuilt in `ObjectMeta` field order.

use serde_json::{Map, Value};

/// `ObjectMeta` JSON keys in Go struct order (apimachinery `pkg/apis/meta/v1/types.go`).
const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// RFC 3339 in seconds, UTC, as `metav1.Time` marshals.
pub fn timestamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now() -> String {
    timestamp(jiff::Timestamp::now())
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `names.SimpleNameGenerator`: five characters from `bcdfghjklmnpqrstvwxz2456789`
/// (apiserver `pkg/storage/names/generate.go`, apimachinery `pkg/util/rand/rand.go`).
pub fn random_suffix() -> String {
    use rand::Rng;
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    (0..5)
        .map(|_| ALPHANUMS[rng.gen_range(0..ALPHANUMS.len())] as char)
        .collect()
}

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let root = obj.as_object_mut().expect("objects are JSON objects");
    let m = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut().expect("just made an object")
}

pub fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    meta(obj)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

pub fn labels(obj: &Value) -> Map<String, Value> {
    meta(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Puts `kind`, `apiVersion`, `metadata` first and `metadata`'s keys in Go order; drops
/// empty optional metadata (Go's `omitempty`).
pub fn normalize(obj: &mut Value, kind: &str, api_version: &str) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let mut meta = match root.shift_remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut ordered_meta = Map::new();
    for key in META_ORDER {
        if let Some(v) = meta.shift_remove(*key) {
            let empty = match &v {
                Value::Null => *key != "creationTimestamp",
                Value::String(s) => s.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Number(n) => n.as_i64() == Some(0) && *key == "generation",
                Value::Bool(_) => false,
            };
            if !empty {
                ordered_meta.insert((*key).into(), v);
            }
        }
    }
    // Unknown metadata keys have been rejected by validation; keep any left at the end.
    ordered_meta.extend(meta);
    root.shift_remove("kind");
    root.shift_remove("apiVersion");
    let rest = std::mem::take(root);
    root.insert("kind".into(), Value::String(kind.into()));
    root.insert("apiVersion".into(), Value::String(api_version.into()));
    root.insert("metadata".into(), Value::Object(ordered_meta));
    root.extend(rest);
}

/// Puts `metadata`'s keys back in Go order after a key was added at the end.
pub fn order_metadata(meta: &mut Map<String, Value>) {
    let mut ordered = Map::new();
    for key in META_ORDER {
        if let Some(v) = meta.shift_remove(*key) {
            ordered.insert((*key).into(), v);
        }
    }
    ordered.extend(std::mem::take(meta));
    *meta = ordered;
}

/// Strips `kind` and `apiVersion`, as list items are served.
pub fn without_type_meta(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
    o
}

/// A YAML document as a JSON value, as the server reads YAML bodies and apply patches:
/// `sigs.k8s.io/yaml.YAMLToJSON` (v1.4.0, `yaml.go`), which reads YAML 1.1 with
/// goyaml.v2 and turns each map key JSON can't hold into its text
/// (`convertToJSONableObject`): a plain `y`, `on` or `no` key is a boolean there, so it
/// becomes `"true"` or `"false"`; numbers are written back in Go's forms.
///
/// A key `YAMLToJSON` cannot convert fails with its own words, and a syntax error with
/// goyaml.v2's (`goyaml_syntax`).
pub fn from_yaml(bytes: &[u8]) -> Result<Value, String> {
    let first = goyaml_syntax(bytes)?;
    serde_saphyr::from_slice::<GoYaml>(first)
        .map(|v| v.0)
        .map_err(|e| match e.without_snippet() {
            serde_saphyr::Error::Message { msg, .. } if msg.starts_with(UNSUPPORTED_KEY) => {
                msg.clone()
            }
            other => other.to_string(),
        })
}

/// The first document of `bytes` read as goyaml.v2's parser reads it, for its refusal.
///
/// goyaml.v2 is a Go port of libyaml, and `libyaml_safer` a Rust one: their scanner and
/// parser refuse the same text with the same problem and marks. goyaml.v2 words a
/// refusal in `parser.fail` (`goyaml.v2/decode.go`, sigs.k8s.io/yaml v1.4.0): the
/// problem's line, counted from 1 for a scanner error (whose mark has not yet moved past
/// its line) and from 0 otherwise, or else the context's line, left out when it is 0.
/// Its `parser.parse` reads one document, node by node, and refuses an alias to an anchor
/// not yet defined in it (`parser.alias`). What follows that document is never read: the
/// answer is the first document's text.
fn goyaml_syntax(bytes: &[u8]) -> Result<&[u8], String> {
    use libyaml_safer::{ErrorKind, EventData, Parser};
    let mut input = bytes;
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut anchors = std::collections::HashSet::new();
    loop {
        let event = parser.parse().map_err(|e| {
            let line = match (e.problem_mark(), e.context_mark()) {
                (Some(m), _) if m.line != 0 => m.line + u64::from(e.kind() == ErrorKind::Scanner),
                (_, Some(m)) => m.line,
                _ => 0,
            };
            match line {
                0 => format!("yaml: {}", e.problem()),
                n => format!("yaml: line {n}: {}", e.problem()),
            }
        })?;
        match event.data {
            // A document ends where the next one's `---` starts, or after its `...`
            // (libyaml's `yaml_parser_parse_document_end`).
            EventData::DocumentEnd { .. } => {
                // Marks count the bytes after a UTF-8 byte order mark; a UTF-16 text's
                // marks are not its bytes, so it is read whole.
                let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
                    3
                } else {
                    0
                };
                if bytes.starts_with(b"\xFE\xFF") || bytes.starts_with(b"\xFF\xFE") {
                    return Ok(bytes);
                }
                let end = usize::try_from(event.end_mark.index)
                    .map_or(usize::MAX, |i| i.saturating_add(bom));
                return Ok(bytes.get(..end).unwrap_or(bytes));
            }
            EventData::StreamEnd => return Ok(bytes),
            EventData::Alias { anchor } if !anchors.contains(&anchor) => {
                return Err(format!("yaml: unknown anchor '{anchor}' referenced"));
            }
            EventData::Scalar {
                anchor: Some(anchor),
                ..
            }
            | EventData::SequenceStart {
                anchor: Some(anchor),
                ..
            }
            | EventData::MappingStart {
                anchor: Some(anchor),
                ..
            } => {
                anchors.insert(anchor);
            }
            _ => {}
        }
    }
}

/// How `convertToJSONableObject` refuses a key it cannot write as a JSON key.
const UNSUPPORTED_KEY: &str = "unsupported map key of type: ";

/// A YAML value read as `YAMLToJSON` reads it (see `from_yaml`).
struct GoYaml(Value);

/// A map key as `convertToJSONableObject` writes it.
struct GoYamlKey(Option<String>);

impl<'de> serde::Deserialize<'de> for GoYaml {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoYamlVisitor).map(GoYaml)
    }
}

/// A key, or `None` for the null key `convertToJSONableObject` refuses (goyaml.v2 itself
/// refuses sequences and maps as keys).
impl<'de> serde::Deserialize<'de> for GoYamlKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(GoYamlVisitor)? {
            Value::String(s) => Ok(GoYamlKey(Some(s))),
            Value::Bool(b) => Ok(GoYamlKey(Some(b.to_string()))),
            Value::Number(n) => Ok(GoYamlKey(Some(go_key_number(&n)))),
            Value::Null => Ok(GoYamlKey(None)),
            _ => Err(serde::de::Error::custom("invalid map key")),
        }
    }
}

/// Go's `%+#v` of a decoded YAML value, for `convertToJSONableObject`'s refusal.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => crate::status::quote(s),
        Value::Array(items) => format!(
            "[]interface {{}}{{{}}}",
            items.iter().map(go_syntax).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "map[interface {{}}]interface {{}}{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", crate::status::quote(k), go_syntax(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A number key: integers as `strconv.FormatInt`, floats as `FormatFloat(f, 'g', -1, 32)`
/// (goyaml's own conversion, which `convertToJSONableObject` borrows).
fn go_key_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() => {
            if f.is_infinite() {
                return if f > 0.0 { ".inf" } else { "-.inf" }.into();
            }
            if f.is_nan() {
                return ".nan".into();
            }
            crate::schema::yaml::go_float32(f)
        }
        _ => n.to_string(),
    }
}

struct GoYamlVisitor;

impl<'de> serde::de::Visitor<'de> for GoYamlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(GoYaml(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((GoYamlKey(k), GoYaml(v))) = map.next_entry()? {
            let Some(k) = k else {
                return Err(serde::de::Error::custom(format!(
                    "{UNSUPPORTED_KEY}%!s(<nil>), key: <nil>, value: {}",
                    go_syntax(&v)
                )));
            };
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::from_yaml;

    /// What `sigs.k8s.io/yaml` v1.4.0's `Unmarshal` answered for each text (after its own
    /// `error converting YAML to JSON: ` prefix), run with Go against the module.
    #[test]
    fn syntax_errors_are_worded_as_goyaml_v2_words_them() {
        let cases: &[(&str, &str)] = &[
            (
                "metadata:\n  name: [a\n",
                "yaml: line 2: did not find expected ',' or ']'",
            ),
            (
                "metadata:\n\tname: a\n",
                "yaml: line 2: found character that cannot start any token",
            ),
            (
                "a: b\n c: d\n",
                "yaml: line 2: mapping values are not allowed in this context",
            ),
            ("{a: 1", "yaml: line 1: did not find expected ',' or '}'"),
            ("a: \x7f", "yaml: control characters are not allowed"),
            (
                "- a\nb: c",
                "yaml: line 1: did not find expected '-' indicator",
            ),
            ("a: *x", "yaml: unknown anchor 'x' referenced"),
            ("a: 'b", "yaml: found unexpected end of stream"),
            ("a: \"b\n", "yaml: line 2: found unexpected end of stream"),
            (
                "a: |\n b\n  c\nd",
                "yaml: line 5: could not find expected ':'",
            ),
            (
                "a:\n  - b\n  c: d",
                "yaml: line 2: did not find expected '-' indicator",
            ),
            (
                "%YAML 1.3\n---\na",
                "yaml: found incompatible YAML document",
            ),
            ("a: !<x y> b", "yaml: did not find the expected '>'"),
            ("a: @b", "yaml: found character that cannot start any token"),
        ];
        for (text, words) in cases {
            assert_eq!(
                from_yaml(text.as_bytes()),
                Err(words.to_string()),
                "{text:?}"
            );
        }
        // goyaml.v2 reads the first document only.
        assert_eq!(
            from_yaml(b"a: b\n---\nc: ["),
            Ok(serde_json::json!({"a": "b"}))
        );
        assert!(from_yaml(b"a: &x 1\nb: *x").is_ok());
        // A byte order mark is not the document's.
        assert_eq!(
            from_yaml(b"\xEF\xBB\xBFdata: {k: value}"),
            Ok(serde_json::json!({"data": {"k": "value"}}))
        );
        assert_eq!(
            from_yaml(b"\xEF\xBB\xBFa: b\n---\nc: d\n"),
            Ok(serde_json::json!({"a": "b"}))
        );
    }
}
