//! The content-addressed store: an OCI image layout under the user's cache directory.
//!
//! Blobs are written to a temporary file, hashed on the way, and renamed into
//! `blobs/sha256/<hex>` only when their digest is the one expected, so a blob in the
//! store is always whole and verified. `index.json` is rewritten under a lock and renamed
//! into place, so concurrent clusters never lose each other's entries.

use crate::{Error, ImageConfig, Result, io};
use oci_spec::distribution::Reference;
use oci_spec::image::{
    Descriptor, Digest, ImageConfiguration, ImageIndex, ImageIndexBuilder, ImageManifest,
    MediaType, OciLayoutBuilder, Sha256Digest,
};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The annotation naming the reference an entry of `index.json` was stored under
/// (image-spec `annotations.md`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One user's image store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A stored image, resolved for this machine's platform.
#[derive(Debug, Clone)]
pub struct Image {
    pub reference: Reference,
    /// The digest the reference names: an image index's for a multi-platform image, else
    /// the manifest's. The kubelet reports `<repository>@<digest>` as the `imageID`.
    pub digest: Digest,
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    pub config: ImageConfig,
    /// The image's size as a registry counts it: config and compressed layers.
    pub size: u64,
}

impl Image {
    /// `imageID` as the kubelet reports it with containerd: the repository and digest.
    pub fn id(&self) -> String {
        format!(
            "{}/{}@{}",
            self.reference.registry(),
            self.reference.repository(),
            self.digest
        )
    }
}

/// This machine's platform as OCI names it (`GOARCH`).
pub fn platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    ("linux", arch)
}

