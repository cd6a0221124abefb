//! The verified snapshots are published in the course: they must hold no secret material,
//! no token, no private key, no certificate body.

use std::path::{Path, PathBuf};

/// What in `text` looks like secret material, one finding per line.
fn secrets_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let why = if line.contains("-----BEGIN") {
            Some("a PEM block")
        } else if has_jwt(line) {
            Some("a JWT")
        } else if longest_base64_run(line) >= 60 {
            Some("a long base64 run (certificate or key data)")
        } else {
            None
        };
        if let Some(why) = why {
            found.push(format!("line {}: {why}", i + 1));
        }
    }
    found
}

/// A JWT starts with the base64url of `{"` and has three dot-separated parts.
fn has_jwt(line: &str) -> bool {
    line.match_indices("eyJ").any(|(at, _)| {
        let rest = &line[at..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        token.split('.').filter(|p| p.len() >= 8).count() >= 3
    })
}

/// The longest run of base64 characters that reads like encoded bytes: key and
/// certificate data mixes upper case, lower case and digits within any 60 characters,
/// where long URL paths (`/healthz/poststarthook/start-kube-apiserver-...`) do not.
fn longest_base64_run(line: &str) -> usize {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_')))
        .filter(|run| {
            run.chars().any(|c| c.is_ascii_uppercase())
                && run.chars().any(|c| c.is_ascii_lowercase())
                && run.chars().any(|c| c.is_ascii_digit())
        })
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn snapshot_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lab in std::fs::read_dir(root.join("labs")).unwrap().flatten() {
        let Ok(entries) = std::fs::read_dir(lab.path().join("snapshots")) else {
            continue;
        };
        out.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "snap")),
        );
    }
    out.sort();
    out
}

#[test]
fn the_detector_finds_what_it_looks_for() {
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
    assert_eq!(secrets_in(jwt).len(), 1);
    assert_eq!(secrets_in("-----BEGIN CERTIFICATE-----").len(), 1);
    let der = "MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy";
    assert_eq!(secrets_in(der).len(), 1);
    // What the snapshots do hold stays clean: paths, JSON, redaction markers.
    assert!(secrets_in("$ ls /var/run/secrets/kubernetes.io/serviceaccount").is_empty());
    assert!(secrets_in(r#"  "uid": "[UID]","#).is_empty());
    assert!(secrets_in("Authorization: Bearer [TOKEN]").is_empty());
    assert!(
        secrets_in(
            r#"    "/healthz/poststarthook/start-kube-apiserver-identity-lease-garbage-collector","#
        )
        .is_empty()
    );
}

#[test]
fn snapshots_hold_no_secret_material() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let files = snapshot_files(root);
    assert!(
        !files.is_empty(),
        "no snapshots found under labs/*/snapshots"
    );
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for finding in secrets_in(&text) {
            bad.push(format!(
                "{}: {finding}",
                f.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "secret material in snapshots:\n{}",
        bad.join("\n")
    );
}
