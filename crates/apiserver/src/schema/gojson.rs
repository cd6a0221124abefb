//! Go's words for a request body the API server cannot decode, so that a refusal reads as
//! kube-apiserver's does. serde_json still parses; this module only words what Go would
//! have said, and picks the error Go would have reported first.
//!
//! - [`syntax_error`]: the syntax error of Go's `encoding/json` scanner
//!   (`$GOROOT/src/encoding/json/scanner.go`, copied unchanged into
//!   `sigs.k8s.io/json/internal/golang/encoding/json/scanner.go`), a port of its state
//!   machine. kube-apiserver's JSON serializer first reads `apiVersion` and `kind` with
//!   `encoding/json` (`SimpleMetaFactory.Interpret`, apimachinery
//!   `pkg/runtime/serializer/json/meta.go`), which checks the whole document first.
//! - [`interpret`]: the rest of that first read: the type errors of `apiVersion` and `kind`.
//! - [`type_error`]: the error `sigs.k8s.io/json` (`UnmarshalCaseSensitivePreserveInts`,
//!   `internal/golang/encoding/json/decode.go`) reports when the body is decoded into the
//!   kind's Go struct: `json: cannot unmarshal bool into Go struct field
//!   ObjectMeta.metadata.labels of type string`, walked over the decoded value with the
//!   type table ([`super::SCHEMA`]).

use super::{Def, Field, SCHEMA, Special, Type};
use serde_json::{Map, Number, Value};

/// The scanner's result for one byte (`scanContinue`...`scanError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Continue,
    BeginLiteral,
    BeginObject,
    ObjectKey,
    ObjectValue,
    EndObject,
    BeginArray,
    ArrayValue,
    EndArray,
    SkipSpace,
    End,
    Error,
}

/// What the scanner is inside of (`parseObjectKey`, `parseObjectValue`, `parseArrayValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

/// The scanner's step function (`stateBeginValue`, `stateInString`, ...).
#[derive(Debug, Clone, Copy)]
enum State {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    /// `\u` and this many hex digits of it read.
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    /// Inside `true`, `false` or `null`, expecting the byte at this index next.
    Literal(&'static str, usize),
    Error,
}

/// `maxNestingDepth` of scanner.go.
const MAX_NESTING_DEPTH: usize = 10000;

/// encoding/json's `scanner`.
struct Scanner {
    state: State,
    parse: Vec<Parse>,
    err: Option<String>,
    end_top: bool,
}

impl Scanner {
    fn new() -> Scanner {
        Scanner {
            state: State::BeginValue,
            parse: Vec::new(),
            err: None,
            end_top: false,
        }
    }

    fn step(&mut self, c: u8) -> Op {
        match self.state {
            State::BeginValueOrEmpty => self.begin_value_or_empty(c),
            State::BeginValue => self.begin_value(c),
            State::BeginStringOrEmpty => self.begin_string_or_empty(c),
            State::BeginString => self.begin_string(c),
            State::EndValue => self.end_value(c),
            State::EndTop => self.end_top(c),
            State::InString => self.in_string(c),
            State::InStringEsc => self.in_string_esc(c),
            State::InStringEscU(n) => self.in_string_esc_u(n, c),
            State::Neg => self.neg(c),
            State::One => self.one(c),
            State::Zero => self.zero(c),
            State::Dot => self.dot(c),
            State::Dot0 => self.dot0(c),
            State::E => self.e(c),
            State::ESign => self.e_sign(c),
            State::E0 => self.e0(c),
            State::Literal(word, at) => self.literal(word, at, c),
            State::Error => Op::Error,
        }
    }

    /// `scanner.eof`: the end of the input.
    fn eof(&mut self) -> Op {
        if self.err.is_some() {
            return Op::Error;
        }
        if self.end_top {
            return Op::End;
        }
        self.step(b' ');
        if self.end_top {
            return Op::End;
        }
        if self.err.is_none() {
            self.err = Some("unexpected end of JSON input".into());
        }
        Op::Error
    }

    /// `scanner.error`: `invalid character 'x' <context>`.
    fn error(&mut self, c: u8, context: &str) -> Op {
        self.state = State::Error;
        self.err = Some(format!("invalid character {} {context}", quote_char(c)));
        Op::Error
    }

    fn push(&mut self, c: u8, parse: Parse, success: Op) -> Op {
        self.parse.push(parse);
        if self.parse.len() <= MAX_NESTING_DEPTH {
            return success;
        }
        self.error(c, "exceeded max depth")
    }

    fn pop(&mut self) {
        self.parse.pop();
        if self.parse.is_empty() {
            self.state = State::EndTop;
            self.end_top = true;
        } else {
            self.state = State::EndValue;
        }
    }

    fn begin_value_or_empty(&mut self, c: u8) -> Op {
        if is_space(c) {
            return Op::SkipSpace;
        }
        if c == b']' {
            return self.end_value(c);
        }
        self.begin_value(c)
    }

    fn begin_value(&mut self, c: u8) -> Op {
        if is_space(c) {
            return Op::SkipSpace;
        }
        let (state, op) = match c {
            b'{' => {
                self.state = State::BeginStringOrEmpty;
                return self.push(c, Parse::ObjectKey, Op::BeginObject);
            }
            b'[' => {
                self.state = State::BeginValueOrEmpty;
                return self.push(c, Parse::ArrayValue, Op::BeginArray);
            }
            b'"' => (State::InString, Op::BeginLiteral),
            b'-' => (State::Neg, Op::BeginLiteral),
            b'0' => (State::Zero, Op::BeginLiteral),
            b't' => (State::Literal("true", 1), Op::BeginLiteral),
            b'f' => (State::Literal("false", 1), Op::BeginLiteral),
            b'n' => (State::Literal("null", 1), Op::BeginLiteral),
            b'1'..=b'9' => (State::One, Op::BeginLiteral),
            _ => return self.error(c, "looking for beginning of value"),
        };
        self.state = state;
        op
    }

    fn begin_string_or_empty(&mut self, c: u8) -> Op {
        if is_space(c) {
            return Op::SkipSpace;
        }
        if c == b'}' {
            if let Some(last) = self.parse.last_mut() {
                *last = Parse::ObjectValue;
            }
            return self.end_value(c);
        }
        self.begin_string(c)
    }

    fn begin_string(&mut self, c: u8) -> Op {
        if is_space(c) {
            return Op::SkipSpace;
        }
        if c == b'"' {
            self.state = State::InString;
            return Op::BeginLiteral;
        }
        self.error(c, "looking for beginning of object key string")
    }

