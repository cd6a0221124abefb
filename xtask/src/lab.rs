//! `cargo xtask lab`: list the labs, or walk one step by step on a fresh cluster, showing
//! each command, its output, and whether it matches the verified snapshot.

use anyhow::{Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit codes of `lab N`, in one place.
pub mod exit {
    pub const MATCH: i32 = 0;
    pub const DIFFERS: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const BACKEND: i32 = 3;
}

pub struct Found {
    pub lab: harness::Lab,
    /// The lab crate's snapshot folder.
    pub snapshots: PathBuf,
}

/// Every lab under `scenarios/`, by number.
pub fn discover(root: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .context("reading scenarios/")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let lab = harness::Lab::from_dir(&d).map_err(|e| anyhow::anyhow!("{e}"))?;
        let prefix = format!("lab{:02}-", lab.number);
        let snapshots = std::fs::read_dir(root.join("labs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .map(|p| p.join("snapshots"))
            .unwrap_or_default();
        out.push(Found { lab, snapshots });
    }
    Ok(out)
}

/// One line per lab: number, title, summary.
pub fn list(labs: &[Found], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for f in labs {
        writeln!(
            out,
            "{:>2}  {:<20} {}",
            f.lab.number, f.lab.scenario.title, f.lab.scenario.summary
        )?;
    }
    Ok(())
}

/// The verified text of a step: the snapshot file's body after insta's header.
fn verified(snapshots: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(snapshots.join(format!("{name}.snap"))).ok()?;
    let body = text.splitn(3, "---\n").nth(2)?;
    Some(body.to_string())
}

fn diff(expected: &str, actual: &str) -> String {
    let d = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "- ",
            similar::ChangeTag::Insert => "+ ",
            similar::ChangeTag::Equal => continue,
        };
        out.push_str(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Walks one lab; returns the exit code.
pub fn walk(found: &Found, backend_name: Option<&str>, yes: bool) -> Result<i32> {
    let backend = match backend_name {
        None => backends::from_env(),
        Some("embedded") => Ok(Box::new(backends::Embedded) as Box<dyn harness::Backend>),
        Some(other) => Err(format!(
            "the {other} backend is not built yet; use --backend embedded"
        )),
    };
    let backend = match backend {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::BACKEND);
        }
    };
    let interactive = !yes && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let lab = &found.lab;
    println!(
        "Lab {}: {}\n{}\n",
        lab.number, lab.scenario.title, lab.scenario.summary
    );
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let started = std::time::Instant::now();
    eprint!("starting the {} cluster... ", backend.name());
    let cluster = match rt.block_on(backend.start()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\nerror: {e}");
            return Ok(exit::BACKEND);
        }
    };
    eprintln!("ready in {:.1} s", started.elapsed().as_secs_f64());
    let info = cluster.info().clone();
    let mut differs = 0;
    let result = (|| -> Result<()> {
        let mut runner = harness::run::Runner::new(&info, &lab.scenario);
        for step in &lab.scenario.steps {
            if let Some(n) = &step.narration {
                println!("{}", n.trim_end());
            }
            match runner.plan(step) {
                Ok(plan) => println!("$ {}", plan.shown),
                Err(e) => {
                    println!("✗ {e}");
                    differs += 1;
                    continue;
                }
            }
            if interactive {
                print!("  (Enter to run) ");
                std::io::stdout().flush()?;
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
            }
            let t = match runner.step(step) {
                Ok(t) => t,
                Err(e) => {
                    println!("✗ {e}");
                    differs += 1;
                    continue;
                }
            };
            print!("{}", t.stdout);
            if !t.stdout.is_empty() && !t.stdout.ends_with('\n') {
                println!();
            }
            eprint!("{}", t.stderr);
            let name = format!("lab{:02}__{}", lab.number, step.name);
            let actual = harness::redact::redact(&t.render(), &info.redact);
            match verified(&found.snapshots, &name) {
                Some(expected) if expected.trim_end() == actual.trim_end() => {
                    println!("✓ matches the verified output\n")
                }
                Some(expected) => {
                    differs += 1;
                    println!(
                        "✗ differs from the verified output ({name}):\n{}",
                        diff(&expected, &actual)
                    );
                }
                None => {
                    differs += 1;
                    println!("✗ no verified output for {name} yet\n");
                }
            }
        }
        Ok(())
    })();
    rt.block_on(cluster.stop());
    result?;
    Ok(if differs == 0 {
        exit::MATCH
    } else {
        exit::DIFFERS
    })
}
