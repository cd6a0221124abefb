//! What a run of the suite found, and its verdict against `known-differences.txt`.

use crate::known::Known;
use std::process::ExitCode;

/// The counts of one run, and the cases that need a look.
#[derive(Default)]
pub struct Tally {
    pub cases: usize,
    pub identical: usize,
    pub known_differ: usize,
    /// Not compared, with why (the replay's answers that depend on a running pod).
    pub not_compared: usize,
    /// Differ and are not listed: each with its diff.
    pub new: Vec<(String, String)>,
    /// Listed, and now identical.
    pub fixed: Vec<String>,
    /// Every id that was compared, to find listed ids that no longer exist.
    pub seen: std::collections::BTreeSet<String>,
}

impl Tally {
    /// Counts one compared case: `diff` is `None` when the answers are the same.
    pub fn count(&mut self, id: String, diff: Option<String>, known: &Known, show: bool) {
        self.cases += 1;
        self.seen.insert(id.clone());
        match (diff, known.contains_key(&id)) {
            (None, false) => self.identical += 1,
            (None, true) => {
                if !self.fixed.contains(&id) {
                    self.fixed.push(id)
                }
            }
            (Some(diff), true) => {
                self.known_differ += 1;
                if show || std::env::var_os("FIDELITY_SHOW").is_some() {
                    println!("known difference {id}:\n{diff}");
                }
            }
            (Some(diff), false) => self.new.push((id, diff)),
        }
    }

    /// Prints the diffs and the summary line; fails on a new difference, on a listed case
    /// now identical, and (for a whole run) on a listed case that no longer exists.
    pub fn report(&self, what: &str, known: &Known, whole: bool) -> ExitCode {
        for (id, diff) in &self.new {
            println!("DIFFERS {id}:\n{diff}");
        }
        println!(
            "{what}: {} compared, {} identical, {} known differences, {} new differences, {} fixed{}",
            self.cases,
            self.identical,
            self.known_differ,
            self.new.len(),
            self.fixed.len(),
            if self.not_compared > 0 {
                format!(
                    "; {} not compared (they depend on a running pod)",
                    self.not_compared
                )
            } else {
                String::new()
            }
        );
        for id in &self.fixed {
            println!(
                "now identical, remove it from known-differences.txt: {id} ({})",
                known[id]
            );
        }
        let mut failed = !self.new.is_empty() || !self.fixed.is_empty();
        if whole && self.cases > 0 {
            for id in known.keys().filter(|id| !self.seen.contains(*id)) {
                println!("known-differences.txt lists {id}, which did not run");
                failed = true;
            }
        }
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}
