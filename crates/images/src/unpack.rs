//! An image's layers applied in order into one root, as a container runtime's snapshotter
//! does (image-spec `layer.md`): a `.wh.<name>` entry deletes `<name>` from the layers
//! below, a `.wh..wh..opq` entry hides everything the layers below put in its directory,
//! and device nodes and FIFOs, which need privileges to make, are skipped.
//!
//! Rootless-safe: entries are unpacked with `tar`'s `unpack_in`, which refuses paths that
//! leave the root (through `..` or a symlink), ownership is kept only when running as root,
//! and directories stay writable while later layers are applied and get their own modes
//! back at the end.

use crate::store::{Image, Store};
use crate::{Error, Result, io};
use oci_spec::image::{Descriptor, MediaType};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Who owns an unpacked root's files.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    /// Whoever unpacks it (the layers' owners are kept only when that is root).
    Unpacker,
    /// Every file given to this host uid and gid: a pod whose user namespace maps its
    /// root to one host id sees every file of the image as its own.
    Ids(u32, u32),
    /// Each file's layer owner moved up by these host ids (uid N becomes `uid + N`): a pod
    /// whose user namespace maps its ids from there sees the owners the image gives (the
    /// unpacker must be root).
    Shifted(u32, u32),
    /// Each file's layer owner given by `GiveOwners`, for a pod whose ids only a process
    /// in its user namespace may give files to (a rootless host user's subordinate ids):
    /// the unpacker's own files are the pod root's.
    GivenBy(&'a dyn GiveOwners),
}

/// Gives an unpacked root's files to the owners their layers name (`Owner::GivenBy`).
pub trait GiveOwners: Sync {
    /// Names the owners' mapping, so that roots of different mappings are kept apart.
    fn name(&self) -> String;
    /// Gives each file under `root` its owner, and puts its mode back.
    fn give(&self, root: &Path, owners: &[LayerOwner]) -> std::result::Result<(), String>;
    /// Removes `root`, whose files the unpacker may no longer own.
    fn remove(&self, root: &Path) -> std::result::Result<(), String>;
}

/// A file an image's layers give to ids other than root's, as its last layer entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerOwner {
    /// Relative to the root.
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// The owner each unpacked path's last layer entry names.
type Owners = BTreeMap<PathBuf, (u32, u32, u32)>;

impl Store {
    /// The root of `image`, unpacked from its layers the first time it is asked for and
    /// shared (read-only by convention) by every container of the image after that.
    pub fn rootfs(&self, image: &Image) -> Result<PathBuf> {
        self.rootfs_owned(image, Owner::Unpacker)
    }

