//! `Patch.Apply` of gopkg.in/evanphx/json-patch.v4 (v4.12.0, `patch.go`) over the lazy
//! documents of [`super::lazy`]: `add`, `remove`, `replace`, `move`, `copy` and `test`,
//! with its own rules (negative array indices count from the end, `replace` of a missing
//! object key adds it, `test` compares raw texts byte for byte once neither side is an
//! object or array), and the parts of the document each operation looks into becoming
//! maps that are written back sorted.

use super::lazy::{Node, Slot, go_compact, parse_ary, parse_doc, render, rendered};
use std::collections::BTreeMap;

/// What the patch's operations are read as: `Operation`, a `map[string]*json.RawMessage`.
type Op = BTreeMap<String, Slot>;

/// `AccumulatedCopySizeLimit`, which kube-apiserver sets to its `JSONPatchMaxCopyBytes`
/// (apiserver `pkg/server/config.go`).
const COPY_LIMIT: usize = 3 * 1024 * 1024;

/// Why the patch was refused: read as the handler's strict decoding reads it (400), or
/// failing to apply (422).
#[derive(Debug, PartialEq)]
pub enum Refusal {
    Decode(String),
    Apply,
}

/// The operations of a well-formed patch: the handler first reads it into
/// `[]jsonPatchOp` (a `fieldValidation` of `Warn`, the default), whose type errors come
/// first (apiserver `pkg/endpoints/handlers/patch.go`, `applyJSPatch`).
pub fn operations(patch: &str) -> Result<Vec<Op>, Refusal> {
    let type_error = |what: &str, into: &str| {
        Refusal::Decode(format!(
            "error decoding patch: json: cannot unmarshal {what} into Go {into}"
        ))
    };
    let Some(items) = parse_ary(patch) else {
        return Err(type_error(
            kind_of(patch),
            "value of type []handlers.jsonPatchOp",
        ));
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let Some(Node::Raw(raw)) = item else {
            ops.push(Op::new());
            continue;
        };
        let Some(op) = parse_doc(&raw) else {
            return Err(type_error(
                kind_of(&raw),
                "value of type handlers.jsonPatchOp",
            ));
        };
        for field in ["op", "path", "from"] {
            if let Some(Some(Node::Raw(v))) = op.get(field)
                && !v.starts_with('"')
            {
                let into = format!("struct field jsonPatchOp.{field} of type string");
                return Err(type_error(kind_of(v), &into));
            }
        }
        ops.push(op);
    }
    Ok(ops)
}

/// What Go's type errors call a JSON value by its text.
fn kind_of(raw: &str) -> &'static str {
    match raw.trim_start().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "bool",
        _ => "number",
    }
}

/// A string field of an operation (`Operation.Path`, `From`, `Kind`).
fn text(op: &Op, key: &str) -> Option<String> {
    match op.get(key) {
        Some(Some(Node::Raw(raw))) => serde_json::from_str(raw).ok(),
        _ => None,
    }
}

/// `Operation.value`: absent is a nil node, `null` a node without text.
fn value(op: &Op) -> Slot {
    match op.get("value") {
        Some(Some(n)) => Some(n.clone()),
        Some(None) => Some(Node::Nil),
        None => None,
    }
}

/// `Patch.Apply(doc)` for an object `doc`: the patched document's text.
pub fn apply(doc: &str, ops: &[Op]) -> Result<String, Refusal> {
    let mut root = if doc.trim_start().starts_with('[') {
        Node::Ary(parse_ary(doc).ok_or(Refusal::Apply)?)
    } else {
        Node::Doc(parse_doc(doc).ok_or(Refusal::Apply)?)
    };
    let mut copied = 0;
    for op in ops {
        let done = match text(op, "op").as_deref().unwrap_or("unknown") {
            "add" => add(&mut root, op),
            "remove" => remove(&mut root, op),
            "replace" => replace(&mut root, op),
            "move" => move_op(&mut root, op),
            "test" => test(&mut root, op),
            "copy" => copy(&mut root, op, &mut copied),
            _ => None,
        };
        done.ok_or(Refusal::Apply)?;
    }
    Ok(rendered(&Some(root)))
}

/// `decodePatchKey`: `~1` is `/`, `~0` is `~`, in one pass.
fn decode_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut rest = k;
    while let Some(i) = rest.find('~') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (c, skip) = match tail.as_bytes().get(1) {
            Some(b'1') => ('/', 2),
            Some(b'0') => ('~', 2),
            _ => ('~', 1),
        };
        out.push(c);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

/// `strconv.Atoi`.
fn index(key: &str) -> Option<i64> {
    key.parse().ok()
}

