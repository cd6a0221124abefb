//! Response encoding as upstream negotiates it (FIDELITY.md §0): the media type from the
//! `Accept` header (JSON, YAML or protobuf, and a `Table` conversion), as
//! `negotiation.NegotiateMediaTypeOptions` picks it (k8s.io/apiserver
//! `pkg/endpoints/handlers/negotiation/negotiate.go`) and go-restful's routes allow it;
//! pretty JSON without a trailing newline for `?pretty=true` and curl/Wget/browser user
//! agents, compact JSON with a newline otherwise; Go's HTML-safe escaping of `<`, `>`, `&`.

use super::request_info::parse_bool;
use crate::status::ApiError;
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

/// A media type the API answers in: the codecs' `SupportedMediaTypes`
/// (k8s.io/apimachinery `pkg/runtime/serializer/codec_factory.go`), in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    Yaml,
    Protobuf,
}

impl Media {
    /// What a built-in resource answers in.
    pub const BUILT_IN: &[Media] = &[Media::Json, Media::Yaml, Media::Protobuf];
    /// What a custom resource answers in: its handler's `StandardSerializers` have no
    /// protobuf (apiextensions-apiserver `pkg/apiserver/customresource_handler.go`).
    pub const CUSTOM: &[Media] = &[Media::Json, Media::Yaml];

    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Yaml => "application/yaml",
            Media::Protobuf => super::respond::PROTOBUF,
        }
    }

    fn subtype(self) -> &'static str {
        match self {
            Media::Json => "json",
            Media::Yaml => "yaml",
            Media::Protobuf => "vnd.kubernetes.protobuf",
        }
    }

    /// It has a stream serializer (for watches): YAML has none.
    fn streams(self) -> bool {
        self != Media::Yaml
    }
}

/// What the client gets (`MediaTypeOptions`): the media type, and `pretty=1` among its
/// parameters. (A `Table` is `crate::table::wants_table`'s to tell.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub media: Media,
    pub pretty: bool,
}

/// The `EndpointRestrictions` a negotiation obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A resource handler's `RequestScope` (`handlers/rest.go`): a `Table` in JSON or
    /// YAML, `PartialObjectMetadata[List]`, server version `v1`.
    Resource,
    /// `DefaultEndpointRestrictions`: no conversion, as errors are written
    /// (`responsewriters.ErrorNegotiated`).
    Default,
}

/// One media range of an `Accept` header (goautoneg's `Accept`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Clause {
    pub(super) ty: String,
    pub(super) sub: String,
    q: f32,
    params: Vec<(String, String)>,
}

/// goautoneg's `nextSplitElement`: the text before the first `sep`, and after it.
fn split_once_or_all(s: &str, sep: char) -> (&str, &str) {
    s.split_once(sep).unwrap_or((s, ""))
}

fn trim_spaces(s: &str) -> &str {
    s.trim_matches(' ')
}

/// One element of `ParseAccept`: `type/subtype` (or `*`) and its parameters, `q` apart;
/// `None` for what it drops.
fn parse_clause(part: &str) -> Option<Clause> {
    let (media, mut rest) = split_once_or_all(trim_spaces(part), ';');
    let (ty, sub) = split_once_or_all(media, '/');
    let ty = trim_spaces(ty).to_string();
    let sub = if sub.is_empty() {
        (ty == "*").then(|| "*".to_string())?
    } else {
        let (sub, more) = split_once_or_all(sub, '/');
        if !more.is_empty() {
            return None;
        }
        trim_spaces(sub).to_string()
    };
    let mut clause = Clause {
        ty,
        sub,
        q: 1.0,
        params: Vec::new(),
    };
    while !rest.is_empty() {
        let (param, more) = split_once_or_all(rest, ';');
        rest = more;
        // `key=value`: nothing after the first `=`, or another `=` after the value, drops it.
        let (key, after) = split_once_or_all(param, '=');
        let (value, extra) = split_once_or_all(after, '=');
        if after.is_empty() || !extra.is_empty() {
            continue;
        }
        match trim_spaces(key) {
            // `strconv.ParseFloat(v, 32)`, untrimmed; a failure leaves 0.
            "q" => clause.q = value.parse().unwrap_or(0.0),
            key => {
                clause.params.retain(|(k, _)| k != key);
                clause
                    .params
                    .push((key.to_string(), trim_spaces(value).to_string()));
            }
        }
    }
    Some(clause)
}

/// goautoneg's `ParseAccept`: the media ranges, most wanted first. Its `Less` (by `q`, then
/// a concrete type, then a concrete subtype) is not a total order, and `sort.Sort` is an
/// insertion sort for so few items (`sort/zsortinterface.go`), so that is what sorts them.
pub(super) fn parse_accept(header: &str) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = header.split(',').filter_map(parse_clause).collect();
    let before = |x: &Clause, y: &Clause| {
        x.q > y.q || (x.ty != "*" && y.ty == "*") || (x.sub != "*" && y.sub == "*")
    };
    for i in 1..clauses.len() {
        let mut j = i;
        while j > 0 && before(&clauses[j], &clauses[j - 1]) {
            clauses.swap(j, j - 1);
            j -= 1;
        }
    }
    clauses
}

