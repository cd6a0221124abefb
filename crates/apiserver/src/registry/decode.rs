//! Decoding a request body as an object of a kind, as the API server's decoder does.
//! A create or update body of a built-in kind goes the codec's way (`decode_request`): the
//! kind and version it names must be registered, it must decode into that kind's Go type
//! (Go's type errors), convert to the resource's kind, and only then be of the resource's
//! version. A patched object, or a custom resource, must carry the resource's envelope
//! (`decode_body`). Either way the fields must be the type's (checked against the
//! `k8s-openapi` types), and unknown fields are dropped, warned about or refused according
//! to `fieldValidation`.

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

/// Why a body's fields do not decode, before the caller words it.
enum Refusal {
    /// A type error the Go walk did not catch, in Go's words (`go_decoding`).
    Type(String),
    /// `strict decoding error: unknown field "x", ...`.
    Strict(String),
}

impl Refusal {
    fn text(self) -> String {
        match self {
            Refusal::Type(e) | Refusal::Strict(e) => e,
        }
    }
}

/// The name upstream's legacy scheme gives itself in `no kind ... is registered` errors.
const SCHEME: &str = "pkg/runtime/scheme.go:110";

impl Registry {
    /// Decodes and checks a patched object as an object of `res`'s kind.
    pub fn decode_body(
        &self,
        res: &ApiResource,
        body: Value,
        validation: FieldValidation,
        out: &mut WriteOutcome,
    ) -> Result<Value, ApiError> {
        let (kind, group, version) = target(res);
        let api_version = group_version(group, version);
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
        fields(group, version, kind, body, validation, out).map_err(|r| match r {
            Refusal::Type(e) => ApiError::bad_request(format!(
                "{kind} in version {} cannot be handled as a {kind}: {e}",
                crate::status::quote(version)
            )),
            Refusal::Strict(e) => ApiError::bad_request(e),
        })
    }

    /// Decodes a create or update body as kube-apiserver's codec does for a kind of its
    /// legacy scheme: the body's own kind and version (its `apiVersion` and `kind`, the
    /// resource's filling what is missing) must be registered, the body is decoded into that
    /// kind's Go type (Go's type errors, `schema::gojson`), converted to the resource's
    /// internal kind (another kind does not convert), and only then must its version be the
    /// resource's (apimachinery `pkg/runtime/serializer/json/json.go` `Decode`,
    /// `pkg/runtime/serializer/versioning/versioning.go`; apiserver
    /// `pkg/endpoints/handlers/create.go`, `update.go`, `rest.go` `transformDecodeError`).
    /// `numbers` are the body's number literals as written. Custom resources and the
    /// aggregated kinds are decoded by `decode_body`.
    pub fn decode_request(
        &self,
        res: &ApiResource,
        body: Value,
        numbers: &[&str],
        validation: FieldValidation,
        out: &mut WriteOutcome,
    ) -> Result<Value, ApiError> {
        let (kind, group, version) = target(res);
        let legacy = internal_package(group).filter(|_| {
            crate::schema::SCHEMA
                .kind_type(group, version, kind)
                .is_some()
        });
        let Some(internal) = legacy else {
            return self.decode_body(res, body, validation, out);
        };
        let data = DataKind::of(&body, (group, version, kind));
        let cannot = |why: String| {
            ApiError::bad_request(format!(
                "{} in version {} cannot be handled as a {kind}: {why}",
                data.kind,
                crate::status::quote(&data.version)
            ))
        };
        match registration(&data, group, kind) {
            Registration::None => {
                return Err(cannot(format!(
                    "no kind {} is registered for version {} in scheme {}",
                    crate::status::quote(&data.kind),
                    crate::status::quote(&data.group_version()),
                    crate::status::quote(SCHEME)
                )));
            }
            Registration::Type { id, package, to } => {
                if let Some(e) = crate::schema::gojson::type_error(&id, &body, numbers) {
                    return Err(cannot(e));
                }
                if to.as_ref().map(|(p, k)| (*p, k.as_str())) != Some((internal, kind)) {
                    return Err(cannot(format!(
                        "converting ({package}.{}) to ({internal}.{kind}): unknown conversion",
                        data.kind
                    )));
                }
                if data.group == group && data.version == version {
                    return fields(group, version, kind, body, validation, out)
                        .map_err(|r| cannot(r.text()));
                }
                if validation == FieldValidation::Strict {
                    let mut ignored = WriteOutcome::default();
                    let own = (data.group.as_str(), data.version.as_str(), kind);
                    if let Err(Refusal::Strict(e)) =
                        fields(own.0, own.1, own.2, body, validation, &mut ignored)
                    {
                        return Err(cannot(e));
                    }
                }
            }
            Registration::Legacy => {}
        }
        Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            data.group_version(),
            group_version(group, version)
        )))
    }
}