/// `partialArray.get`: a bad index is an error, a negative one counts from the end.
fn item<'a>(con: &'a mut Node, key: &str) -> Option<&'a mut Slot> {
    let Node::Ary(a) = con else {
        return None;
    };
    let len = a.len() as i64;
    let mut i = index(key)?;
    if i < 0 {
        if i < -len {
            return None;
        }
        i += len;
    }
    a.get_mut(usize::try_from(i).ok()?)
}

/// `container.get`: a missing object key is a nil node, a bad index an error.
fn peek(con: &mut Node, key: &str) -> Option<Slot> {
    match con {
        Node::Doc(d) => Some(d.get(key).cloned().flatten()),
        _ => item(con, key).map(|s| s.clone()),
    }
}

/// `findObject`: the container holding the path's last segment, the parts on the way
/// read as arrays or maps.
fn find<'a>(root: &'a mut Node, path: &str) -> Option<(&'a mut Node, String)> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let (key, parts) = split[1..].split_last()?;
    let mut doc = root;
    for part in parts {
        let next = match doc {
            Node::Doc(d) => d.get_mut(&decode_key(part))?.as_mut()?,
            _ => item(doc, &decode_key(part))?.as_mut()?,
        };
        let array = match next {
            Node::Raw(raw) => raw.starts_with('['),
            Node::Ary(_) => true,
            _ => false,
        };
        if array {
            next.read_ary()?;
        } else {
            next.read_doc()?;
        }
        doc = next;
    }
    Some((doc, decode_key(key)))
}

/// `container.add`.
fn put(con: &mut Node, key: &str, val: Slot) -> Option<()> {
    match con {
        Node::Doc(d) => {
            d.insert(key.to_string(), val);
        }
        Node::Ary(a) => {
            if key == "-" {
                a.push(val);
                return Some(());
            }
            let size = a.len() as i64 + 1;
            let mut i = index(key)?;
            if i >= size || i < -size {
                return None;
            }
            if i < 0 {
                i += size;
            }
            a.insert(usize::try_from(i).ok()?, val);
        }
        _ => return None,
    }
    Some(())
}

/// `container.remove`.
fn take(con: &mut Node, key: &str) -> Option<Slot> {
    match con {
        Node::Doc(d) => d.remove(key),
        Node::Ary(a) => {
            let len = a.len() as i64;
            let mut i = index(key)?;
            if i >= len || i < -len {
                return None;
            }
            if i < 0 {
                i += len;
            }
            Some(a.remove(usize::try_from(i).ok()?))
        }
        _ => None,
    }
}

fn add(root: &mut Node, op: &Op) -> Option<()> {
    let path = text(op, "path")?;
    let (con, key) = find(root, &path)?;
    put(con, &key, value(op))
}

fn remove(root: &mut Node, op: &Op) -> Option<()> {
    let path = text(op, "path")?;
    let (con, key) = find(root, &path)?;
    take(con, &key).map(|_| ())
}

fn replace(root: &mut Node, op: &Op) -> Option<()> {
    let path = text(op, "path")?;
    if path.is_empty() {
        let mut val = value(op)?;
        if val.read_doc().is_none() && val.read_ary().is_none() {
            return None;
        }
        *root = val;
        return Some(());
    }
    let (con, key) = find(root, &path)?;
    peek(con, &key)?;
    match con {
        Node::Doc(d) => {
            d.insert(key, value(op));
        }
        _ => *item(con, &key)? = value(op),
    }
    Some(())
}

fn move_op(root: &mut Node, op: &Op) -> Option<()> {
    let from = text(op, "from")?;
    let (con, key) = find(root, &from)?;
    peek(con, &key)?;
    let val = take(con, &key)?;
    let path = text(op, "path")?;
    let (con, key) = find(root, &path)?;
    put(con, &key, val)
}

fn copy(root: &mut Node, op: &Op, copied: &mut usize) -> Option<()> {
    let from = text(op, "from")?;
    let (con, key) = find(root, &from)?;
    let val = peek(con, &key)?;
    let path = text(op, "path")?;
    let (con, key) = find(root, &path)?;
    // `deepCopy`: the node written out and read back as raw text.
    let copy = val.map(|v| rendered(&Some(v)));
    *copied += copy.as_ref().map_or(0, String::len);
    let copy = copy.map(Node::Raw);
    if *copied > COPY_LIMIT {
        return None;
    }
    put(con, &key, copy)
}

fn test(root: &mut Node, op: &Op) -> Option<()> {
    let path = text(op, "path")?;
    let mut want = value(op);
    if path.is_empty() {
        return equal(root, want.as_mut()?).then_some(());
    }
    let (con, key) = find(root, &path)?;
    peek(con, &key)?;
    let got = match con {
        Node::Doc(d) => d.get_mut(&key).and_then(Option::as_mut),
        _ => item(con, &key)?.as_mut(),
    };
    match (got, want.as_mut()) {
        (None, Some(Node::Nil)) => Some(()),
        (Some(got), Some(want)) => equal(got, want).then_some(()),
        _ => None,
    }
}

