//! The invariants of ARCHITECTURE.md that a machine can check.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
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

/// Invariant: `apiserver` never depends on `podbox`.
#[test]
fn apiserver_does_not_depend_on_podbox() {
    let manifest = std::fs::read_to_string(root().join("crates/apiserver/Cargo.toml")).unwrap();
    assert!(!manifest.contains("podbox"));
    assert!(!manifest.contains("kubelet"));
}

/// Invariant: every member opts into the workspace lints.
#[test]
fn every_crate_uses_workspace_lints() {
    let mut manifests = vec![root().join("xtask/Cargo.toml")];
    for top in ["crates", "labs"] {
        for entry in std::fs::read_dir(root().join(top))
            .into_iter()
            .flatten()
            .flatten()
        {
            let m = entry.path().join("Cargo.toml");
            if m.is_file() {
                manifests.push(m);
            }
        }
    }
    for m in manifests {
        let text = std::fs::read_to_string(&m).unwrap();
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} does not opt into [workspace.lints]",
            m.display()
        );
    }
}

/// Invariant: `scenario` is pure data: no other workspace crate below it.
#[test]
fn scenario_stands_alone() {
    let manifest = std::fs::read_to_string(root().join("crates/scenario/Cargo.toml")).unwrap();
    for other in ["apiserver", "podbox", "kubelet", "harness", "kube"] {
        assert!(!manifest.lines().any(|l| l.starts_with(&format!("{other}.")) || l.starts_with(&format!("{other} "))), "scenario depends on {other}");
    }
}

/// Invariant: the harness knows no backend.
#[test]
fn harness_names_no_backend() {
    let manifest = std::fs::read_to_string(root().join("crates/harness/Cargo.toml")).unwrap();
    for backend in ["apiserver", "podbox", "kubelet", "testcontainers"] {
        assert!(!manifest.contains(backend), "harness depends on {backend}");
    }
}
