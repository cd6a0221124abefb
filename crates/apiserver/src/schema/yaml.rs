//! YAML answers as kube-apiserver writes them (`Accept: application/yaml`).
//!
//! Upstream's YAML serializer (k8s.io/apimachinery `pkg/runtime/serializer/json/json.go`,
//! `Encode` with `Yaml: true`) marshals the object to JSON, then calls
//! `sigs.k8s.io/yaml.JSONToYAML` (`yaml.go`, v1.4.0): goyaml.v2 unmarshals that JSON into
//! `interface{}` and marshals it again. So the answer is goyaml.v2's, and this module is a
//! port of the parts of goyaml.v2 (`sigs.k8s.io/yaml@v1.4.0/goyaml.v2`) that such a round
//! trip reaches:
//!
//! - what the decoder makes of the JSON (`resolve.go`, `decode.go`): strings stay strings,
//!   numbers become `int`, `uint64` or `float64`, and a few texts are refused
//!   (`refusal`);
//! - what the encoder asks for (`encode.go`): map keys sorted (`sorter.go`), a string
//!   plain unless it would read back as another type, literal when it has a newline;
//! - what the emitter writes (`emitterc.go`): block style with 2-space indentation,
//!   sequences in mappings not indented, `{}` and `[]` for empty collections, each scalar
//!   in the style its characters allow, and lines folded past 80 columns (`best_width`:
//!   nothing in kube-apiserver calls `yaml.FutureLineWrap`).
//!
//! The input is the JSON value the server would write (`crate::schema::json`'s output):
//! JSON in, YAML out, so the fields are those of the JSON answer.

use serde_json::{Number, Value};

/// `best_indent`: goyaml.v2's default.
const INDENT: isize = 2;

/// `best_width`: goyaml.v2's default, as `yaml_emitter_emit_stream_start` sets it.
const WIDTH: usize = 80;

/// A simple key is at most this many bytes (`yaml_emitter_check_simple_key`).
const SIMPLE_KEY_MAX: usize = 128;

/// The `JSONToYAML` of `v`'s JSON, as goyaml.v2 writes it (its decoder's refusals aside:
/// see `refusal`).
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter::default();
    e.node(v, Context::ROOT);
    // DOCUMENT-END (implicit): `yaml_emitter_emit_document_end` ends the last line.
    e.write_indent();
    e.out
}

/// `JSONToYAML`'s error for `v`, if goyaml.v2 cannot read `v`'s JSON back (encoding/json
/// writes every character raw but `"`, `\\`, the controls below U+0020, `<`, `>`, `&`,
/// U+2028 and U+2029):
///
/// - `yaml: control characters are not allowed`: a character its reader refuses
///   (`readerc.go`, `yaml_parser_update_buffer`): DEL, the C1 controls but NEL, U+FFFE,
///   U+FFFF;
/// - `yaml: line N: found unexpected document indicator`: a raw NEL, a line break to YAML
///   1.1, followed by `---` or `...` and a blank (`scannerc.go`,
///   `yaml_parser_scan_flow_scalar`);
/// - `yaml: [line N: ]did not find expected ',' or '}'`: a key that spans lines (a NEL)
///   or whose JSON text is longer than 1024 characters, which cannot be a simple key
///   (`yaml_simple_key_is_valid`), so the parser finds its `:` where it expects the next
///   key (`parserc.go`, `yaml_parser_parse_flow_mapping_key`).
///
/// `N` counts lines from 1, as `parser.fail` (`decode.go`) reports them.
pub fn refusal(v: &Value) -> Option<String> {
    if has_refused_char(v) {
        return Some("yaml: control characters are not allowed".into());
    }
    let mut lines = 0;
    scan(v, &mut lines).err()
}

/// `to_yaml`, or goyaml.v2's error as `JSONToYAML` returns it.
pub fn json_to_yaml(v: &Value) -> Result<String, String> {
    match refusal(v) {
        Some(e) => Err(e),
        None => Ok(to_yaml(v)),
    }
}

/// A character goyaml.v2's reader refuses (only tab, line feed, carriage return,
/// printable ASCII, NEL, U+00A0–U+D7FF, U+E000–U+FFFD and beyond U+FFFF are allowed)
/// that encoding/json writes unescaped.
fn refused_char(c: char) -> bool {
    matches!(c as u32, 0x7F..=0x84 | 0x86..=0x9F | 0xFFFE | 0xFFFF)
}

fn has_refused_char(v: &Value) -> bool {
    match v {
        Value::String(s) => s.chars().any(refused_char),
        Value::Array(a) => a.iter().any(has_refused_char),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.chars().any(refused_char) || has_refused_char(v)),
        _ => false,
    }
}

/// The scanner and parser over `v`'s JSON text, in its order; `lines` counts the line
/// breaks (raw NELs) read so far.
fn scan(v: &Value, lines: &mut usize) -> Result<(), String> {
    match v {
        Value::String(s) => scan_string(s, lines),
        Value::Array(a) => a.iter().try_for_each(|item| scan(item, lines)),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            scan_string(k, lines)?;
            if k.contains('\u{85}') || json_text_chars(k) + 2 > 1024 {
                let at = match *lines {
                    0 => String::new(),
                    n => format!("line {n}: "),
                };
                return Err(format!("yaml: {at}did not find expected ',' or '}}'"));
            }
            scan(v, lines)
        }),
        _ => Ok(()),
    }
}

/// A quoted scalar's lines: a NEL that ends a run of blanks leaves the scanner at column
/// 0, where `---` or `...` and a blank is a document marker.
fn scan_string(s: &str, lines: &mut usize) -> Result<(), String> {
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != '\u{85}' {
            continue;
        }
        *lines += 1;
        let rest = &chars[i + 1..];
        let marker = rest.starts_with(&['-', '-', '-']) || rest.starts_with(&['.', '.', '.']);
        if marker && matches!(rest.get(3), Some(' ' | '\u{85}')) {
            return Err(format!(
                "yaml: line {}: found unexpected document indicator",
                *lines + 1
            ));
        }
    }
    Ok(())
}

/// How many characters encoding/json writes for `s` between its quotes
/// (`encode.go`, `appendString`: `\n`-style escapes for `"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`; `\u00XX` for other controls, `<`, `>`, `&`, U+2028 and U+2029).
fn json_text_chars(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// A string as goyaml.v2 reads it back from encoding/json's text: the raw NELs (line
/// breaks to YAML 1.1) fold with the spaces around them (`yaml_parser_scan_flow_scalar`):
/// a run of spaces and NELs becomes a space for one NEL, or a line feed for each NEL
/// after the first.
fn fold_nel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{85}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let breaks = run.chars().filter(|c| *c == '\u{85}').count();
        match breaks {
            0 => out.push_str(run),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
        run.clear();
    };
    for c in s.chars() {
        if c == ' ' || c == '\u{85}' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    std::borrow::Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------
// Scalars: what the encoder asks for (encode.go) after the decoder's typing (resolve.go).
// ---------------------------------------------------------------------------------------

/// A scalar style (`yaml_scalar_style_t`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A scalar's text and the style the encoder asks for (`encode.go`: `nilv`, `boolv`,
/// `intv`, `uintv`, `floatv` are plain; `stringv` decides for strings).
fn scalar(v: &Value) -> (String, Style) {
    match v {
        Value::Null => ("null".into(), Style::Plain),
        Value::Bool(b) => (b.to_string(), Style::Plain),
        Value::Number(n) => (number(n), Style::Plain),
        Value::String(s) => {
            let s = fold_nel(s).into_owned();
            let style = string_style(&s);
            (s, style)
        }
        // Collections are not scalars; `Emitter::node` never asks.
        Value::Array(_) | Value::Object(_) => (String::new(), Style::Plain),
    }
}

/// `stringv` (`encode.go`): literal when there is a newline, plain when the text would
/// read back as a string, double-quoted otherwise.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_str(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    }
}

/// A number as goyaml.v2 prints what it decoded from encoding/json's text of it: integers
/// as `int` or `uint64`, other numbers as `float64` (`resolve.go`; `intv`, `uintv`,
/// `floatv` in `encode.go`).
fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    // encoding/json writes a float64 below 1e21 with `'f'` (`floatEncoder`), so a whole
    // one reads back as an integer when it fits one.
    if f.fract() == 0.0 && f.abs() < 1e21 {
        let text = go_fixed(f);
        if let Ok(i) = text.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = text.parse::<u64>() {
            return u.to_string();
        }
    }
    go_float(f)
}