    fn end_value(&mut self, c: u8) -> Op {
        let Some(&last) = self.parse.last() else {
            self.state = State::EndTop;
            self.end_top = true;
            return self.end_top(c);
        };
        if is_space(c) {
            self.state = State::EndValue;
            return Op::SkipSpace;
        }
        match (last, c) {
            (Parse::ObjectKey, b':') => {
                self.set_last(Parse::ObjectValue);
                self.state = State::BeginValue;
                Op::ObjectKey
            }
            (Parse::ObjectKey, _) => self.error(c, "after object key"),
            (Parse::ObjectValue, b',') => {
                self.set_last(Parse::ObjectKey);
                self.state = State::BeginString;
                Op::ObjectValue
            }
            (Parse::ObjectValue, b'}') => {
                self.pop();
                Op::EndObject
            }
            (Parse::ObjectValue, _) => self.error(c, "after object key:value pair"),
            (Parse::ArrayValue, b',') => {
                self.state = State::BeginValue;
                Op::ArrayValue
            }
            (Parse::ArrayValue, b']') => {
                self.pop();
                Op::EndArray
            }
            (Parse::ArrayValue, _) => self.error(c, "after array element"),
        }
    }

    fn set_last(&mut self, parse: Parse) {
        if let Some(last) = self.parse.last_mut() {
            *last = parse;
        }
    }

    /// `stateEndTop`: the error is kept, but the byte still ends the value.
    fn end_top(&mut self, c: u8) -> Op {
        if !is_space(c) {
            self.error(c, "after top-level value");
        }
        Op::End
    }

    fn in_string(&mut self, c: u8) -> Op {
        match c {
            b'"' => self.state = State::EndValue,
            b'\\' => self.state = State::InStringEsc,
            0..=0x1f => return self.error(c, "in string literal"),
            _ => {}
        }
        Op::Continue
    }

    fn in_string_esc(&mut self, c: u8) -> Op {
        match c {
            b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => self.state = State::InString,
            b'u' => self.state = State::InStringEscU(0),
            _ => return self.error(c, "in string escape code"),
        }
        Op::Continue
    }

    fn in_string_esc_u(&mut self, read: u8, c: u8) -> Op {
        if !c.is_ascii_hexdigit() {
            return self.error(c, "in \\u hexadecimal character escape");
        }
        self.state = if read == 3 {
            State::InString
        } else {
            State::InStringEscU(read + 1)
        };
        Op::Continue
    }

    fn neg(&mut self, c: u8) -> Op {
        match c {
            b'0' => self.state = State::Zero,
            b'1'..=b'9' => self.state = State::One,
            _ => return self.error(c, "in numeric literal"),
        }
        Op::Continue
    }

    fn one(&mut self, c: u8) -> Op {
        if c.is_ascii_digit() {
            return Op::Continue;
        }
        self.zero(c)
    }

    fn zero(&mut self, c: u8) -> Op {
        match c {
            b'.' => self.state = State::Dot,
            b'e' | b'E' => self.state = State::E,
            _ => return self.end_value(c),
        }
        Op::Continue
    }

    fn dot(&mut self, c: u8) -> Op {
        if c.is_ascii_digit() {
            self.state = State::Dot0;
            return Op::Continue;
        }
        self.error(c, "after decimal point in numeric literal")
    }

    fn dot0(&mut self, c: u8) -> Op {
        match c {
            b'0'..=b'9' => {}
            b'e' | b'E' => self.state = State::E,
            _ => return self.end_value(c),
        }
        Op::Continue
    }

    fn e(&mut self, c: u8) -> Op {
        if c == b'+' || c == b'-' {
            self.state = State::ESign;
            return Op::Continue;
        }
        self.e_sign(c)
    }

    fn e_sign(&mut self, c: u8) -> Op {
        if c.is_ascii_digit() {
            self.state = State::E0;
            return Op::Continue;
        }
        self.error(c, "in exponent of numeric literal")
    }

    fn e0(&mut self, c: u8) -> Op {
        if c.is_ascii_digit() {
            return Op::Continue;
        }
        self.end_value(c)
    }

    /// `stateT`, `stateTr`, ... `stateNul`: the rest of `true`, `false` or `null`.
    fn literal(&mut self, word: &'static str, at: usize, c: u8) -> Op {
        let want = word.as_bytes().get(at).copied().unwrap_or(b' ');
        if c != want {
            let context = format!("in literal {word} (expecting '{}')", char::from(want));
            return self.error(c, &context);
        }
        self.state = if at + 1 == word.len() {
            State::EndValue
        } else {
            State::Literal(word, at + 1)
        };
        Op::Continue
    }
}

/// `isSpace` of scanner.go.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `quoteChar` of scanner.go: the byte as a rune (so 0xE9 is 'é'), quoted as
/// `strconv.Quote` quotes it, between single quotes.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".into(),
        b'"' => "'\"'".into(),
        _ => format!("'{}'", quote_rune(c)),
    }
}

/// `strconv.Quote`'s escaping of the rune U+0000..U+00FF (strconv/quote.go
/// `appendEscapedRune`, `IsPrint`).
fn quote_rune(c: u8) -> String {
    match c {
        0x07 => r"\a".into(),
        0x08 => r"\b".into(),
        0x0c => r"\f".into(),
        b'\n' => r"\n".into(),
        b'\r' => r"\r".into(),
        b'\t' => r"\t".into(),
        0x0b => r"\v".into(),
        b'\\' => r"\\".into(),
        0..=0x1f | 0x7f => format!("\\x{c:02x}"),
        // Latin-1's controls, the no-break space and the soft hyphen are not printable.
        0x80..=0xa0 | 0xad => format!("\\u{c:04x}"),
        _ => char::from(c).to_string(),
    }
}

/// The syntax error Go's `json.Unmarshal` reports for `data` (`checkValid`), or `None`
/// when `data` is one well-formed JSON value.
pub fn syntax_error(data: &[u8]) -> Option<String> {
    let mut scan = Scanner::new();
    for &c in data {
        if scan.step(c) == Op::Error {
            return scan.err;
        }
    }
    if scan.eof() == Op::Error {
        return scan.err;
    }
    None
}

/// The number literals of a well-formed `data`, in document order, as written (`1e3`,
/// `-1.0`): Go's type errors quote them (`number 1.5`), and a decoded value has lost them.
pub fn number_literals(data: &[u8]) -> Vec<&str> {
    let mut scan = Scanner::new();
    let mut out = Vec::new();
    let mut start = None;
    for (i, &c) in data.iter().enumerate() {
        let op = scan.step(c);
        if op == Op::Error {
            return out;
        }
        if let Some(s) = start
            && op != Op::Continue
        {
            out.extend(std::str::from_utf8(&data[s..i]).ok());
            start = None;
        }
        if op == Op::BeginLiteral && (c == b'-' || c.is_ascii_digit()) {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.extend(std::str::from_utf8(&data[s..]).ok());
    }
    out
}

/// The Go type `SimpleMetaFactory.Interpret` reads a body into.
const FIND_KIND: &str = r#"struct { APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" }"#;

/// `apiVersion` and `kind` as `SimpleMetaFactory.Interpret` (apimachinery
/// `pkg/runtime/serializer/json/meta.go`) reads them with encoding/json: keys match
/// case-insensitively, the last wins, `null` leaves a field empty; any other type is an
/// error (`json: cannot unmarshal number into Go struct field .kind of type string`).
pub fn interpret(v: &Value) -> Result<(String, String), String> {
    let m = match v {
        Value::Null => return Ok(Default::default()),
        Value::Object(m) => m,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type {FIND_KIND}",
                describe(other)
            ));
        }
    };
    let (mut api_version, mut kind) = (String::new(), String::new());
    let mut first = None;
    for (key, value) in m {
        let (name, slot) = if folds_to(key, "apiversion") {
            ("apiVersion", &mut api_version)
        } else if folds_to(key, "kind") {
            ("kind", &mut kind)
        } else {
            continue;
        };
        match value {
            Value::String(s) => *slot = s.clone(),
            Value::Null => {}
            other => {
                first.get_or_insert_with(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field .{name} of type string",
                        describe(other)
                    )
                });
            }
        }
    }
    first.map_or(Ok((api_version, kind)), Err)
}