/// `acceptMediaTypeOptions`: the options of `clause` if the endpoint allows them for
/// `media`.
fn options(clause: &Clause, media: Media, endpoint: Endpoint) -> Option<Output> {
    let mut out = Output {
        media,
        pretty: false,
    };
    let (mut kind, mut group, mut version) = (None, None, None);
    for (key, value) in &clause.params {
        match key.as_str() {
            "as" => kind = Some(value.as_str()),
            "g" => group = Some(value.as_str()),
            "v" => version = Some(value.as_str()),
            "stream" if !value.is_empty() && (!media.streams() || value != "watch") => {
                return None;
            }
            "sv" if !value.is_empty() && (endpoint == Endpoint::Default || value != "v1") => {
                return None;
            }
            "pretty" => out.pretty = value == "1",
            _ => {}
        }
    }
    if kind.is_none() && group.is_none() && version.is_none() {
        return Some(out);
    }
    // `AllowsMediaTypeTransform` with a conversion: only to meta.k8s.io's Table (in JSON or
    // YAML) and PartialObjectMetadata, and never for `DefaultEndpointRestrictions`.
    let meta = group == Some("meta.k8s.io") && matches!(version, Some("v1" | "v1beta1"));
    match kind.unwrap_or("") {
        _ if endpoint == Endpoint::Default || !meta => None,
        "Table" if media != Media::Protobuf => Some(out),
        "PartialObjectMetadata" | "PartialObjectMetadataList" => Some(out),
        _ => None,
    }
}

/// `NegotiateMediaTypeOptions`: the first media range, most wanted first, that names an
/// offered media type (exactly, as `type/*` or as `*/*`) with options the endpoint
/// allows. No `Accept` at all is the first offered.
pub fn negotiate(accept: &str, offered: &[Media], endpoint: Endpoint) -> Option<Output> {
    if accept.is_empty() {
        return offered.first().map(|&media| Output {
            media,
            pretty: false,
        });
    }
    parse_accept(accept).iter().find_map(|clause| {
        offered.iter().find_map(|&media| {
            let names = clause.ty == "*" && clause.sub == "*"
                || clause.ty == "application"
                    && (clause.sub == "*" || clause.sub == media.subtype());
            names.then(|| options(clause, media, endpoint)).flatten()
        })
    })
}

/// What go-restful's resource routes produce (`Produces`, apiserver
/// `pkg/endpoints/installer.go`): the media types, and on a collection's GET, which also
/// watches, the stream types too.
fn produces(collection_get: bool) -> &'static [&'static str] {
    const OBJECT: &[&str] = &[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    const COLLECTION: &[&str] = &[
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
        "application/json;stream=watch",
        "application/vnd.kubernetes.protobuf;stream=watch",
    ];
    if collection_get { COLLECTION } else { OBJECT }
}

/// go-restful's `Route.matchesAccept` (`emicklei/go-restful/v3` `route.go`): some media
/// range of the header, its parameters dropped, is `*/*` or a type the route produces. No
/// `Accept` is `*/*` (`jsr311.go`, `detectRoute`).
fn route_accepts(accept: &str, produces: &[&str]) -> bool {
    if accept.is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let media = trim_spaces(split_once_or_all(range, ';').0);
        media == "*/*" || produces.contains(&media)
    })
}

/// go-restful's 406 for a route that produces none of what the client accepts, as the
/// server's `serviceErrorHandler` writes it (`NewGenericServerResponse`, `details: {}`).
pub fn route_refusal(accept: &str, produces: &[&str]) -> Option<ApiError> {
    (!route_accepts(accept, produces)).then(|| ApiError {
        code: 406,
        reason: "NotAcceptable",
        message: format!(
            "406: Not Acceptable\n\nAvailable representations: {}",
            produces.join(", ")
        ),
        details: Some(Box::default()),
    })
}

/// What a resource handler answers in, negotiated before it does anything else
/// (`NegotiateOutputMediaType` at the top of `handlers/get.go`, `create.go`, ...): 406
/// when nothing acceptable is offered — go-restful's own for a built-in resource whose
/// route produces nothing the client names (through `NewGenericServerResponse`, with
/// `details: {}`), else the handler's `NewNotAcceptableError`.
pub fn resource_output(
    accept: &str,
    custom: bool,
    collection_get: bool,
) -> Result<Output, ApiError> {
    if !custom && let Some(e) = route_refusal(accept, produces(collection_get)) {
        return Err(e);
    }
    let offered = if custom {
        Media::CUSTOM
    } else {
        Media::BUILT_IN
    };
    negotiate(accept, offered, Endpoint::Resource).ok_or_else(not_acceptable)
}