/// The shortest decimal digits of `|f|` (no leading or trailing zeros) and the position
/// of the decimal point (`digs.nd`, `digs.dp` in Go's strconv).
fn shortest_digits(f: f64) -> (String, i32) {
    digits_of(&format!("{:e}", f.abs()))
}

/// `shortest_digits` of Rust's shortest `{:e}` text of a float of either width.
fn digits_of(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0').to_string();
    (digits, exp.parse::<i32>().unwrap_or(0) + 1)
}

/// `strconv.FormatFloat(f, 'f', -1, 64)` of a whole number.
fn go_fixed(f: f64) -> String {
    let sign = if f.is_sign_negative() && f != 0.0 {
        "-"
    } else {
        ""
    };
    let (digits, dp) = shortest_digits(f);
    if digits.is_empty() {
        return "0".into();
    }
    let zeros = (dp - digits.len() as i32).max(0) as usize;
    format!("{sign}{digits}{}", "0".repeat(zeros))
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: `%e` when the exponent is below -4 or at least
/// 6 (the shortest format's `eprec`), `%f` otherwise.
pub(crate) fn go_float(f: f64) -> String {
    if f == 0.0 {
        return format_g(f, (String::new(), 0));
    }
    format_g(f, shortest_digits(f))
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: as `go_float`, with the shortest digits that
/// read back as the same `float32`.
pub(crate) fn go_float32(f: f64) -> String {
    let narrow = f as f32;
    if narrow == 0.0 {
        return format_g(f, (String::new(), 0));
    }
    format_g(f, digits_of(&format!("{:e}", narrow.abs())))
}

/// `%g` of `f` whose shortest digits and decimal point are given.
fn format_g(f: f64, (digits, dp): (String, i32)) -> String {
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if digits.is_empty() {
        return format!("{sign}0");
    }
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{point}{rest}e{esign}{:02}", exp.abs());
    }
    if dp <= 0 {
        return format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize));
    }
    let dp = dp as usize;
    if digits.len() <= dp {
        return format!("{sign}{digits}{}", "0".repeat(dp - digits.len()));
    }
    format!("{sign}{}.{}", &digits[..dp], &digits[dp..])
}

/// The plain texts `resolve` maps to another type (`resolveMapList`, `resolve.go`).
const RESOLVED: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No",
    "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    "<<",
];

/// `resolveTable`: what a text's first byte hints at.
fn hint(c: u8) -> u8 {
    match c {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => 0,
    }
}

/// `resolve("", s)` is `!!str` (`resolve.go`): the text, unquoted, reads back as a string.
fn resolves_to_str(s: &str) -> bool {
    let hint = s.as_bytes().first().map_or(b'N', |c| hint(*c));
    if hint == 0 {
        return true;
    }
    if RESOLVED.contains(&s) {
        return false;
    }
    match hint {
        b'.' => !is_dot_float(s),
        b'D' | b'S' => !(is_timestamp(s) || is_number(&s.replace('_', ""))),
        _ => true,
    }
}

/// `strconv.ParseFloat` succeeds on a text that starts with `.`: digits, an optional
/// exponent, and no overflow.
fn is_dot_float(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('.') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && exponent_or_end(&rest[digits..]) && finite(s)
}

/// `[eE][-+]?[0-9]+` or nothing, to the end.
fn exponent_or_end(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['e', 'E']) else {
        return s.is_empty();
    };
    let rest = rest.strip_prefix(['-', '+']).unwrap_or(rest);
    !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit())
}

/// Go's `strconv.ParseFloat` does not overflow (it refuses with `ErrRange` when it does).
fn finite(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The integer and float cases of `resolve` for a text whose `_` were removed:
/// `strconv.ParseInt(s, 0, 64)`, `ParseUint(s, 0, 64)`, `yamlStyleFloat` with
/// `ParseFloat`, and the `0b` forms.
fn is_number(plain: &str) -> bool {
    let b = plain.as_bytes();
    parse_int(b, 0).is_some()
        || parse_uint(b, 0).is_some()
        || (is_yaml_style_float(plain) && finite(plain))
        || (b.starts_with(b"0b")
            && (parse_int(&b[2..], 2).is_some() || parse_uint(&b[2..], 2).is_some()))
        || (b.starts_with(b"-0b") && parse_int(&[b"-", &b[3..]].concat(), 2).is_some())
}

/// `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let int = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &s[int..];
    let rest = match rest.strip_prefix('.') {
        Some(frac) => {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if int == 0 && n == 0 {
                return false;
            }
            &frac[n..]
        }
        None if int == 0 => return false,
        None => rest,
    };
    exponent_or_end(rest)
}

/// `strconv.ParseUint(s, base, 64)` for base 0 (prefixes `0b`, `0o`, `0x`, a leading `0`
/// for octal) or an explicit base.
fn parse_uint(s: &[u8], base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, base) = if base != 0 {
        (s, base)
    } else if s[0] == b'0' {
        match s.get(1).map(|c| c | 0x20) {
            Some(b'b') if s.len() >= 3 => (&s[2..], 2),
            Some(b'o') if s.len() >= 3 => (&s[2..], 8),
            Some(b'x') if s.len() >= 3 => (&s[2..], 16),
            _ => (&s[1..], 8),
        }
    } else {
        (s, 10)
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            c if c.is_ascii_alphabetic() => u32::from((c | 0x20) - b'a') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `strconv.ParseInt(s, base, 64)`: a sign, then `ParseUint`, within `int64`.
fn parse_int(s: &[u8], base: u32) -> Option<i64> {
    let (neg, rest) = match s.first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint(rest, base)?;
    const CUTOFF: u64 = 1 << 63;
    match neg {
        false if un < CUTOFF => Some(un as i64),
        true if un <= CUTOFF => Some((un as i64).wrapping_neg()),
        _ => None,
    }
}

/// `isBase60Float` (`encode.go`): `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`,
/// which goyaml.v2 quotes for YAML 1.1 parsers.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) || !s.contains(':') {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        let two = b.get(i + 1).is_some_and(|c| (b'0'..=b'5').contains(c))
            && b.get(i + 2).is_some_and(u8::is_ascii_digit);
        if two {
            i += 3;
        } else if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 2;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

// ---------------------------------------------------------------------------------------
// Timestamps: `parseTimestamp` (resolve.go) with Go's `time.Parse` (time/format.go).
// ---------------------------------------------------------------------------------------

/// One element of a Go time layout.
#[derive(Clone, Copy)]
enum Chunk {
    Lit(&'static str),
    LongYear,
    NumMonth,
    Day,
    Hour,
    Minute,
    Second,
    FracSecond9,
    Iso8601ColonTz,
}

use Chunk::*;

/// A date, `2006-1-2` (as `nextStdChunk` splits Go's layouts).
const DATE: &[Chunk] = &[LongYear, Lit("-"), NumMonth, Lit("-"), Day];

/// A time of day, `15:4:5.999999999`.
const CLOCK: &[Chunk] = &[Hour, Lit(":"), Minute, Lit(":"), Second, FracSecond9];

/// `allowedTimestampFormats`: `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`,
/// `2006-1-2 15:4:5.999999999` and `2006-1-2`.
static TIMESTAMP_LAYOUTS: std::sync::LazyLock<[Vec<Chunk>; 4]> = std::sync::LazyLock::new(|| {
    let tz: &[Chunk] = &[Iso8601ColonTz];
    [
        [DATE, &[Lit("T")], CLOCK, tz].concat(),
        [DATE, &[Lit("t")], CLOCK, tz].concat(),
        [DATE, &[Lit(" ")], CLOCK].concat(),
        DATE.to_vec(),
    ]
});

/// `parseTimestamp`: four digits and `-`, then one of the layouts parses the whole text.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    TIMESTAMP_LAYOUTS
        .iter()
        .any(|layout| parses(layout, b).is_some())
}

/// What `time.Parse` reads of a date and time, for its final check.
#[derive(Default)]
struct Parsed {
    year: i64,
    month: i64,
    day: i64,
}

/// `time.Parse(layout, value)` succeeds (`parse` in time/format.go, for the chunks these
/// layouts use).
fn parses(layout: &[Chunk], value: &[u8]) -> Option<()> {
    let mut v = value;
    let mut t = Parsed::default();
    for chunk in layout {
        v = parse_chunk(*chunk, v, &mut t)?;
    }
    (v.is_empty() && (1..=days_in(t.month, t.year)).contains(&t.day)).then_some(())
}

/// One chunk of `parse`: the rest of the value, or `None` for a bad or out-of-range value.
fn parse_chunk<'a>(chunk: Chunk, v: &'a [u8], t: &mut Parsed) -> Option<&'a [u8]> {
    match chunk {
        Lit(prefix) => skip(v, prefix.as_bytes()),
        LongYear => {
            let year = v.get(..4).filter(|y| y.iter().all(u8::is_ascii_digit))?;
            t.year = year.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
            Some(&v[4..])
        }
        NumMonth => getnum_in(v, 1..=12, &mut t.month),
        Day => getnum_in(v, 0..=99, &mut t.day),
        Hour => getnum_in(v, 0..=23, &mut 0),
        Minute | Second => getnum_in(v, 0..=59, &mut 0),
        FracSecond9 => Some(frac_second(v)),
        Iso8601ColonTz => colon_tz(v),
    }
}

