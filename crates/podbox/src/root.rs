//! The container's root filesystem, built in its own mount namespace before it execs:
//! an image's root (its layers under the container's writable layer) with a minimal
//! `/dev` and a read-only `/sys`, or the host root read-only with a fresh `/tmp`; then a
//! fresh `/proc` and the pod's bind mounts.

use crate::ContainerSpec;
use crate::sys::make_tree_read_only;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::unistd::pivot_root;

/// Where the new root is put together before `pivot_root`: over the host's `/tmp`, a
/// directory every host has, in the container's private mount namespace. (Nothing may be
/// created for it: the launcher still has the host user's ids, which a mount of the
/// pod's own may not represent.)
const NEW_ROOT: &str = "/tmp";

/// An image's layers, opened while the launcher still has the host user's ids.
pub(crate) struct Layers {
    lower: std::fs::File,
    upper: std::fs::File,
    work: std::fs::File,
}

/// The first part of the container's root, while the launcher still has the host user's
/// ids (see `launcher::join_pod`): mounts made private, then the host root bound
/// read-only at `NEW_ROOT`, or, for an image, its layers opened (the pod's root may not
/// reach where they are kept; overlayfs takes the opened directories by their
/// `/proc/self/fd` names, and is mounted by the pod's root in `build_root`: it refuses a
/// mounter whose ids the pod's user namespace does not map).
pub(crate) fn stage(spec: &ContainerSpec) -> Result<Option<Layers>, String> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("making / private: {e}"))?;
    if let Some(image) = &spec.image {
        let open = |what: &str, dir: &str| {
            std::fs::File::open(dir).map_err(|e| format!("opening the {what} {dir}: {e}"))
        };
        return Ok(Some(Layers {
            lower: open("image root", &image.lower)?,
            upper: open("writable layer", &image.upper)?,
            work: open("writable layer's work directory", &image.work)?,
        }));
    }
    mount(
        Some("/"),
        NEW_ROOT,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .map_err(|e| format!("binding the host root: {e}"))?;
    make_tree_read_only(NEW_ROOT)?;
    Ok(None)
}

/// The image's root and the container's writable layer, as one overlay at `NEW_ROOT`.
/// In a user namespace overlayfs keeps its whiteouts in `user.*` extended attributes
/// (`userxattr`, Linux 5.11's `Documentation/filesystems/overlayfs.rst`).
fn mount_overlay(layers: &Layers) -> Result<(), String> {
    let fd = |f: &std::fs::File| format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(f));
    let data = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        fd(&layers.lower),
        fd(&layers.upper),
        fd(&layers.work)
    );
    mount(
        Some("overlay"),
        NEW_ROOT,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|e| format!("mounting the image's root: {e}"))
}

/// A fresh `/proc` for the container's PID namespace at `target`.
fn mount_proc(target: &std::path::Path) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(
        Some("proc"),
        target,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        none,
    )
    .map_err(|e| format!("mounting /proc: {e}"))
}

/// A container that joins another's root (`ContainerSpec::join`): only its working
/// directory is its own.
pub(crate) fn enter_joined(spec: &ContainerSpec) -> Result<(), String> {
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    std::env::set_current_dir(cwd).map_err(|e| format!("chdir {cwd}: {e}"))
}

