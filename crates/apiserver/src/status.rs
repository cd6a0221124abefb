//! `metav1.Status` errors: every failure leaves the server as one of these.
//!
//! Mirrors apimachinery `pkg/api/errors/errors.go` (v0.33.0) for the constructors and
//! `pkg/apis/meta/v1/types.go` for the field order. It does not write HTTP; `http` does.

use serde_json::{Map, Value, json};

/// A Kubernetes API error, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Details>>,
}

/// `StatusDetails`, in upstream field order: name, group, kind, uid, causes, retryAfterSeconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: i32,
}

/// `StatusCause`: the JSON key of the Go field `Type` is `reason`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// A group and resource, printed as upstream `GroupResource.String()` does.
#[derive(Debug, Clone, Copy)]
pub struct GroupResource<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl std::fmt::Display for GroupResource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// Unicode format characters (category Cf) that names may carry: soft hyphen, the
/// zero-width and bidirectional marks, word joiners, the byte order mark.
fn is_format(c: char) -> bool {
    matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb)
}

/// A Go `%q` rendering of a string, as used in upstream messages.
pub fn quote(s: &str) -> String {
    // Go's %q escapes like a Go string literal; for the printable ASCII and UTF-8 that
    // names and paths carry this is the JSON escaping without `\u003c`-style HTML escapes.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            // What `unicode.IsPrint` refuses among what names carry: other controls, the
            // format characters and spaces other than ' ' (strconv's `appendEscapedRune`).
            c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, name: &str, gr: GroupResource<'_>) -> Self {
        self.details = Some(Box::new(Details {
            name: name.to_string(),
            group: gr.group.to_string(),
            kind: gr.resource.to_string(),
            ..Details::default()
        }));
        self
    }

    /// `NewUnauthorized("Unauthorized")`: no details.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// `NewForbidden(gr, name, err)`; `message` is the authorizer's sentence.
    pub fn forbidden(gr: GroupResource<'_>, name: &str, message: &str) -> Self {
        let full = if gr.resource.is_empty() && gr.group.is_empty() {
            format!("forbidden: {message}")
        } else if name.is_empty() {
            format!("{gr} is forbidden: {message}")
        } else {
            format!("{gr} {} is forbidden: {message}", quote(name))
        };
        Self::new(403, "Forbidden", full).with_details(name, gr)
    }

    /// `NewNotFound(gr, name)`.
    pub fn not_found(gr: GroupResource<'_>, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{gr} {} not found", quote(name))).with_details(name, gr)
    }

    /// The go-restful 404 for an unknown path under an installed group version
    /// (`apiserver pkg/server/handler.go`, `serviceErrorHandler`): details is `{}`.
    pub fn path_not_found() -> Self {
        Self::generic(404, "")
    }

    /// `NewAlreadyExists(gr, name)`.
    pub fn already_exists(gr: GroupResource<'_>, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{gr} {} already exists", quote(name)),
        )
        .with_details(name, gr)
    }

    /// `NewConflict(gr, name, err)`.
    pub fn conflict(gr: GroupResource<'_>, name: &str, reason: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {gr} {}: {reason}",
                quote(name)
            ),
        )
        .with_details(name, gr)
    }

    /// `NewInvalid(groupKind, name, errs)`: details.kind is the Kind.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let gk = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let aggregate = match causes.as_slice() {
            [one] => field_error_string(one),
            many => format!(
                "[{}]",
                many.iter()
                    .map(field_error_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{gk} {} is invalid: {aggregate}", quote(name)),
        );
        e.details = Some(Box::new(Details {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            causes,
            retry_after_seconds: 0,
        }));
        e
    }

    /// `NewBadRequest(msg)`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `NewGenericServerResponse(code, "", GroupResource{}, "", serverMessage, 0, false)`
    /// (apimachinery `pkg/api/errors/errors.go`): the reason and message of the code's
    /// generic answer, `details: {}`. Used where upstream has no better error: go-restful's
    /// own refusals, which the server's `serviceErrorHandler` (`apiserver
    /// pkg/server/handler.go`) passes through it, and a JSON patch that does not apply.
    pub fn generic(code: u16, server_message: &str) -> Self {
        let (reason, message) = match code {
            404 => (
                "NotFound",
                "the server could not find the requested resource",
            ),
            405 => (
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
            415 => ("UnsupportedMediaType", server_message),
            422 => (
                "Invalid",
                "the server rejected our request due to an error in our request",
            ),
            _ => ("", "the server responded with an unexpected status"),
        };
        let mut e = Self::new(code, reason, message);
        e.details = Some(Box::default());
        e
    }

    /// A route that exists for other methods: go-restful's 405 through `generic`.
    pub fn method_not_allowed_on_route() -> Self {
        Self::generic(405, "")
    }

    /// A content type the route does not consume: go-restful's 415 through `generic`, whose
    /// message is go-restful's (`emicklei/go-restful/v3` `router.go`, `detectRoute`).
    pub fn media_type_not_consumed() -> Self {
        Self::generic(415, "415: Unsupported Media Type")
    }

    /// `NewMethodNotSupported(gr, action)`.
    pub fn method_not_supported(gr: GroupResource<'_>, action: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{action} is not supported on resources of kind {}",
                quote(&gr.to_string())
            ),
        )
        .with_details("", gr)
    }

    /// `NewUnsupportedMediaType` as the handlers return it for an unknown patch type or
    /// content type (`apiserver pkg/endpoints/handlers/rest.go`).
    /// 415 naming what the endpoint accepts (`negotiation.NewUnsupportedMediaTypeError`).
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// A JSON patch that does not apply (a failed `test`, a missing path): upstream answers
    /// `NewGenericServerResponse(422, ...)`, whose message is the generic one and which
    /// drops the patch library's own (`apiserver pkg/endpoints/handlers/patch.go`,
    /// `applyJSPatch`).
    pub fn invalid_patch() -> Self {
        Self::generic(422, "")
    }

    /// `NewGone(msg)`, used for expired watch and list resource versions.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// `NewInternalError(err)`: only for the server's own faults, never for a client mistake.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {err}"),
        );
        e.details = Some(Box::new(Details {
            causes: vec![Cause {
                reason: String::new(),
                message: err.to_string(),
                field: String::new(),
            }],
            ..Details::default()
        }));
        e
    }

    /// The `Status` object in upstream field order.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        if !self.message.is_empty() {
            m.insert("message".into(), json!(self.message));
        }
        // `reason` is `omitempty` (apimachinery `pkg/apis/meta/v1/types.go`): a plain Go
        // error made a Status (`ErrorToAPIStatus`) has none.
        if !self.reason.is_empty() {
            m.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), details_json(d));
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

