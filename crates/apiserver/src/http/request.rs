//! One extractor for every API handler: what the handler chain learned about the request
//! (`Ctx`) and its body, read once (at most 3 MiB, upstream's `MaxRequestBodyBytes`), with
//! the body decoded by its content type when a handler asks for an object.

use super::chain::Scope;
use super::respond::PROTOBUF;
use crate::discovery::ApiResource;
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
    /// The client prefers `application/vnd.kubernetes.protobuf`.
    pub proto: bool,
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
            proto: scope.proto,
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
    /// garbage (`the object provided is unrecognized ...`).
    pub fn object(&self, res: &ApiResource) -> Result<Value, ApiError> {
        let ct = self.ctx.content_type.split(';').next().unwrap_or("").trim();
        let unrecognized = |detail: String| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {detail}",
                res.kind
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
        let v: Value = match ct {
            PROTOBUF if custom => return Err(ApiError::unsupported_media_type(accepted)),
            "application/yaml" | "application/x-yaml" | "text/yaml" => {
                crate::object::from_yaml(&self.body).map_err(|e| {
                    unrecognized(format!("couldn't get version/kind; yaml parse error: {e}"))
                })?
            }
            "application/json" | "" | "*/*" => serde_json::from_slice(&self.body).map_err(|e| {
                unrecognized(format!("couldn't get version/kind; json parse error: {e}"))
            })?,
            PROTOBUF => decode_protobuf(&self.body).map_err(unrecognized)?,
            _ => return Err(ApiError::unsupported_media_type(accepted)),
        };
        if !v.is_object() {
            return Err(unrecognized(
                "couldn't get version/kind; json parse error: expected an object".into(),
            ));
        }
        Ok(v)
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
        let body = registry.decode_body(res, self.object(res)?, validation, &mut outcome)?;
        Ok((body, outcome))
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