/// The rest of the container's filesystem on the staged root: fresh `/proc`; for the
/// host's root a fresh `/tmp`, for an image's a minimal `/dev` and a read-only `/sys`;
/// the spec's bind mounts; then `pivot_root` into it.
/// `sources` are the spec's bind sources, held open: the scratch mount may hide their
/// host paths.
pub(crate) fn build_root(
    spec: &ContainerSpec,
    sources: &[std::fs::File],
    layers: Option<&Layers>,
) -> Result<(), String> {
    let none: Option<&str> = None;
    let root = NEW_ROOT;
    if let Some(layers) = layers {
        mount_overlay(layers)?;
        // An image need not have its mount points (distroless has no `/proc`): as runc
        // does, they are made in the container's writable layer, resolved within the root
        // (an image's `/dev` may be a symlink, which must not lead out of it).
        let mount_point = |p: &str| -> Result<std::path::PathBuf, String> {
            let path = resolve_in_root(root, p)?;
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("creating {}: {e}", path.display()))?;
            Ok(path)
        };
        let (proc, dev, sys) = (
            mount_point("/proc")?,
            mount_point("/dev")?,
            mount_point("/sys")?,
        );
        crate::devices::populate(&dev, &sys)?;
        mount_proc(&proc)?;
    } else {
        mount(
            Some("tmpfs"),
            &format!("{root}/tmp") as &str,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        )
        .map_err(|e| format!("mounting /tmp: {e}"))?;
    }
    if layers.is_none() {
        mount_proc(std::path::Path::new(&format!("{root}/proc")))?;
    }
    for (m, src) in spec.mounts.iter().zip(sources) {
        let is_dir = src.metadata().map(|md| md.is_dir()).unwrap_or(false);
        let target = ensure_mount_point(root, &m.target, is_dir)?;
        let src_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(src));
        mount(
            Some(src_path.as_str()),
            target.as_path(),
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        )
        .map_err(|e| format!("binding {} at {}: {e}", m.source, m.target))?;
        let target = target.display().to_string();
        if m.read_only {
            make_tree_read_only(&target)?;
        }
    }
    std::env::set_current_dir(root).map_err(|e| format!("chdir {root}: {e}"))?;
    pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detaching the old root: {e}"))?;
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    std::env::set_current_dir(cwd).map_err(|e| format!("chdir {cwd}: {e}"))?;
    Ok(())
}

/// `target` resolved under `root` the way it will resolve after `pivot_root`: symlinks
/// followed, absolute ones relative to `root` (so `/var/run` → `<root>/run`).
fn resolve_in_root(root: &str, target: &str) -> Result<std::path::PathBuf, String> {
    let mut pending: Vec<String> = target
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(String::from)
        .collect();
    let mut resolved = std::path::PathBuf::from(root);
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                if resolved != std::path::Path::new(root) {
                    resolved.pop();
                }
                continue;
            }
            _ => {}
        }
        let next = resolved.join(&part);
        match std::fs::read_link(&next) {
            Ok(link) => {
                hops += 1;
                if hops > 40 {
                    return Err(format!("too many symlinks resolving {target}"));
                }
                if link.is_absolute() {
                    resolved = std::path::PathBuf::from(root);
                }
                let comps: Vec<String> = link
                    .to_string_lossy()
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect();
                pending.extend(comps.into_iter().rev());
            }
            Err(_) => resolved = next,
        }
    }
    Ok(resolved)
}

/// Makes `target` exist under `root` and returns its resolved path: if a parent is
/// missing in the read-only host view, a tmpfs covers its deepest existing ancestor so
/// the path can be created.
fn ensure_mount_point(root: &str, target: &str, dir: bool) -> Result<std::path::PathBuf, String> {
    let full = resolve_in_root(root, target)?;
    let path = full.as_path();
    if path.exists() {
        return Ok(full);
    }
    let mut ancestor = path.parent();
    while let Some(a) = ancestor {
        if a.exists() {
            break;
        }
        ancestor = a.parent();
    }
    let ancestor = ancestor.ok_or_else(|| format!("no ancestor of {target}"))?;
    let probe = ancestor.join(".podbox-probe");
    if std::fs::create_dir(&probe).is_ok() {
        let _ = std::fs::remove_dir(&probe);
    } else {
        let none: Option<&str> = None;
        mount(
            Some("tmpfs"),
            ancestor,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        )
        .map_err(|e| format!("mounting a tmpfs at {}: {e}", ancestor.display()))?;
        let _ = none;
    }
    if dir {
        std::fs::create_dir_all(path).map_err(|e| format!("creating {target}: {e}"))?;
    } else {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("creating {}: {e}", p.display()))?;
        }
        std::fs::write(path, b"").map_err(|e| format!("creating {target}: {e}"))?;
    }
    Ok(full)
}