fn details_json(d: &Details) -> Value {
    let mut m = Map::new();
    for (k, v) in [("name", &d.name), ("group", &d.group), ("kind", &d.kind)] {
        if !v.is_empty() {
            m.insert(k.into(), json!(v));
        }
    }
    if !d.causes.is_empty() {
        let causes = d
            .causes
            .iter()
            .map(|c| {
                let mut cm = Map::new();
                for (k, v) in [
                    ("reason", &c.reason),
                    ("message", &c.message),
                    ("field", &c.field),
                ] {
                    if !v.is_empty() {
                        cm.insert(k.into(), json!(v));
                    }
                }
                Value::Object(cm)
            })
            .collect();
        m.insert("causes".into(), Value::Array(causes));
    }
    if d.retry_after_seconds != 0 {
        m.insert("retryAfterSeconds".into(), json!(d.retry_after_seconds));
    }
    Value::Object(m)
}

/// `field.Error.Error()`: `<field>: <ErrorBody>`.
fn field_error_string(c: &Cause) -> String {
    if c.field.is_empty() {
        c.message.clone()
    } else {
        format!("{}: {}", c.field, c.message)
    }
}

/// A `[]string` as Go's `%#v` prints it: `[]string{"a", "b"}`.
pub fn go_strings(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// A `map[string]string` as Go's `%#v` prints it: `map[string]string{"a":"b", "c":"d"}`
/// (keys sorted), `map[string]string(nil)` when absent.
pub fn go_string_map(map: Option<&serde_json::Map<String, serde_json::Value>>) -> String {
    let Some(map) = map else {
        return "map[string]string(nil)".into();
    };
    let mut pairs: Vec<(&String, &str)> = map
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
        .collect();
    format!("map[string]string{{{}}}", inner.join(", "))
}

/// Field error constructors, mirroring apimachinery `pkg/util/validation/field/errors.go`.
pub mod field {
    use super::Cause;

    pub fn required(path: &str, detail: &str) -> Cause {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Cause {
            reason: "FieldValueRequired".into(),
            message,
            field: path.into(),
        }
    }

    /// `field.Duplicate(path, value)` for a string value.
    pub fn duplicate(path: &str, value: &str) -> Cause {
        Cause {
            reason: "FieldValueDuplicate".into(),
            message: format!("Duplicate value: {}", super::quote(value)),
            field: path.into(),
        }
    }

    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(path: &str, detail: &str) -> Cause {
        Cause {
            reason: "FieldValueForbidden".into(),
            message: format!("Forbidden: {detail}"),
            field: path.into(),
        }
    }

    /// `field.NotSupported(path, value, valid)` for a string value.
    pub fn not_supported(path: &str, value: &str, valid: &[&str]) -> Cause {
        let valid: Vec<String> = valid.iter().map(|v| super::quote(v)).collect();
        Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                super::quote(value),
                valid.join(", ")
            ),
            field: path.into(),
        }
    }

    /// `field.Invalid(path, value, detail)`; `value` is already rendered as Go prints it.
    pub fn invalid(path: &str, value: &str, detail: &str) -> Cause {
        let mut message = format!("Invalid value: {value}");
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        Cause {
            reason: "FieldValueInvalid".into(),
            message,
            field: path.into(),
        }
    }
}

#[cfg(test)]
mod tests;
