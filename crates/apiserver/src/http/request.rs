//! One extractor for every API handler: what the handler chain learned about the request
//! (`Ctx`) and its body, read once (at most 3 MiB, upstream's `MaxRequestBodyBytes`), with
//! the body decoded by its content type when a handler asks for an object.

use super::chain::Scope;
use super::respond::PROTOBUF;
use crate::discovery::ApiResource;
use crate::schema::gojson;
use crate::status::ApiError;
use crate::user::UserInfo;
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde_json::{Value, json};

/// Everything a handler needs to know about the request beyond its body.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub info: super::RequestInfo,
    pub query: Vec<(String, String)>,
    pub user: std::sync::Arc<UserInfo>,
    pub pretty: bool,
    pub user_agent: String,
    pub content_type: String,
    pub accept: String,
}

impl Ctx {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }
}

/// An API request: its context, the parts an upgrade needs, and its body.
#[derive(Debug)]
pub struct ApiRequest {
    pub ctx: Ctx,
    pub parts: http::request::Parts,
    pub body: Bytes,
}

/// The largest body the server reads (`apiserver` `MaxRequestBodyBytes`).
const BODY_LIMIT: usize = 3 * 1024 * 1024;

impl<S: Send + Sync> FromRequest<S> for ApiRequest {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        // Taken, not cloned: the handler owns them from here.
        let scope = parts
            .extensions
            .remove::<Scope>()
            .expect("the request-info layer runs first");
        let user = parts
            .extensions
            .remove::<std::sync::Arc<UserInfo>>()
            .expect("the authentication layer runs first");
        let ctx = Ctx {
            info: scope.info,
            query: scope.query,
            user,
            pretty: scope.pretty,
            user_agent: scope.user_agent,
            content_type: scope.content_type,
            accept: scope.accept,
        };
        let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                let e = ApiError {
                    code: 413,
                    reason: "RequestEntityTooLarge",
                    message: format!("Request entity too large: limit is {BODY_LIMIT}"),
                    details: None,
                };
                return Err(super::respond::respond_error(&ctx, &e));
            }
        };
        Ok(ApiRequest { ctx, parts, body })
    }
}

impl ApiRequest {
    /// The body as an object, decoded by its content type, with upstream's wording for
    /// garbage: a body the JSON serializer cannot read `apiVersion` and `kind` from is
    /// `the object provided is unrecognized (must be of type ConfigMap): <why> (<body>)`
    /// (apiserver `pkg/endpoints/handlers/rest.go`, `transformDecodeError`), in Go's words
    /// (`schema::gojson`). A `null` body is an empty object, as Go decodes it.
    pub fn object(&self, res: &ApiResource) -> Result<Value, ApiError> {
        let unrecognized = |detail: String| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {detail} ({})",
                res.kind,
                summarize(&self.body, 30)
            ))
        };
        if self.body.is_empty() {
            return Err(unrecognized(
                "couldn't get version/kind; json parse error: unexpected end of JSON input".into(),
            ));
        }
        // The serializer's media types, in its order (`negotiation.MediaTypesForSerializer`);
        // custom resources have no protobuf encoding.
        let custom = crate::crds::serving(res).is_some();
        let accepted: &[&str] = if custom {
            &["application/json", "application/yaml"]
        } else {
            &["application/json", "application/yaml", PROTOBUF]
        };
        let v: Value = match self.media_type() {
            PROTOBUF if custom => return Err(ApiError::unsupported_media_type(accepted)),
            "application/yaml" | "application/x-yaml" | "text/yaml" => {
                // `yaml.YAMLToJSON`'s error, as the YAML serializer returns it.
                crate::object::from_yaml(&self.body).map_err(unrecognized)?
            }
            "application/json" | "" | "*/*" => json_value(&self.body).map_err(|e| {
                unrecognized(format!("couldn't get version/kind; json parse error: {e}"))
            })?,
            PROTOBUF => return decode_protobuf(&self.body).map_err(protobuf_unrecognized(res)),
            _ => return Err(ApiError::unsupported_media_type(accepted)),
        };
        let (api_version, _) = gojson::interpret(&v).map_err(|e| {
            unrecognized(format!("couldn't get version/kind; json parse error: {e}"))
        })?;
        gojson::parse_group_version(&api_version).map_err(unrecognized)?;
        Ok(if v.is_null() { json!({}) } else { v })
    }

    /// The content type without its parameters.
    fn media_type(&self) -> &str {
        self.ctx.content_type.split(';').next().unwrap_or("").trim()
    }

    /// The number literals of a JSON body as written, for Go's type errors.
    fn number_literals(&self) -> Vec<&str> {
        match self.media_type() {
            "application/json" | "" | "*/*" => gojson::number_literals(&self.body),
            _ => Vec::new(),
        }
    }

    /// The body as an object of `res`'s kind, checked as the decoder checks it
    /// (`fieldValidation`), with the warnings it gave.
    pub fn decoded(
        &self,
        registry: &crate::registry::Registry,
        res: &ApiResource,
    ) -> Result<(Value, crate::registry::WriteOutcome), ApiError> {
        let validation =
            crate::registry::FieldValidation::parse(self.ctx.param("fieldValidation"))?;
        let mut outcome = crate::registry::WriteOutcome::default();
        let object = self.object(res)?;
        let numbers = self.number_literals();
        let body = registry.decode_request(res, object, &numbers, validation, &mut outcome)?;
        Ok((body, outcome))
    }
}

/// A JSON body as a value: encoding/json's syntax error first, in its words; serde_json's
/// for what only it refuses (a number beyond `f64`, nesting deeper than it follows).
fn json_value(body: &[u8]) -> Result<Value, String> {
    if let Some(e) = gojson::syntax_error(body) {
        return Err(e);
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// `summarizeData` (apiserver `pkg/endpoints/handlers/rest.go`): the body as text when it
/// starts with `{`, else in hex, cut at `max` bytes with ` ...`.
fn summarize(body: &[u8], max: usize) -> String {
    let cut = &body[..body.len().min(max)];
    let more = if body.len() > max { " ..." } else { "" };
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", go_string(cut)),
        Some(_) => format!("{}{more}", hex(cut)),
    }
}

/// Bytes as a Go string is written out: each byte of an invalid UTF-8 sequence is U+FFFD.
fn go_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(std::iter::repeat_n('\u{fffd}', chunk.invalid().len()));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A protobuf body that does not decode, worded as before (no summary).
fn protobuf_unrecognized(res: &ApiResource) -> impl Fn(String) -> ApiError + '_ {
    move |detail| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {detail}",
            res.kind
        ))
    }
}

/// A protobuf body: the `k8s\0` envelope, then the object of the kind it names.
fn decode_protobuf(body: &[u8]) -> Result<Value, String> {
    let env = crate::schema::proto::read_envelope(body).map_err(|e| e.to_string())?;
    let ty = crate::schema::SCHEMA
        .object_type(&env.api_version, &env.kind)
        .ok_or_else(|| {
            format!(
                "no kind {:?} is registered for version {:?}",
                env.kind, env.api_version
            )
        })?;
    let mut v = crate::schema::proto::decode(&ty, env.raw).map_err(|e| e.to_string())?;
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), json!(env.api_version));
        m.insert("kind".into(), json!(env.kind));
    }
    Ok(v)
}