/// Whether a key names the field `lower` as encoding/json's case-insensitive match does
/// (encoding/json/fold.go `foldName`: ASCII case, the Kelvin sign as `k`, `ſ` as `s`).
fn folds_to(key: &str, lower: &str) -> bool {
    let folded = key.chars().map(|c| match c {
        '\u{212a}' => 'k',
        '\u{17f}' => 's',
        c => c.to_ascii_lowercase(),
    });
    folded.eq(lower.chars())
}

/// `schema.ParseGroupVersion` (apimachinery `pkg/runtime/schema/group_version.go`):
/// `v1` is the core group's, `apps/v1` a group's; more slashes are an error.
pub fn parse_group_version(gv: &str) -> Result<(&str, &str), String> {
    if gv.is_empty() || gv == "/" {
        return Ok(("", ""));
    }
    match gv.matches('/').count() {
        0 => Ok(("", gv)),
        1 => Ok(gv.split_once('/').unwrap_or(("", gv))),
        _ => Err(format!("unexpected GroupVersion string: {gv}")),
    }
}

/// What a JSON value is called in Go's type errors (decode.go `literalStore`, `array`,
/// `object`).
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How decode.go treats a Go type, by its kind.
#[derive(Debug)]
enum Kind {
    Str,
    Bool,
    Int {
        bits: u32,
        signed: bool,
    },
    Float,
    Bytes,
    Slice(String),
    Map(String),
    Any,
    Struct(&'static str, &'static [Field]),
    /// A type with its own `UnmarshalJSON`.
    Unmarshaler(Special),
}

/// A Go type: how it is decoded, and its name as `reflect.Type.String` writes it.
#[derive(Debug)]
struct GoType {
    name: String,
    kind: Kind,
}

/// The Go type of a table expression; pointers are followed, as decode.go's `indirect`
/// follows them before it reports a type.
fn go_type(expr: &str) -> GoType {
    let expr = expr.trim_start_matches('*');
    let basic = |kind| GoType {
        name: display(expr),
        kind,
    };
    match expr {
        "string" => basic(Kind::Str),
        "bool" => basic(Kind::Bool),
        "int32" => basic(Kind::Int {
            bits: 32,
            signed: true,
        }),
        "int64" | "int" => basic(Kind::Int {
            bits: 64,
            signed: true,
        }),
        "uint64" => basic(Kind::Int {
            bits: 64,
            signed: false,
        }),
        "byte" | "uint8" => basic(Kind::Int {
            bits: 8,
            signed: false,
        }),
        "float64" => basic(Kind::Float),
        "[]byte" => basic(Kind::Bytes),
        "interface{}" | "any" => basic(Kind::Any),
        _ => composite_or_named(expr),
    }
}

fn composite_or_named(expr: &str) -> GoType {
    if let Some(elem) = expr.strip_prefix("[]") {
        return GoType {
            name: display(expr),
            kind: Kind::Slice(elem.to_string()),
        };
    }
    if let Some((_, value)) = expr.strip_prefix("map[").and_then(|r| r.split_once(']')) {
        return GoType {
            name: display(expr),
            kind: Kind::Map(value.to_string()),
        };
    }
    named(expr)
}

/// A named type of the table: a struct, a type with its own unmarshalling, or a type
/// defined over another (`type Protocol string`, reported by its own name). An alias to
/// another named type (`type IPFamilyPolicyType = IPFamilyPolicy`) is that type.
fn named(name: &str) -> GoType {
    let kind = match SCHEMA.defs.get_key_value(name) {
        Some((id, Def::Struct(fields))) => Kind::Struct(struct_name(id), fields),
        Some((_, Def::Special(Special::String))) => Kind::Str,
        Some((_, Def::Special(sp))) => Kind::Unmarshaler(*sp),
        Some((_, Def::Alias(Type::Named(target)))) => return named(target),
        Some((_, Def::Alias(t))) => go_type(&expr_of(t)).kind,
        None => Kind::Any,
    };
    GoType {
        name: display(name),
        kind,
    }
}

/// A parsed table type written back as an expression (an alias's underlying type), as Go
/// names it in its messages.
pub(crate) fn expr_of(t: &Type) -> String {
    match t {
        Type::String => "string".into(),
        Type::Bool => "bool".into(),
        Type::Int => "int64".into(),
        Type::Float => "float64".into(),
        Type::Bytes => "[]byte".into(),
        Type::Any | Type::Deduced => "interface{}".into(),
        Type::Ptr(t) => format!("*{}", expr_of(t)),
        Type::Slice(t) => format!("[]{}", expr_of(t)),
        Type::Map(t) => format!("map[string]{}", expr_of(t)),
        Type::Named(n) => n.clone(),
    }
}

/// `reflect.Type.String` of a table expression: packages by their name (`core/v1.Pod` is
/// `v1.Pod`), `byte` as `uint8`.
fn display(expr: &str) -> String {
    if let Some(r) = expr.strip_prefix('*') {
        return format!("*{}", display(r));
    }
    if let Some(r) = expr.strip_prefix("[]") {
        return format!("[]{}", display(r));
    }
    if let Some((key, value)) = expr.strip_prefix("map[").and_then(|r| r.split_once(']')) {
        return format!("map[{}]{}", display(key), display(value));
    }
    match expr {
        "byte" => "uint8".into(),
        "interface{}" | "any" => "interface {}".into(),
        _ => match SCHEMA.defs.get(expr) {
            Some(Def::Alias(Type::Named(target))) => display(target),
            _ => expr.rsplit('/').next().unwrap_or(expr).to_string(),
        },
    }
}

/// `reflect.Type.Name` of a struct: `core/v1.Container` is `Container`.
fn struct_name(id: &str) -> &str {
    id.rsplit('.').next().unwrap_or(id)
}

/// The error `sigs.k8s.io/json` reports when `v` is decoded into the Go type `ty` (a table
/// expression such as `core/v1.ConfigMap`), or `None` when it decodes. Like decode.go: a
/// type error is saved and decoding goes on, so the first in document order is reported,
/// unless a type's own `UnmarshalJSON` (Time, Quantity, IntOrString) fails later, which
/// ends decoding with its error. `numbers` are the body's number literals
/// ([`number_literals`]); without them numbers are written as serde_json writes them.
pub fn type_error(ty: &str, v: &Value, numbers: &[&str]) -> Option<String> {
    let mut walk = Walk {
        numbers,
        next: 0,
        saved: None,
        strukt: None,
        path: Vec::new(),
    };
    match walk.value(ty, v) {
        Err(hard) => Some(hard),
        Ok(()) => walk.saved,
    }
}

