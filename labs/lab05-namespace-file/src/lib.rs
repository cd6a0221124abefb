//! Lab 5: the pod's namespace, and what its service account may not do.
//! Its scenario is `scenarios/05-namespace-file/`.

use std::path::PathBuf;

/// The scenario's folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/05-namespace-file")
}

/// The lab, checked.
pub fn lab() -> harness::Lab {
    harness::Lab::from_dir(&dir()).unwrap_or_else(|e| panic!("{e}"))
}
