//! The invariants of ARCHITECTURE.md that a machine can check: the dependency graph from
//! `cargo metadata` (each crate's normal dependencies, followed through the workspace),
//! and a few facts of the sources.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The workspace's packages: name → (manifest path, normal dependencies by name).
static WORKSPACE: LazyLock<BTreeMap<String, (PathBuf, Vec<String>)>> = LazyLock::new(|| {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (
                p["name"].as_str().unwrap().to_string(),
                (PathBuf::from(p["manifest_path"].as_str().unwrap()), deps),
            )
        })
        .collect()
});

/// Every crate `package` depends on (normal dependencies), directly or through workspace
/// crates.
fn depends_on(package: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![package.to_string()];
    while let Some(p) = todo.pop() {
        for d in WORKSPACE.get(&p).map(|(_, d)| d.as_slice()).unwrap_or(&[]) {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

fn workspace_crates() -> Vec<&'static String> {
    WORKSPACE.keys().collect()
}

#[test]
fn the_graph_is_read() {
    assert!(WORKSPACE.contains_key("apiserver"));
    assert!(depends_on("backends").contains("apiserver"));
    assert!(depends_on("backends").contains("podbox"), "through kubelet");
}

/// Invariant: `apiserver` never depends on `podbox` or `kubelet`.
#[test]
fn apiserver_does_not_depend_on_podbox() {
    let deps = depends_on("apiserver");
    for below in ["podbox", "kubelet", "harness", "backends"] {
        assert!(!deps.contains(below), "apiserver depends on {below}");
    }
}

/// Invariant: `scenario` is pure data: no other workspace crate, no client, below it.
#[test]
fn scenario_stands_alone() {
    let deps = depends_on("scenario");
    for c in workspace_crates() {
        assert!(!deps.contains(c.as_str()), "scenario depends on {c}");
    }
    assert!(!deps.contains("kube"));
}

/// Invariant: the harness knows no backend.
#[test]
fn harness_names_no_backend() {
    let deps = depends_on("harness");
    for backend in [
        "apiserver",
        "podbox",
        "kubelet",
        "backends",
        "testcontainers",
        "testcontainers-modules",
    ] {
        assert!(!deps.contains(backend), "harness depends on {backend}");
    }
}

/// Invariant: labs never name a backend: a lab crate depends on the harness only, and its
/// sources mention no backend.
#[test]
fn labs_never_name_a_backend() {
    let labs: Vec<&String> = workspace_crates()
        .into_iter()
        .filter(|c| c.starts_with("lab"))
        .collect();
    assert!(labs.len() >= 2, "{labs:?}");
    for lab in labs {
        let deps = depends_on(lab);
        for backend in ["apiserver", "podbox", "kubelet", "backends"] {
            assert!(!deps.contains(backend), "{lab} depends on {backend}");
        }
        let dir = WORKSPACE[lab].0.parent().unwrap().to_path_buf();
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap();
            for name in [
                "Embedded",
                "K3s",
                "Kubeconfig",
                "by_name",
                "\"embedded\"",
                "\"k3s\"",
            ] {
                assert!(
                    !src.contains(name),
                    "{} names a backend ({name})",
                    f.display()
                );
            }
        }
    }
}

/// Invariant: the core of `apiserver` takes and returns plain values; only `http` (and
/// `lib.rs`, which hands out the router) knows HTTP types.
#[test]
fn only_http_knows_http_types() {
    let src = root().join("crates/apiserver/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("http")) && *f != &src.join("lib.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            ["axum::", "hyper::", "http::", "tower::"].iter().any(|t| {
                text.lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(t))
            })
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "HTTP types outside http: {offenders:?}"
    );
}

#[test]
fn only_the_registry_holds_the_store() {
    let src = root().join("crates/apiserver/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let store_module = |f: &PathBuf| f.starts_with(src.join("store")) || *f == src.join("store.rs");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("registry")) && !store_module(f))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines()
                .any(|l| !l.trim_start().starts_with("//") && names_the_type(l, "Store"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "the store used outside the registry: {offenders:?}"
    );
}

/// Whether `line` has `name` as a whole identifier (`Store`, not `RootCertStore`).
fn names_the_type(line: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn a_whole_identifier_is_named() {
    assert!(names_the_type("let s = Store::new();", "Store"));
    assert!(names_the_type("store: crate::store::Store,", "Store"));
    assert!(!names_the_type("rustls::RootCertStore::empty()", "Store"));
    assert!(!names_the_type("StoreError::NotFound", "Store"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "target") {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Invariant: no crate but `podbox` contains `unsafe`, and in podbox only `sys`.
#[test]
fn only_podbox_sys_has_unsafe() {
    let mut files = Vec::new();
    for top in ["crates", "labs", "xtask"] {
        rust_files(&root().join(top), &mut files);
    }
    assert!(!files.is_empty());
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| *f != &root().join("crates/podbox/src/sys.rs"))
        .filter(|f| f.file_name().is_some_and(|n| n != "architecture.rs"))
        .filter(|f| {
            let src = std::fs::read_to_string(f).unwrap();
            src.lines().any(|l| {
                let code = l.split("//").next().unwrap_or("");
                code.contains("unsafe ") || code.contains("unsafe{")
            })
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe outside podbox's sys module: {offenders:?}"
    );
}

/// Invariant: every member opts into the workspace lints.
#[test]
fn every_crate_uses_workspace_lints() {
    for (name, (manifest, _)) in WORKSPACE.iter() {
        let text = std::fs::read_to_string(manifest).unwrap();
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{name} does not opt into [workspace.lints]"
        );
    }
}
