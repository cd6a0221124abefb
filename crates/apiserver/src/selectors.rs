//! Label and field selectors, as `labelSelector=` and `fieldSelector=` query parameters.
//!
//! Label selectors are parsed by a port of the lexer and parser of apimachinery
//! `pkg/labels/selector.go` (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`, `>`, `<`), keys
//! and values checked as `pkg/util/validation/validation.go` does, with upstream's messages.
//! Field selectors support `=`, `==`, `!=` on the fields each kind allows (`metadata.name`,
//! `metadata.namespace` everywhere, plus the per-kind fields of `pkg/registry/*/strategy.go`
//! `GetAttrs`).

use crate::discovery::ApiResource;
use crate::status::{ApiError, quote};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A parsed requirement (`Requirement`); `=` and `==` are both `Eq`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    /// `key>n`: the label is an integer greater than `n`.
    Gt(String, i64),
    /// `key<n`: the label is an integer less than `n`.
    Lt(String, i64),
}

#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<Req>);

impl LabelSelector {
    /// `labels.Parse`. Its error is the whole message of the 400: `ListResource`
    /// (apiserver `pkg/endpoints/handlers/get.go`) gives `DecodeParameters`' error, which
    /// `Convert_string_To_labels_Selector` returns unwrapped, to `NewBadRequest`.
    pub fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        Parser::new(s)
            .parse()
            .map(LabelSelector)
            .map_err(ApiError::bad_request)
    }

    /// `Requirement.Matches`, for every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        let int = |k: &str| get(k).and_then(|x| x.parse::<i64>().ok());
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::Gt(k, n) => int(k).is_some_and(|x| x > *n),
            Req::Lt(k, n) => int(k).is_some_and(|x| x < *n),
        })
    }
}

/// `Token`. `Error` is never scanned, each special symbol being a token on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Error,
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    Gt,
    Ident,
    In,
    Lt,
    NotEquals,
    NotIn,
    OpenPar,
}