/// decode.go's `decodeState`, reduced to what its errors need.
struct Walk<'a> {
    numbers: &'a [&'a str],
    /// The index in `numbers` of the next number met.
    next: usize,
    /// `savedError`: the first error, reported once decoding ends.
    saved: Option<String>,
    /// `errorContext`: the struct whose field is being decoded and the path to it.
    strukt: Option<&'static str>,
    path: Vec<&'static str>,
}

/// A `Walk` step: `Err` ends decoding (an `UnmarshalJSON` error).
type Step = Result<(), String>;

impl Walk<'_> {
    /// decode.go `value`: decodes `v` into `ty`.
    fn value(&mut self, ty: &str, v: &Value) -> Step {
        let t = go_type(ty);
        if let Kind::Unmarshaler(sp) = t.kind {
            return self.unmarshaler(sp, v);
        }
        match (&t.kind, v) {
            (_, Value::Null) | (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => {}
            (Kind::Any, v) => self.skip(v),
            (Kind::Struct(name, fields), Value::Object(m)) => self.object(name, fields, m)?,
            (Kind::Map(elem), Value::Object(m)) => {
                for item in m.values() {
                    self.value(elem, item)?;
                }
            }
            (Kind::Slice(elem), Value::Array(items)) => {
                for item in items {
                    self.value(elem, item)?;
                }
            }
            (Kind::Bytes, Value::Array(items)) => {
                for item in items {
                    self.value("uint8", item)?;
                }
            }
            (Kind::Bytes, Value::String(s)) => {
                if let Some(at) = base64_error(s.as_bytes()) {
                    self.save(format!("illegal base64 data at input byte {at}"));
                }
            }
            (&Kind::Int { bits, signed }, Value::Number(n)) => {
                let lit = self.literal(n);
                if !int_fits(&lit, bits, signed) {
                    let e = self.type_error(&format!("number {lit}"), &t.name);
                    self.save(e);
                }
            }
            (Kind::Float, Value::Number(_)) => self.skip(v),
            (_, v) => {
                self.skip(v);
                let e = self.type_error(describe(v), &t.name);
                self.save(e);
            }
        }
        Ok(())
    }

    /// decode.go `object` into a struct: known fields by their exact name (the decoder is
    /// case-sensitive), the others skipped.
    fn object(
        &mut self,
        name: &'static str,
        fields: &'static [Field],
        m: &Map<String, Value>,
    ) -> Step {
        for (key, item) in m {
            let Some(field) = find_field(fields, key) else {
                self.skip(item);
                continue;
            };
            let outer = self.strukt.replace(name);
            self.path.push(&field.json);
            let done = self.value(&field.go, item);
            self.path.pop();
            self.strukt = outer;
            done?;
        }
        Ok(())
    }

    /// The `UnmarshalJSON` of apimachinery's types: `metav1.Time` and `MicroTime`
    /// (apis/meta/v1/time.go, micro_time.go) and `Duration` (duration.go) read a string
    /// with encoding/json, `intstr.IntOrString` (util/intstr/intstr.go) a string or an
    /// int32, `resource.Quantity` (api/resource/quantity.go) parses its text; the raw
    /// kinds take anything. Their errors end decoding; encoding/json's get the field's
    /// context.
    fn unmarshaler(&mut self, sp: Special, v: &Value) -> Step {
        match (sp, v) {
            // apiextensions `marshal.go`: `JSONSchemaPropsOrBool` takes a bool or a schema,
            // and `JSONSchemaPropsOrStringArray`'s list is read with a `json.Unmarshal` of
            // its own, whose type error still gets the field's context (as the reference
            // answers); anything else is either side or none.
            (Special::SchemaOrBool, Value::String(_) | Value::Number(_) | Value::Array(_)) => {
                self.skip(v);
                return Err("boolean or JSON schema expected".into());
            }
            (Special::SchemaOrStringArray, Value::Array(items))
                if items.iter().any(|i| !i.is_string()) =>
            {
                self.skip(v);
                let bad = items.iter().find(|i| !i.is_string()).expect("found above");
                return Err(self.type_error(describe(bad), "string"));
            }
            (_, Value::Null)
            | (
                Special::RawJson
                | Special::String
                | Special::SchemaOrBool
                | Special::SchemaOrArray
                | Special::SchemaOrStringArray,
                _,
            ) => self.skip(v),
            (Special::Time | Special::MicroTime | Special::Duration, Value::String(_)) => {}
            (Special::Time | Special::MicroTime | Special::Duration, v) => {
                self.skip(v);
                return Err(self.type_error(describe(v), "string"));
            }
            (Special::IntOrString, Value::String(_)) => {}
            (Special::IntOrString, Value::Number(n)) => {
                let lit = self.literal(n);
                if !int_fits(&lit, 32, true) {
                    return Err(self.type_error(&format!("number {lit}"), "int32"));
                }
            }
            (Special::IntOrString, v) => {
                self.skip(v);
                return Err(self.type_error(describe(v), "int32"));
            }
            (Special::Quantity, Value::String(s)) => quantity(s.trim())?,
            (Special::Quantity, Value::Number(n)) => {
                let lit = self.literal(n);
                quantity(&lit)?;
            }
            (Special::Quantity, v) => {
                self.skip(v);
                return Err(QUANTITY_FORMAT.into());
            }
        }
        Ok(())
    }

    /// `UnmarshalTypeError.Error` with `addErrorContext`'s struct and field path.
    fn type_error(&self, value: &str, ty: &str) -> String {
        if self.strukt.is_none() && self.path.is_empty() {
            return format!("json: cannot unmarshal {value} into Go value of type {ty}");
        }
        format!(
            "json: cannot unmarshal {value} into Go struct field {}.{} of type {ty}",
            self.strukt.unwrap_or(""),
            self.path.join(".")
        )
    }

    /// `saveError`: the first error is kept.
    fn save(&mut self, e: String) {
        self.saved.get_or_insert(e);
    }

    /// A number as written in the body, when the literals line up with the value.
    fn literal(&mut self, n: &Number) -> String {
        let lit = self.numbers.get(self.next).copied();
        self.next += 1;
        match lit {
            Some(l) if l.parse::<f64>().ok() == n.as_f64() => l.to_string(),
            _ => n.to_string(),
        }
    }

    /// Passes over a value nothing is decoded into, counting its numbers.
    fn skip(&mut self, v: &Value) {
        match v {
            Value::Number(_) => self.next += 1,
            Value::Array(items) => items.iter().for_each(|i| self.skip(i)),
            Value::Object(m) => m.values().for_each(|i| self.skip(i)),
            _ => {}
        }
    }
}

/// A struct's field by its JSON name, an embedded (`inline`) struct's fields promoted.
fn find_field<'f>(fields: &'f [Field], key: &str) -> Option<&'f Field> {
    if let Some(f) = fields.iter().find(|f| !f.inline && f.json == key) {
        return Some(f);
    }
    fields.iter().filter(|f| f.inline).find_map(|f| {
        match SCHEMA.defs.get(f.go.trim_start_matches('*')) {
            Some(Def::Struct(inner)) => find_field(inner, key),
            _ => None,
        }
    })
}