impl Store {
    /// The store at `root`, made if it is not there.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        for dir in [store.blobs_dir(), store.tmp_dir(), store.roots_dir()] {
            fs::create_dir_all(&dir).map_err(io("making", &dir))?;
        }
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            let text = OciLayoutBuilder::default()
                .image_layout_version("1.0.0")
                .build()
                .map_err(|e| Error::NoStore(e.to_string()))?;
            let json = serde_json::to_vec(&text).map_err(|e| Error::NoStore(e.to_string()))?;
            store.write_atomic(&layout, &json)?;
        }
        store.sweep();
        Ok(store)
    }

    /// Removes what an unpacking or a download killed half-way left behind: work
    /// directories and temporary files over an hour old (a live one is younger).
    fn sweep(&self) {
        const STALE: std::time::Duration = std::time::Duration::from_secs(3600);
        let now = std::time::SystemTime::now();
        let stale = |e: &fs::DirEntry| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE))
        };
        for dir in [self.tmp_dir(), self.roots_dir()] {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name();
                let work =
                    dir == self.tmp_dir() || name.to_string_lossy().starts_with(".unpacking-");
                if work && stale(&entry) {
                    let _ = crate::remove_tree(&entry.path());
                }
            }
        }
    }

    /// The user's store: `$KUBELAB_IMAGES`, else `$XDG_CACHE_HOME/kubelab/images`, else
    /// `~/.cache/kubelab/images`.
    pub fn user_default() -> Result<Store> {
        if let Some(dir) = std::env::var_os("KUBELAB_IMAGES").filter(|d| !d.is_empty()) {
            return Store::open(PathBuf::from(dir));
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .ok_or_else(|| {
                Error::NoStore("neither KUBELAB_IMAGES, XDG_CACHE_HOME nor HOME is set".into())
            })?;
        Store::open(cache.join("kubelab").join("images"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn roots_dir(&self) -> PathBuf {
        self.root.join("rootfs")
    }

    /// Where the blob of `digest` is (or would be).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.digest())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` and returns their digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = sha256_digest(&hex(Sha256::digest(bytes)));
        self.put_blob_from(bytes, &digest)?;
        Ok(digest)
    }

    /// Stores what `reader` yields as the blob `expected`, refusing it (and keeping
    /// nothing) when its digest differs. Returns its size.
    pub fn put_blob_from(&self, mut reader: impl Read, expected: &Digest) -> Result<u64> {
        let tmp_dir = self.tmp_dir();
        let mut tmp =
            tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io("writing in", &tmp_dir))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(io("reading blob for", &tmp_dir))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(io("writing", tmp.path()))?;
            size += n as u64;
        }
        let actual = hex(hasher.finalize());
        if actual != expected.digest() {
            return Err(Error::DigestMismatch {
                expected: expected.to_string(),
                actual: format!("sha256:{actual}"),
                size,
            });
        }
        tmp.as_file()
            .sync_all()
            .map_err(io("syncing", tmp.path()))?;
        let dest = self.blob_path(expected);
        tmp.persist(&dest).map_err(|e| Error::Io {
            what: "storing",
            path: dest.clone(),
            source: e.error,
        })?;
        Ok(size)
    }

    /// The blob of `digest`, checked against it.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(io("reading", &path))?;
        let actual = hex(Sha256::digest(&bytes));
        if actual != digest.digest() {
            return Err(Error::DigestMismatch {
                expected: digest.to_string(),
                actual: format!("sha256:{actual}"),
                size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        digest: &Digest,
    ) -> Result<T> {
        serde_json::from_slice(&self.read_blob(digest)?).map_err(|e| Error::Invalid {
            what,
            digest: digest.to_string(),
            message: e.to_string(),
        })
    }

    /// Names `descriptor` (a manifest or an image index already stored) `reference`,
    /// replacing what the reference named before.
    pub fn tag(&self, reference: &Reference, descriptor: &Descriptor) -> Result<()> {
        let name = reference.whole();
        self.with_index(|index| {
            let mut manifests: Vec<Descriptor> = index
                .manifests()
                .iter()
                .filter(|d| ref_name(d) != Some(name.as_str()))
                .cloned()
                .collect();
            let mut d = descriptor.clone();
            let mut annotations: HashMap<String, String> =
                d.annotations().clone().unwrap_or_default();
            annotations.insert(REF_NAME.into(), name.clone());
            d.set_annotations(Some(annotations));
            manifests.push(d);
            index.set_manifests(manifests);
        })
    }

    /// The descriptor `reference` names, if stored.
    pub fn lookup(&self, reference: &Reference) -> Result<Option<Descriptor>> {
        let name = reference.whole();
        let index = self.read_index()?;
        Ok(index
            .manifests()
            .iter()
            .find(|d| ref_name(d) == Some(name.as_str()))
            .cloned())
    }

    /// The image `reference` names, for this machine's platform, if stored.
    pub fn image(&self, reference: &Reference) -> Result<Option<Image>> {
        let Some(top) = self.lookup(reference)? else {
            return Ok(None);
        };
        let manifest_desc = match top.media_type() {
            MediaType::ImageIndex => {
                let index: ImageIndex = self.read_json("image index", top.digest())?;
                this_platform(reference, &index)?
            }
            _ => top.clone(),
        };
        let manifest: ImageManifest = self.read_json("image manifest", manifest_desc.digest())?;
        let config: ImageConfiguration =
            self.read_json("image config", manifest.config().digest())?;
        let size =
            manifest.config().size() + manifest.layers().iter().map(Descriptor::size).sum::<u64>();
        Ok(Some(Image {
            reference: reference.clone(),
            digest: top.digest().clone(),
            manifest_digest: manifest_desc.digest().clone(),
            manifest,
            config: ImageConfig::of(&config),
            size,
        }))
    }

    /// Copies the image `reference` names, with every blob it needs, into `to` under the
    /// same reference.
    pub fn copy_image(&self, reference: &Reference, to: &Store) -> Result<()> {
        let top = self.lookup(reference)?.ok_or_else(|| Error::Invalid {
            what: "image",
            digest: reference.whole(),
            message: "not in the store".into(),
        })?;
        let image = self.image(reference)?.ok_or_else(|| Error::Invalid {
            what: "image",
            digest: reference.whole(),
            message: "not in the store".into(),
        })?;
        let mut blobs = vec![top.digest().clone(), image.manifest_digest.clone()];
        blobs.push(image.manifest.config().digest().clone());
        blobs.extend(image.manifest.layers().iter().map(|l| l.digest().clone()));
        for digest in blobs {
            if !to.has_blob(&digest) {
                let path = self.blob_path(&digest);
                let file = File::open(&path).map_err(io("reading", &path))?;
                to.put_blob_from(file, &digest)?;
            }
        }
        to.tag(reference, &top)
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn read_index(&self) -> Result<ImageIndex> {
        let path = self.index_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
                what: "image index",
                digest: path.display().to_string(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ImageIndexBuilder::default()
                .schema_version(2u32)
                .manifests(Vec::new())
                .build()
                .map_err(|e| Error::NoStore(e.to_string())),
            Err(e) => Err(io("reading", &path)(e)),
        }
    }

    /// Changes `index.json` under the store's lock.
    fn with_index(&self, change: impl FnOnce(&mut ImageIndex)) -> Result<()> {
        let lock_path = self.root.join("index.lock");
        let lock = File::create(&lock_path).map_err(io("opening", &lock_path))?;
        lock.lock().map_err(io("locking", &lock_path))?;
        let mut index = self.read_index()?;
        change(&mut index);
        let json = serde_json::to_vec_pretty(&index).map_err(|e| Error::NoStore(e.to_string()))?;
        self.write_atomic(&self.index_path(), &json)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("writing in", dir))?;
        tmp.write_all(bytes).map_err(io("writing", tmp.path()))?;
        tmp.as_file()
            .sync_all()
            .map_err(io("syncing", tmp.path()))?;
        tmp.persist(path).map_err(|e| Error::Io {
            what: "replacing",
            path: path.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// This platform's entry of an image index.
pub(crate) fn this_platform(reference: &Reference, index: &ImageIndex) -> Result<Descriptor> {
    let (os, arch) = platform();
    index
        .manifests()
        .iter()
        .find(|d| {
            d.platform()
                .as_ref()
                .is_some_and(|p| p.os().to_string() == os && p.architecture().to_string() == arch)
        })
        .cloned()
        .ok_or_else(|| Error::NoPlatform {
            reference: reference.whole(),
            platform: format!("{os}/{arch}"),
        })
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations().as_ref()?.get(REF_NAME).map(String::as_str)
}

/// A SHA-256 as lowercase hex (the digest output's own `LowerHex`).
pub(crate) fn hex(hash: impl std::fmt::LowerHex) -> String {
    format!("{hash:x}")
}

/// `sha256:<hex>` as a digest; `hex` is 64 lowercase hex digits.
pub(crate) fn sha256_digest(hex: &str) -> Digest {
    Sha256Digest::from_str(hex)
        .expect("a SHA-256 digest in hex is valid")
        .into()
}
