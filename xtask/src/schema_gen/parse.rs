//! Reading the Go source of `k8s.io/api` and `k8s.io/apimachinery`: each exported type
//! declaration as a struct (its fields and their tags and markers) or a named type, and
//! the field descriptions of the generated swagger docs.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

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

/// A struct field as the table records it.
pub(super) struct Field {
    pub(super) json: String,
    pub(super) go_type: String,
    pub(super) omitempty: bool,
    pub(super) inline: bool,
    pub(super) pb: Option<u32>,
    /// `patchMergeKey` from the struct tag.
    pub(super) merge_key: Option<String>,
    /// `+listType` (`atomic`, `set`, `map`) with `+listMapKey`s, `+mapType=atomic`.
    pub(super) list: Option<String>,
    pub(super) atomic_map: bool,
}

/// A type declaration: a struct, or a named type of another type.
pub(super) enum Def {
    /// Fields, and whether the struct is `+structType=atomic`.
    Struct(Vec<Field>, bool),
    /// The type, and whether it is `+protobuf.nullable=true`: a named slice go-to-protobuf
    /// makes a message of its own (`Verbs`, `ExtraValue`).
    Alias(String, bool),
}

/// The `// +marker=value` lines that precede a declaration.
#[derive(Default)]
struct Markers {
    list_type: Option<String>,
    map_keys: Vec<String>,
    atomic: bool,
    nullable: bool,
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
            "protobuf.nullable" if v == "true" => self.nullable = true,
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

/// The code lines of a Go file, comments gone, each with the `// +marker` lines read
/// since the code line before it.
struct CodeLines<'a> {
    raw: std::str::Lines<'a>,
    in_block: bool,
    markers: Markers,
}

impl<'a> CodeLines<'a> {
    fn new(src: &'a str) -> CodeLines<'a> {
        CodeLines {
            raw: src.lines(),
            in_block: false,
            markers: Markers::default(),
        }
    }
}

impl Iterator for CodeLines<'_> {
    type Item = (String, Markers);

    fn next(&mut self) -> Option<(String, Markers)> {
        for line in self.raw.by_ref() {
            let t = line.trim();
            if self.in_block {
                self.in_block = !t.contains("*/");
                continue;
            }
            if t.starts_with("/*") {
                self.in_block = !t.contains("*/");
                continue;
            }
            if t.starts_with("//") {
                self.markers.read(t);
                continue;
            }
            let code = strip_comments(line);
            let code = code.trim_end_matches('\n');
            if code.trim().is_empty() {
                continue;
            }
            return Some((code.to_string(), self.markers.take()));
        }
        None
    }
}

/// A Go file being read: its package id, its imports, and its code lines.
struct GoFile<'a> {
    pkg: &'a str,
    imports: BTreeMap<String, String>,
    lines: CodeLines<'a>,
}

/// Reads the declarations of one Go file of package `pkg` into `defs`.
fn parse_file(src: &str, pkg: &str, defs: &mut BTreeMap<String, Def>) -> Result<()> {
    // Markers live in comments, so they are read off the raw lines before comments go.
    let mut file = GoFile {
        pkg,
        imports: imports(src),
        lines: CodeLines::new(src),
    };
    while let Some((line, decl_markers)) = file.lines.next() {
        let Some((name, rest)) = type_decl(&line) else {
            continue;
        };
        if rest == "struct {" {
            let fields = file.struct_fields(name)?;
            defs.insert(
                format!("{pkg}.{name}"),
                Def::Struct(fields, decl_markers.atomic),
            );
        } else if !rest.starts_with("interface") && !rest.starts_with("func") && !rest.contains('{')
        {
            defs.insert(
                format!("{pkg}.{name}"),
                Def::Alias(qualify(rest, pkg, &file.imports)?, decl_markers.nullable),
            );
        }
    }
    Ok(())
}

/// The name and the rest of a `type Name ...` declaration of an exported, non-generic
/// type.
fn type_decl(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    let decl = t.strip_prefix("type ")?;
    let mut words = decl.splitn(2, ' ');
    let (Some(name), Some(rest)) = (words.next(), words.next()) else {
        return None;
    };
    if !name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || name.contains('[') {
        return None;
    }
    Some((name, rest.trim().trim_start_matches("= ").trim()))
}

impl GoFile<'_> {
    /// The fields of struct `name`, read up to its closing brace.
    fn struct_fields(&mut self, name: &str) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        while let Some((l, field_markers)) = self.lines.next() {
            let l = l.trim();
            if l == "}" {
                break;
            }
            if let Some(field) = self.field(l, &field_markers, name)? {
                fields.push(field);
            }
        }
        Ok(fields)
    }

    /// One field line `l` of struct `name`, with the markers above it; `None` for a field
    /// JSON leaves out (`json:"-"`).
    fn field(&self, l: &str, field_markers: &Markers, name: &str) -> Result<Option<Field>> {
        let pkg = self.pkg;
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
            return Ok(None);
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
        Ok(Some(Field {
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
            go_type: qualify(go_type, pkg, &self.imports)?,
            pb,
        }))
    }
}

/// Reads the declarations of every Go file of package `pkg` in `dir` into `defs`.
pub(super) fn parse_package(dir: &Path, pkg: &str, defs: &mut BTreeMap<String, Def>) -> Result<()> {
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

/// Reads `var map_<Type> = map[string]string{ "field": "text", ... }` entries.
pub(super) fn swagger_docs(
    dir: &Path,
    pkg: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<()> {
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
