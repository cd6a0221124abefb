//! Response encoding as upstream negotiates it (FIDELITY.md §0): pretty JSON without a
//! trailing newline for `?pretty=true` and curl/Wget/browser user agents, compact JSON with
//! a newline otherwise; Go's HTML-safe escaping of `<`, `>`, `&`.

use super::request_info::parse_bool;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// `isPrettyPrint` from `negotiation/negotiate.go`.
pub fn wants_pretty(query: &[(String, String)], user_agent: &str) -> bool {
    if let Some((_, v)) = query.iter().find(|(k, _)| k == "pretty")
        && let Some(b) = parse_bool(v)
    {
        return b;
    }
    user_agent.starts_with("curl")
        || user_agent.starts_with("Wget")
        || user_agent.starts_with("Mozilla/5.0")
}

/// Formatter methods that call the wrapped formatter's.
macro_rules! pass_through {
    ($($method:ident($($arg:ident: $ty:ty)?);)*) => {$(
        fn $method<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)?) -> io::Result<()> {
            self.0.$method(w $(, $arg)?)
        }
    )*};
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings
/// (`encode.go`, `appendString` with `escapeHTML`, on for `Marshal` and a new `Encoder`);
/// they never occur outside strings. A formatter around serde_json's that does the same
/// while it writes.
struct GoEscape<F>(F);

impl<F: Formatter> Formatter for GoEscape<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let bytes = s.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            let (escaped, len) = match bytes[i] {
                b'<' => ("\\u003c", 1),
                b'>' => ("\\u003e", 1),
                b'&' => ("\\u0026", 1),
                0xE2 if s[i..].starts_with('\u{2028}') => ("\\u2028", 3),
                0xE2 if s[i..].starts_with('\u{2029}') => ("\\u2029", 3),
                _ => {
                    i += 1;
                    continue;
                }
            };
            w.write_all(&bytes[start..i])?;
            w.write_all(escaped.as_bytes())?;
            i += len;
            start = i;
        }
        w.write_all(&bytes[start..])
    }

    // What the pretty printer does differently from the compact one, passed through.
    pass_through! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }
}

/// `v` written with `formatter`, Go-escaped.
fn write_go(v: &Value, formatter: impl Formatter, out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(out, GoEscape(formatter));
    v.serialize(&mut ser).expect("values serialize");
}

/// `json.MarshalIndent(v, "", "  ")`: no trailing newline.
pub fn pretty(v: &Value) -> Bytes {
    let mut out = Vec::with_capacity(256);
    write_go(v, PrettyFormatter::new(), &mut out);
    Bytes::from(out)
}

/// `json.NewEncoder(w).Encode(v)`: one line and a newline.
pub fn compact(v: &Value) -> Bytes {
    let mut out = Vec::with_capacity(256);
    write_go(v, CompactFormatter, &mut out);
    out.push(b'\n');
    Bytes::from(out)
}

pub fn encode(v: &Value, pretty_print: bool) -> Bytes {
    if pretty_print { pretty(v) } else { compact(v) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_rules() {
        let q = |v: &str| vec![("pretty".to_string(), v.to_string())];
        assert!(wants_pretty(&[], "curl/7.88.1"));
        assert!(!wants_pretty(&[], "kubectl/v1.33.3"));
        assert!(wants_pretty(&q("true"), "kubectl"));
        assert!(!wants_pretty(&q("0"), "curl/8"));
    }

    #[test]
    fn go_escapes_and_newlines() {
        let v = json!({"m": "a<b>&c"});
        assert_eq!(compact(&v), "{\"m\":\"a\\u003cb\\u003e\\u0026c\"}\n");
        let v = json!({"<k>": ["\u{2028}x\u{2029}é\"\n"]});
        assert_eq!(
            compact(&v),
            "{\"\\u003ck\\u003e\":[\"\\u2028x\\u2029é\\\"\\n\"]}\n"
        );
        assert_eq!(
            pretty(&json!({"a": [1, {"b": "&"}], "c": {}})),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"\\u0026\"\n    }\n  ],\n  \"c\": {}\n}"
        );
        assert_eq!(pretty(&json!({})), "{}");
    }
}
