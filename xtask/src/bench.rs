//! `cargo xtask bench`: every benchmark in one command, and one table of their figures.
//!
//! Each benchmark is a `harness = false` bench target that measures its figures against
//! a baseline in the same run and reports them as `testkit::bench::Row`s; this runs them
//! in release mode with `KUBELAB_BENCH_ROWS` pointing at one file and prints the table.

use anyhow::{Context, Result, bail};
use std::path::Path;
use testkit::bench::{ROWS, Row};

/// The benchmarks, as `cargo bench` names them: package and bench target.
const BENCHES: &[(&str, &str)] = &[
    ("apiserver", "server"),
    ("kubelet", "pods"),
    ("backends", "reference"),
    ("backends", "node"),
];

pub fn run(root: &Path) -> Result<i32> {
    let rows_file = tempfile::NamedTempFile::new().context("creating the rows file")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for (package, bench) in BENCHES {
        eprintln!("== cargo bench -p {package} --bench {bench}");
        let status = std::process::Command::new(&cargo)
            .args(["bench", "-p", package, "--bench", bench])
            .env(ROWS, rows_file.path())
            .current_dir(root)
            .status()
            .with_context(|| format!("running cargo bench -p {package}"))?;
        if !status.success() {
            bail!("the {package} benchmark failed ({status})");
        }
    }
    let text = std::fs::read_to_string(rows_file.path()).context("reading the rows file")?;
    let rows: Vec<Row> = text.lines().filter_map(Row::parse).collect();
    if rows.is_empty() {
        bail!("the benchmarks reported no figures");
    }
    println!("\n{}", table(&rows));
    let missed = rows.iter().filter(|r| r.met == Some(false)).count();
    if missed > 0 {
        println!("{missed} target(s) missed on this machine");
    }
    Ok(0)
}

/// The rows as an aligned table.
fn table(rows: &[Row]) -> String {
    let header = ["figure", "measured", "target", "", "baseline (same run)"];
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.as_str(),
                r.value.as_str(),
                r.target.as_str(),
                r.verdict(),
                r.baseline.as_str(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |c: &[&str; 5]| {
        let mut out = String::new();
        for (i, cell) in c.iter().enumerate() {
            if i == 4 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&header);
    out.push('\n');
    for c in &cells {
        out.push_str(&line(c));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_its_columns() {
        let rows = [
            Row {
                figure: "exec round trip".into(),
                value: "9.1 ms".into(),
                target: "<= 10 ms".into(),
                met: Some(true),
                baseline: "host `true`: 0.9 ms".into(),
            },
            Row {
                figure: "RSS".into(),
                value: "12.0 MiB".into(),
                target: "<= 50 MB".into(),
                met: Some(false),
                baseline: "".into(),
            },
        ];
        let expected = [
            "figure           measured  target            baseline (same run)",
            "exec round trip  9.1 ms    <= 10 ms  met     host `true`: 0.9 ms",
            "RSS              12.0 MiB  <= 50 MB  MISSED",
        ];
        assert_eq!(table(&rows), expected.join("\n") + "\n");
    }
}
