//! `cargo xtask gen-schema`: derives the API type table the embedded server encodes with
//! from the Go source of `k8s.io/api` and `k8s.io/apimachinery` at a release tag.
//!
//! The table records, for every API struct, its fields in Go declaration order with their
//! JSON names, `omitempty`/`inline` flags, Go type and protobuf field number: the facts
//! that decide field order, zero values and the protobuf wire. Nothing else is taken from
//! the Go source. Run it against fresh checkouts:
//!
//! ```text
//! git clone https://github.com/kubernetes/api && git -C api checkout v0.33.3
//! git clone https://github.com/kubernetes/apimachinery && git -C apimachinery checkout v0.33.3
//! cargo xtask gen-schema --api api --apimachinery apimachinery
//! ```

use anyhow::{Context, Result, bail};
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

/// Maps a Go import path to the package id used in the table.
fn package_id(import: &str) -> Option<String> {
    if let Some(rest) = import.strip_prefix("k8s.io/api/") {
        return Some(rest.to_string());
    }
    Some(
        match import {
            "k8s.io/apimachinery/pkg/apis/meta/v1" => "meta/v1",
            "k8s.io/apimachinery/pkg/api/resource" => "resource",
            "k8s.io/apimachinery/pkg/util/intstr" => "intstr",
            "k8s.io/apimachinery/pkg/runtime" => "runtime",
            "k8s.io/apimachinery/pkg/types" => "types",
            _ => return None,
        }
        .to_string(),
    )
}

struct Field {
    json: String,
    go_type: String,
    omitempty: bool,
    inline: bool,
    pb: Option<u32>,
    /// `patchMergeKey` from the struct tag.
    merge_key: Option<String>,
    /// `+listType` (`atomic`, `set`, `map`) with `+listMapKey`s, `+mapType=atomic`.
    list: Option<String>,
    atomic_map: bool,
}

enum Def {
    /// Fields, and whether the struct is `+structType=atomic`.
    Struct(Vec<Field>, bool),
    Alias(String),
}

/// The `// +marker=value` lines that precede a declaration.
#[derive(Default)]
struct Markers {
    list_type: Option<String>,
    map_keys: Vec<String>,
    atomic: bool,
}

impl Markers {
    fn take(&mut self) -> Markers {
        std::mem::take(self)
    }

    fn read(&mut self, line: &str) {
        let Some(m) = line.trim().strip_prefix("// +") else {
            return;
        };
        let (k, v) = m.split_once('=').unwrap_or((m, ""));
        match k {
            "listType" => self.list_type = Some(v.to_string()),
            "listMapKey" => self.map_keys.push(v.to_string()),
            "structType" | "mapType" if v == "atomic" => self.atomic = true,
            _ => {}
        }
    }
}

/// Strips comments. Block comments only open at the start of a line (the licence
/// header); `//` comments are cut unless inside a struct tag.
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut in_block = false;
    for line in src.lines() {
        let t = line.trim_start();
        if in_block {
            if t.contains("*/") {
                in_block = false;
            }
            continue;
        }
        if t.starts_with("/*") {
            in_block = !t.contains("*/");
            continue;
        }
        let code = match line.find("//") {
            Some(i) if line[..i].matches('`').count() % 2 == 0 => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn imports(src: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut in_block = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("import (") {
            in_block = true;
            continue;
        }
        if in_block && t == ")" {
            break;
        }
        let spec = if in_block {
            t
        } else if let Some(rest) = t.strip_prefix("import ") {
            rest
        } else {
            continue;
        };
        let parts: Vec<&str> = spec.split_whitespace().collect();
        let (alias, path) = match parts.as_slice() {
            [p] => (
                p.trim_matches('"')
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                p.trim_matches('"'),
            ),
            [a, p] => (a.to_string(), p.trim_matches('"')),
            _ => continue,
        };
        map.insert(alias, path.to_string());
    }
    map
}

fn tag_value<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    let start = tags.find(&format!("{key}:\""))? + key.len() + 2;
    let end = tags[start..].find('"')? + start;
    Some(&tags[start..end])
}

