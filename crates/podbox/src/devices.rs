//! The minimal `/dev` and read-only `/sys` of a container that runs in an image's root,
//! as runc gives one (`opencontainers/runc` `libcontainer/rootfs_linux.go`, the default
//! devices of `libcontainer/specconv/spec_linux.go`): a tmpfs holding the host's `null`,
//! `zero`, `full`, `random`, `urandom` and `tty` bound in, the `fd` and std stream links,
//! a devpts instance of its own and a `shm` tmpfs.

use crate::sys::make_tree_read_only;
use nix::mount::{MsFlags, mount};

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

const LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

fn fs_mount(
    source: &str,
    target: &str,
    fstype: &str,
    flags: MsFlags,
    data: &str,
) -> Result<(), String> {
    mount(Some(source), target, Some(fstype), flags, Some(data))
        .map_err(|e| format!("mounting {fstype} at {target}: {e}"))
}

fn make_dir(path: &str) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("creating {path}: {e}"))
}

/// `/dev` and `/sys` at `dev` and `sys`, the image root's mount points (made, and
/// resolved within the root, before `pivot_root`).
pub(crate) fn populate(dev: &std::path::Path, sys: &std::path::Path) -> Result<(), String> {
    let none: Option<&str> = None;
    let dev = dev.display().to_string();
    fs_mount(
        "tmpfs",
        &dev,
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        "mode=755,size=65536k",
    )?;
    for name in DEVICES {
        let target = format!("{dev}/{name}");
        std::fs::write(&target, b"").map_err(|e| format!("creating {target}: {e}"))?;
        let host = format!("/dev/{name}");
        mount(
            Some(host.as_str()),
            target.as_str(),
            none,
            MsFlags::MS_BIND,
            none,
        )
        .map_err(|e| format!("binding {host}: {e}"))?;
    }
    for (name, to) in LINKS {
        let link = format!("{dev}/{name}");
        std::os::unix::fs::symlink(to, &link).map_err(|e| format!("linking {link}: {e}"))?;
    }
    let pts = format!("{dev}/pts");
    make_dir(&pts)?;
    fs_mount(
        "devpts",
        &pts,
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620",
    )?;
    let shm = format!("{dev}/shm");
    make_dir(&shm)?;
    fs_mount(
        "shm",
        &shm,
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        "mode=1777,size=65536k",
    )?;
    let sys = sys.display().to_string();
    // The pod's network namespace belongs to its user namespace, so a sysfs of its own
    // may be mounted; where it may not, the host's, read-only.
    let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if fs_mount("sysfs", &sys, "sysfs", ro, "").is_err() {
        mount(
            Some("/sys"),
            sys.as_str(),
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        )
        .map_err(|e| format!("binding /sys: {e}"))?;
        make_tree_read_only(&sys)?;
    }
    Ok(())
}