/// The kind and version of the resource's objects: its own, or its subresource's.
fn target(res: &ApiResource) -> (&'static str, &'static str, &'static str) {
    match res.kind_gv {
        Some((g, v)) => (res.kind, g, v),
        None => (res.kind, res.group, res.version),
    }
}

/// `v1`, `apps/v1`.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// The kind a body says it is, the resource's filling what it leaves out
/// (apimachinery runtime/serializer/json/json.go `gvkWithDefaults`).
struct DataKind {
    group: String,
    version: String,
    kind: String,
}

impl DataKind {
    fn of(body: &Value, (group, version, kind): (&str, &str, &str)) -> DataKind {
        let (api_version, data_kind) = crate::schema::gojson::interpret(body).unwrap_or_default();
        let (mut g, mut v) =
            crate::schema::gojson::parse_group_version(&api_version).unwrap_or(("", ""));
        if v.is_empty() && (g.is_empty() || g == group) {
            (g, v) = (group, version);
        }
        DataKind {
            group: g.to_string(),
            version: v.to_string(),
            kind: if data_kind.is_empty() {
                kind.to_string()
            } else {
                data_kind
            },
        }
    }

    fn group_version(&self) -> String {
        group_version(&self.group, &self.version)
    }
}

/// What the legacy scheme knows of a body's kind and version.
enum Registration {
    /// Not registered.
    None,
    /// Registered with this Go type (`core/v1.Secret`) of the Go package `package` (`v1`),
    /// converting to this internal kind (`None` for apimachinery's own kinds).
    Type {
        id: String,
        package: String,
        to: Option<(&'static str, String)>,
    },
    /// A prerelease version of the resource's own kind (`apps/v1beta1` Deployment): upstream
    /// still registers it and converts it, the type table does not have it.
    Legacy,
}

/// Kinds apimachinery registers in every group version, whatever its group
/// (`metav1.AddToGroupVersion`'s unversioned kinds, pkg/apis/meta/v1/register.go).
const UNVERSIONED: [&str; 5] = [
    "Status",
    "APIVersions",
    "APIGroupList",
    "APIGroup",
    "APIResourceList",
];

/// Kinds `metav1.AddToGroupVersion` registers in each group version of the scheme.
const OPTIONS: [&str; 7] = [
    "WatchEvent",
    "ListOptions",
    "GetOptions",
    "DeleteOptions",
    "CreateOptions",
    "UpdateOptions",
    "PatchOptions",
];

/// Whether and how the legacy scheme registers the body's kind (`Scheme.New`,
/// apimachinery pkg/runtime/scheme.go).
fn registration(data: &DataKind, group: &str, kind: &str) -> Registration {
    let meta = |k: &str| Registration::Type {
        id: format!("meta/v1.{k}"),
        package: "v1".into(),
        to: None,
    };
    let (g, v, k) = (
        data.group.as_str(),
        data.version.as_str(),
        data.kind.as_str(),
    );
    if UNVERSIONED.contains(&k) {
        return meta(k);
    }
    let Some(pkg) = package_of(g) else {
        return Registration::None;
    };
    if OPTIONS.contains(&k) && crate::schema::SCHEMA.has_package(pkg, v) {
        return meta(k);
    }
    if let Some(crate::schema::Type::Named(id)) = crate::schema::SCHEMA.kind_type(g, v, k)
        && is_object_kind(&id)
    {
        return Registration::Type {
            id,
            package: v.to_string(),
            to: internal_package(g).map(|p| (p, k.to_string())),
        };
    }
    let prerelease = v.contains("alpha") || v.contains("beta");
    if k == kind && prerelease && (g == group || g == "extensions") {
        return Registration::Legacy;
    }
    Registration::None
}

/// A struct with `TypeMeta` inline: a kind, not a part of one.
fn is_object_kind(id: &str) -> bool {
    let ty = crate::schema::Type::Named(id.to_string());
    match crate::schema::SCHEMA.resolve(&ty) {
        crate::schema::Resolved::Struct(_, fields) => fields
            .iter()
            .any(|f| f.inline && f.go == "meta/v1.TypeMeta"),
        _ => false,
    }
}

/// Groups of `*.k8s.io` in kube-apiserver's legacy scheme, by their package name
/// (kubernetes `pkg/apis/*/install`).
const K8S_IO_GROUPS: [&str; 13] = [
    "admissionregistration",
    "authentication",
    "authorization",
    "certificates",
    "coordination",
    "discovery",
    "events",
    "networking",
    "node",
    "resource",
    "scheduling",
    "storage",
    "storagemigration",
];

/// The package of a group of the legacy scheme (`k8s.io/api/<package>`), `None` for the
/// others (custom resources; apiextensions and apiregistration have schemes of their own).
fn package_of(group: &str) -> Option<&'static str> {
    Some(match group {
        "" => "core",
        "apps" => "apps",
        "batch" => "batch",
        "autoscaling" => "autoscaling",
        "policy" => "policy",
        "extensions" => "extensions",
        "rbac.authorization.k8s.io" => "rbac",
        "flowcontrol.apiserver.k8s.io" => "flowcontrol",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        g => {
            let pkg = g.strip_suffix(".k8s.io")?;
            return K8S_IO_GROUPS.iter().find(|p| **p == pkg).copied();
        }
    })
}

