//! Lab 1: reach the API server from the host through `kubectl proxy`.
//! Its scenario is `scenarios/01-proxy-access/`.

use std::path::PathBuf;

/// The scenario's folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/01-proxy-access")
}

/// The lab, checked.
pub fn lab() -> harness::Lab {
    harness::Lab::from_dir(&dir()).unwrap_or_else(|e| panic!("{e}"))
}
