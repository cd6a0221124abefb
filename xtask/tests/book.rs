//! The built course as a reader's browser shows it: every page of the book, loaded in
//! headless Chromium (so the sidebar and everything mdBook's scripts add are there), shows
//! every block its source has, and links to nothing that does not exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a stderr block is marked, in the source and on the page alike.
const STDERR: &str = "class=\"kubelab-stderr\"";

#[test]
fn every_page_shows_its_blocks_and_links_only_to_what_exists() {
    let Some(chromium) = testkit::host_tool("chromium", testkit::install::CHROMIUM) else {
        return;
    };
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let root = tempfile::tempdir().unwrap();
    // The course, built from a copy so that the checkout's `docs/book` is left alone.
    for dir in ["docs/src", "docs/theme", "scenarios"] {
        copy_tree(&ws.join(dir), &root.path().join(dir));
    }
    std::fs::copy(
        ws.join("docs/book.toml"),
        root.path().join("docs/book.toml"),
    )
    .unwrap();
    for lab in std::fs::read_dir(ws.join("labs")).unwrap() {
        let lab = lab.unwrap().path();
        let name = lab.file_name().unwrap();
        copy_tree(
            &lab.join("snapshots"),
            &root.path().join("labs").join(name).join("snapshots"),
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("docs")
        .env("KUBELAB_ROOT", root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo xtask docs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let book = root.path().join("docs/book");
    let profile = tempfile::tempdir().unwrap();
    let mut doms: HashMap<PathBuf, String> = HashMap::new();
    let sources = pages(&root.path().join("docs/src"));
    assert!(sources.len() >= 10, "the introduction and nine labs");
    for source in &sources {
        let rel = source.strip_prefix(root.path().join("docs/src")).unwrap();
        let html = book.join(rel).with_extension("html");
        let dom = dump_dom(&chromium, profile.path(), &html);
        let md = std::fs::read_to_string(source).unwrap();
        // Every fenced block and every stderr block of the source is on the page: what
        // marks a block in the source, and on the page once mdBook rendered it.
        for (what, in_md, in_dom) in [
            ("console", "```console", "language-console"),
            ("yaml", "```yaml", "language-yaml"),
            ("sh", "```sh", "language-sh"),
            ("stderr", STDERR, STDERR),
        ]
        .map(|(what, md_mark, dom_mark)| {
            (
                what,
                md.matches(md_mark).count(),
                dom.matches(dom_mark).count(),
            )
        }) {
            assert_eq!(
                in_md,
                in_dom,
                "{}: {what} blocks in the source and on the page",
                rel.display()
            );
        }
        // A generator marker is an HTML comment; written as text, it would show.
        assert!(
            !dom.contains("&lt;!-- kubelab") && !dom.contains("&lt;!-- /kubelab"),
            "{}: a marker shows on the page",
            rel.display()
        );
        doms.insert(html, dom);
    }
    // Every link to a page of the book reaches one, and every anchor an element.
    for (page, dom) in &doms {
        for href in attribute_values(dom, "href") {
            if href.contains("://")
                || href.starts_with("mailto:")
                || href.starts_with("javascript:")
            {
                continue;
            }
            let (file, anchor) = href.split_once('#').unwrap_or((href.as_str(), ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            assert!(
                target.exists(),
                "{}: link to {href}, which does not exist",
                page.display()
            );
            if !anchor.is_empty() && target.extension().is_some_and(|e| e == "html") {
                let target_dom = doms
                    .get(&target)
                    .cloned()
                    .unwrap_or_else(|| std::fs::read_to_string(&target).unwrap());
                assert!(
                    attribute_values(&target_dom, "id").any(|id| id == anchor),
                    "{}: link to {href}, whose anchor is on no element",
                    page.display()
                );
            }
        }
    }
}

/// The page's DOM after its scripts ran.
fn dump_dom(chromium: &Path, profile: &Path, html: &Path) -> String {
    let out = Command::new(chromium)
        // No network: without these, Chromium reaches out at start (updates, sync, QUIC).
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {}: {}",
        html.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every value of `name="..."` in `html`.
fn attribute_values(html: &str, name: &str) -> std::vec::IntoIter<String> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, n)| {
            let rest = &html[at + n.len()..];
            rest.find('"').map(|end| rest[..end].replace("&amp;", "&"))
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// The book's Markdown pages.
fn pages(src: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in walk(src) {
        if e.extension().is_some_and(|x| x == "md")
            && e.file_name().is_some_and(|n| n != "SUMMARY.md")
        {
            out.push(e);
        }
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for file in walk(from) {
        let dest = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, dest).unwrap();
    }
}
