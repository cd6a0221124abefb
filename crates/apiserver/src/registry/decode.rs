//! Decoding a request body as an object of a kind, as the API server's decoder does:
//! the envelope (`apiVersion`, `kind`) must match, the fields must be the type's (checked
//! against the `k8s-openapi` types), and unknown fields are dropped, warned about or
//! refused according to `fieldValidation`.

use super::{Registry, WriteOutcome, validate};
use crate::discovery::ApiResource;
use crate::status::ApiError;
use serde_json::Value;

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<FieldValidation, ApiError> {
        match s {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}. Valid values are: [Ignore Warn Strict]"
            ))),
        }
    }
}

impl Registry {
    /// Decodes and checks a request body as an object of `res`'s kind.
    pub fn decode_body(
        &self,
        res: &ApiResource,
        body: Value,
        validation: FieldValidation,
        out: &mut WriteOutcome,
    ) -> Result<Value, ApiError> {
        let (kind, group, version) = match res.kind_gv {
            Some((g, v)) => (res.kind, g, v),
            None => (res.kind, res.group, res.version),
        };
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        if !body.is_object() {
            return Err(ApiError::bad_request(format!(
                "{kind} in version {} cannot be handled as a {kind}: expected an object",
                crate::status::quote(version)
            )));
        }
        if let Some(v) = body.get("apiVersion").and_then(Value::as_str)
            && v != api_version
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        if let Some(k) = body.get("kind").and_then(Value::as_str)
            && k != kind
        {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({kind})"
            )));
        }
        if let Some(decoded) = validate::decode(group, version, kind, &body) {
            let decoded = decoded.map_err(|e| {
                ApiError::bad_request(format!(
                    "{kind} in version {} cannot be handled as a {kind}: {e}",
                    crate::status::quote(version)
                ))
            })?;
            let unknown = validate::unknown_fields(&body, &decoded)
                .into_iter()
                .filter(|p| p != "kind" && p != "apiVersion")
                .collect::<Vec<_>>();
            match validation {
                FieldValidation::Strict if !unknown.is_empty() => {
                    // `strict decoding error: unknown field "spec.foo", unknown field "x"`
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|p| format!("unknown field {}", crate::status::quote(p)))
                        .collect();
                    return Err(ApiError::bad_request(format!(
                        "strict decoding error: {}",
                        list.join(", ")
                    )));
                }
                FieldValidation::Warn => {
                    out.warnings.extend(
                        unknown
                            .iter()
                            .map(|p| format!("unknown field {}", crate::status::quote(p))),
                    );
                }
                _ => {}
            }
            if !unknown.is_empty() {
                // Unknown fields are dropped, as the Go decoder drops them.
                let mut body = body;
                for p in &unknown {
                    drop_path(&mut body, p);
                }
                return Ok(body);
            }
        }
        Ok(body)
    }
}

fn drop_path(v: &mut Value, path: &str) {
    // Paths are `a.b[2].c`; walk to the parent and remove the last key.
    let mut cur = v;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        let (key, idx) = match seg.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*seg, None),
        };
        if i == segs.len() - 1 && idx.is_none() {
            if let Some(m) = cur.as_object_mut() {
                m.shift_remove(key);
            }
            return;
        }
        let Some(next) = cur.get_mut(key) else { return };
        cur = next;
        if let Some(n) = idx {
            let Some(next) = cur.get_mut(n) else { return };
            cur = next;
        }
    }
}