/// Whether the literal is what `strconv.ParseInt(lit, 10, 64)` (or `ParseUint`) reads
/// and fits the Go integer of `bits` bits.
fn int_fits(lit: &str, bits: u32, signed: bool) -> bool {
    let digits = lit.strip_prefix('-').unwrap_or(lit);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if !signed && lit.starts_with('-') {
        return false;
    }
    let Ok(n) = lit.parse::<i128>() else {
        return false;
    };
    if signed {
        let max = (1i128 << (bits - 1)) - 1;
        (-max - 1..=max).contains(&n)
    } else {
        (0..=(1i128 << bits) - 1).contains(&n)
    }
}

/// The byte `base64.StdEncoding.Decode` reports as corrupt (`CorruptInputError`), or
/// `None` when `src` decodes (encoding/base64/base64.go `Decode`, `decodeQuantum`).
fn base64_error(src: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < src.len() {
        match base64_quantum(src, at) {
            Ok(next) => at = next,
            Err(bad) => return Some(bad),
        }
    }
    None
}

/// One `decodeQuantum` from `si`: the index after it, or the corrupt byte.
fn base64_quantum(src: &[u8], mut si: usize) -> Result<usize, usize> {
    let skip_newlines = |mut si: usize| {
        while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
            si += 1;
        }
        si
    };
    let mut j = 0;
    while j < 4 {
        if si == src.len() {
            // Standard encoding pads: a short quantum is corrupt.
            return if j == 0 { Ok(si) } else { Err(si - j) };
        }
        let c = src[si];
        si += 1;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            j += 1;
            continue;
        }
        if c == b'\n' || c == b'\r' {
            continue;
        }
        if c != b'=' || j < 2 {
            return Err(si - 1);
        }
        if j == 2 {
            // `==` is expected; the first `=` is read.
            si = skip_newlines(si);
            if si == src.len() {
                return Err(src.len());
            }
            if src[si] != b'=' {
                return Err(si - 1);
            }
            si += 1;
        }
        si = skip_newlines(si);
        // Anything after the padding is trailing garbage.
        return if si < src.len() { Err(si) } else { Ok(si) };
    }
    Ok(si)
}

/// `resource.ErrFormatWrong`.
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// `resource.ErrSuffix`.
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";
/// `resource.ErrNumeric`.
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";

/// `resource.ParseQuantity`'s error for `s` (apimachinery api/resource/quantity.go).
fn quantity(s: &str) -> Step {
    if s.is_empty() {
        return Err(QUANTITY_FORMAT.into());
    }
    if s == "0" {
        return Ok(());
    }
    let parts = quantity_parts(s).ok_or(QUANTITY_FORMAT)?;
    let exponent = suffix_exponent(parts.suffix).ok_or(QUANTITY_SUFFIX)?;
    // The fast path (an int64 of at most 18 digits, nano or coarser) cannot fail; the
    // slow one parses the number with inf.Dec, which wants a digit.
    let fast =
        parts.num.len() + parts.denom.len() <= 18 && exponent - parts.denom.len() as i64 >= -9;
    if !fast && !parts.value.bytes().any(|b| b.is_ascii_digit()) {
        return Err(QUANTITY_NUMERIC.into());
    }
    Ok(())
}

/// What `parseQuantityString` splits a quantity into.
pub(crate) struct QuantityParts<'a> {
    pub(crate) value: &'a str,
    pub(crate) num: &'a str,
    pub(crate) denom: &'a str,
    pub(crate) suffix: &'a str,
}

/// `parseQuantityString`: sign, digits, `.digits`, then a suffix of `eEinumkKMGTP` letters
/// with an optional signed exponent; `None` is `ErrFormatWrong`.
pub(crate) fn quantity_parts(s: &str) -> Option<QuantityParts<'_>> {
    let b = s.as_bytes();
    let digits_from =
        |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut pos = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    pos += b[pos..].iter().take_while(|&&c| c == b'0').count();
    let num_end = digits_from(pos);
    let num = &s[pos..num_end];
    pos = num_end;
    let mut denom = "";
    if b.get(pos) == Some(&b'.') {
        let end = digits_from(pos + 1);
        denom = &s[pos + 1..end];
        pos = end;
    }
    let value = &s[..pos];
    let suffix_start = pos;
    pos += b[pos..]
        .iter()
        .take_while(|c| b"eEinumkKMGTP".contains(c))
        .count();
    if matches!(b.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    if digits_from(pos) != b.len() {
        return None;
    }
    Some(QuantityParts {
        value,
        num: if num.is_empty() { "0" } else { num },
        denom,
        suffix: &s[suffix_start..],
    })
}

