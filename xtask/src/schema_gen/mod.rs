//! `cargo xtask gen-schema`: derives the API type table the embedded server encodes with
//! from the Go source of `k8s.io/api`, `k8s.io/apimachinery`, `k8s.io/kube-aggregator`
//! (the APIService kind) and `k8s.io/apiextensions-apiserver` (CustomResourceDefinition) at
//! a release tag.
//!
//! The table records, for every API struct, its fields in Go declaration order with their
//! JSON names, `omitempty`/`inline` flags, Go type and protobuf field number: the facts
//! that decide field order, zero values and the protobuf wire. Nothing else is taken from
//! the Go source. Run it against fresh checkouts:
//!
//! ```text
//! git clone https://github.com/kubernetes/api && git -C api checkout v0.33.3
//! git clone https://github.com/kubernetes/apimachinery && git -C apimachinery checkout v0.33.3
//! git clone https://github.com/kubernetes/kube-aggregator && git -C kube-aggregator checkout v0.33.3
//! git clone https://github.com/kubernetes/apiextensions-apiserver && git -C apiextensions-apiserver checkout v0.33.3
//! cargo xtask gen-schema --api api --apimachinery apimachinery \
//!     --kube-aggregator kube-aggregator --apiextensions-apiserver apiextensions-apiserver
//! ```
//!
//! (The reference control plane's build leaves the same modules in Go's module cache,
//! `~/go/pkg/mod/k8s.io/api@v0.33.3` and so on, which serve as checkouts.)

mod parse;

use anyhow::{Context, Result};
use parse::{Def, parse_package, swagger_docs};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The `k8s.io/api` packages the embedded server serves.
const API_PACKAGES: &[&str] = &[
    "core/v1",
    "admissionregistration/v1",
    "apps/v1",
    "authentication/v1",
    "authorization/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates/v1",
    "coordination/v1",
    "discovery/v1",
    "events/v1",
    "flowcontrol/v1",
    "networking/v1",
    "node/v1",
    "policy/v1",
    "rbac/v1",
    "scheduling/v1",
    "storage/v1",
];

/// Where the output goes, relative to the workspace root.
pub const OUTPUT: &str = "crates/apiserver/src/schema/types.txt";

/// Types with custom JSON and protobuf encodings (`MarshalJSON`/`ProtoMarshal` methods in
/// apimachinery), written to the table as `<type> special <encoding>`.
const SPECIAL: &[(&str, &str)] = &[
    ("meta/v1.Time", "time"),
    ("meta/v1.MicroTime", "microtime"),
    ("meta/v1.Duration", "duration"),
    ("meta/v1.FieldsV1", "rawjson"),
    ("resource.Quantity", "quantity"),
    ("intstr.IntOrString", "intorstring"),
    ("runtime.RawExtension", "rawjson"),
    ("types.UID", "string"),
    ("types.NodeName", "string"),
    // apiextensions-apiserver `pkg/apis/apiextensions/v1/marshal.go`: a raw JSON value, and
    // the schema-or-something unions, each written as whichever side it holds.
    ("apiextensions/v1.JSON", "rawjson"),
    ("apiextensions/v1.JSONSchemaPropsOrBool", "schemaorbool"),
    ("apiextensions/v1.JSONSchemaPropsOrArray", "schemaorarray"),
    (
        "apiextensions/v1.JSONSchemaPropsOrStringArray",
        "schemaorstringarray",
    ),
];

/// Field descriptions (from `types_swagger_doc_generated.go`) that server-side printing
/// puts in Table column definitions (`pkg/printers/internalversion/printers.go`).
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("meta/v1.ObjectMeta", "name"),
    ("meta/v1.ObjectMeta", "creationTimestamp"),
    ("core/v1.PodStatus", "podIP"),
    ("core/v1.PodSpec", "nodeName"),
    ("core/v1.PodStatus", "nominatedNodeName"),
    ("core/v1.PodSpec", "readinessGates"),
    ("core/v1.Secret", "type"),
    ("core/v1.Secret", "data"),
    ("core/v1.ServiceAccount", "secrets"),
    ("core/v1.ServiceSpec", "type"),
    ("core/v1.ServiceSpec", "clusterIP"),
    ("core/v1.ServiceSpec", "externalIPs"),
    ("core/v1.ServiceSpec", "ports"),
    ("core/v1.ServiceSpec", "selector"),
    ("core/v1.Endpoints", "subsets"),
    ("core/v1.NodeSystemInfo", "kubeletVersion"),
    ("core/v1.NodeStatus", "addresses"),
    ("core/v1.NodeSystemInfo", "osImage"),
    ("core/v1.NodeSystemInfo", "kernelVersion"),
    ("core/v1.NodeSystemInfo", "containerRuntimeVersion"),
    ("batch/v1.JobStatus", "succeeded"),
    ("batch/v1.JobSpec", "selector"),
    ("core/v1.ConfigMap", "data"),
    ("coordination/v1.LeaseSpec", "holderIdentity"),
    // The printers describe bindings' `roleRef` with rbac/v1beta1's documentation.
    ("rbac/v1beta1.RoleBinding", "roleRef"),
    ("rbac/v1beta1.ClusterRoleBinding", "roleRef"),
];