/// `getnum(value, false)`: one or two digits, within `range`.
fn getnum_in<'a>(
    v: &'a [u8],
    range: std::ops::RangeInclusive<i64>,
    out: &mut i64,
) -> Option<&'a [u8]> {
    let digit = |i: usize| {
        v.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let first = digit(0)?;
    let (n, rest) = match digit(1) {
        Some(second) => (first * 10 + second, &v[2..]),
        None => (first, &v[1..]),
    };
    *out = n;
    range.contains(&n).then_some(rest)
}

/// `skip`: the layout's literal text, where a space matches any run of spaces.
fn skip<'a>(mut v: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while let Some((&p, rest)) = prefix.split_first() {
        if p == b' ' {
            if v.first().is_some_and(|c| *c != b' ') {
                return None;
            }
            prefix = trim_spaces(prefix);
            v = trim_spaces(v);
            continue;
        }
        if v.first() != Some(&p) {
            return None;
        }
        prefix = rest;
        v = &v[1..];
    }
    Some(v)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b' ').count();
    &s[n..]
}

/// `stdFracSecond9`: `.` or `,` and any number of digits, or nothing.
fn frac_second(v: &[u8]) -> &[u8] {
    if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
        return v;
    }
    let digits = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    &v[1 + digits..]
}

/// `stdISO8601ColonTZ`: `Z`, or `±hh:mm` with the hour at most 24 and the minute at most
/// 60.
fn colon_tz(v: &[u8]) -> Option<&[u8]> {
    if v.first() == Some(&b'Z') {
        return Some(&v[1..]);
    }
    if v.len() < 6 || v[3] != b':' {
        return None;
    }
    let two = |d: &[u8]| -> Option<i64> {
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| i64::from(d[0] - b'0') * 10 + i64::from(d[1] - b'0'))
    };
    let (hour, min) = (two(&v[1..3])?, two(&v[4..6])?);
    (hour <= 24 && min <= 60 && matches!(v[0], b'+' | b'-')).then_some(&v[6..])
}

/// `daysIn`: the days of a month of the proleptic Gregorian calendar.
fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// ---------------------------------------------------------------------------------------
// Key order: `keyList.Less` (sorter.go).
// ---------------------------------------------------------------------------------------

/// `unicode.IsLetter`: exact for Latin-1; beyond it, Rust's alphabetic characters that
/// are not numeric (Go's category L, up to the few marks Unicode calls alphabetic).
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !c.is_numeric()
}

/// `unicode.IsDigit`: exact for Latin-1; beyond it, Rust's numeric characters (Go's
/// category Nd, and the few other numerals).
fn is_digit(c: char) -> bool {
    if (c as u32) <= 0xFF {
        return c.is_ascii_digit();
    }
    c.is_numeric()
}