/// `NegotiateOutputMediaTypeStream`'s refusal (apiserver
/// `pkg/endpoints/handlers/negotiation/negotiate.go`): the stream media types.
pub fn stream_not_acceptable() -> ApiError {
    let streams: Vec<&str> = produces(true)
        .iter()
        .copied()
        .filter(|m| m.ends_with(";stream=watch"))
        .collect();
    ApiError {
        code: 406,
        reason: "NotAcceptable",
        message: format!(
            "only the following media types are accepted: {}",
            streams.join(", ")
        ),
        details: None,
    }
}

/// `NewNotAcceptableError` of the built-in codecs' media types.
pub fn not_acceptable() -> ApiError {
    ApiError {
        code: 406,
        reason: "NotAcceptable",
        message: format!(
            "only the following media types are accepted: {}",
            produces(false).join(", ")
        ),
        details: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn media(accept: &str) -> Option<Media> {
        negotiate(accept, Media::BUILT_IN, Endpoint::Resource).map(|o| o.media)
    }

    #[test]
    fn accept_picks_the_most_wanted_offered_type() {
        assert_eq!(media(""), Some(Media::Json));
        assert_eq!(media("application/yaml"), Some(Media::Yaml));
        assert_eq!(media("application/yaml; charset=utf-8"), Some(Media::Yaml));
        assert_eq!(
            media("application/yaml;q=0.9, application/json"),
            Some(Media::Json)
        );
        assert_eq!(
            media("application/json;q=0.5, application/yaml"),
            Some(Media::Yaml)
        );
        // q=0 is not a refusal to goautoneg.
        assert_eq!(media("application/yaml;q=0"), Some(Media::Yaml));
        assert_eq!(media("*/*"), Some(Media::Json));
        assert_eq!(media("application/*"), Some(Media::Json));
        assert_eq!(media("text/html, */*"), Some(Media::Json));
        assert_eq!(
            media("application/vnd.kubernetes.protobuf;q=0.5, application/yaml"),
            Some(Media::Yaml)
        );
        for refused in [
            "text/html",
            "text/yaml",
            "application/x-yaml",
            "application/YAML",
            ";;;",
        ] {
            assert_eq!(media(refused), None, "{refused}");
        }
    }

    #[test]
    fn parameters_restrict_what_is_offered() {
        let table = "application/yaml;as=Table;v=v1;g=meta.k8s.io";
        let out = negotiate(table, Media::BUILT_IN, Endpoint::Resource);
        assert_eq!(
            out,
            Some(Output {
                media: Media::Yaml,
                pretty: false
            })
        );
        // Errors are written without conversions.
        assert_eq!(negotiate(table, Media::BUILT_IN, Endpoint::Default), None);
        assert_eq!(media("application/json;as=Table"), None);
        assert_eq!(
            media("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"),
            None
        );
        assert_eq!(media("application/yaml;stream=watch"), None);
        assert_eq!(media("application/json;stream=watch"), Some(Media::Json));
        assert_eq!(
            media("application/yaml;stream=watch, application/json"),
            Some(Media::Json)
        );
        let pretty = negotiate(
            "application/json;pretty=1",
            Media::BUILT_IN,
            Endpoint::Resource,
        );
        assert!(pretty.is_some_and(|o| o.pretty));
        // goautoneg keeps `k==` (an empty value) and drops `k=v=w`.
        let kept = negotiate(
            "application/yaml;stream==",
            Media::BUILT_IN,
            Endpoint::Resource,
        );
        assert_eq!(kept.map(|o| o.media), Some(Media::Yaml));
        assert_eq!(media("application/yaml;stream=watch=x"), Some(Media::Yaml));
        // Custom resources have no protobuf.
        let proto = "application/vnd.kubernetes.protobuf, application/json";
        let custom = negotiate(proto, Media::CUSTOM, Endpoint::Resource);
        assert_eq!(custom.map(|o| o.media), Some(Media::Json));
    }

    #[test]
    fn refusals_name_what_is_offered() {
        let e = resource_output("text/html", false, true).unwrap_err();
        assert_eq!(e.code, 406);
        assert!(
            e.message
                .starts_with("406: Not Acceptable\n\nAvailable representations: ")
        );
        assert!(
            e.message
                .ends_with("application/vnd.kubernetes.protobuf;stream=watch")
        );
        assert!(e.details.is_some());
        let e = resource_output("application/json;as=Table", false, false).unwrap_err();
        assert_eq!(
            e.message,
            "only the following media types are accepted: application/json, application/yaml, \
             application/vnd.kubernetes.protobuf"
        );
        assert!(e.details.is_none());
        assert!(resource_output("text/html", true, false).is_err());
        assert!(resource_output("", false, false).is_ok());
    }

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
