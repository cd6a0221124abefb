//! The API type table (`types.txt`, generated from `k8s.io/api` v0.33.3 by
//! `cargo xtask gen-schema`) and what the server does with it: encode objects as Go's
//! `encoding/json` would (`json`), and read and write the protobuf wire (`proto`).
//!
//! Objects are stored as JSON values; this module only knows types by name, so it serves
//! every built-in kind the same way.

pub(crate) mod duration;
pub mod gojson;
pub mod json;
pub mod proto;
pub mod yaml;

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("types.txt");

/// A Go type expression from the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    Bool,
    Int,
    Float,
    Bytes,
    Any,
    Ptr(Box<Type>),
    Slice(Box<Type>),
    Map(Box<Type>),
    /// A named type: a struct, alias or special.
    Named(String),
    /// A custom resource without a schema here: structured-merge-diff's deduced type, where
    /// every object is a map of fields and every list is atomic.
    Deduced,
}

/// Encodings of the types that implement their own marshalling in apimachinery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Special {
    Time,
    MicroTime,
    Duration,
    RawJson,
    Quantity,
    IntOrString,
    String,
    /// apiextensions' `JSONSchemaPropsOrBool`: a bool, or a schema (which allows).
    SchemaOrBool,
    /// apiextensions' `JSONSchemaPropsOrArray`: a schema, or a list of them.
    SchemaOrArray,
    /// apiextensions' `JSONSchemaPropsOrStringArray`: a schema, or a list of names.
    SchemaOrStringArray,
}

/// The schema type the apiextensions unions (`Special::SchemaOr*`) hold.
pub const JSON_SCHEMA_PROPS: &str = "apiextensions/v1.JSONSchemaProps";

/// How a list merges and is owned (`+listType`, from the Go markers).
#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    Atomic,
    Set,
    /// Items keyed by these fields (`+listMapKey`).
    Map(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub json: String,
    pub ty: Type,
    /// The Go type as the table writes it (`*int32`, `map[string][]byte`), for the words
    /// of Go's type errors (`gojson`).
    pub go: String,
    pub omitempty: bool,
    pub inline: bool,
    pub pb: Option<u32>,
    /// `patchMergeKey` from the struct tag.
    pub merge_key: Option<String>,
    pub list: Option<ListType>,
    /// `+mapType=atomic` on the field.
    pub atomic: bool,
}

#[derive(Debug, Clone)]
pub enum Def {
    Struct(Vec<Field>),
    Alias(Type),
    Special(Special),
}

#[derive(Debug, Default)]
pub struct Schema {
    defs: HashMap<String, Def>,
    docs: HashMap<String, String>,
    /// Structs marked `+structType=atomic`: owned and replaced as a whole.
    atomic_structs: std::collections::HashSet<String>,
    /// Named slices marked `+protobuf.nullable=true`, which go-to-protobuf makes a message
    /// of their own (`Verbs`, `ExtraValue`).
    nullable_slices: std::collections::HashSet<String>,
}

pub static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| Schema::parse(TABLE).expect("types.txt is valid"));

fn parse_type(s: &str) -> Type {
    if let Some(r) = s.strip_prefix('*') {
        return Type::Ptr(Box::new(parse_type(r)));
    }
    if let Some(r) = s.strip_prefix("[]") {
        if r == "byte" {
            return Type::Bytes;
        }
        return Type::Slice(Box::new(parse_type(r)));
    }
    if let Some(r) = s.strip_prefix("map[") {
        let close = r.find(']').unwrap_or(r.len());
        return Type::Map(Box::new(parse_type(&r[close + 1..])));
    }
    match s {
        "string" => Type::String,
        "bool" => Type::Bool,
        "int" | "int32" | "int64" | "uint64" => Type::Int,
        "float64" => Type::Float,
        "byte" => Type::Int,
        "interface{}" | "any" => Type::Any,
        other => Type::Named(other.to_string()),
    }
}

/// A struct field line of the table: `<json> <type> [flags...]`.
fn parse_field(line: &str) -> Result<Field, String> {
    let mut parts = line.split_whitespace();
    let (Some(json), Some(ty)) = (parts.next(), parts.next()) else {
        return Err("bad field".into());
    };
    let mut f = Field {
        json: json.to_string(),
        ty: parse_type(ty),
        go: ty.to_string(),
        omitempty: false,
        inline: false,
        pb: None,
        merge_key: None,
        list: None,
        atomic: false,
    };
    for flag in parts {
        match flag {
            "omitempty" => f.omitempty = true,
            "inline" => f.inline = true,
            "atomic" => f.atomic = true,
            other => {
                if let Some(n) = other.strip_prefix("pb=") {
                    f.pb = n.parse().ok();
                } else if let Some(k) = other.strip_prefix("pmk=") {
                    f.merge_key = Some(k.to_string());
                } else if let Some(l) = other.strip_prefix("list=") {
                    f.list = Some(match l.split_once(':') {
                        Some((_, keys)) => {
                            ListType::Map(keys.split(',').map(String::from).collect())
                        }
                        None if l == "set" => ListType::Set,
                        None if l == "map" => ListType::Map(Vec::new()),
                        None => ListType::Atomic,
                    });
                } else {
                    return Err(format!("unknown flag {other}"));
                }
            }
        }
    }
    Ok(f)
}

/// The encoding of a `special` type.
fn parse_special(enc: &str) -> Result<Special, String> {
    Ok(match enc {
        "time" => Special::Time,
        "microtime" => Special::MicroTime,
        "duration" => Special::Duration,
        "rawjson" => Special::RawJson,
        "quantity" => Special::Quantity,
        "intorstring" => Special::IntOrString,
        "string" => Special::String,
        "schemaorbool" => Special::SchemaOrBool,
        "schemaorarray" => Special::SchemaOrArray,
        "schemaorstringarray" => Special::SchemaOrStringArray,
        other => return Err(format!("unknown encoding {other}")),
    })
}

