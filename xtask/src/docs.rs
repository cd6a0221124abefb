//! `cargo xtask docs`: fills the generated blocks of the course pages from the scenarios and
//! their verified snapshots, then builds the book; `--check` only reports stale blocks.
//!
//! A page is `docs/src/labs/<scenario folder>.md`, hand-written around markers:
//!
//! ```text
//! <!-- kubelab:goals -->            the scenario's learning goals, as a list
//! <!-- kubelab:manifest curl.yaml --> a manifest the scenario applies, as a YAML block
//! <!-- kubelab:step 03-secret-files --> the step's verified command and output
//! <!-- /kubelab -->                 ends every generated block
//! ```
//!
//! Every step of the scenario must be shown once, in order, so the page shows exactly what
//! `cargo test` verified and what `cargo xtask lab N` walks.

use crate::lab::Found;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const OPEN: &str = "<!-- kubelab:";
const CLOSE: &str = "<!-- /kubelab -->";

/// One page's text as it is and as it should be.
pub struct Page {
    pub path: PathBuf,
    pub current: String,
    pub generated: String,
}

/// The pages of every lab with their generated blocks filled; an error names the file and
/// line of a bad marker or a step the page does not show.
pub fn pages(root: &Path, labs: &[Found]) -> Result<Vec<Page>> {
    let src = root.join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md"))
        .with_context(|| format!("reading {}", src.join("SUMMARY.md").display()))?;
    let mut out = Vec::new();
    for found in labs {
        let folder = found
            .lab
            .scenario
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("a scenario folder without a name")?;
        let file = format!("labs/{folder}.md");
        let path = src.join(&file);
        let current = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "lab {} has no course page: write {} with a `<!-- kubelab:step NAME -->` marker per step",
                found.lab.number,
                path.display()
            )
        })?;
        if !summary.contains(&format!("({file})")) {
            bail!(
                "{}: lab {}'s page {file} is not listed",
                src.join("SUMMARY.md").display(),
                found.lab.number
            );
        }
        let generated = fill(&path, &current, found)?;
        out.push(Page {
            path,
            current,
            generated,
        });
    }
    Ok(out)
}

/// `text` with every generated block replaced by what the scenario and snapshots say.
fn fill(path: &Path, text: &str, found: &Found) -> Result<String> {
    let scenario = &found.lab.scenario;
    let mut out = String::new();
    let mut lines = text.lines().enumerate();
    let mut shown: Vec<(usize, &str)> = Vec::new();
    while let Some((i, line)) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(marker) = line.trim().strip_prefix(OPEN) else {
            continue;
        };
        let at = || format!("{}:{}", path.display(), i + 1);
        let Some(marker) = marker.strip_suffix("-->") else {
            bail!("{}: a marker ends with `-->` on its own line", at());
        };
        let mut words = marker.split_whitespace();
        let body = match (words.next(), words.next(), words.next()) {
            (Some("goals"), None, _) => scenario
                .goals
                .iter()
                .map(|g| format!("- {g}\n"))
                .collect::<String>(),
            (Some("manifest"), Some(name), None) => manifest_block(found, name, &at)?,
            (Some("step"), Some(name), None) => {
                let (index, body) = step_block(found, name, &at)?;
                shown.push((index, name));
                body
            }
            _ => bail!(
                "{}: unknown marker `{}`; use goals, manifest FILE or step NAME",
                at(),
                line.trim()
            ),
        };
        out.push_str(&body);
        // Skip the old block up to and including its end marker.
        loop {
            match lines.next() {
                Some((_, l)) if l.trim() == CLOSE => break,
                Some((_, l)) if l.trim().starts_with(OPEN) => {
                    bail!("{}: the block is not closed with `{CLOSE}`", at())
                }
                Some(_) => {}
                None => bail!("{}: the block is not closed with `{CLOSE}`", at()),
            }
        }
        out.push_str(CLOSE);
        out.push('\n');
    }
    every_step_once(path, found, &shown)?;
    Ok(out)
}

/// The block of a `manifest NAME` marker, written at `at`: the manifest as a YAML block.
fn manifest_block(found: &Found, name: &str, at: &dyn Fn() -> String) -> Result<String> {
    let file = found.lab.scenario.dir.join(name);
    let yaml = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: no manifest {} in the scenario", at(), file.display()))?;
    Ok(format!("```yaml\n# {name}\n{}\n```\n", yaml.trim_end()))
}

