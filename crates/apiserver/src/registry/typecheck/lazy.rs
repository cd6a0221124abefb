//! The documents of gopkg.in/evanphx/json-patch.v4 (v4.12.0, `patch.go`, `merge.go`),
//! which kube-apiserver applies JSON patches and JSON merge patches with
//! (apiserver `pkg/endpoints/handlers/patch.go`, `applyJSPatch`). A document is a tree of
//! `lazyNode`s: a node keeps the JSON text it was read from until an operation needs to
//! look inside it, and only then becomes a Go map (`partialDoc`) or slice
//! (`partialArray`). Written back with `json.Marshal`, a map's keys come out sorted while
//! a node nobody looked into comes out as it was read, compacted: the object's top level
//! and the objects a patch went through are sorted, the rest keeps the stored order, and
//! a value from the patch keeps the client's own text (`1.50`, `"\u00e9"`).
//!
//! The patched text matters because upstream quotes it when the result does not decode.

use std::collections::BTreeMap;

/// A `*lazyNode`, `None` being the nil pointer a JSON `null` in a document decodes to.
pub type Slot = Option<Node>;

/// A `lazyNode`.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `eRaw`: the text it was read from.
    Raw(String),
    /// `eRaw` without text: an operation's `"value": null` (`newLazyNode(nil)`).
    Nil,
    /// `eDoc`: a Go map, written with its keys sorted.
    Doc(BTreeMap<String, Slot>),
    /// `eAry`.
    Ary(Vec<Slot>),
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the JSON value starting at `i` of well-formed text.
fn value_end(s: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    while i < s.len() {
        let c = s[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(i),
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    (depth == 0 && !in_string).then_some(i)
}

/// The values of a JSON object or array's text, with the keys of an object: how
/// `json.Unmarshal` fills a `partialDoc` or `partialArray` with raw nodes.
fn members(raw: &str, open: u8, close: u8, keyed: bool) -> Option<Vec<(String, Slot)>> {
    let s = raw.as_bytes();
    let mut i = skip_ws(s, 0);
    if s.get(i) != Some(&open) {
        return None;
    }
    i = skip_ws(s, i + 1);
    let mut out = Vec::new();
    if s.get(i) == Some(&close) {
        return Some(out);
    }
    loop {
        let mut key = String::new();
        if keyed {
            let end = value_end(s, i)?;
            key = serde_json::from_str(raw.get(i..end)?).ok()?;
            i = skip_ws(s, end);
            if s.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(s, i + 1);
        }
        let end = value_end(s, i)?;
        let text = raw.get(i..end)?;
        out.push((key, (text != "null").then(|| Node::Raw(text.to_string()))));
        i = skip_ws(s, end);
        match s.get(i) {
            Some(b',') => i = skip_ws(s, i + 1),
            Some(c) if *c == close => return Some(out),
            _ => return None,
        }
    }
}

/// `json.Unmarshal(raw, &partialDoc)`: a later duplicate key wins, as in a Go map.
pub fn parse_doc(raw: &str) -> Option<BTreeMap<String, Slot>> {
    members(raw, b'{', b'}', true).map(|m| m.into_iter().collect())
}

/// `json.Unmarshal(raw, &partialArray)`.
pub fn parse_ary(raw: &str) -> Option<Vec<Slot>> {
    members(raw, b'[', b']', false).map(|m| m.into_iter().map(|(_, v)| v).collect())
}

impl Node {
    /// `intoDoc`: the node as a map, read from its text the first time.
    pub fn read_doc(&mut self) -> Option<&mut BTreeMap<String, Slot>> {
        if let Node::Raw(raw) = self {
            *self = Node::Doc(parse_doc(raw)?);
        }
        match self {
            Node::Doc(d) => Some(d),
            _ => None,
        }
    }

    /// `intoAry`.
    pub fn read_ary(&mut self) -> Option<&mut Vec<Slot>> {
        if let Node::Raw(raw) = self {
            *self = Node::Ary(parse_ary(raw)?);
        }
        match self {
            Node::Ary(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the node is still `eRaw`.
    pub fn is_raw(&self) -> bool {
        matches!(self, Node::Raw(_) | Node::Nil)
    }
}

/// Go's `json.Compact` of well-formed text; with `escape`, the `<`, `>`, `&`, U+2028 and
/// U+2029 escapes `json.Marshal` adds (`$GOROOT/src/encoding/json/indent.go`,
/// `appendCompact`).
pub fn go_compact(src: &str, escape: bool) -> String {
    let mut out = String::with_capacity(src.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in src.chars() {
        if in_string {
            match c {
                '<' | '>' | '&' if escape => out.push_str(&format!("\\u{:04x}", c as u32)),
                '\u{2028}' | '\u{2029}' if escape => out.push_str(&format!("\\u{:04x}", c as u32)),
                _ => out.push(c),
            }
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// `json.Marshal` of a node: raw text compacted, maps with their keys sorted.
pub fn render(slot: &Slot, out: &mut String) {
    match slot {
        None | Some(Node::Nil) => out.push_str("null"),
        Some(Node::Raw(raw)) => out.push_str(&go_compact(raw, true)),
        Some(Node::Doc(d)) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = serde_json::to_string(k).unwrap_or_default();
                out.push_str(&go_compact(&key, true));
                out.push(':');
                render(v, out);
            }
            out.push('}');
        }
        Some(Node::Ary(a)) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(v, out);
            }
            out.push(']');
        }
    }
}

pub fn rendered(slot: &Slot) -> String {
    let mut out = String::new();
    render(slot, &mut out);
    out
}

/// Why a merge patch was refused before it applied.
#[derive(Debug, PartialEq)]
pub enum MergeRefusal {
    /// `ErrBadJSONPatch`: a `null` patch.
    BadPatch,
    /// Not an object: what the strict decoding into a map says first.
    NotAnObject(&'static str),
}

/// `jsonpatch.MergePatch(doc, patch)` (merge.go `doMergePatch`) over an object `doc`, the
/// patch first read as the handler's strict decoding into a `map[string]interface{}`
/// reads it (a `fieldValidation` of `Warn`, the default): anything but an object or
/// `null` is refused there. Both texts are well-formed JSON.
pub fn merge_patch(doc: &str, patch: &str) -> Result<String, MergeRefusal> {
    let p = patch.as_bytes();
    let kind = match p.get(skip_ws(p, 0)) {
        Some(b'{') => None,
        Some(b'[') => Some("array"),
        Some(b'"') => Some("string"),
        Some(b't' | b'f') => Some("bool"),
        Some(b'n') => return Err(MergeRefusal::BadPatch),
        _ => Some("number"),
    };
    if let Some(kind) = kind {
        return Err(MergeRefusal::NotAnObject(kind));
    }
    let (Some(mut doc), Some(patch)) = (parse_doc(doc), parse_doc(patch)) else {
        return Err(MergeRefusal::BadPatch);
    };
    merge_docs(&mut doc, patch);
    Ok(rendered(&Some(Node::Doc(doc))))
}

/// merge.go `mergeDocs`.
fn merge_docs(doc: &mut BTreeMap<String, Slot>, patch: BTreeMap<String, Slot>) {
    for (k, v) in patch {
        let Some(mut v) = v else {
            doc.remove(&k);
            continue;
        };
        match doc.get_mut(&k) {
            Some(Some(cur)) => {
                let cur = std::mem::replace(cur, Node::Nil);
                doc.insert(k, Some(merge(cur, v)));
            }
            _ => {
                prune_nulls(&mut v);
                doc.insert(k, Some(v));
            }
        }
    }
}

/// merge.go `merge`: into an object, an object merges; anything else replaces it.
fn merge(mut cur: Node, mut patch: Node) -> Node {
    if cur.read_doc().is_none() {
        prune_nulls(&mut patch);
        return patch;
    }
    let Some(p) = patch.read_doc() else {
        return patch;
    };
    let p = std::mem::take(p);
    if let Some(d) = cur.read_doc() {
        merge_docs(d, p);
    }
    cur
}

/// merge.go `pruneNulls`: the `null`s of objects go, an array's stay.
fn prune_nulls(n: &mut Node) {
    if let Some(d) = n.read_doc() {
        d.retain(|_, v| v.is_some());
        d.values_mut().flatten().for_each(prune_nulls);
    } else if let Some(a) = n.read_ary() {
        a.iter_mut().flatten().for_each(prune_nulls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","labels":{"z":"1","a":"2"},"annotations":{"k":"<&>"}},"data":{"z":"x","b":"y"}}"#;

    #[test]
    fn merge_sorts_what_it_went_through() {
        // Checked against the reference: the top level and `data` are sorted, `metadata`
        // is as stored (but HTML-escaped), the patch's own text is kept.
        let out = merge_patch(
            DOC,
            r#"{"data":{"a":1.50,"q":{"z":1,"a":null,"m":[{"y":1,"b":null}]}}}"#,
        );
        assert_eq!(
            out.unwrap(),
            r#"{"apiVersion":"v1","data":{"a":1.50,"b":"y","q":{"m":[{"y":1}],"z":1},"z":"x"},"kind":"ConfigMap","metadata":{"name":"a","labels":{"z":"1","a":"2"},"annotations":{"k":"\u003c\u0026\u003e"}}}"#
        );
        let out = merge_patch(DOC, r#"{"data":[1, {"z":1, "a":2}]}"#).unwrap();
        assert!(out.contains(r#""data":[1,{"z":1,"a":2}]"#), "{out}");
        let out = merge_patch(DOC, r#"{"data":{"z":{"k":"\u00e9\u003c",  "b":null}}}"#).unwrap();
        assert!(
            out.contains(r#""data":{"b":"y","z":{"k":"\u00e9\u003c"}}"#),
            "{out}"
        );
    }

    #[test]
    fn merge_refuses_what_is_no_object() {
        assert_eq!(merge_patch(DOC, "null"), Err(MergeRefusal::BadPatch));
        assert_eq!(
            merge_patch(DOC, " [1]"),
            Err(MergeRefusal::NotAnObject("array"))
        );
        assert_eq!(
            merge_patch(DOC, "1"),
            Err(MergeRefusal::NotAnObject("number"))
        );
    }

    #[test]
    fn compact_escapes_inside_strings_only() {
        assert_eq!(
            go_compact("{ \"a\\\"<\" : [1, 2] }", true),
            r#"{"a\"\u003c":[1,2]}"#
        );
        assert_eq!(go_compact("\"\u{2028}&\"", false), "\"\u{2028}&\"");
    }
}