/// `string2token`.
fn keyword(lit: &[u8]) -> Option<Tok> {
    Some(match lit {
        b")" => Tok::ClosedPar,
        b"," => Tok::Comma,
        b"!" => Tok::DoesNotExist,
        b"==" => Tok::DoubleEquals,
        b"=" => Tok::Equals,
        b">" => Tok::Gt,
        b"in" => Tok::In,
        b"<" => Tok::Lt,
        b"!=" => Tok::NotEquals,
        b"notin" => Tok::NotIn,
        b"(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Tokens split at ASCII bytes only, so their bytes are whole UTF-8.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `Lexer`: it reads bytes, and a NUL byte as the end of the string.
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn read(&mut self) -> u8 {
        match self.s.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// `scanIDOrKeyword`.
    fn scan_id_or_keyword(&mut self) -> (Tok, String) {
        let mut buf = Vec::new();
        loop {
            match self.read() {
                0 => break,
                ch if is_special_symbol(ch) || is_whitespace(ch) => {
                    self.unread();
                    break;
                }
                ch => buf.push(ch),
            }
        }
        (keyword(&buf).unwrap_or(Tok::Ident), lossy(&buf))
    }

    /// `scanSpecialSymbol`: the longest operator, `==` or `!=` before `=` or `!`.
    fn scan_special_symbol(&mut self) -> (Tok, String) {
        let mut buf = Vec::new();
        let mut last = None;
        loop {
            match self.read() {
                0 => break,
                ch if is_special_symbol(ch) => {
                    buf.push(ch);
                    if let Some(tok) = keyword(&buf) {
                        last = Some((tok, lossy(&buf)));
                    } else if last.is_some() {
                        self.unread();
                        break;
                    }
                }
                _ => {
                    self.unread();
                    break;
                }
            }
        }
        last.unwrap_or_else(|| {
            let found = lossy(&buf);
            (
                Tok::Error,
                format!("error expected: keyword found '{found}'"),
            )
        })
    }

    /// `Lex`.
    fn lex(&mut self) -> (Tok, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Tok::End, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

/// `ParserContext`: among values, `in` and `notin` are identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// `selection.Operator`, as the parser infers or reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Gt,
    Lt,
    Exists,
    DoesNotExist,
}

/// `binaryOperators`, as `parseOperator` lists them.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// `Parser`, over the tokens `scan` gathered; past the end it reads the end.
struct Parser {
    items: Vec<(Tok, String)>,
    position: usize,
}

impl Parser {
    /// `parse` and `Parser.scan`: every token, the end included.
    fn new(s: &str) -> Parser {
        let mut lexer = Lexer {
            s: s.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Tok::End;
            items.push(item);
            if end {
                return Parser { items, position: 0 };
            }
        }
    }

    fn lookahead(&self, context: Context) -> (Tok, String) {
        let (tok, lit) = match self.items.get(self.position) {
            Some(item) => item.clone(),
            None => (Tok::End, String::new()),
        };
        match tok {
            Tok::In | Tok::NotIn if context == Context::Values => (Tok::Ident, lit),
            _ => (tok, lit),
        }
    }

    fn consume(&mut self, context: Context) -> (Tok, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    /// `Parser.parse`: only the errors of a requirement are prefixed.
    fn parse(mut self) -> Result<Vec<Req>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Tok::Ident | Tok::DoesNotExist => {
                    let req = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(req);
                    let (tok, lit) = self.consume(Context::Values);
                    match tok {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let (next, lit) = self.lookahead(Context::Values);
                            if next != Tok::Ident && next != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{lit}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{lit}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    /// `parseRequirement`.
    fn parse_requirement(&mut self) -> Result<Req, String> {
        let (key, op) = self.parse_key_and_infer_operator()?;
        if let Some(op) = op {
            return new_requirement(key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        new_requirement(key, op, values.into_iter().collect())
    }

    /// `parseKeyAndInferOperator`: `!key`, or `key` before `,` or the end, is whole.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Tok::Ident {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        validate_label_key(&lit)?;
        let next = self.lookahead(Context::Values).0;
        if op.is_none() && matches!(next, Tok::End | Tok::Comma) {
            op = Some(Op::Exists);
        }
        Ok((lit, op))
    }

    /// `parseOperator`.
    fn parse_operator(&mut self) -> Result<Op, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Tok::In => Op::In,
            Tok::Equals => Op::Equals,
            Tok::DoubleEquals => Op::DoubleEquals,
            Tok::Gt => Op::Gt,
            Tok::Lt => Op::Lt,
            Tok::NotIn => Op::NotIn,
            Tok::NotEquals => Op::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    /// `parseValues`: `(x,y)`; `()` is the empty value.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Tok::Ident | Tok::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Tok::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(values)
            }
            Tok::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    /// `parseIdentifiersList`: values between commas, which may be empty.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut values = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Tok::Ident => {
                    values.insert(lit);
                    let (next, lit) = self.lookahead(Context::Values);
                    match next {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(values),
                        _ => return Err(format!("found '{lit}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let next = self.lookahead(Context::Values).0;
                    if next == Tok::ClosedPar {
                        values.insert(String::new());
                        return Ok(values);
                    }
                    if next == Tok::Comma {
                        self.consume(Context::Values);
                        values.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    /// `parseExactValue`: nothing before `,` or the end is the empty value.
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.lookahead(Context::Values).0, Tok::End | Tok::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.consume(Context::Values) {
            (Tok::Ident, lit) => Ok(BTreeSet::from([lit])),
            (_, lit) => Err(format!("found '{lit}', expected: identifier")),
        }
    }
}

/// `NewRequirement`, for what the parser gives it: the key is checked already and the
/// counts of values are right, leaving the integer and label value checks; values come
/// sorted (`sets.String.List`), which their indexes in errors follow.
fn new_requirement(key: String, op: Op, values: Vec<String>) -> Result<Req, String> {
    let mut errs = Vec::new();
    if matches!(op, Op::Gt | Op::Lt) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                let why = "for 'Gt', 'Lt' operators, the value must be an integer";
                errs.push(invalid(&format!("values[{i}]"), v, why));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let why = label_value_errors(v);
        if !why.is_empty() {
            errs.push(invalid(&format!("values[{i}][{key}]"), v, &why.join("; ")));
        }
    }
    if !errs.is_empty() {
        return Err(aggregate(errs));
    }
    let bound = values.first().and_then(|v| v.parse().ok()).unwrap_or(0);
    let one = || values.first().cloned().unwrap_or_default();
    Ok(match op {
        Op::Equals | Op::DoubleEquals => Req::Eq(key, one()),
        Op::NotEquals => Req::Ne(key, one()),
        Op::Gt => Req::Gt(key, bound),
        Op::Lt => Req::Lt(key, bound),
        Op::Exists => Req::Exists(key),
        Op::DoesNotExist => Req::NotExists(key),
        Op::In => Req::In(key, values),
        Op::NotIn => Req::NotIn(key, values),
    })
}

/// `field.Invalid(path, value, detail).Error()` (apimachinery
/// `pkg/util/validation/field/errors.go`).
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {}: {detail}", quote(value))
}

/// `ErrorList.ToAggregate().Error()`: one message alone, several in brackets.
fn aggregate(mut errs: Vec<String>) -> String {
    let mut seen = std::collections::HashSet::new();
    errs.retain(|e| seen.insert(e.clone()));
    match errs.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", errs.join(", ")),
    }
}

/// `validateLabelKey`; the parser's path is nil, printed `<nil>`.
fn validate_label_key(key: &str) -> Result<(), String> {
    let errs = qualified_name_errors(key);
    if errs.is_empty() {
        return Ok(());
    }
    Err(invalid("<nil>", key, &errs.join("; ")))
}

// Rules and wording of apimachinery `pkg/util/validation/validation.go`.
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of \
     alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
     character";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower \
     case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric \
     character";

/// `RegexError`, with examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        examples.join(" or ")
    )
}

/// `MaxLenError`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: Option<&u8>| c.is_some_and(u8::is_ascii_alphanumeric);
    edge(b.first())
        && edge(b.last())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`.
fn is_dns1123_subdomain(s: &str) -> bool {
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.split('.').all(|label| {
        let b = label.as_bytes();
        b.first().is_some_and(alnum)
            && b.last().is_some_and(alnum)
            && b.iter().all(|c| alnum(c) || *c == b'-')
    })
}

/// `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !is_dns1123_subdomain(value) {
        let why = regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        );
        errs.push(why);
    }
    errs
}

/// `IsQualifiedName`: a name with an optional DNS subdomain prefix and `/`.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let examples = ["MyName", "my.name", "123-abc"];
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                let prefixed = dns1123_subdomain_errors(prefix).into_iter();
                errs.extend(prefixed.map(|e| format!("prefix part {e}")));
            }
            *name
        }
        _ => {
            let rule = regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &examples);
            return vec![format!(
                "a qualified name {rule} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_qualified_name_part(name) {
        let rule = regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &examples);
        errs.push(format!("name part {rule}"));
    }
    errs
}