/// The block of a `step NAME` marker, written at `at`: the step's index and its verified
/// command and output, as the course shows them.
fn step_block(found: &Found, name: &str, at: &dyn Fn() -> String) -> Result<(usize, String)> {
    let scenario = &found.lab.scenario;
    let Some(index) = scenario.steps.iter().position(|s| s.name == name) else {
        let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
        bail!(
            "{}: lab {} has no step {name}; its steps are {}",
            at(),
            found.lab.number,
            names.join(", ")
        );
    };
    let snap = found.lab.snapshot_name(&scenario.steps[index]);
    let Some(body) = crate::lab::verified(&found.snapshots, &snap) else {
        bail!(
            "{}: step {name} has no verified snapshot ({snap}.snap); run `cargo test` and review it first",
            at()
        );
    };
    let shown = scenario.steps[index].shown(&body);
    Ok((index, page_block(&shown)))
}

/// A verified transcript as the page shows it: the command and its output in a console
/// block, what it wrote to stderr in a block of its own (styled by `theme/kubelab.css`),
/// and its exit code when not 0; the snapshot's markers (`[stderr]`, `[exit N]`,
/// `[no newline at end of output]`) stay in the snapshot.
fn page_block(shown: &str) -> String {
    let mut lines: Vec<&str> = shown
        .lines()
        .filter(|l| *l != "[no newline at end of output]")
        .collect();
    let exit = lines
        .last()
        .and_then(|l| l.strip_prefix("[exit ").and_then(|l| l.strip_suffix(']')))
        .map(str::to_string);
    if exit.is_some() {
        lines.pop();
    }
    let (out, err) = match lines.iter().position(|l| *l == "[stderr]") {
        Some(at) => (&lines[..at], &lines[at + 1..]),
        None => (&lines[..], &lines[..0]),
    };
    let mut block = format!("```console\n{}\n```\n", out.join("\n"));
    if !err.is_empty() {
        let escaped = err
            .join("\n")
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        block.push_str(&format!(
            "\n<pre class=\"kubelab-stderr\"><code>{escaped}</code></pre>\n"
        ));
    }
    if let Some(code) = exit {
        block.push_str(&format!(
            "\n<p class=\"kubelab-exit\">exit code {code}</p>\n"
        ));
    }
    block
}

/// Checks that the page at `path` shows every step of the lab once, in scenario order;
/// `shown` holds the index and name of each step block, in page order.
fn every_step_once(path: &Path, found: &Found, shown: &[(usize, &str)]) -> Result<()> {
    // Every step once, in scenario order.
    for (k, step) in found.lab.scenario.steps.iter().enumerate() {
        let times = shown.iter().filter(|(i, _)| *i == k).count();
        if times != 1 {
            bail!(
                "{}: step {} is shown {times} times; show every step of the lab once (`<!-- kubelab:step {} -->`)",
                path.display(),
                step.name,
                step.name
            );
        }
    }
    if shown.windows(2).any(|w| w[0].0 > w[1].0) {
        bail!(
            "{}: steps are shown out of order; the lab runs them as the scenario lists them",
            path.display()
        );
    }
    Ok(())
}

/// `docs --check`: the stale pages, by path; `docs`: writes them and builds the book.
pub fn run(root: &Path, labs: &[Found], check: bool) -> Result<i32> {
    let pages = pages(root, labs)?;
    let stale: Vec<&Page> = pages.iter().filter(|p| p.current != p.generated).collect();
    if check {
        if stale.is_empty() {
            println!("docs: {} lab pages up to date", pages.len());
            return Ok(0);
        }
        for p in &stale {
            eprintln!(
                "stale: {} differs from its scenario and snapshots:\n{}",
                p.path.strip_prefix(root).unwrap_or(&p.path).display(),
                crate::lab::diff(&p.current, &p.generated)
            );
        }
        eprintln!("run `cargo xtask docs` to regenerate them");
        return Ok(1);
    }
    for p in &stale {
        std::fs::write(&p.path, &p.generated)
            .with_context(|| format!("writing {}", p.path.display()))?;
        println!(
            "wrote {}",
            p.path.strip_prefix(root).unwrap_or(&p.path).display()
        );
    }
    let book = mdbook::MDBook::load(root.join("docs"))
        .map_err(|e| anyhow::anyhow!("loading docs/book.toml: {e:#}"))?;
    book.build()
        .map_err(|e| anyhow::anyhow!("building the book: {e:#}"))?;
    println!(
        "the course is in {}",
        root.join("docs/book/index.html").display()
    );
    Ok(0)
}