/// Qualifies the named types in a Go type expression: `[]v1.Container` → `[]core/v1.Container`.
fn qualify(expr: &str, pkg: &str, imports: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = expr.trim();
    loop {
        if let Some(r) = rest.strip_prefix('*') {
            out.push('*');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("[]") {
            out.push_str("[]");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("map[") {
            let close = r.find(']').context("map key")?;
            let key = qualify(&r[..close], pkg, imports)?;
            write!(out, "map[{key}]")?;
            rest = &r[close + 1..];
        } else {
            break;
        }
    }
    let scalar = [
        "string",
        "bool",
        "int",
        "int32",
        "int64",
        "uint64",
        "float64",
        "byte",
        "interface{}",
        "any",
    ];
    if scalar.contains(&rest) {
        out.push_str(rest);
    } else if let Some((alias, name)) = rest.split_once('.') {
        let import = imports
            .get(alias)
            .with_context(|| format!("unknown import alias {alias} in {expr}"))?;
        // Types from packages outside the schema (`time.Time`) stay unresolved; the types
        // that hold them have custom encodings and are listed in SPECIAL.
        match package_id(import) {
            Some(id) => write!(out, "{id}.{name}")?,
            None => write!(out, "ext:{import}.{name}")?,
        }
    } else {
        write!(out, "{pkg}.{rest}")?;
    }
    Ok(out)
}

fn parse_file(src: &str, pkg: &str, defs: &mut BTreeMap<String, Def>) -> Result<()> {
    let imports = imports(src);
    // Markers live in comments, so they are read off the raw lines before comments go.
    let mut markers = Markers::default();
    let mut raw = src.lines().peekable();
    let mut in_block = false;
    let mut next_code = move |markers: &mut Markers| -> Option<String> {
        for line in raw.by_ref() {
            let t = line.trim();
            if in_block {
                in_block = !t.contains("*/");
                continue;
            }
            if t.starts_with("/*") {
                in_block = !t.contains("*/");
                continue;
            }
            if t.starts_with("//") {
                markers.read(t);
                continue;
            }
            let code = strip_comments(line);
            let code = code.trim_end_matches('\n');
            if code.trim().is_empty() {
                continue;
            }
            return Some(code.to_string());
        }
        None
    };
    while let Some(line) = next_code(&mut markers) {
        let decl_markers = markers.take();
        let t = line.trim();
        let Some(decl) = t.strip_prefix("type ") else {
            continue;
        };
        let mut words = decl.splitn(2, ' ');
        let (Some(name), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        if !name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || name.contains('[') {
            continue;
        }
        let rest = rest.trim().trim_start_matches("= ").trim();
        if rest == "struct {" {
            let mut fields = Vec::new();
            while let Some(l) = next_code(&mut markers) {
                let field_markers = markers.take();
                let l = l.trim();
                if l == "}" {
                    break;
                }
                let (decl, tags) = match l.find('`') {
                    Some(i) => (l[..i].trim(), l[i + 1..].trim_end_matches('`')),
                    None => (l, ""),
                };
                let parts: Vec<&str> = decl.split_whitespace().collect();
                let (go_name, go_type) = match parts.as_slice() {
                    [ty] => (
                        ty.rsplit('.').next().unwrap_or(ty).trim_start_matches('*'),
                        *ty,
                    ),
                    [n, ty] => (*n, *ty),
                    _ => bail!("cannot parse field `{l}` of {pkg}.{name}"),
                };
                let json = tag_value(tags, "json").unwrap_or(go_name);
                let mut opts = json.split(',');
                let json_name = opts.next().unwrap_or("").to_string();
                if json_name == "-" {
                    continue;
                }
                let flags: Vec<&str> = opts.collect();
                let pb = tag_value(tags, "protobuf")
                    .and_then(|p| p.split(',').nth(1))
                    .and_then(|n| n.parse().ok());
                let list = field_markers.list_type.as_ref().map(|t| {
                    if field_markers.map_keys.is_empty() {
                        t.clone()
                    } else {
                        format!("{t}:{}", field_markers.map_keys.join(","))
                    }
                });
                fields.push(Field {
                    merge_key: tag_value(tags, "patchMergeKey").map(String::from),
                    list,
                    atomic_map: field_markers.atomic,
                    inline: flags.contains(&"inline") || (json_name.is_empty() && parts.len() == 1),
                    omitempty: flags.contains(&"omitempty"),
                    json: if json_name.is_empty() {
                        go_name.to_string()
                    } else {
                        json_name
                    },
                    go_type: qualify(go_type, pkg, &imports)?,
                    pb,
                });
            }
            defs.insert(
                format!("{pkg}.{name}"),
                Def::Struct(fields, decl_markers.atomic),
            );
        } else if !rest.starts_with("interface") && !rest.starts_with("func") && !rest.contains('{')
        {
            defs.insert(
                format!("{pkg}.{name}"),
                Def::Alias(qualify(rest, pkg, &imports)?),
            );
        }
    }
    Ok(())
}

fn parse_package(dir: &Path, pkg: &str, defs: &mut BTreeMap<String, Def>) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".go")
                && !n.ends_with("_test.go")
                && !n.starts_with("zz_generated")
                && !n.starts_with("generated")
                && !n.contains("swagger_doc")
        })
        .collect();
    files.sort();
    for f in files {
        let src =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        parse_file(&src, pkg, defs).with_context(|| format!("parsing {}", f.display()))?;
    }
    Ok(())
}

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
    ("rbac/v1.RoleBinding", "roleRef"),
    ("rbac/v1.ClusterRoleBinding", "roleRef"),
];

