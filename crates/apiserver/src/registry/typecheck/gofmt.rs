//! Go's `fmt` verbs on unstructured values — what `encoding/json` and the YAML reader
//! leave in a `map[string]interface{}`: `nil`, `bool`, `int64`, `float64`, `string`,
//! `[]interface{}`, `map[string]interface{}` — as upstream's messages print them
//! (`$GOROOT/src/fmt/print.go`, `format.go`: maps with their keys sorted, floats as
//! `strconv.FormatFloat(f, 'g', -1, 64)`, strings quoted by `strconv.Quote` under `%#v`).

use serde_json::{Number, Value};

/// How a decoder turned a JSON number into a Go number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ints {
    /// `int64` when the literal is an integer, else `float64` (sigs.k8s.io/json's
    /// `UnmarshalCaseSensitivePreserveInts`, `internal/golang/encoding/json/decode.go`).
    Literal,
    /// `int64` when the value is integral and fits, else `float64`: apimachinery's YAML
    /// reader re-reads the JSON goyaml.v2's value was written as (`pkg/util/yaml`
    /// `Unmarshal`, `pkg/util/json` `convertNumber`), where an integral float is written
    /// without a fraction.
    Integral,
}

/// A Go number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// The Go number `n` decodes to.
pub fn num(n: &Number, ints: Ints) -> Num {
    if let Some(i) = n.as_i64() {
        return Num::Int(i);
    }
    let f = n.as_f64().unwrap_or(0.0);
    // 2^63: the first float that does not fit an int64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if ints == Ints::Integral && n.is_f64() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        return Num::Int(f as i64);
    }
    Num::Float(f)
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` and `%#v` print a float64 with: the
/// shortest digits that read back, `%e` when the exponent is below -4 or at least 6
/// (`$GOROOT/src/strconv/ftoa.go`, `formatDigits`).
pub fn go_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    crate::schema::yaml::go_float(f)
}

fn number(n: &Number, ints: Ints) -> String {
    match num(n, ints) {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => go_g(f),
    }
}

/// The keys of a map in the order `fmt` prints them (sorted, `internal/fmtsort`).
fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// `%v`: `map[a:1 b:[x <nil>]]`.
pub fn go_v(v: &Value, ints: Ints) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n, ints),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| go_v(i, ints)).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let entries: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_v(v, ints)))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

/// `%#v` of a value held in an `interface{}`:
/// `map[string]interface {}{"a":[]interface {}{1, "x", interface {}(nil)}}`.
pub fn go_sharp_v(v: &Value, ints: Ints) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n, ints),
        Value::String(s) => crate::status::quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| go_sharp_v(i, ints)).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Object(m) => {
            let entries: Vec<String> = sorted(m)
                .into_iter()
                .map(|(k, v)| format!("{}:{}", crate::status::quote(k), go_sharp_v(v, ints)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", entries.join(", "))
        }
    }
}

/// `%T`: the Go type of the value.
pub fn go_type(v: &Value, ints: Ints) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n, ints) {
            Num::Int(_) => "int64",
            Num::Float(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_go_prints_them() {
        // Checked against Go 1.24's fmt.
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (1.5e-6, "1.5e-06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
        ];
        for (f, want) in cases {
            assert_eq!(go_g(f), want, "{f}");
        }
    }

    #[test]
    fn numbers_follow_the_decoder() {
        let n = |s: &str| serde_json::from_str::<Number>(s).unwrap();
        assert_eq!(num(&n("1.0"), Ints::Literal), Num::Float(1.0));
        assert_eq!(num(&n("1.0"), Ints::Integral), Num::Int(1));
        assert_eq!(num(&n("1e30"), Ints::Integral), Num::Float(1e30));
        assert_eq!(
            num(&n("12345678901234567890"), Ints::Literal),
            Num::Float(1.2345678901234567e19)
        );
    }

    #[test]
    fn verbs_print_maps_sorted() {
        let v = json!({"z": 1, "b": ["x", 2, null, true]});
        assert_eq!(
            go_sharp_v(&v, Ints::Integral),
            r#"map[string]interface {}{"b":[]interface {}{"x", 2, interface {}(nil), true}, "z":1}"#
        );
        assert_eq!(go_v(&v, Ints::Integral), "map[b:[x 2 <nil> true] z:1]");
        assert_eq!(
            go_sharp_v(&json!("é\u{1}\t<"), Ints::Integral),
            r#""é\x01\t<""#
        );
        assert_eq!(go_sharp_v(&json!([]), Ints::Integral), "[]interface {}{}");
        assert_eq!(go_v(&json!({"a": {}}), Ints::Literal), "map[a:map[]]");
        assert_eq!(
            go_type(&json!({}), Ints::Literal),
            "map[string]interface {}"
        );
        assert_eq!(go_type(&json!([1]), Ints::Literal), "[]interface {}");
        assert_eq!(go_type(&json!(1.5), Ints::Literal), "float64");
    }
}
