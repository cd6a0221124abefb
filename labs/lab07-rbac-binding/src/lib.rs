//! Lab 7: grant a service account a Role.
//! Its scenario is `scenarios/07-rbac-binding/`.

use std::path::PathBuf;

/// The scenario's folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/07-rbac-binding")
}

/// The lab, checked.
pub fn lab() -> harness::Lab {
    harness::Lab::from_dir(&dir()).unwrap_or_else(|e| panic!("{e}"))
}