/// Reads `var map_<Type> = map[string]string{ "field": "text", ... }` entries.
fn swagger_docs(dir: &Path, pkg: &str, out: &mut BTreeMap<String, String>) -> Result<()> {
    let path = dir.join("types_swagger_doc_generated.go");
    let src =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut current: Option<String> = None;
    for line in src.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("var map_") {
            current = rest
                .split_whitespace()
                .next()
                .map(|ty| format!("{pkg}.{ty}"));
            continue;
        }
        if t == "}" {
            current = None;
            continue;
        }
        let Some(ty) = &current else { continue };
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let value = value.trim().trim_end_matches(',');
        // The value is a Go string literal; JSON reads the same escapes.
        let text: String =
            serde_json_lite(value).with_context(|| format!("{ty}.{key} in {}", path.display()))?;
        out.insert(format!("{ty}.{key}"), text);
    }
    Ok(())
}

/// Decodes a double-quoted Go string literal (the generator only emits `\"`, `\\`, `\n`).
fn serde_json_lite(lit: &str) -> Result<String> {
    let inner = lit
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .context("not a string literal")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => bail!("dangling escape"),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

pub fn run(api: &Path, apimachinery: &Path, out: &Path) -> Result<()> {
    let mut defs = BTreeMap::new();
    for pkg in API_PACKAGES {
        parse_package(&api.join(pkg), pkg, &mut defs)?;
    }
    parse_package(&apimachinery.join("pkg/apis/meta/v1"), "meta/v1", &mut defs)?;
    let mut docs = BTreeMap::new();
    for pkg in API_PACKAGES {
        swagger_docs(&api.join(pkg), pkg, &mut docs)?;
    }
    swagger_docs(&apimachinery.join("pkg/apis/meta/v1"), "meta/v1", &mut docs)?;
    let mut text = String::from(
        "# Generated by `cargo xtask gen-schema` from k8s.io/api and k8s.io/apimachinery; do not edit.\n\
         # <type> struct, then one line per field in Go order: <json name> <go type> [omitempty] [inline] [pb=N]\n\
         # <type> = <go type> for named non-struct types.\n",
    );
    let mut text_buf = String::new();
    for (name, _) in SPECIAL {
        defs.remove(*name);
    }
    for (name, enc) in SPECIAL {
        writeln!(text, "{name} special {enc}")?;
    }
    for (name, def) in &defs {
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
            Def::Alias(t) => writeln!(text, "{name} = {t}")?,
        }
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
    std::fs::create_dir_all(out.parent().context("output has a parent")?)?;
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} types to {}", defs.len(), out.display());
    Ok(())
}
