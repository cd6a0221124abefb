//! The differences not yet fixed: `known-differences.txt`, one line per case,
//! `<area>/<case name>: why it differs`. A listed case must still differ (once fixed, its
//! line goes), and a case not listed must be identical, so the list only ever shrinks to
//! what is true.

use std::collections::BTreeMap;
use std::path::Path;

/// `area/case` → why.
pub type Known = BTreeMap<String, String>;

/// The listed differences whose id starts with `prefix` (`replay/` for the replay of the
/// labs' traffic, `` for all).
pub fn read(path: &Path, prefix: &str) -> Result<Known, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut known = Known::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((case, why)) = line.split_once(": ") else {
            return Err(format!(
                "{}:{}: expected `<area>/<case>: why`, found {line:?}",
                path.display(),
                n + 1
            ));
        };
        if !case.starts_with(prefix) {
            continue;
        }
        if known.insert(case.to_string(), why.to_string()).is_some() {
            return Err(format!(
                "{}:{}: {case} is listed twice",
                path.display(),
                n + 1
            ));
        }
    }
    Ok(known)
}