/// Packages read for their field descriptions only (not served, no types in the table).
const DOC_ONLY_PACKAGES: &[&str] = &["rbac/v1beta1"];

/// The `k8s.io/kube-aggregator` package of the APIService kind.
const AGGREGATOR_PACKAGE: &str = "apiregistration/v1";

/// The `k8s.io/apiextensions-apiserver` package of the CustomResourceDefinition kind.
const APIEXTENSIONS_PACKAGE: &str = "apiextensions/v1";

/// Where the Go source is read from: a checkout of each module.
pub struct Sources {
    pub api: std::path::PathBuf,
    pub apimachinery: std::path::PathBuf,
    pub kube_aggregator: std::path::PathBuf,
    pub apiextensions_apiserver: std::path::PathBuf,
}

/// Reads the Go source of `sources` and writes the table to `out`.
pub fn run(sources: &Sources, out: &Path) -> Result<()> {
    let (api, apimachinery) = (&sources.api, &sources.apimachinery);
    let mut defs = BTreeMap::new();
    for pkg in API_PACKAGES {
        parse_package(&api.join(pkg), pkg, &mut defs)?;
    }
    for (module, pkg) in [
        (&sources.kube_aggregator, AGGREGATOR_PACKAGE),
        (&sources.apiextensions_apiserver, APIEXTENSIONS_PACKAGE),
    ] {
        parse_package(&module.join("pkg/apis").join(pkg), pkg, &mut defs)?;
    }
    parse_package(&apimachinery.join("pkg/apis/meta/v1"), "meta/v1", &mut defs)?;
    let mut docs = BTreeMap::new();
    for pkg in API_PACKAGES {
        swagger_docs(&api.join(pkg), pkg, &mut docs)?;
    }
    for pkg in DOC_ONLY_PACKAGES {
        swagger_docs(&api.join(pkg), pkg, &mut docs)?;
    }
    swagger_docs(&apimachinery.join("pkg/apis/meta/v1"), "meta/v1", &mut docs)?;
    for (name, _) in SPECIAL {
        defs.remove(*name);
    }
    let text = table(&defs, &docs)?;
    std::fs::create_dir_all(out.parent().context("output has a parent")?)?;
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} types to {}", defs.len(), out.display());
    Ok(())
}

/// The table's text: its header, the special types, every other declaration, and the
/// field descriptions server-side printing needs.
fn table(defs: &BTreeMap<String, Def>, docs: &BTreeMap<String, String>) -> Result<String> {
    let mut text = String::from(
        "# Generated by `cargo xtask gen-schema` from k8s.io/api, k8s.io/apimachinery, k8s.io/kube-aggregator and k8s.io/apiextensions-apiserver; do not edit.\n\
         # <type> struct, then one line per field in Go order: <json name> <go type> [omitempty] [inline] [pb=N]\n\
         # <type> = <go type> [nullable] for named non-struct types (nullable: +protobuf.nullable=true).\n",
    );
    let mut text_buf = String::new();
    for (name, enc) in SPECIAL {
        writeln!(text, "{name} special {enc}")?;
    }
    for (name, def) in defs {
        write_def(&mut text, name, def)?;
    }
    for (ty, field) in DESCRIPTIONS {
        let key = format!("{ty}.{field}");
        let text = docs
            .get(&key)
            .with_context(|| format!("no description for {key}"))?;
        // One line per entry: newlines are written as `\n`.
        writeln!(text_buf, "{key} doc {}", text.replace('\n', "\\n"))?;
    }
    text.push_str(&text_buf);
    Ok(text)
}

/// Writes the lines of declaration `name`: a struct line and one line per field, or a
/// named type's line.
fn write_def(text: &mut String, name: &str, def: &Def) -> Result<()> {
    match def {
        Def::Struct(fields, atomic) => {
            writeln!(
                text,
                "{name} struct{}",
                if *atomic { " atomic" } else { "" }
            )?;
            for f in fields {
                write!(text, "  {} {}", f.json, f.go_type)?;
                if f.omitempty {
                    text.push_str(" omitempty");
                }
                if f.inline {
                    text.push_str(" inline");
                }
                if let Some(n) = f.pb {
                    write!(text, " pb={n}")?;
                }
                if let Some(k) = &f.merge_key {
                    write!(text, " pmk={k}")?;
                }
                if let Some(l) = &f.list {
                    write!(text, " list={l}")?;
                }
                if f.atomic_map {
                    text.push_str(" atomic");
                }
                text.push('\n');
            }
        }
        Def::Alias(t, false) => writeln!(text, "{name} = {t}")?,
        Def::Alias(t, true) => writeln!(text, "{name} = {t} nullable")?,
    }
    Ok(())
}