impl Schema {
    fn parse(text: &str) -> Result<Schema, String> {
        let mut defs = HashMap::new();
        let mut docs = HashMap::new();
        let mut atomic_structs = std::collections::HashSet::new();
        let mut nullable_slices = std::collections::HashSet::new();
        let mut current: Option<(String, Vec<Field>)> = None;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("  ") {
                let Some((_, fields)) = current.as_mut() else {
                    return Err(format!("types.txt:{}: field outside a struct", n + 1));
                };
                fields.push(parse_field(rest).map_err(|e| format!("types.txt:{}: {e}", n + 1))?);
                continue;
            }
            if let Some((name, fields)) = current.take() {
                defs.insert(name, Def::Struct(fields));
            }
            if let Some((key, doc)) = line.split_once(" doc ") {
                docs.insert(key.to_string(), doc.replace("\\n", "\n"));
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [name, "struct"] => current = Some((name.to_string(), Vec::new())),
                [name, "struct", "atomic"] => {
                    atomic_structs.insert(name.to_string());
                    current = Some((name.to_string(), Vec::new()));
                }
                [name, "=", ty] => {
                    defs.insert(name.to_string(), Def::Alias(parse_type(ty)));
                }
                [name, "=", ty, "nullable"] => {
                    nullable_slices.insert(name.to_string());
                    defs.insert(name.to_string(), Def::Alias(parse_type(ty)));
                }
                [name, "special", enc] => {
                    let sp = parse_special(enc).map_err(|e| format!("types.txt:{}: {e}", n + 1))?;
                    defs.insert(name.to_string(), Def::Special(sp));
                }
                _ => return Err(format!("types.txt:{}: cannot parse", n + 1)),
            }
        }
        if let Some((name, fields)) = current.take() {
            defs.insert(name, Def::Struct(fields));
        }
        Ok(Schema {
            defs,
            docs,
            atomic_structs,
            nullable_slices,
        })
    }

    /// Whether `ty` is a named slice that protobuf writes as a message of its own, whose
    /// items are its field 1 (`+protobuf.nullable=true`).
    pub fn is_nullable_slice(&self, ty: &Type) -> bool {
        matches!(ty, Type::Named(name) if self.nullable_slices.contains(name))
    }

    /// The definition behind a named type, following aliases to a struct or special.
    pub fn resolve<'a>(&'a self, ty: &'a Type) -> Resolved<'a> {
        let mut ty = ty;
        loop {
            match ty {
                Type::Named(name) => match self.defs.get(name) {
                    Some(Def::Struct(fields)) => return Resolved::Struct(name, fields),
                    Some(Def::Special(sp)) => return Resolved::Special(*sp),
                    Some(Def::Alias(t)) => ty = t,
                    // Unknown names (outside the table) pass through untouched.
                    None => return Resolved::Other(&Type::Any),
                },
                other => return Resolved::Other(other),
            }
        }
    }

    pub fn is_atomic_struct(&self, name: &str) -> bool {
        self.atomic_structs.contains(name)
    }

    /// A field's description from the API documentation (`Type.field`), for the few
    /// fields the generator keeps.
    pub fn doc(&self, key: &str) -> &str {
        self.docs.get(key).map(String::as_str).unwrap_or("")
    }

    /// Follows aliases: `core/v1.ResourceList` → `map[...]resource.Quantity`.
    pub fn underlying<'a>(&'a self, ty: &'a Type) -> &'a Type {
        let mut ty = ty;
        while let Type::Named(name) = ty {
            match self.defs.get(name) {
                Some(Def::Alias(t)) => ty = t,
                _ => break,
            }
        }
        ty
    }

    /// The type id of a kind: `("batch", "v1", "Job")` → `batch/v1.Job`.
    pub fn kind_type(&self, group: &str, version: &str, kind: &str) -> Option<Type> {
        let pkg = if group.is_empty() {
            "core"
        } else {
            group.split('.').next().unwrap_or(group)
        };
        let id = format!("{pkg}/{version}.{kind}");
        matches!(self.defs.get(&id), Some(Def::Struct(_))).then_some(Type::Named(id))
    }

    /// The type of an object by its `apiVersion` and `kind`, including the meta types
    /// (`Status`, `Table`) that every group version serves.
    pub fn object_type(&self, api_version: &str, kind: &str) -> Option<Type> {
        if matches!(
            kind,
            "Status"
                | "Table"
                | "PartialObjectMetadata"
                | "PartialObjectMetadataList"
                | "APIResourceList"
                | "APIGroup"
                | "APIGroupList"
                | "APIVersions"
        ) {
            return self.named(&format!("meta/v1.{kind}"));
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.kind_type(group, version, kind)
    }

    /// Whether the table has types of the Go package `<pkg>/<version>` (`apps/v1`).
    pub fn has_package(&self, pkg: &str, version: &str) -> bool {
        let prefix = format!("{pkg}/{version}.");
        self.defs.keys().any(|k| k.starts_with(&prefix))
    }

    pub fn named(&self, id: &str) -> Option<Type> {
        self.defs
            .contains_key(id)
            .then(|| Type::Named(id.to_string()))
    }
}

#[derive(Debug)]
pub enum Resolved<'a> {
    Struct(&'a str, &'a [Field]),
    Special(Special),
    Other(&'a Type),
}

#[cfg(test)]
mod tests;