    /// `rootfs`, its files owned by `owner` (a root of its own per owner).
    pub fn rootfs_owned(&self, image: &Image, owner: Owner) -> Result<PathBuf> {
        let name = match owner {
            Owner::Unpacker => image.manifest_digest.digest().to_string(),
            Owner::Ids(uid, gid) => format!("{}.{uid}.{gid}", image.manifest_digest.digest()),
            Owner::Shifted(uid, gid) => {
                format!("{}.from{uid}.{gid}", image.manifest_digest.digest())
            }
            Owner::GivenBy(giver) => {
                format!("{}.{}", image.manifest_digest.digest(), giver.name())
            }
        };
        let dest = self.roots_dir().join(name);
        if dest.is_dir() {
            return Ok(dest);
        }
        if matches!(owner, Owner::Shifted(..)) && !running_as_root() {
            return Err(io("shifting the owners of", &dest)(std::io::Error::other(
                "only root may give files to other users",
            )));
        }
        let roots = self.roots_dir();
        let work = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(&roots)
            .map_err(io("unpacking in", &roots))?;
        let root = work.path().join("rootfs");
        fs::create_dir(&root).map_err(io("making", &root))?;
        let mut modes = BTreeMap::new();
        let keep_owners =
            running_as_root() && matches!(owner, Owner::Unpacker | Owner::Shifted(..));
        let mut owners = matches!(owner, Owner::GivenBy(_)).then(Owners::new);
        for layer in image.manifest.layers() {
            apply_layer(self, layer, &root, keep_owners, &mut modes, owners.as_mut())?;
        }
        // Deepest first, so a read-only parent does not stop its children; only what is
        // still a directory within the root (a later layer may have put a symlink there).
        let real_root = root.canonicalize().map_err(io("resolving", &root))?;
        for (path, mode) in modes.iter().rev() {
            let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
            let within = path.canonicalize().is_ok_and(|p| p.starts_with(&real_root));
            if is_dir && within {
                let _ = fs::set_permissions(path, fs::Permissions::from_mode(*mode));
            }
        }
        match owner {
            Owner::Ids(uid, gid) => {
                chown_tree(&root, &|_, _| (uid, gid), false).map_err(io("giving away", &root))?
            }
            Owner::Shifted(uid, gid) => chown_tree(
                &root,
                &|u, g| (uid.saturating_add(u), gid.saturating_add(g)),
                true,
            )
            .map_err(io("shifting the owners of", &root))?,
            Owner::GivenBy(giver) => {
                // What the layers name but is gone from the root (a whiteout through a
                // link, a directory a later one replaced) has no owner to give.
                let given: Vec<LayerOwner> = owners
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, (uid, gid, _))| (*uid, *gid) != (0, 0))
                    .filter(|(path, _)| fs::symlink_metadata(root.join(path)).is_ok())
                    .map(|(path, (uid, gid, mode))| LayerOwner {
                        path,
                        uid,
                        gid,
                        mode,
                    })
                    .collect();
                if let Err(e) = giver.give(&root, &given) {
                    // Files given to the pod's ids are for it to remove.
                    let _ = giver.remove(&root);
                    return Err(io("giving away", &root)(std::io::Error::other(e)));
                }
            }
            Owner::Unpacker => {}
        }
        // Another process may have unpacked it meanwhile: either root is whole.
        match fs::rename(&root, &dest) {
            Ok(()) => {}
            Err(_) if dest.is_dir() => {
                if let Owner::GivenBy(giver) = owner {
                    let _ = giver.remove(&root);
                }
            }
            Err(e) => return Err(io("storing", &dest)(e)),
        }
        Ok(dest)
    }
}

/// Gives every file under `root` (itself included, symlinks not followed) the owner
/// `owner` maps its own to. A change of owner clears setuid and setgid bits (chown(2));
/// `keep_modes` puts them back, for owners that only move (`Owner::Shifted`), not for
/// files that change hands (`Owner::Ids`).
fn chown_tree(
    root: &Path,
    owner: &dyn Fn(u32, u32) -> (u32, u32),
    keep_modes: bool,
) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(root)?;
    let (uid, gid) = owner(meta.uid(), meta.gid());
    std::os::unix::fs::lchown(root, Some(uid), Some(gid))?;
    if keep_modes && !meta.file_type().is_symlink() {
        fs::set_permissions(root, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(root)? {
            chown_tree(&entry?.path(), owner, keep_modes)?;
        }
    }
    Ok(())
}

/// The layer's tar stream, decompressed as its media type says.
fn layer_reader(store: &Store, layer: &Descriptor) -> Result<Box<dyn Read>> {
    let path = store.blob_path(layer.digest());
    let file = fs::File::open(&path).map_err(io("opening layer", &path))?;
    let reader = std::io::BufReader::new(file);
    match layer.media_type() {
        MediaType::ImageLayerGzip => Ok(Box::new(flate2::read::GzDecoder::new(reader))),
        MediaType::ImageLayer => Ok(Box::new(reader)),
        MediaType::Other(t) if t == "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            Ok(Box::new(flate2::read::GzDecoder::new(reader)))
        }
        other => Err(Error::UnsupportedLayer {
            digest: layer.digest().to_string(),
            media_type: other.to_string(),
        }),
    }
}

