//! Container images for the embedded kubelet.
//!
//! Images live in one content-addressed store per user (`Store::user_default`: the XDG
//! cache directory), shared by every cluster and test. The store is an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`, image-spec `image-layout.md`), so any
//! OCI tool can read it; each image's entry in `index.json` carries the reference it was
//! stored under. References are read as containerd reads them (`docker.io` by default,
//! `library/` for official images, `:latest` when no tag is given), through
//! `oci_spec::distribution::Reference`.
//!
//! An image runs from a root unpacked once from its layers (`Store::rootfs`): whiteouts
//! and opaque directories honoured, device nodes skipped, nothing written outside the
//! root, and safe without privileges.

mod config;
pub mod debian;
pub mod distroless;
mod import;
pub mod kubectl;
mod pull;
mod store;
mod unpack;

pub use config::ImageConfig;
pub use import::NewImage;
pub use oci_spec::distribution::Reference;
pub use oci_spec::image::Digest;
pub use pull::{PullProgress, registry_client};
pub use store::{Image, Store, platform};
pub use unpack::{GiveOwners, LayerOwner, Owner};

/// This machine's architecture as OCI names it (`amd64`, `arm64`, ...).
pub fn platform_arch() -> &'static str {
    platform().1
}

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("blob {expected} does not match its digest (got {actual}, {size} bytes)")]
    DigestMismatch {
        expected: String,
        actual: String,
        size: u64,
    },
    #[error("{what} {digest} is not valid: {message}")]
    Invalid {
        what: &'static str,
        digest: String,
        message: String,
    },
    #[error("image {reference} has no manifest for {platform}")]
    NoPlatform { reference: String, platform: String },
    #[error("layer {digest} has media type {media_type}, which the embedded runtime cannot unpack")]
    UnsupportedLayer { digest: String, media_type: String },
    #[error("layer {digest}: {message}")]
    Layer { digest: String, message: String },
    #[error("pulling {reference}: {message}")]
    Pull { reference: String, message: String },
    #[error("building {reference}: {message}")]
    Build { reference: String, message: String },
    #[error("no image store: {0}")]
    NoStore(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Removes a tree the way `rm -rf` would for its owner, symlinks never followed: an image
/// container's overlay leaves a `work/work` directory with no permissions, and an
/// unpacked root read-only ones, which `remove_dir_all` cannot read, so directories are
/// opened up first. Nothing there is no error.
pub fn remove_tree(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return std::fs::remove_file(path);
    }
    if meta.permissions().mode() & 0o700 != 0o700 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    for entry in std::fs::read_dir(path)? {
        remove_tree(&entry?.path())?;
    }
    std::fs::remove_dir(path)
}

/// An I/O error with what was being done and where.
pub(crate) fn io(
    what: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { what, path, source }
}