/// `lazyNode.equal`, which reads both sides into maps or arrays as it compares them.
fn equal(n: &mut Node, o: &mut Node) -> bool {
    if n.is_raw() && n.read_doc().is_none() && n.read_ary().is_none() {
        return o.is_raw() && compact(n) == compact(o);
    }
    if let Node::Doc(nd) = n {
        if o.is_raw() && o.read_doc().is_none() {
            return false;
        }
        let Node::Doc(od) = o else {
            return false;
        };
        if nd.len() != od.len() {
            return false;
        }
        return nd.iter_mut().all(|(k, v)| match (v, od.get_mut(k)) {
            (None, Some(None)) => true,
            (Some(v), Some(Some(ov))) => equal(v, ov),
            _ => false,
        });
    }
    let Node::Ary(na) = n else {
        return false;
    };
    if o.read_ary().is_none() {
        return false;
    }
    let Node::Ary(oa) = o else {
        return false;
    };
    na.len() == oa.len()
        && na
            .iter_mut()
            .zip(oa.iter_mut())
            .all(|(v, ov)| match (v, ov) {
                (Some(v), Some(ov)) => equal(v, ov),
                // A `null` item is a nil node, whose `equal` panics upstream: no match.
                _ => false,
            })
}

/// `lazyNode.compact`: `json.Compact` of the raw text, without HTML escapes.
fn compact(n: &Node) -> String {
    match n {
        Node::Raw(raw) => go_compact(raw, false),
        Node::Nil => String::new(),
        other => {
            let mut out = String::new();
            render(&Some(other.clone()), &mut out);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored object as `runtime.Encode` writes it, HTML-escaped.
    const DOC: &str = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","labels":{"z":"1","a":"2"},"annotations":{"k":"\u003c\u0026\u003e"}},"data":{"z":"x","b":"y"}}"#;

    fn run(patch: &str) -> Result<String, Refusal> {
        apply(DOC, &operations(patch)?)
    }

    #[test]
    fn operations_sort_what_they_go_through() {
        // Checked against the reference.
        let out = run(
            r#"[{"op":"add","path":"/metadata/labels/q","value":"1"},{"op":"add","path":"/data/a","value":{"z":1.50, "a":[2,1]}}]"#,
        );
        assert_eq!(
            out.unwrap(),
            r#"{"apiVersion":"v1","data":{"a":{"z":1.50,"a":[2,1]},"b":"y","z":"x"},"kind":"ConfigMap","metadata":{"annotations":{"k":"\u003c\u0026\u003e"},"labels":{"a":"2","q":"1","z":"1"},"name":"a"}}"#
        );
        let out = run(r#"[{"op":"copy","from":"/metadata/labels","path":"/data/c"}]"#).unwrap();
        assert!(
            out.contains(r#""data":{"b":"y","c":{"z":"1","a":"2"},"z":"x"}"#),
            "{out}"
        );
    }

    #[test]
    fn test_compares_raw_text() {
        // `<&>` is stored escaped, so the texts differ.
        let failed = run(r#"[{"op":"test","path":"/metadata/annotations","value":{"k":"<&>"}}]"#);
        assert_eq!(failed, Err(Refusal::Apply));
        let ok = run(
            r#"[{"op":"test","path":"/data","value":{"b":"y","z":"x"}},{"op":"remove","path":"/data/z"}]"#,
        );
        assert!(ok.unwrap().contains(r#""data":{"b":"y"}"#));
    }

    #[test]
    fn indices_and_refusals() {
        let doc = r#"{"a":[1,2,3]}"#;
        let ops =
            operations(r#"[{"op":"add","path":"/a/-1","value":9},{"op":"remove","path":"/a/0"}]"#)
                .unwrap();
        // -1 is the end of the array with the new item: after the last.
        assert_eq!(apply(doc, &ops).unwrap(), r#"{"a":[2,3,9]}"#);
        let ops = operations(r#"[{"op":"replace","path":"/b","value":1}]"#).unwrap();
        assert_eq!(apply(doc, &ops).unwrap(), r#"{"a":[1,2,3],"b":1}"#);
        assert_eq!(
            apply(doc, &operations(r#"[{"op":"nope"}]"#).unwrap()),
            Err(Refusal::Apply)
        );
        assert_eq!(
            operations(r#"{"op":"add"}"#),
            Err(Refusal::Decode("error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp".into()))
        );
        assert_eq!(
            operations(r#"[{"op":1}]"#),
            Err(Refusal::Decode("error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string".into()))
        );
    }
}