/// The decimal exponent of a quantity's suffix (`suffixHandler.interpret`,
/// api/resource/suffix.go); binary suffixes count as their decimal digits' worth.
pub(crate) fn suffix_exponent(suffix: &str) -> Option<i64> {
    let decimal = match suffix {
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "" => 0,
        "k" | "Ki" => 3,
        "M" | "Mi" => 6,
        "G" | "Gi" => 9,
        "T" | "Ti" => 12,
        "P" | "Pi" => 15,
        "E" | "Ei" => 18,
        _ => {
            let exp = suffix.strip_prefix(['e', 'E']).filter(|e| !e.is_empty())?;
            return go_parse_int(exp);
        }
    };
    Some(decimal)
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then digits.
fn go_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

#[cfg(test)]
mod tests {
    //! The expected words are Go's: printed by a throwaway program (encoding/json's
    //! `Unmarshal` into `SimpleMetaFactory`'s struct for the syntax errors,
    //! `sigs.k8s.io/json.UnmarshalCaseSensitivePreserveInts` into the `k8s.io/api` v0.33.3
    //! types for the type errors).
    use super::*;

    /// Input, and encoding/json's syntax error.
    const SYNTAX: &[(&[u8], Option<&str>)] = &[
        (b"", Some("unexpected end of JSON input")),
        (b"   ", Some("unexpected end of JSON input")),
        (
            b"{not json",
            Some("invalid character 'n' looking for beginning of object key string"),
        ),
        (b"{", Some("unexpected end of JSON input")),
        (b"{\"a\"", Some("unexpected end of JSON input")),
        (b"{\"a\":", Some("unexpected end of JSON input")),
        (b"{\"a\":1", Some("unexpected end of JSON input")),
        (b"{\"a\":1,", Some("unexpected end of JSON input")),
        (b"{\"a\" 1}", Some("invalid character '1' after object key")),
        (
            b"{\"a\":1 \"b\":2}",
            Some("invalid character '\"' after object key:value pair"),
        ),
        (
            b"{\"a\":1,}",
            Some("invalid character '}' looking for beginning of object key string"),
        ),
        (
            b"{,}",
            Some("invalid character ',' looking for beginning of object key string"),
        ),
        (
            b"[1,]",
            Some("invalid character ']' looking for beginning of value"),
        ),
        (b"[1 2]", Some("invalid character '2' after array element")),
        (b"[1", Some("unexpected end of JSON input")),
        (
            b"{\"a\":[1,2}",
            Some("invalid character '}' after array element"),
        ),
        (b"{} x", Some("invalid character 'x' after top-level value")),
        (b"{}}", Some("invalid character '}' after top-level value")),
        (
            b"{} {}",
            Some("invalid character '{' after top-level value"),
        ),
        (b"{}\n\t ", None),
        (
            b"xyz",
            Some("invalid character 'x' looking for beginning of value"),
        ),
        (
            b"'a'",
            Some("invalid character '\\'' looking for beginning of value"),
        ),
        (
            b"{'a':1}",
            Some("invalid character '\\'' looking for beginning of object key string"),
        ),
        (
            b"{\"a\":\"b\nc\"}",
            Some("invalid character '\\n' in string literal"),
        ),
        (
            b"{\"a\":\"b\tc\"}",
            Some("invalid character '\\t' in string literal"),
        ),
        (
            b"{\"a\":\"\\x\"}",
            Some("invalid character 'x' in string escape code"),
        ),
        (
            b"{\"a\":\"\\u12g4\"}",
            Some("invalid character 'g' in \\u hexadecimal character escape"),
        ),
        (
            b"{\"a\":\"\\u\"}",
            Some("invalid character '\"' in \\u hexadecimal character escape"),
        ),
        (b"{\"a\":\"abc", Some("unexpected end of JSON input")),
        (
            b"{\"a\":-}",
            Some("invalid character '}' in numeric literal"),
        ),
        (
            b"{\"a\":-a}",
            Some("invalid character 'a' in numeric literal"),
        ),
        (
            b"{\"a\":01}",
            Some("invalid character '1' after object key:value pair"),
        ),
        (
            b"{\"a\":1.}",
            Some("invalid character '}' after decimal point in numeric literal"),
        ),
        (
            b"{\"a\":1.e5}",
            Some("invalid character 'e' after decimal point in numeric literal"),
        ),
        (
            b"{\"a\":1e}",
            Some("invalid character '}' in exponent of numeric literal"),
        ),
        (
            b"{\"a\":1e+}",
            Some("invalid character '}' in exponent of numeric literal"),
        ),
        (
            b"{\"a\":1ex}",
            Some("invalid character 'x' in exponent of numeric literal"),
        ),
        (
            b"{\"a\":.5}",
            Some("invalid character '.' looking for beginning of value"),
        ),
        (
            b"{\"a\":+1}",
            Some("invalid character '+' looking for beginning of value"),
        ),
        (
            b"{\"a\":tru}",
            Some("invalid character '}' in literal true (expecting 'e')"),
        ),
        (
            b"{\"a\":trUe}",
            Some("invalid character 'U' in literal true (expecting 'u')"),
        ),
        (
            b"{\"a\":fals}",
            Some("invalid character '}' in literal false (expecting 'e')"),
        ),
        (
            b"{\"a\":faLse}",
            Some("invalid character 'L' in literal false (expecting 'l')"),
        ),
        (
            b"{\"a\":fxlse}",
            Some("invalid character 'x' in literal false (expecting 'a')"),
        ),
        (
            b"{\"a\":nul}",
            Some("invalid character '}' in literal null (expecting 'l')"),
        ),
        (
            b"{\"a\":nil}",
            Some("invalid character 'i' in literal null (expecting 'u')"),
        ),
        (
            b"{\"a\":nuLL}",
            Some("invalid character 'L' in literal null (expecting 'l')"),
        ),
        (
            b"{\"a\":True}",
            Some("invalid character 'T' looking for beginning of value"),
        ),
        (
            b"{\"a\":NaN}",
            Some("invalid character 'N' looking for beginning of value"),
        ),
        (
            b"{\"a\":Infinity}",
            Some("invalid character 'I' looking for beginning of value"),
        ),
        (
            b"{\"a\":1}\x00",
            Some("invalid character '\\x00' after top-level value"),
        ),
        (
            b"\x00",
            Some("invalid character '\\x00' looking for beginning of value"),
        ),
        (
            b"{\x01}",
            Some("invalid character '\\x01' looking for beginning of object key string"),
        ),
        (
            b"{\x7f}",
            Some("invalid character '\\x7f' looking for beginning of object key string"),
        ),
        (
            b"{\\}",
            Some("invalid character '\\\\' looking for beginning of object key string"),
        ),
        (
            b"{\"a\":\"\x1f\"}",
            Some("invalid character '\\x1f' in string literal"),
        ),
        (
            b"{\xc3\xa9}",
            Some("invalid character '\u{c3}' looking for beginning of object key string"),
        ),
        (
            b"{\xe2\x82\xac}",
            Some("invalid character '\u{e2}' looking for beginning of object key string"),
        ),
        (
            b"{\x80}",
            Some("invalid character '\\u0080' looking for beginning of object key string"),
        ),
        (
            b"{\xa0}",
            Some("invalid character '\\u00a0' looking for beginning of object key string"),
        ),
        (
            b"{\xad}",
            Some("invalid character '\\u00ad' looking for beginning of object key string"),
        ),
        (
            b"{\xff}",
            Some("invalid character '\u{ff}' looking for beginning of object key string"),
        ),
        (
            b"\xef\xbb\xbf{}",
            Some("invalid character '\u{ef}' looking for beginning of value"),
        ),
        (
            b"{\"a\"\x0b:1}",
            Some("invalid character '\\v' after object key"),
        ),
        (b"{\"a\":1}\r\n", None),
        (
            b"123 4",
            Some("invalid character '4' after top-level value"),
        ),
        (b"-", Some("invalid character ' ' in numeric literal")),
        (b"1e5x", Some("invalid character 'x' after top-level value")),
        (b"null", None),
        (
            b"nulll",
            Some("invalid character 'l' after top-level value"),
        ),
        (
            b"{\"a\":{\"b\":[{\"c\":[]}]}}]",
            Some("invalid character ']' after top-level value"),
        ),
        (
            b"{\"a\":{\"b\":[{\"c\":[}]}}",
            Some("invalid character '}' looking for beginning of value"),
        ),
    ];

    /// The kind's Go type, the body, and sigs.k8s.io/json's first error.
    const TYPES: &[(&str, &str, Option<&str>)] = &[
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"name\":\"a\",\"labels\":{\"on\":true}}}",
            Some(
                "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"name\":3}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":\"x\"}",
            Some(
                "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":[]}",
            Some(
                "json: cannot unmarshal array into Go struct field ConfigMap.metadata of type v1.ObjectMeta",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"labels\":[]}}",
            Some(
                "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"labels\":\"a=b\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"data\":{\"a\":1}}",
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"data\":{\"a\":1.5}}",
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"data\":{\"a\":{}}}",
            Some(
                "json: cannot unmarshal object into Go struct field ConfigMap.data of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"data\":{\"a\":null}, \"binaryData\":{\"b\":\"!!\"}}",
            Some("illegal base64 data at input byte 0"),
        ),
        (
            "core/v1.ConfigMap",
            "{\"binaryData\":{\"b\":\"YQ\"}}",
            Some("illegal base64 data at input byte 0"),
        ),
        (
            "core/v1.ConfigMap",
            "{\"binaryData\":{\"b\":\"YWJj!\"}}",
            Some("illegal base64 data at input byte 4"),
        ),
        (
            "core/v1.ConfigMap",
            "{\"immutable\":\"yes\"}",
            Some(
                "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"immutable\":1}",
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.immutable of type bool",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"data\":{\"a\":1},\"metadata\":{\"name\":2}}",
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"name\":2},\"data\":{\"a\":1}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"unknown\":{\"name\":2},\"data\":{\"a\":1}}",
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
        ),
        ("core/v1.ConfigMap", "{\"Data\":{\"a\":1}}", None),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"finalizers\":\"x\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of type []string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"finalizers\":[1]}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.finalizers of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"generation\":1.5}}",
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"generation\":\"1\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of type int64",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"deletionGracePeriodSeconds\":true}}",
            Some(
                "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.deletionGracePeriodSeconds of type int64",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"ownerReferences\":[{\"controller\":\"yes\"}]}}",
            Some(
                "json: cannot unmarshal string into Go struct field OwnerReference.metadata.ownerReferences.controller of type bool",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"ownerReferences\":{}}}",
            Some(
                "json: cannot unmarshal object into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"uid\":5}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"creationTimestamp\":5}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"managedFields\":[{\"fieldsV1\":5, \"time\": 3}]}}",
            Some(
                "json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.time of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"labels\":{\"a\":1}, \"creationTimestamp\":5}}",
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string",
            ),
        ),
        (
            "core/v1.Secret",
            "{\"data\":{\"x\":\"!!\"}}",
            Some("illegal base64 data at input byte 0"),
        ),
        (
            "core/v1.Secret",
            "{\"data\":{\"x\":3}}",
            Some("json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
        ),
        ("core/v1.Secret", "{\"data\":{\"x\":[1,2]}}", None),
        (
            "core/v1.Secret",
            "{\"data\":{\"x\":[256]}}",
            Some(
                "json: cannot unmarshal number 256 into Go struct field Secret.data of type uint8",
            ),
        ),
        (
            "core/v1.Secret",
            "{\"data\":{\"x\":\"YWJj\"}, \"stringData\":{\"y\":1}}",
            Some(
                "json: cannot unmarshal number into Go struct field Secret.stringData of type string",
            ),
        ),
        (
            "core/v1.Secret",
            "{\"type\":1}",
            Some(
                "json: cannot unmarshal number into Go struct field Secret.type of type v1.SecretType",
            ),
        ),
        (
            "core/v1.Secret",
            "{\"data\":[]}",
            Some(
                "json: cannot unmarshal array into Go struct field Secret.data of type map[string][]uint8",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":5}]}}",
            Some(
                "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":{\"name\":\"c\"}}}",
            Some(
                "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":\"80\"}]}]}}",
            Some(
                "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80.5}]}]}}",
            Some(
                "json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":3000000000}]}]}}",
            Some(
                "json: cannot unmarshal number 3000000000 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"protocol\":1}]}]}}",
            Some(
                "json: cannot unmarshal number into Go struct field ContainerPort.spec.containers.ports.protocol of type v1.Protocol",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"command\":\"sh\"}]}}",
            Some(
                "json: cannot unmarshal string into Go struct field Container.spec.containers.command of type []string",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"a\",\"value\":1}]}]}}",
            Some(
                "json: cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value of type string",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":true}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"abc\"}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":[]}}]}}",
            Some(
                "json: cannot unmarshal array into Go struct field ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"httpGet\":{\"port\":true}}}]}}",
            Some(
                "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"httpGet\":{\"port\":1.5}}}]}}",
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"httpGet\":{\"port\":{}}}}]}}",
            Some(
                "json: cannot unmarshal object into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of type int32",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"nodeSelector\":{\"a\":false}}}",
            Some(
                "json: cannot unmarshal bool into Go struct field PodSpec.spec.nodeSelector of type string",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"hostNetwork\":\"true\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"terminationGracePeriodSeconds\":\"30\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"activeDeadlineSeconds\":-1.0}}",
            Some(
                "json: cannot unmarshal number -1.0 into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"securityContext\":{\"runAsUser\":\"root\"}}}",
            Some(
                "json: cannot unmarshal string into Go struct field PodSecurityContext.spec.securityContext.runAsUser of type int64",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{\"sizeLimit\":[]}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":5}],\"hostNetwork\":\"x\"}}",
            Some(
                "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":5, \"resources\":{\"limits\":{\"cpu\":true}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"status\":{\"startTime\":true}}",
            Some(
                "json: cannot unmarshal bool into Go struct field PodStatus.status.startTime of type string",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"replicas\":\"3\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"replicas\":1.5}}",
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"replicas\":-3000000000}}",
            Some(
                "json: cannot unmarshal number -3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":1}}}}",
            Some(
                "json: cannot unmarshal number into Go struct field LabelSelector.spec.selector.matchLabels of type string",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":[\"x\"]}]}}}}",
            Some(
                "json: cannot unmarshal array into Go struct field Container.spec.template.spec.containers.image of type string",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":true}}}}",
            Some(
                "json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"strategy\":{\"type\":{}}}}",
            Some(
                "json: cannot unmarshal object into Go struct field DeploymentStrategy.spec.strategy.type of type v1.DeploymentStrategyType",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"minReadySeconds\":1e3}}",
            Some(
                "json: cannot unmarshal number 1e3 into Go struct field DeploymentSpec.spec.minReadySeconds of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"minReadySeconds\":1E2}}",
            Some(
                "json: cannot unmarshal number 1E2 into Go struct field DeploymentSpec.spec.minReadySeconds of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":{\"minReadySeconds\":100.0}}",
            Some(
                "json: cannot unmarshal number 100.0 into Go struct field DeploymentSpec.spec.minReadySeconds of type int32",
            ),
        ),
        (
            "apps/v1.Deployment",
            "{\"spec\":[]}",
            Some(
                "json: cannot unmarshal array into Go struct field Deployment.spec of type v1.DeploymentSpec",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"ports\":[{\"port\":\"80\"}]}}",
            Some(
                "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":true}]}}",
            Some(
                "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":3000000000}]}}",
            Some(
                "json: cannot unmarshal number 3000000000 into Go struct field ServicePort.spec.ports.targetPort of type int32",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":\"x\"}]}}",
            Some(
                "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.nodePort of type int32",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"ports\":{\"port\":80}}}",
            Some(
                "json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"selector\":[\"a\"]}}",
            Some(
                "json: cannot unmarshal array into Go struct field ServiceSpec.spec.selector of type map[string]string",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"type\":5}}",
            Some(
                "json: cannot unmarshal number into Go struct field ServiceSpec.spec.type of type v1.ServiceType",
            ),
        ),
        (
            "core/v1.Service",
            "{\"spec\":{\"clusterIPs\":\"10.0.0.1\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field ServiceSpec.spec.clusterIPs of type []string",
            ),
        ),
        (
            "batch/v1.Job",
            "{\"spec\":{\"backoffLimit\":\"6\"}}",
            Some(
                "json: cannot unmarshal string into Go struct field JobSpec.spec.backoffLimit of type int32",
            ),
        ),
        (
            "batch/v1.Job",
            "{\"spec\":{\"suspend\":0}}",
            Some(
                "json: cannot unmarshal number into Go struct field JobSpec.spec.suspend of type bool",
            ),
        ),
        (
            "batch/v1.Job",
            "{\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":false}}}}",
            Some(
                "json: cannot unmarshal bool into Go struct field PodSpec.spec.template.spec.restartPolicy of type v1.RestartPolicy",
            ),
        ),
        (
            "rbac/v1.Role",
            "{\"rules\":[{\"verbs\":\"get\"}]}",
            Some(
                "json: cannot unmarshal string into Go struct field PolicyRule.rules.verbs of type []string",
            ),
        ),
        (
            "rbac/v1.Role",
            "{\"rules\":[{\"verbs\":[\"get\",1]}]}",
            Some(
                "json: cannot unmarshal number into Go struct field PolicyRule.rules.verbs of type string",
            ),
        ),
        (
            "rbac/v1.Role",
            "{\"rules\":\"all\"}",
            Some(
                "json: cannot unmarshal string into Go struct field Role.rules of type []v1.PolicyRule",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"annotations\":{\"a\":[]}}}",
            Some(
                "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of type string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"labels\":{\"a\":\"b\"}}, \"data\":true}",
            Some(
                "json: cannot unmarshal bool into Go struct field ConfigMap.data of type map[string]string",
            ),
        ),
        (
            "core/v1.ConfigMap",
            "{\"metadata\":{\"managedFields\":[{\"operation\": 1}]}}",
            Some(
                "json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.operation of type v1.ManagedFieldsOperationType",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1.5Gi\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1e\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1e3\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1x\"}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"\"}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \" 1 \"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"k\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \".5\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1.\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"-\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"+1\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1e+3\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1E-2\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1Ki\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"12.5m\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1.5n\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"Gi\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1.5.5\"}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1i\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1ki\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"0.0001n\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1e-\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1ee3\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"--1\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1 Gi\"}}}]}}",
            Some(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"1Gi2\"}}}]}}",
            Some("unable to parse quantity's suffix"),
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"9999999999999999999999\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": \"100m\"}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"memory\":1e3}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"memory\":-2}}}]}}",
            None,
        ),
        (
            "core/v1.Pod",
            "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"memory\":1.5}}}]}}",
            None,
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YWJj\\nZA==\"}}",
            None,
        ),
        ("core/v1.Secret", "{\"data\": {\"x\": \"YQ==\"}}", None),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YQ=\"}}",
            Some("illegal base64 data at input byte 3"),
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YQ==x\"}}",
            Some("illegal base64 data at input byte 4"),
        ),
        ("core/v1.Secret", "{\"data\": {\"x\": \"YWI=\"}}", None),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"Y===\"}}",
            Some("illegal base64 data at input byte 1"),
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"=\"}}",
            Some("illegal base64 data at input byte 0"),
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YWJjZA\"}}",
            Some("illegal base64 data at input byte 4"),
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YWJjZGVmZ2g=!\"}}",
            Some("illegal base64 data at input byte 12"),
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"\\r\\nYQ==\\r\\n\"}}",
            None,
        ),
        (
            "core/v1.Secret",
            "{\"data\": {\"x\": \"YW Jj\"}}",
            Some("illegal base64 data at input byte 2"),
        ),
        ("core/v1.Secret", "{\"data\": {\"x\": \"YQ=\\n=\"}}", None),
    ];

    #[test]
    fn syntax_errors_are_encoding_json_s() {
        for (input, want) in SYNTAX {
            assert_eq!(
                syntax_error(input).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn type_errors_are_sigs_k8s_io_json_s() {
        for (ty, input, want) in TYPES {
            let v: Value = serde_json::from_str(input).expect(input);
            let numbers = number_literals(input.as_bytes());
            assert_eq!(type_error(ty, &v, &numbers).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn number_literals_are_kept_as_written() {
        let input = br#"{"a":[1e3,-1.0,"2"],"b":{"c":100.0},"d":0}"#;
        assert_eq!(number_literals(input), ["1e3", "-1.0", "100.0", "0"]);
        assert_eq!(number_literals(b"-12"), ["-12"]);
    }

    #[test]
    fn numbers_are_quoted_as_serde_writes_them_without_literals() {
        let v = serde_json::json!({"spec": {"replicas": 1.5}});
        assert_eq!(
            type_error("apps/v1.Deployment", &v, &[]).as_deref(),
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
    }

    /// What the reference kube-apiserver v1.33.3 answered for these bodies (Interpret's
    /// encoding/json is Go 1.24's there).
    #[test]
    fn interpret_reads_api_version_and_kind() {
        let find = r#"struct { APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" }"#;
        let read = |s: &str| interpret(&serde_json::from_str(s).expect(s));
        assert_eq!(
            read("[]"),
            Err(format!(
                "json: cannot unmarshal array into Go value of type {find}"
            ))
        );
        assert_eq!(
            read("3"),
            Err(format!(
                "json: cannot unmarshal number into Go value of type {find}"
            ))
        );
        assert_eq!(
            read(r#"{"kind":3}"#),
            Err("json: cannot unmarshal number into Go struct field .kind of type string".into())
        );
        assert_eq!(
            read(r#"{"apiVersion":true}"#),
            Err(
                "json: cannot unmarshal bool into Go struct field .apiVersion of type string"
                    .into()
            )
        );
        assert_eq!(read("null"), Ok((String::new(), String::new())));
        assert_eq!(
            read(r#"{"APIVERSION":"v1","Kind":"Secret","kind":null}"#),
            Ok(("v1".into(), "Secret".into()))
        );
    }

    #[test]
    fn group_versions() {
        assert_eq!(parse_group_version("v1"), Ok(("", "v1")));
        assert_eq!(parse_group_version("apps/v1"), Ok(("apps", "v1")));
        assert_eq!(parse_group_version(""), Ok(("", "")));
        assert_eq!(
            parse_group_version("a/b/c"),
            Err("unexpected GroupVersion string: a/b/c".into())
        );
    }

    #[test]
    fn go_type_names() {
        assert_eq!(display("map[string][]byte"), "map[string][]uint8");
        assert_eq!(display("[]core/v1.Container"), "[]v1.Container");
        assert_eq!(display("core/v1.ResourceList"), "v1.ResourceList");
        assert_eq!(display("core/v1.IPFamilyPolicyType"), "v1.IPFamilyPolicy");
        assert_eq!(go_type("*int64").name, "int64");
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        for input in [
            &b"\xff\xfe"[..],
            b"{\"a\":\"\\u",
            b"[[[[",
            b"-",
            b"1e",
            b"\"\\",
        ] {
            assert!(syntax_error(input).is_some());
            let _ = number_literals(input);
        }
        let deep = "[".repeat(MAX_NESTING_DEPTH + 1);
        assert_eq!(
            syntax_error(deep.as_bytes()).as_deref(),
            Some("invalid character '[' exceeded max depth")
        );
    }
}