/// `keyList.Less` for two string keys: letters after other characters, runs of digits
/// compared as numbers.
fn key_less(a: &[char], b: &[char]) -> bool {
    for i in 0..a.len().min(b.len()) {
        if a[i] == b[i] {
            continue;
        }
        let (al, bl) = (is_letter(a[i]), is_letter(b[i]));
        if al && bl {
            return a[i] < b[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if a[i] == '0' || b[i] == '0' {
            let before = a[..i].iter().rev().take_while(|c| is_digit(**c));
            if before.into_iter().any(|c| *c != '0') {
                (an, bn) = (1, 1);
            }
        }
        let (ai, an) = digits_from(a, i, an);
        let (bi, bn) = digits_from(b, i, bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return a[i] < b[i];
    }
    a.len() < b.len()
}

/// The end of the run of digits at `i` and its value after `n` (Go's int64 arithmetic,
/// which wraps).
fn digits_from(s: &[char], i: usize, mut n: i64) -> (usize, i64) {
    let mut end = i;
    while end < s.len() && is_digit(s[end]) {
        let d = i64::from(s[end] as u32) - i64::from('0' as u32);
        n = n.wrapping_mul(10).wrapping_add(d);
        end += 1;
    }
    (end, n)
}

/// A mapping's entries in `keyList` order: a merge sort, which never fails on an order
/// that is not total (`keyList.Less` is not, for keys such as `12`, `1a`, `2`; Go's result
/// then depends on its map's random iteration order).
fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&str, &Value)> {
    let keyed: Vec<(Vec<char>, &str, &Value)> = m
        .iter()
        .map(|(k, v)| (k.chars().collect(), k.as_str(), v))
        .collect();
    merge_sort(keyed)
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .collect()
}

type Keyed<'a> = (Vec<char>, &'a str, &'a Value);

fn merge_sort(mut items: Vec<Keyed<'_>>) -> Vec<Keyed<'_>> {
    if items.len() <= 1 {
        return items;
    }
    let right = merge_sort(items.split_off(items.len() / 2));
    let left = merge_sort(items);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let next = if key_less(&b.0, &a.0) {
            r.next()
        } else {
            l.next()
        };
        out.extend(next);
    }
    out.extend(l);
    out.extend(r);
    out
}

// ---------------------------------------------------------------------------------------
// The emitter (emitterc.go), for the events the encoder sends for a JSON value.
// ---------------------------------------------------------------------------------------

/// What `yaml_emitter_emit_node` is told about the node's place that the emitter uses:
/// whether it is a mapping's key or value (`mapping_context`), and a simple key
/// (`simple_key_context`).
#[derive(Clone, Copy)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

impl Context {
    /// The document's root, or a sequence's item.
    const ROOT: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const ITEM: Context = Context::ROOT;
    /// A mapping's value, or a key that is not simple.
    const VALUE: Context = Context {
        mapping: true,
        simple_key: false,
    };
    const SIMPLE_KEY: Context = Context {
        mapping: true,
        simple_key: true,
    };
}

/// `yaml_emitter_analyze_scalar`'s verdicts.
#[derive(Debug, Default)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// `is_printable` (yamlprivateh.go): line feed, printable ASCII, U+00A0–U+D7FF and
/// U+E000–U+FFFD but U+FEFF (so not tab, carriage return, NEL, nor anything beyond
/// U+FFFF).
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

/// `is_break`: CR, LF, NEL, LS, PS.
fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `is_blank`: space or tab.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `is_blankz`: blank, break or NUL.
fn is_blankz(c: char) -> bool {
    is_blank(c) || is_break(c) || c == '\0'
}

/// `yaml_emitter_analyze_scalar`: which styles `value`'s characters allow.
fn analyze(value: &[char]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut flags = Flags::default();
    if value.starts_with(&['-', '-', '-']) || value.starts_with(&['.', '.', '.']) {
        flags.block_indicators = true;
        flags.flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    for (i, &c) in value.iter().enumerate() {
        let followed_by_whitespace = value.get(i + 1).is_none_or(|n| is_blank(*n));
        flags.indicators(i, c, preceded_by_whitespace, followed_by_whitespace);
        flags.spacing(i, c, value.len());
        preceded_by_whitespace = is_blankz(c);
    }
    flags.verdict()
}

/// What `yaml_emitter_analyze_scalar` notes while it walks a scalar.
#[derive(Default)]
struct Flags {
    block_indicators: bool,
    flow_indicators: bool,
    line_breaks: bool,
    special_characters: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
    previous_space: bool,
    previous_break: bool,
}

impl Flags {
    /// The indicator characters that forbid plain styles.
    fn indicators(&mut self, i: usize, c: char, preceded_by_ws: bool, followed_by_ws: bool) {
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    self.flow_indicators = true;
                    self.block_indicators = true;
                }
                '?' | ':' => {
                    self.flow_indicators = true;
                    self.block_indicators |= followed_by_ws;
                }
                '-' if followed_by_ws => {
                    self.flow_indicators = true;
                    self.block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => self.flow_indicators = true,
                ':' => {
                    self.flow_indicators = true;
                    self.block_indicators |= followed_by_ws;
                }
                '#' if preceded_by_ws => {
                    self.flow_indicators = true;
                    self.block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            self.special_characters = true;
        }
    }

    /// Spaces and breaks at the ends and next to each other.
    fn spacing(&mut self, i: usize, c: char, len: usize) {
        let last = i + 1 == len;
        if c == ' ' {
            self.leading_space |= i == 0;
            self.trailing_space |= last;
            self.break_space |= self.previous_break;
            self.previous_space = true;
            self.previous_break = false;
        } else if is_break(c) {
            self.line_breaks = true;
            self.leading_break |= i == 0;
            self.trailing_break |= last;
            self.space_break |= self.previous_space;
            self.previous_space = false;
            self.previous_break = true;
        } else {
            self.previous_space = false;
            self.previous_break = false;
        }
    }

    fn verdict(&self) -> Analysis {
        let mut a = Analysis {
            multiline: self.line_breaks,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
        if self.leading_space || self.leading_break || self.trailing_space || self.trailing_break {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if self.trailing_space {
            a.block_allowed = false;
        }
        if self.break_space {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if self.space_break || self.special_characters {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if self.line_breaks {
            a.flow_plain_allowed = false;
            a.block_plain_allowed = false;
        }
        if self.flow_indicators {
            a.flow_plain_allowed = false;
        }
        if self.block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

/// `yaml_emitter_select_scalar_style` in block context (the emitter is in flow context
/// only inside `{}` and `[]`, which hold nothing here) for an untagged, implicit scalar.
fn select_style(requested: Style, a: &Analysis, simple_key: bool, empty: bool) -> Style {
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (empty && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// The emitter's state (`yaml_emitter_t`): what has been written and where it stands.
struct Emitter {
    out: String,
    column: usize,
    indent: isize,
    indents: Vec<isize>,
    /// The last character written was whitespace (or nothing was written).
    whitespace: bool,
    /// The current line holds only indentation and indicators.
    indention: bool,
}

impl Default for Emitter {
    /// `yaml_emitter_emit_stream_start`.
    fn default() -> Emitter {
        Emitter {
            out: String::with_capacity(256),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
        }
    }
}

impl Emitter {
    /// `put`.
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    /// `put_break`.
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// `write_all`: one column per character.
    fn write_all(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    /// `write_break`: a line feed as a line break, another break as itself.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    /// `yaml_emitter_increase_indent`.
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { INDENT } else { 0 };
        } else if !indentless {
            self.indent += INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    /// `yaml_emitter_write_indent`: a new line unless the current one is still blank up
    /// to the indentation, then spaces up to it.
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// `yaml_emitter_write_indicator`.
    fn write_indicator(&mut self, s: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        self.write_all(s);
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// `yaml_emitter_emit_node` and the states it leads to.
    fn node(&mut self, v: &Value, ctx: Context) {
        match v {
            Value::Array(a) if a.is_empty() => self.flow_empty("[", "]"),
            Value::Object(m) if m.is_empty() => self.flow_empty("{", "}"),
            Value::Array(a) => self.block_sequence(a, ctx),
            Value::Object(m) => self.block_mapping(m),
            scalar_value => {
                let (text, style) = scalar(scalar_value);
                self.scalar(&text, style, ctx);
            }
        }
    }

    /// An empty collection: `yaml_emitter_check_empty_sequence` (or mapping) sends it to
    /// the flow states, which write its brackets.
    fn flow_empty(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    /// `yaml_emitter_emit_block_sequence_item`: `- ` items, not indented in a mapping.
    fn block_sequence(&mut self, items: &[Value], ctx: Context) {
        self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::ITEM);
        }
        self.pop_indent();
    }

    /// `yaml_emitter_emit_block_mapping_key` and `_value`: `key: value`, or `? key` and
    /// `: value` for a key that cannot be simple.
    fn block_mapping(&mut self, m: &serde_json::Map<String, Value>) {
        self.increase_indent(false, false);
        for (key, value) in sorted(m) {
            self.write_indent();
            let chars: Vec<char> = key.chars().collect();
            let style = string_style(key);
            if !analyze(&chars).multiline && key.len() <= SIMPLE_KEY_MAX {
                self.scalar(key, style, Context::SIMPLE_KEY);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar(key, style, Context::VALUE);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::VALUE);
        }
        self.pop_indent();
    }

    /// `yaml_emitter_emit_scalar`: the style the text allows, written one indentation
    /// level deeper than its parent.
    fn scalar(&mut self, text: &str, requested: Style, ctx: Context) {
        let value: Vec<char> = text.chars().collect();
        let analysis = analyze(&value);
        let style = select_style(requested, &analysis, ctx.simple_key, value.is_empty());
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(&value, allow_breaks),
            Style::Single => self.write_single_quoted(&value, allow_breaks),
            Style::Double => self.write_double_quoted(&value, allow_breaks),
            Style::Literal => self.write_literal(&value),
        }
        self.pop_indent();
    }

    /// `yaml_emitter_write_plain_scalar`: spaces past the width become line breaks.
    fn write_plain(&mut self, value: &[char], allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in value.iter().enumerate() {
            if c == ' ' {
                let next_space = value.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > WIDTH && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_single_quoted_scalar`: `'` doubled, spaces past the width
    /// become line breaks.
    fn write_single_quoted(&mut self, value: &[char], allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let last = value.len().saturating_sub(1);
        for (i, &c) in value.iter().enumerate() {
            if c == ' ' {
                let next_space = value.get(i + 1) == Some(&' ');
                let inner = i > 0 && i < last;
                if allow_breaks && !spaces && self.column > WIDTH && inner && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `yaml_emitter_write_double_quoted_scalar`: escapes for what is not printable,
    /// breaks, `"` and `\` (every character, when the text starts with a byte-order mark:
    /// `is_bom` looks at the text's start); spaces past the width become line breaks.
    fn write_double_quoted(&mut self, value: &[char], allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let bom = value.first() == Some(&'\u{FEFF}');
        let last = value.len().saturating_sub(1);
        let mut spaces = false;
        for (i, &c) in value.iter().enumerate() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > WIDTH && i > 0 && i < last {
                    self.write_indent();
                    if value.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// One escape of a double-quoted scalar.
    fn write_escape(&mut self, c: char) {
        self.put('\\');
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(s);
            return;
        }
        let v = c as u32;
        let text = match v {
            0..=0xFF => format!("x{v:02X}"),
            0x100..=0xFFFF => format!("u{v:04X}"),
            _ => format!("U{v:08X}"),
        };
        self.write_all(&text);
    }

    /// `yaml_emitter_write_block_scalar_hints`: an indentation indicator when the text
    /// starts with a space or a break, and the chomping: `-` without a final break, `+`
    /// with more than one (or only one break).
    fn write_block_hints(&mut self, value: &[char]) {
        if value.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.write_indicator(&INDENT.to_string(), false, false, false);
        }
        let chomp = match value {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., before, _] if is_break(*before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
    }

    /// `yaml_emitter_write_literal_scalar`: `|`, then the lines as they are, indented.
    fn write_literal(&mut self, value: &[char]) {
        self.write_indicator("|", true, false, false);
        self.write_block_hints(value);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in value {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every expected answer is what sigs.k8s.io/yaml v1.4.0's `JSONToYAML` printed for the
    //! same JSON text (a throwaway Go program outside the repository; 5,000 generated
    //! documents more, nested, with random strings and numbers, agreed as well).

    use super::*;

    /// A name, a JSON text as encoding/json writes it, and `JSONToYAML`'s lines (each
    /// ends with a line feed) or its error.
    type Case = (
        &'static str,
        &'static str,
        Result<&'static [&'static str], &'static str>,
    );

    fn check(cases: &[Case]) {
        for (name, json, want) in cases {
            let v: Value = serde_json::from_str(json).expect(name);
            let want = want
                .map(|lines| lines.iter().map(|l| format!("{l}\n")).collect::<String>())
                .map_err(str::to_string);
            assert_eq!(json_to_yaml(&v), want, "{name}");
        }
    }

    #[test]
    fn strings_that_would_read_back_as_another_type_are_quoted() {
        check(QUOTING);
    }

    #[test]
    fn keys_are_sorted_and_quoted_as_values_are() {
        check(KEYS);
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_when_they_can_be() {
        check(MULTILINE);
    }

    #[test]
    fn lines_fold_past_80_columns() {
        check(WIDTH);
    }

    #[test]
    fn numbers_print_as_goyaml_decodes_them() {
        check(NUMBERS);
    }

    #[test]
    fn collections_nest_in_block_style() {
        check(STRUCTURES);
    }

    #[test]
    fn kubernetes_objects() {
        check(KUBERNETES);
    }

    #[test]
    fn what_goyaml_cannot_read_back_is_refused() {
        check(REFUSALS);
    }

    #[test]
    fn long_keys() {
        // A simple key ends its `:` within 1024 characters of JSON text (with its quotes).
        let key = "k".repeat(1022);
        let want = format!("? {key}\n: 1\n");
        assert_eq!(json_to_yaml(&serde_json::json!({ key: 1 })), Ok(want));
        let refused = Err("yaml: did not find expected ',' or '}'".to_string());
        let key = "k".repeat(1023);
        assert_eq!(json_to_yaml(&serde_json::json!({ key: 1 })), refused);
        // `<` is six characters of JSON text (`\u003c`).
        let key = "<".repeat(200);
        assert_eq!(json_to_yaml(&serde_json::json!({ key: 1 })), refused);
        let key = "k".repeat(1023);
        let after_a_line = serde_json::json!({"a": "x\u{85}y", key: 1});
        let refused = Err("yaml: line 1: did not find expected ',' or '}'".to_string());
        assert_eq!(json_to_yaml(&after_a_line), refused);
    }

    #[test]
    fn keys_in_no_total_order_still_sort() {
        // `keyList.Less` orders `10` < `1a` < `2` < `10`: Go's answer then depends on its
        // map's iteration order; any order of the three is one Go gives.
        let got = to_yaml(&serde_json::json!({"2": 0, "1a": 0, "10": 0, "v1beta1": 0, "v10": 0}));
        assert_eq!(got.lines().count(), 5);
    }

    #[test]
    fn floats_print_as_strconv_formats_them() {
        for (f, want) in [
            (0.5, "0.5"),
            (-0.0, "-0"),
            (1e21, "1e+21"),
            (1e-7, "1e-07"),
            (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    /// Cases of `quoting`: JSON text, then `JSONToYAML`'s lines or error.
    const QUOTING: &[Case] = &[
        (
            "booleans and nulls of YAML 1.1",
            r#"{"a":["true","True","TRUE","tRue","false","yes","Yes","no","on","Off","y","N","null","Null","nUll","~",""]}"#,
            Ok(&[
                "a:",
                r#"- "true""#,
                r#"- "True""#,
                r#"- "TRUE""#,
                "- tRue",
                r#"- "false""#,
                r#"- "yes""#,
                r#"- "Yes""#,
                r#"- "no""#,
                r#"- "on""#,
                r#"- "Off""#,
                r#"- "y""#,
                r#"- "N""#,
                r#"- "null""#,
                r#"- "Null""#,
                "- nUll",
                r#"- "~""#,
                r#"- """#,
            ]),
        ),
        (
            "integers in every base",
            r#"{"a":["1","-1","+1","0","-0","017","08","0o17","0x1F","0b101","0b-101","-0b101","1_000","_1000","0x","9223372036854775808","99999999999999999999"]}"#,
            Ok(&[
                "a:",
                r#"- "1""#,
                r#"- "-1""#,
                r#"- "+1""#,
                r#"- "0""#,
                r#"- "-0""#,
                r#"- "017""#,
                r#"- "08""#,
                r#"- "0o17""#,
                r#"- "0x1F""#,
                r#"- "0b101""#,
                r#"- "0b-101""#,
                r#"- "-0b101""#,
                r#"- "1_000""#,
                "- _1000",
                "- 0x",
                r#"- "9223372036854775808""#,
                r#"- "99999999999999999999""#,
            ]),
        ),
        (
            "floats and YAML 1.1 specials",
            r#"{"a":["1.5",".5","+.5","1.","1e3","1E+3","1e","e3",".inf","-.Inf",".nan",".iNf",".","1e400",".5e400"]}"#,
            Ok(&[
                "a:",
                r#"- "1.5""#,
                r#"- ".5""#,
                r#"- "+.5""#,
                r#"- "1.""#,
                r#"- "1e3""#,
                r#"- "1E+3""#,
                "- 1e",
                "- e3",
                r#"- ".inf""#,
                r#"- "-.Inf""#,
                r#"- ".nan""#,
                "- .iNf",
                "- .",
                "- 1e400",
                "- .5e400",
            ]),
        ),
        (
            "base 60 floats",
            r#"{"a":["1:20","-1:20","190:20:30.15","1:2:3.4_5","1:60","1:123",":20","1:","12:34:56"]}"#,
            Ok(&[
                "a:",
                r#"- "1:20""#,
                r#"- "-1:20""#,
                r#"- "190:20:30.15""#,
                r#"- "1:2:3.4_5""#,
                "- 1:60",
                "- 1:123",
                "- :20",
                "- '1:'",
                r#"- "12:34:56""#,
            ]),
        ),
        (
            "timestamps",
            r#"{"a":["2026-11-29T08:00:00Z","2026-11-29","2026-11-29 08:00:00","2026-11-29   8:0:0","2026-11-29t08:00:00.5+05:30","2026-11-29T08:00:00,5Z","2026-11-29T08:00:00","2026-02-30","2024-02-29","2026-13-01","2026-11-29T24:00:00Z","2026-11-29T08:00:00-25:00","20261-11-29","2026-11-29Z"]}"#,
            Ok(&[
                "a:",
                r#"- "2026-11-29T08:00:00Z""#,
                r#"- "2026-11-29""#,
                r#"- "2026-11-29 08:00:00""#,
                r#"- "2026-11-29   8:0:0""#,
                r#"- "2026-11-29t08:00:00.5+05:30""#,
                r#"- "2026-11-29T08:00:00,5Z""#,
                "- 2026-11-29T08:00:00",
                "- 2026-02-30",
                r#"- "2024-02-29""#,
                "- 2026-13-01",
                "- 2026-11-29T24:00:00Z",
                "- 2026-11-29T08:00:00-25:00",
                "- 20261-11-29",
                "- 2026-11-29Z",
            ]),
        ),
        (
            "indicators at the start",
            r##"{"a":["- a","-a","-","? a","?a",": a",":a","#","# a","@a","`a","!a","\u0026a","*a","|a","\u003ea","%a",",a","[a","{a","}a","'a","\"a","\u003c\u003c","=","---","--- a","...","..a"]}"##,
            Ok(&[
                "a:",
                "- '- a'",
                "- -a",
                "- '-'",
                "- '? a'",
                "- ?a",
                "- ': a'",
                "- :a",
                "- '#'",
                "- '# a'",
                "- '@a'",
                "- '`a'",
                "- '!a'",
                "- '&a'",
                "- '*a'",
                "- '|a'",
                "- '>a'",
                "- '%a'",
                "- ',a'",
                "- '[a'",
                "- '{a'",
                "- '}a'",
                "- '''a'",
                r#"- '"a'"#,
                "- <<",
                "- =",
                "- '---'",
                "- '--- a'",
                "- '...'",
                "- ..a",
            ]),
        ),
        (
            "colons and hashes inside",
            r#"{"a":["a: b","a:b","a:","a #b","a#b","http://x/#frag","k=v,w","a[0]","a{b}","a?b"]}"#,
            Ok(&[
                "a:",
                "- 'a: b'",
                "- a:b",
                "- 'a:'",
                "- 'a #b'",
                "- a#b",
                "- http://x/#frag",
                "- k=v,w",
                "- a[0]",
                "- a{b}",
                "- a?b",
            ]),
        ),
        (
            "quotes and backslashes",
            r#"{"a":["it's","'","''","\"","a\"b","\\","a\\b","C:\\dir"]}"#,
            Ok(&[
                "a:",
                "- it's",
                "- ''''",
                "- ''''''",
                r#"- '"'"#,
                r#"- a"b"#,
                r#"- \"#,
                r#"- a\b"#,
                r#"- C:\dir"#,
            ]),
        ),
        (
            "leading and trailing spaces",
            r#"{"a":[" ","  "," a","a "," a ","a  b"," it's "]}"#,
            Ok(&[
                "a:",
                "- ' '",
                "- '  '",
                "- ' a'",
                "- 'a '",
                "- ' a '",
                "- a  b",
                "- ' it''s '",
            ]),
        ),
        (
            "characters that are not printable",
            r#"{"a":["a\tb","\t","a\rb","a\u0000b","\u001b[0m","\u0007","\u000b","\f","\b","\u001f"]}"#,
            Ok(&[
                "a:",
                r#"- "a\tb""#,
                r#"- "\t""#,
                r#"- "a\rb""#,
                r#"- "a\0b""#,
                r#"- "\e[0m""#,
                r#"- "\a""#,
                r#"- "\v""#,
                r#"- "\f""#,
                r#"- "\b""#,
                r#"- "\x1F""#,
            ]),
        ),
        (
            "unicode",
            "{\"a\":[\"é\",\"日本語\",\"naïve café\",\"\u{1f600}\",\"a\u{1f600}b\",\"\u{a0}\",\"a\u{a0}b\",\"a\u{200b}b\",\"\u{feff}ab\",\"a\u{feff}b\",\"a\\u2028b\",\"a\\u2029b\"]}",
            Ok(&[
                "a:",
                "- é",
                "- 日本語",
                "- naïve café",
                r#"- "\U0001F600""#,
                r#"- "a\U0001F600b""#,
                "- \u{a0}",
                "- a\u{a0}b",
                "- a\u{200b}b",
                r#"- "\uFEFF\x61\x62""#,
                r#"- "a\uFEFFb""#,
                "- 'a\u{2028}  b'",
                "- 'a\u{2029}  b'",
            ]),
        ),
        (
            "a raw NEL folds to a space",
            "{\"a\":[\"a\u{85}b\",\"a \u{85} b\",\"a\u{85}\u{85}b\",\"\u{85}\",\"a\u{85}\u{85}\u{85}b\"]}",
            Ok(&[
                "a:", "- a b", "- a b", "- |-", "  a", "  b", "- ' '", "- |-", "  a", "", "  b",
            ]),
        ),
    ];

    /// Cases of `keys`: JSON text, then `JSONToYAML`'s lines or error.
    const KEYS: &[Case] = &[
        (
            "keys that need quoting",
            "{\"\":1,\"true\":2,\"1\":3,\"null\":4,\"- k\":5,\"a: b\":6,\"#k\":7,\" k\":8,\"k \":9,\"it's\":10,\"tab\\tkey\":11,\"\u{1f600}\":12,\"é\":13}",
            Ok(&[
                r#""": 1"#,
                "' k': 8",
                "'#k': 7",
                "'- k': 5",
                r#""\U0001F600": 12"#,
                r#""1": 3"#,
                "'a: b': 6",
                "it's: 10",
                "'k ': 9",
                r#""null": 4"#,
                r#""tab\tkey": 11"#,
                r#""true": 2"#,
                "é: 13",
            ]),
        ),
        (
            "key order",
            r#"{"a1":0,"a01":1,"a10":2,"a2":3,"a-b":4,"a_b":5,"a.b":6,"a/b":7,"A":8,"B":9,"a":10,"b":11,"_a":12,"-a":13,"1":14,"01":15,"001":16,"10":17,"2":18,"b1":19,"B1":20,"aa":21,"ab":22,"z9":23,"z10":24,"z09":25,"x0y":26,"x00y":27,"x1y":28,"é":29,"e":30,"f":31,"":32,"k8s":33,"k08s":34,"apiVersion":35,"kind":36,"metadata":37,"spec":38,"status":39,"data":40,"Data":41}"#,
            Ok(&[
                r#""": 32"#,
                "-a: 13",
                "_a: 12",
                r#""1": 14"#,
                r#""01": 15"#,
                r#""001": 16"#,
                r#""2": 18"#,
                r#""10": 17"#,
                "A: 8",
                "B: 9",
                "B1: 20",
                "Data: 41",
                "a: 10",
                "a-b: 4",
                "a.b: 6",
                "a/b: 7",
                "a_b: 5",
                "a1: 0",
                "a01: 1",
                "a2: 3",
                "a10: 2",
                "aa: 21",
                "ab: 22",
                "apiVersion: 35",
                "b: 11",
                "b1: 19",
                "data: 40",
                "e: 30",
                "f: 31",
                "k8s: 33",
                "k08s: 34",
                "kind: 36",
                "metadata: 37",
                "spec: 38",
                "status: 39",
                "x00y: 27",
                "x0y: 26",
                "x1y: 28",
                "z9: 23",
                "z09: 25",
                "z10: 24",
                "é: 29",
            ]),
        ),
        (
            "managedFields keys",
            r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}},"f:annotations":{".":{},"f:kubernetes.io/description":{}}},"f:data":{".":{},"f:b":{},"f:a":{}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}}}}"#,
            Ok(&[
                "f:data:",
                "  .: {}",
                "  f:a: {}",
                "  f:b: {}",
                "f:metadata:",
                "  f:annotations:",
                "    .: {}",
                "    f:kubernetes.io/description: {}",
                "  f:labels:",
                "    .: {}",
                "    f:app: {}",
                "f:spec:",
                "  f:containers:",
                r#"    k:{"name":"c"}:"#,
                "      .: {}",
                "      f:image: {}",
                "      f:name: {}",
            ]),
        ),
        (
            "long keys are not simple",
            r#"{"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":1,"lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll":"v","mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm":{"nested":"map"},"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn":["seq"],"oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo":{},"pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp":[],"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq":"x\ny"}"#,
            Ok(&[
                "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: 1",
                "? lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll",
                ": v",
                "? mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
                ": nested: map",
                "? nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
                ": - seq",
                "? oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo",
                ": {}",
                "? pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
                ": []",
                "? qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
                ": |-",
                "  x",
                "  y",
            ]),
        ),
        (
            "multi-line keys",
            r#"{"multi\nline":{"a":1},"trailing\n":[1,2],"m\nk":"v\nw\n","a\u2028b":1}"#,
            Ok(&[
                "? 'a\u{2028}  b'",
                ": 1",
                "? |-",
                "  m",
                "  k",
                ": |",
                "  v",
                "  w",
                "? |-",
                "  multi",
                "  line",
                ": a: 1",
                "? |",
                "  trailing",
                ": - 1",
                "  - 2",
            ]),
        ),
    ];

    /// Cases of `multiline`: JSON text, then `JSONToYAML`'s lines or error.
    const MULTILINE: &[Case] = &[
        (
            "literal blocks and their chomping",
            r#"{"clip":"line1\nline2\n","strip":"line1\nline2","keep":"line1\nline2\n\n","only":"\n","two":"\n\n","empty lines":"a\n\n\nb\n"}"#,
            Ok(&[
                "clip: |",
                "  line1",
                "  line2",
                "empty lines: |",
                "  a",
                "",
                "",
                "  b",
                "keep: |+",
                "  line1",
                "  line2",
                "",
                "only: |2+",
                "",
                "strip: |-",
                "  line1",
                "  line2",
                "two: |2+",
                "",
                "",
            ]),
        ),
        (
            "indentation indicator",
            r#"{"lead space":" a\nb","lead break":"\na","space after break":"a\n b","lead tab":"\ta\nb"}"#,
            Ok(&[
                "lead break: |2-",
                "",
                "  a",
                "lead space: |2-",
                "   a",
                "  b",
                r#"lead tab: "\ta\nb""#,
                "space after break: |-",
                "  a",
                "   b",
            ]),
        ),
        (
            "literal blocks that cannot be",
            "{\"trailing space\":\"a\\nb \",\"space before break\":\"a \\nb\",\"tab\":\"a\\tb\\nc\",\"cr\":\"a\\r\\nb\\r\\n\",\"emoji\":\"\u{1f600}\\nb\"}",
            Ok(&[
                r#"cr: "a\r\nb\r\n""#,
                r#"emoji: "\U0001F600\nb""#,
                r#"space before break: "a \nb""#,
                r#"tab: "a\tb\nc""#,
                r#"trailing space: "a\nb ""#,
            ]),
        ),
        (
            "indicators in literal blocks",
            r##"{"a":"#a\n- b\nc: d\n'e'\n"}"##,
            Ok(&["a: |", "  #a", "  - b", "  c: d", "  'e'"]),
        ),
        (
            "literal blocks in sequences",
            r#"{"a":["line1\nline2",["x\ny\n"],{"k":"v\nw"}]}"#,
            Ok(&[
                "a:", "- |-", "  line1", "  line2", "- - |", "    x", "    y", "- k: |-", "    v",
                "    w",
            ]),
        ),
    ];

    /// Cases of `width`: JSON text, then `JSONToYAML`'s lines or error.
    const WIDTH: &[Case] = &[
        (
            "plain scalars fold past 80 columns",
            r#"{"a":"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word","b":{"c":{"d":"word word word word word word word word word word word word word word word word word word word word"}}}"#,
            Ok(&[
                "a: word word word word word word word word word word word word word word word word",
                "  word word word word word word word word word word word word word word",
                "b:",
                "  c:",
                "    d: word word word word word word word word word word word word word word word",
                "      word word word word word",
            ]),
        ),
        (
            "no space to fold at",
            r#"{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","b":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y"}"#,
            Ok(&[
                "a: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "b: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "  y",
            ]),
        ),
        (
            "single quotes fold",
            r#"{"a":"'quoted' text that is long enough to need folding past the eighty column line width of goyaml"}"#,
            Ok(&[
                "a: '''quoted'' text that is long enough to need folding past the eighty column line",
                "  width of goyaml'",
            ]),
        ),
        (
            "double quotes fold and escape a second space",
            r#"{"a":"long with double  spaces  inside that is long enough to need folding past the eighty column width\tof goyaml v2 emitter yes yes"}"#,
            Ok(&[
                r#"a: "long with double  spaces  inside that is long enough to need folding past the"#,
                r#"  eighty column width\tof goyaml v2 emitter yes yes""#,
            ]),
        ),
        (
            "keys never fold",
            r#"{"word word word word word word word word word word word word word word word word word word word word":"word word word word word word word word word word word word word word word word word word word word"}"#,
            Ok(&[
                "word word word word word word word word word word word word word word word word word word word word: word",
                "  word word word word word word word word word word word word word word word word",
                "  word word word",
            ]),
        ),
        (
            "in a sequence",
            r#"{"a":["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyyyyyyyyyyyy z"]}"#,
            Ok(&[
                "a:",
                "- xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyyyyyyyyyyyy",
                "  z",
            ]),
        ),
    ];

    /// Cases of `numbers`: JSON text, then `JSONToYAML`'s lines or error.
    const NUMBERS: &[Case] = &[
        (
            "integers",
            r#"{"a":[0,1,-1,123456789,9223372036854775807,-9223372036854775808,9223372036854775808,18446744073709551615]}"#,
            Ok(&[
                "a:",
                "- 0",
                "- 1",
                "- -1",
                "- 123456789",
                "- 9223372036854775807",
                "- -9223372036854775808",
                "- 9223372036854775808",
                "- 18446744073709551615",
            ]),
        ),
        (
            "floats",
            r#"{"a":[0.5,-0.5,1.5,1e+21,1e-7,1234567.5,123456.5,0.0001,0.00001,2.5e-05,100000000000000000000,1e+100,5e-324,1.7976931348623157e+308,3.14159]}"#,
            Ok(&[
                "a:",
                "- 0.5",
                "- -0.5",
                "- 1.5",
                "- 1e+21",
                "- 1e-07",
                "- 1.2345675e+06",
                "- 123456.5",
                "- 0.0001",
                "- 1e-05",
                "- 2.5e-05",
                "- 1e+20",
                "- 1e+100",
                "- 5e-324",
                "- 1.7976931348623157e+308",
                "- 3.14159",
            ]),
        ),
    ];

    /// Cases of `structures`: JSON text, then `JSONToYAML`'s lines or error.
    const STRUCTURES: &[Case] = &[
        (
            "empty maps and lists",
            r#"{"a":{},"b":[],"c":{"d":{}},"e":[[]],"f":[{}],"g":null,"h":true,"i":false}"#,
            Ok(&[
                "a: {}", "b: []", "c:", "  d: {}", "e:", "- []", "f:", "- {}", "g: null",
                "h: true", "i: false",
            ]),
        ),
        (
            "lists of maps",
            r#"{"items":[{"name":"a","value":"1"},{"name":"b","items":["x","y"],"more":{"k":"v"}},{}]}"#,
            Ok(&[
                "items:",
                "- name: a",
                r#"  value: "1""#,
                "- items:",
                "  - x",
                r#"  - "y""#,
                "  more:",
                "    k: v",
                "  name: b",
                "- {}",
            ]),
        ),
        (
            "lists of lists",
            r#"{"a":[[1,2],[3,[4,[5]]],[],[{"b":[6]}]]}"#,
            Ok(&[
                "a:",
                "- - 1",
                "  - 2",
                "- - 3",
                "  - - 4",
                "    - - 5",
                "- []",
                "- - b:",
                "    - 6",
            ]),
        ),
        (
            "a top-level list",
            r#"[[1,2],{"a":1,"b":[2]},[],{},null,"x",[{"a":[{"b":{}}]}]]"#,
            Ok(&[
                "- - 1",
                "  - 2",
                "- a: 1",
                "  b:",
                "  - 2",
                "- []",
                "- {}",
                "- null",
                "- x",
                "- - a:",
                "    - b: {}",
            ]),
        ),
        ("top-level scalars", r#""top""#, Ok(&["top"])),
        ("a top-level empty map", "{}", Ok(&["{}"])),
        (
            "a top-level multi-line string",
            r#""line1\nline2\n""#,
            Ok(&["|", "  line1", "  line2"]),
        ),
    ];

    /// Cases of `kubernetes`: JSON text, then `JSONToYAML`'s lines or error.
    const KUBERNETES: &[Case] = &[
        (
            "a ConfigMap with a PEM certificate",
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"kube-root-ca.crt","namespace":"default","uid":"2af7a633-a1bf-441d-89b7-8c67bb10f215","resourceVersion":"255","creationTimestamp":"2026-11-29T08:41:36Z","annotations":{"kubernetes.io/description":"Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."},"managedFields":[{"manager":"k3s","operation":"Update","apiVersion":"v1","time":"2026-11-29T08:41:36Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:ca.crt":{}},"f:metadata":{"f:annotations":{".":{},"f:kubernetes.io/description":{}}}}}]},"data":{"ca.crt":"-----BEGIN CERTIFICATE-----\nMIIBizCCATCgAwIBAgIUINPFA1jMWcvwA+Ke0tjOFhAF2tkwCgYIKoZIzj0EAwIw\nIzEhMB8GA1UEAwwYazNzLXNlcnZlci1jYUAxNzk1OTQxNjg1MB4XDTI2MTEyOTA3\n-----END CERTIFICATE-----\n"}}"#,
            Ok(&[
                "apiVersion: v1",
                "data:",
                "  ca.crt: |",
                "    -----BEGIN CERTIFICATE-----",
                "    MIIBizCCATCgAwIBAgIUINPFA1jMWcvwA+Ke0tjOFhAF2tkwCgYIKoZIzj0EAwIw",
                "    IzEhMB8GA1UEAwwYazNzLXNlcnZlci1jYUAxNzk1OTQxNjg1MB4XDTI2MTEyOTA3",
                "    -----END CERTIFICATE-----",
                "kind: ConfigMap",
                "metadata:",
                "  annotations:",
                "    kubernetes.io/description: Contains a CA bundle that can be used to verify the",
                "      kube-apiserver when using internal endpoints such as the internal service IP",
                "      or kubernetes.default.svc. No other usage is guaranteed across distributions",
                "      of Kubernetes clusters.",
                r#"  creationTimestamp: "2026-11-29T08:41:36Z""#,
                "  managedFields:",
                "  - apiVersion: v1",
                "    fieldsType: FieldsV1",
                "    fieldsV1:",
                "      f:data:",
                "        .: {}",
                "        f:ca.crt: {}",
                "      f:metadata:",
                "        f:annotations:",
                "          .: {}",
                "          f:kubernetes.io/description: {}",
                "    manager: k3s",
                "    operation: Update",
                r#"    time: "2026-11-29T08:41:36Z""#,
                "  name: kube-root-ca.crt",
                "  namespace: default",
                r#"  resourceVersion: "255""#,
                "  uid: 2af7a633-a1bf-441d-89b7-8c67bb10f215",
            ]),
        ),
        (
            "a Pod",
            r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default","labels":{"app":"web","tier":"1"},"annotations":{"note":"first line\nsecond line\n","enabled":"true"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27","command":["sh","-c","echo hello; sleep 3600"],"args":["--port=80","-v"],"env":[{"name":"A","value":"1"},{"name":"EMPTY","value":""}],"ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"0.5"}},"terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Pending","qosClass":"Burstable"}}"#,
            Ok(&[
                "apiVersion: v1",
                "kind: Pod",
                "metadata:",
                "  annotations:",
                r#"    enabled: "true""#,
                "    note: |",
                "      first line",
                "      second line",
                "  labels:",
                "    app: web",
                r#"    tier: "1""#,
                "  name: web",
                "  namespace: default",
                "spec:",
                "  containers:",
                "  - args:",
                "    - --port=80",
                "    - -v",
                "    command:",
                "    - sh",
                "    - -c",
                "    - echo hello; sleep 3600",
                "    env:",
                "    - name: A",
                r#"      value: "1""#,
                "    - name: EMPTY",
                r#"      value: """#,
                "    image: nginx:1.27",
                "    imagePullPolicy: IfNotPresent",
                "    name: nginx",
                "    ports:",
                "    - containerPort: 80",
                "      protocol: TCP",
                "    resources:",
                "      limits:",
                "        cpu: 500m",
                "        memory: 128Mi",
                "      requests:",
                r#"        cpu: "0.5""#,
                "    terminationMessagePath: /dev/termination-log",
                "  dnsPolicy: ClusterFirst",
                "  enableServiceLinks: true",
                "  preemptionPolicy: PreemptLowerPriority",
                "  priority: 0",
                "  restartPolicy: Always",
                "  schedulerName: default-scheduler",
                "  securityContext: {}",
                "  terminationGracePeriodSeconds: 30",
                "  tolerations:",
                "  - effect: NoExecute",
                "    key: node.kubernetes.io/not-ready",
                "    operator: Exists",
                "    tolerationSeconds: 300",
                "status:",
                "  phase: Pending",
                "  qosClass: Burstable",
            ]),
        ),
        (
            "a Status",
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"configmaps"},"code":404}"#,
            Ok(&[
                "apiVersion: v1",
                "code: 404",
                "details:",
                "  kind: configmaps",
                "  name: nope",
                "kind: Status",
                r#"message: configmaps "nope" not found"#,
                "metadata: {}",
                "reason: NotFound",
                "status: Failure",
            ]),
        ),
        (
            "a Status with a long message",
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch","reason":"NotAcceptable","code":406}"#,
            Ok(&[
                "apiVersion: v1",
                "code: 406",
                "kind: Status",
                "message: 'only the following media types are accepted: application/json;stream=watch,",
                "  application/vnd.kubernetes.protobuf;stream=watch'",
                "metadata: {}",
                "reason: NotAcceptable",
                "status: Failure",
            ]),
        ),
        (
            "a Secret",
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"default"},"data":{"password":"c2VjcmV0","empty":""},"type":"Opaque"}"#,
            Ok(&[
                "apiVersion: v1",
                "data:",
                r#"  empty: """#,
                "  password: c2VjcmV0",
                "kind: Secret",
                "metadata:",
                "  name: s",
                "  namespace: default",
                "type: Opaque",
            ]),
        ),
        (
            "a list",
            r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"300","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzAwLCJzdGFydCI6Im9uZVx1MDAwMCJ9","remainingItemCount":1},"items":[{"metadata":{"name":"one","labels":{"app":"x"}},"data":{"size":"1","on":"yes"}}]}"#,
            Ok(&[
                "apiVersion: v1",
                "items:",
                "- data:",
                r#"    "on": "yes""#,
                r#"    size: "1""#,
                "  metadata:",
                "    labels:",
                "      app: x",
                "    name: one",
                "kind: ConfigMapList",
                "metadata:",
                "  continue: eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzAwLCJzdGFydCI6Im9uZVx1MDAwMCJ9",
                "  remainingItemCount: 1",
                r#"  resourceVersion: "300""#,
            ]),
        ),
    ];

    /// Cases of `refusals`: JSON text, then `JSONToYAML`'s lines or error.
    const REFUSALS: &[Case] = &[
        (
            "DEL",
            "{\"a\":\"x\u{7f}y\"}",
            Err("yaml: control characters are not allowed"),
        ),
        (
            "a C1 control",
            "{\"a\":{\"b\":[\"x\u{86}y\"]}}",
            Err("yaml: control characters are not allowed"),
        ),
        (
            "U+FFFF",
            "{\"a\u{ffff}\":1}",
            Err("yaml: control characters are not allowed"),
        ),
        (
            "a NEL then a document marker",
            "{\"a\":\"x\u{85}y\",\"b\":\"z\u{85}--- w\"}",
            Err("yaml: line 3: found unexpected document indicator"),
        ),
        (
            "a NEL in a key",
            "{\"a\":\"x\u{85}y\",\"b\":{\"k\u{85}k\":1}}",
            Err("yaml: line 2: did not find expected ',' or '}'"),
        ),
    ];
}