/// The package of a group's internal types (`core.ConfigMap`, `apps.Deployment`);
/// events.k8s.io's Event is core's.
fn internal_package(group: &str) -> Option<&'static str> {
    match group {
        "events.k8s.io" => Some("core"),
        g => package_of(g),
    }
}

/// The fields of a body of this kind and version: decoded with its `k8s-openapi` type;
/// unknown fields dropped, warned about or refused as `fieldValidation` says.
fn fields(
    group: &str,
    version: &str,
    kind: &str,
    body: Value,
    validation: FieldValidation,
    out: &mut WriteOutcome,
) -> Result<Value, Refusal> {
    let Some(decoded) = validate::decode(group, version, kind, &body) else {
        return Ok(body);
    };
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(serde) => return go_decoding(group, version, kind, body, serde),
    };
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
            return Err(Refusal::Strict(format!(
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
    // Unknown fields are dropped, as the Go decoder drops them.
    let mut body = body;
    for p in &unknown {
        drop_path(&mut body, p);
    }
    Ok(body)
}

/// A body the `k8s-openapi` type refuses, as Go's decoder would take it: serde's words
/// never reach a client. Where the type table has the kind, the body is refused in
/// `encoding/json`'s words (`schema::gojson`), or taken as it is when Go decodes it (the
/// two types differ there, and Go's is the one upstream has); only a kind outside the
/// table keeps the serde refusal.
fn go_decoding(
    group: &str,
    version: &str,
    kind: &str,
    body: Value,
    serde: String,
) -> Result<Value, Refusal> {
    match crate::schema::SCHEMA.kind_type(group, version, kind) {
        Some(crate::schema::Type::Named(id)) => {
            match crate::schema::gojson::type_error(&id, &body, &[]) {
                Some(go) => Err(Refusal::Type(go)),
                None => Ok(body),
            }
        }
        _ => Err(Refusal::Type(serde)),
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