/// `IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        let examples = ["MyValue", "my_value", "12345"];
        errs.push(regex_error(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, &examples));
    }
    errs
}

/// Fields a kind can be selected on, besides `metadata.name` and `metadata.namespace`.
fn kind_fields(res: &ApiResource) -> &'static [&'static str] {
    crate::registry::kinds::strategy(res).field_labels()
}

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str, res: &ApiResource) -> Result<FieldSelector, ApiError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(reqs));
        }
        for part in s.split(',') {
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let k = k.trim();
            if !(k == "metadata.name" || k == "metadata.namespace" || kind_fields(res).contains(&k))
            {
                // `field label not supported: <key>`, from the conversion of field labels.
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
            reqs.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn require_name(&mut self, name: &str) {
        self.0.push(("metadata.name".into(), true, name.into()));
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            let pointer = format!("/{}", k.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *v) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let l = json!({"app": "web", "tier": "fe", "n": "5"});
        let l = l.as_object().unwrap();
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier!=be", true),
            ("app in (web,api)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("", true),
            ("n>4,n<6", true),
            ("n>5", false),
            ("app>1", false),
            ("app in ()", false),
            ("gone notin (x)", true),
        ] {
            assert_eq!(LabelSelector::parse(sel).unwrap().matches(l), want, "{sel}");
        }
    }

    fn parsed(sel: &str) -> Vec<Req> {
        LabelSelector::parse(sel).unwrap().0
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn label_selector_forms() {
        let eq = |k: &str, v: &str| Req::Eq(k.into(), v.into());
        assert_eq!(parsed("a=b"), [eq("a", "b")]);
        assert_eq!(parsed("a==b"), [eq("a", "b")]);
        assert_eq!(parsed("a!=b"), [Req::Ne("a".into(), "b".into())]);
        assert_eq!(
            parsed("a in (y,x)"),
            [Req::In("a".into(), strs(&["x", "y"]))]
        );
        assert_eq!(
            parsed("a notin (x)"),
            [Req::NotIn("a".into(), strs(&["x"]))]
        );
        assert_eq!(parsed("a"), [Req::Exists("a".into())]);
        assert_eq!(parsed("!a"), [Req::NotExists("a".into())]);
        assert_eq!(parsed("a,b=c"), [Req::Exists("a".into()), eq("b", "c")]);
        assert_eq!(
            parsed(" \ta  =  b ,\n!c "),
            [eq("a", "b"), Req::NotExists("c".into())]
        );
        assert_eq!(parsed("a="), [eq("a", "")]);
        assert_eq!(
            parsed("a>1,b<2"),
            [Req::Gt("a".into(), 1), Req::Lt("b".into(), 2)]
        );
        assert_eq!(
            parsed("in in (in,notin)"),
            [Req::In("in".into(), strs(&["in", "notin"]))]
        );
        assert_eq!(parsed("example.com/a=b"), [eq("example.com/a", "b")]);
        // `()`, `(,)` and `(x,,y)` hold the empty value.
        assert_eq!(parsed("a in ()"), [Req::In("a".into(), strs(&[""]))]);
        assert_eq!(parsed("a in (,)"), [Req::In("a".into(), strs(&[""]))]);
        assert_eq!(
            parsed("a in (x,,y)"),
            [Req::In("a".into(), strs(&["", "x", "y"]))]
        );
        assert!(parsed("  ").is_empty());
    }

    // The messages of `labels.Parse` in apimachinery v0.33.3, as the 400 gives them.
    const REQ: &str = "unable to parse requirement: ";
    const OPS: &str = "in, notin, =, ==, !=, gt, lt";
    const NAME: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must \
        start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
        '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE: &str = "a valid label must be an empty string or consist of alphanumeric \
        characters, '-', '_' or '.', and must start and end with an alphanumeric character \
        (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is \
        '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    const INT: &str = "for 'Gt', 'Lt' operators, the value must be an integer";

    fn assert_errors(cases: &[(&str, String)]) {
        for (sel, want) in cases {
            let err = LabelSelector::parse(sel).unwrap_err();
            assert_eq!(
                (err.code, err.message.as_str()),
                (400, want.as_str()),
                "{sel}"
            );
        }
    }

    #[test]
    fn label_selector_syntax_errors() {
        let after = |s: &str| s.to_string();
        let within = |s: &str| format!("{REQ}{s}");
        assert_errors(&[
            ("a===b", within("found '=', expected: identifier")),
            ("a>=1", within("found '=', expected: identifier")),
            ("!", within("found '', expected: identifier")),
            ("in (x)", within(&format!("found '(', expected: {OPS}"))),
            ("a b", within(&format!("found 'b', expected: {OPS}"))),
            ("a gt 1", within(&format!("found 'gt', expected: {OPS}"))),
            ("a in x", within("found 'x' expected: '('")),
            ("a in", within("found '' expected: '('")),
            ("a in (x", within("found '', expected: ',' or ')'")),
            ("a in (x y)", within("found 'y', expected: ',' or ')'")),
            (
                "a in (,,)",
                within("found ')', expected: ',', or identifier"),
            ),
            (
                "a=b=c",
                after("found '=', expected: ',' or 'end of string'"),
            ),
            ("!a=b", after("found '=', expected: ',' or 'end of string'")),
            (
                "a in (x))",
                after("found ')', expected: ',' or 'end of string'"),
            ),
            (
                ",a",
                after("found ',', expected: !, identifier, or 'end of string'"),
            ),
            ("a,", after("found '', expected: identifier after ','")),
            ("a=b,,c", after("found ',', expected: identifier after ','")),
        ]);
    }

    #[test]
    fn label_selector_key_errors() {
        let key = |k: &str, why: &str| format!("{REQ}<nil>: Invalid value: {k}: {why}");
        let subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
            characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
            'example.com', regex used for validation is \
            '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        let qualified = format!(
            "a qualified name {NAME} with an optional DNS subdomain prefix and '/' (e.g. \
             'example.com/MyName')"
        );
        assert_errors(&[
            ("-a=b", key("\"-a\"", &format!("name part {NAME}"))),
            ("a\"b", key("\"a\\\"b\"", &format!("name part {NAME}"))),
            (
                "a/=b",
                key(
                    "\"a/\"",
                    &format!("name part must be non-empty; name part {NAME}"),
                ),
            ),
            ("/a", key("\"/a\"", "prefix part must be non-empty")),
            ("a/b/c=d", key("\"a/b/c\"", &qualified)),
            (
                "A.b/c",
                key("\"A.b/c\"", &format!("prefix part {subdomain}")),
            ),
        ]);
    }

    #[test]
    fn label_selector_value_errors() {
        let value = |v: &str| format!("values[0][a]: Invalid value: {v}: {VALUE}");
        let int = |v: &str| format!("values[0]: Invalid value: {v}: {INT}");
        let second = format!("values[1][a]: Invalid value: \"-y\": {VALUE}");
        assert_errors(&[
            ("a=-b-", format!("{REQ}{}", value("\"-b-\""))),
            ("a=é", format!("{REQ}{}", value("\"é\""))),
            // Values are sorted before they are checked.
            (
                "a in (z,-y,-x)",
                format!("{REQ}[{}, {second}]", value("\"-x\"")),
            ),
            ("a<x", format!("{REQ}{}", int("\"x\""))),
            ("a>", format!("{REQ}{}", int("\"\""))),
            (
                "a>-x",
                format!("{REQ}[{}, {}]", int("\"-x\""), value("\"-x\"")),
            ),
        ]);
    }

    #[test]
    fn label_selector_lengths() {
        let long = "a".repeat(64);
        let err = LabelSelector::parse(&format!("{long}=b")).unwrap_err();
        assert!(
            err.message
                .ends_with(": name part must be no more than 63 characters")
        );
        let err = LabelSelector::parse(&format!("a={long}")).unwrap_err();
        assert!(
            err.message
                .ends_with(": must be no more than 63 characters")
        );
        let ok = format!("{}/{}", "a".repeat(253), "a".repeat(63));
        assert!(LabelSelector::parse(&ok).is_ok());
        let err = LabelSelector::parse(&format!("{}/a", "a".repeat(254))).unwrap_err();
        assert!(
            err.message
                .ends_with(": prefix part must be no more than 253 characters")
        );
    }

    #[test]
    fn field_selectors() {
        let pods = crate::discovery::DISCOVERY
            .resource("", "v1", "pods")
            .unwrap();
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert!(
            FieldSelector::parse("status.phase=Running", pods)
                .unwrap()
                .matches(&pod)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=p", pods)
                .unwrap()
                .matches(&pod)
        );
        let err = FieldSelector::parse("spec.foo=x", pods).unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.foo");
    }
}