/// Applies one layer onto `root`; `modes` collects the directories' own modes, and
/// `owners`, when asked for, the owner each entry names (what a whiteout deletes goes).
fn apply_layer(
    store: &Store,
    layer: &Descriptor,
    root: &Path,
    keep_owners: bool,
    modes: &mut BTreeMap<PathBuf, u32>,
    mut owners: Option<&mut Owners>,
) -> Result<()> {
    let digest = layer.digest().to_string();
    let fail = |message: String| Error::Layer {
        digest: digest.clone(),
        message,
    };
    let mut archive = tar::Archive::new(layer_reader(store, layer)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(keep_owners);
    archive.set_overwrite(true);
    let mut this_layer: HashSet<PathBuf> = HashSet::new();
    let entries = archive.entries().map_err(|e| fail(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(e.to_string()))?;
        let rel = clean(&entry.path().map_err(|e| fail(e.to_string()))?)
            .ok_or_else(|| fail("an entry's path leaves the root".into()))?;
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        if name == OPAQUE || name.starts_with(WHITEOUT) {
            // A whiteout deletes; through a symlink it could delete outside the root.
            if !inside(root, &parent) {
                return Err(fail(format!(
                    "{}: a whiteout outside the root",
                    rel.display()
                )));
            }
            if name != OPAQUE && matches!(&name[WHITEOUT.len()..], "" | "." | "..") {
                return Err(fail(format!("{}: a whiteout of no name", rel.display())));
            }
        }
        if name == OPAQUE {
            hide_lower(root, &parent, &this_layer).map_err(|e| fail(e.to_string()))?;
            if let Some(owners) = owners.as_deref_mut() {
                owners.retain(|p, _| {
                    !p.starts_with(&parent) || *p == parent || this_layer.contains(p)
                });
            }
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            let gone = parent.join(hidden);
            remove(&root.join(&gone)).map_err(|e| fail(e.to_string()))?;
            if let Some(owners) = owners.as_deref_mut() {
                owners.retain(|p, _| !p.starts_with(&gone));
            }
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_block_special() || kind.is_character_special() || kind.is_fifo() {
            continue;
        }
        // A file replacing a directory (or the reverse) replaces it whole, where the
        // entry's directory is within the root (`unpack_in` checks that only after).
        let target = root.join(&rel);
        if let Ok(meta) = fs::symlink_metadata(&target)
            && meta.is_dir() != kind.is_dir()
        {
            if !inside(root, &parent) {
                return Err(fail(format!(
                    "{}: an entry outside the root",
                    rel.display()
                )));
            }
            remove(&target).map_err(|e| fail(e.to_string()))?;
        }
        entry
            .unpack_in(root)
            .map_err(|e| fail(format!("{}: {}", rel.display(), with_causes(&e))))?;
        if let Some(owners) = owners.as_deref_mut() {
            let header = entry.header();
            let id = |n: std::io::Result<u64>| {
                n.ok().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                    fail(format!(
                        "{}: an owner that is not a 32-bit id",
                        rel.display()
                    ))
                })
            };
            let owner = (
                id(header.uid())?,
                id(header.gid())?,
                header.mode().unwrap_or(0),
            );
            // What is not a directory replaces whatever was there, and what was below it.
            if !kind.is_dir() {
                owners.retain(|p, _| !p.starts_with(&rel));
            }
            owners.insert(rel.clone(), owner);
        }
        if kind.is_dir() {
            let mode = entry.header().mode().unwrap_or(0o755) & 0o7777;
            modes.insert(target.clone(), mode);
            let _ = fs::set_permissions(&target, fs::Permissions::from_mode(mode | 0o700));
        }
        // The entry and the directories it implies belong to this layer.
        let mut p = rel.as_path();
        while this_layer.insert(p.to_path_buf()) {
            match p.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => p = parent,
                _ => break,
            }
        }
    }
    Ok(())
}

/// The entry path relative to the root, `None` if it climbs out.
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether `dir` (relative to `root`) resolves, symlinks followed, to a place within
/// `root`; a directory that does not exist holds nothing to delete, so it passes.
fn inside(root: &Path, dir: &Path) -> bool {
    let (Ok(root), full) = (root.canonicalize(), root.join(dir)) else {
        return false;
    };
    match full.canonicalize() {
        Ok(real) => real.starts_with(&root),
        Err(_) => !full.exists() && fs::symlink_metadata(&full).is_err(),
    }
}

/// An opaque directory: what lower layers put in `dir` goes; this layer's entries stay.
fn hide_lower(root: &Path, dir: &Path, this_layer: &HashSet<PathBuf>) -> std::io::Result<()> {
    let full = root.join(dir);
    let Ok(children) = fs::read_dir(&full) else {
        return Ok(());
    };
    for child in children {
        let child = child?;
        if !this_layer.contains(&dir.join(child.file_name())) {
            remove(&child.path())?;
        }
    }
    Ok(())
}

/// Removes a file, link or directory tree; nothing there is no error.
fn remove(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether this process may give files away (only root keeps the layers' owners).
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// An error and its causes, as one line (`tar` words the failure, its source the reason).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
