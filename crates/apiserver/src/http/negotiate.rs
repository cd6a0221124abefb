//! Response encoding as upstream negotiates it (FIDELITY.md §0): pretty JSON without a
//! trailing newline for `?pretty=true` and curl/Wget/browser user agents, compact JSON with
//! a newline otherwise; Go's HTML-safe escaping of `<`, `>`, `&`.

use super::request_info::parse_bool;
use bytes::Bytes;
use serde_json::Value;

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

/// Go's encoding/json escapes these even inside strings; they never occur outside strings.
fn go_escape(s: String) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `json.MarshalIndent(v, "", "  ")`: no trailing newline.
pub fn pretty(v: &Value) -> Bytes {
    Bytes::from(go_escape(
        serde_json::to_string_pretty(v).expect("values serialize"),
    ))
}

/// `json.NewEncoder(w).Encode(v)`: one line and a newline.
pub fn compact(v: &Value) -> Bytes {
    let mut s = go_escape(serde_json::to_string(v).expect("values serialize"));
    s.push('\n');
    Bytes::from(s)
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
        assert_eq!(pretty(&json!({})), "{}");
    }
}
