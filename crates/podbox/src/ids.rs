//! How a pod's user namespace maps its ids onto the host's, and giving files to a pod's
//! ids when the host user cannot do so itself.
//!
//! As root, a pod's ids `0..ID_COUNT` are the host's from `ROOT_ID_BASE`, written into
//! the namespace's maps directly. Rootless, a process may map only its own ids into a
//! namespace it creates (user_namespaces(7)), unless the host grants it subordinate ids
//! (`/etc/subuid`, `/etc/subgid`) and has shadow's setuid `newuidmap` and `newgidmap`,
//! which write the maps for it: then, as rootless Podman and rootlesskit map them, the
//! pod's root is the host user and its ids `1..ID_COUNT` are the first of the user's
//! subordinate ids. Without them, the pod's root is the host user, its only id.

use crate::{ID_COUNT, ROOT_ID_BASE};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// How a pod's user namespace maps its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdMapping {
    /// The host runs as root: pod ids `0..ID_COUNT` are host ids from `base`.
    Range { base: u32 },
    /// A rootless host user with subordinate ids: pod root is the host user (`uid`,
    /// `gid`), and pod ids `1..ID_COUNT` are host ids from `sub_uid` and `sub_gid`.
    Subordinate {
        uid: u32,
        gid: u32,
        sub_uid: u32,
        sub_gid: u32,
    },
    /// A rootless host user without them: pod root is the host user, its only id.
    Single { uid: u32, gid: u32 },
}

/// The host's mapping, found once: root, else the user's subordinate ids where the host
/// grants them and has `newuidmap` and `newgidmap`, else one id.
pub fn id_mapping() -> IdMapping {
    static MAPPING: OnceLock<IdMapping> = OnceLock::new();
    *MAPPING.get_or_init(|| {
        let (uid, gid) = (
            nix::unistd::Uid::effective().as_raw(),
            nix::unistd::Gid::effective().as_raw(),
        );
        if uid == 0 {
            return IdMapping::Range { base: ROOT_ID_BASE };
        }
        let single = IdMapping::Single { uid, gid };
        let Some((sub_uid, sub_gid)) = subordinate_ids(uid) else {
            return single;
        };
        let range = IdMapping::Subordinate {
            uid,
            gid,
            sub_uid,
            sub_gid,
        };
        // Tried once: `newuidmap` may lack its privileges, or this may be a namespace
        // where another cannot be made; pods then map one id, as without subordinate ids.
        match run_owner_changer(range, Path::new("/"), Action::Probe) {
            Ok(()) => range,
            Err(e) => {
                eprintln!(
                    "podbox: the subordinate ids of uid {uid} cannot be mapped ({e}); pods map one id"
                );
                single
            }
        }
    })
}

impl IdMapping {
    /// Whether the pod has ids besides its root, so that a container may run as any user
    /// and group below `ID_COUNT`.
    pub fn maps_range(&self) -> bool {
        !matches!(self, IdMapping::Single { .. })
    }

    /// The host uid and gid of the pod's root.
    pub fn root_ids(&self) -> (u32, u32) {
        match *self {
            IdMapping::Range { base } => (base, base),
            IdMapping::Subordinate { uid, gid, .. } | IdMapping::Single { uid, gid } => (uid, gid),
        }
    }

    /// The namespace's `uid_map` and `gid_map` lines: (inside, outside, count).
    fn extents(&self) -> [Vec<(u32, u32, u32)>; 2] {
        match *self {
            IdMapping::Range { base } => [vec![(0, base, ID_COUNT)], vec![(0, base, ID_COUNT)]],
            IdMapping::Subordinate {
                uid,
                gid,
                sub_uid,
                sub_gid,
            } => [
                vec![(0, uid, 1), (1, sub_uid, ID_COUNT - 1)],
                vec![(0, gid, 1), (1, sub_gid, ID_COUNT - 1)],
            ],
            IdMapping::Single { uid, gid } => [vec![(0, uid, 1)], vec![(0, gid, 1)]],
        }
    }

    /// Writes the maps of `pid`'s new user namespace from outside it (not for `Single`,
    /// whose process writes its own): directly as root, with `newuidmap` and `newgidmap`
    /// otherwise. `pid` must not have written them itself.
    pub(crate) fn write_maps(&self, pid: u32) -> Result<(), String> {
        let [uids, gids] = self.extents();
        match self {
            IdMapping::Range { .. } => {
                for (file, extents) in [("uid_map", uids), ("gid_map", gids)] {
                    let path = format!("/proc/{pid}/{file}");
                    std::fs::write(&path, map_text(&extents))
                        .map_err(|e| format!("writing {path}: {e}"))?;
                }
                Ok(())
            }
            IdMapping::Subordinate { .. } => {
                for (tool, extents) in [("newuidmap", uids), ("newgidmap", gids)] {
                    let path = tool_path(tool).ok_or_else(|| format!("{tool} is not installed"))?;
                    let mut command = Command::new(path);
                    command.arg(pid.to_string());
                    for (inside, outside, count) in extents {
                        command.args([inside, outside, count].map(|n| n.to_string()));
                    }
                    let out = command
                        .output()
                        .map_err(|e| format!("running {tool}: {e}"))?;
                    if !out.status.success() {
                        return Err(format!(
                            "{tool} failed ({}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                    }
                }
                Ok(())
            }
            IdMapping::Single { .. } => Err("a one-id namespace writes its own map".into()),
        }
    }

    /// The lines of the maps a `Single` namespace writes for itself.
    pub(crate) fn own_maps(&self) -> (String, String) {
        let [uids, gids] = self.extents();
        (map_text(&uids), map_text(&gids))
    }
}

fn map_text(extents: &[(u32, u32, u32)]) -> String {
    extents
        .iter()
        .map(|(i, o, c)| format!("{i} {o} {c}\n"))
        .collect()
}

/// The first subordinate uid and gid of `uid` granting the `ID_COUNT - 1` ids a pod maps
/// besides its root, when `newuidmap` and `newgidmap` can write them.
fn subordinate_ids(uid: u32) -> Option<(u32, u32)> {
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    let tools = ["newuidmap", "newgidmap"]
        .iter()
        .all(|t| tool_path(t).is_some());
    if !tools {
        return None;
    }
    let first = |file: &str| {
        let text = std::fs::read_to_string(file).ok()?;
        subordinate_start(&text, uid, name.as_deref())
    };
    Some((first("/etc/subuid")?, first("/etc/subgid")?))
}

/// The start of the first `owner:start:count` line of `text` (subuid(5)) naming the user
/// by name or number whose range holds `ID_COUNT - 1` ids.
fn subordinate_start(text: &str, uid: u32, name: Option<&str>) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let (owner, start, count) = (fields.next()?, fields.next()?, fields.next()?);
        let ours = owner == uid.to_string() || Some(owner) == name;
        let (start, count) = (start.parse::<u32>().ok()?, count.parse::<u32>().ok()?);
        (ours && count >= ID_COUNT - 1).then_some(start)
    })
}

/// Where `tool` is: on `PATH`, or where a system keeps it when `PATH` is not set (a pod's
/// holder runs with an empty environment).
fn tool_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    which::which_in(tool, Some(path), "/").ok()
}

/// A file of an image's root and the pod ids that own it, with its mode (a change of
/// owner clears the setuid and setgid bits, which are put back).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileOwner {
    /// Relative to the root.
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// Gives each of `owners` (under `root`) to its pod ids, as they are mapped by
/// `id_mapping()`: from a process in a user namespace with the pod's maps, where the pod's
/// root may give files to any of its ids (a rootless host user cannot give files to its
/// subordinate ids itself). Paths are resolved within `root` (the process changes its root
/// to it first), and symlinks themselves are given, not followed.
pub fn give_to_pod_ids(root: &Path, owners: &[FileOwner]) -> Result<(), String> {
    if owners.is_empty() {
        return Ok(());
    }
    let mapping = id_mapping();
    if !mapping.maps_range() {
        return Err("this host maps one id into a pod: files cannot be given to others".into());
    }
    if let Some(o) = owners
        .iter()
        .find(|o| o.uid >= ID_COUNT || o.gid >= ID_COUNT)
    {
        return Err(format!(
            "{} belongs to {}:{}, outside the {ID_COUNT} ids a pod's user namespace maps",
            o.path.display(),
            o.uid,
            o.gid
        ));
    }
    run_owner_changer(mapping, root, Action::Give(owners.to_vec()))
}

/// Removes `root` from a process in a user namespace with the pod's maps: files given to
/// the pod's ids may be beyond the host user's reach.
pub fn remove_as_pod_root(root: &Path) -> Result<(), String> {
    let mapping = id_mapping();
    if !mapping.maps_range() {
        return std::fs::remove_dir_all(root).map_err(|e| format!("{}: {e}", root.display()));
    }
    run_owner_changer(mapping, root, Action::Remove)
}

/// What the owner changer does, as the pod's root.
#[derive(Serialize, Deserialize)]
enum Action {
    /// Nothing: whether the maps can be written at all.
    Probe,
    Give(Vec<FileOwner>),
    Remove,
}

#[derive(Serialize, Deserialize)]
struct OwnersRequest {
    root: PathBuf,
    action: Action,
}

/// Runs the owner changer (`run_owner_changer_role`) with `mapping` for `action` on `root`.
fn run_owner_changer(mapping: IdMapping, root: &Path, action: Action) -> Result<(), String> {
    use std::io::{BufRead, BufReader, Write};
    crate::sys::ensure_linked();
    let exe = std::env::current_exe().map_err(|e| format!("finding this executable: {e}"))?;
    let mut child = Command::new(exe)
        .env_clear()
        .env(crate::sys::ROLE, crate::sys::ROLE_OWNERS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the owner changer: {e}"))?;
    let request = OwnersRequest {
        root: root.to_path_buf(),
        action,
    };
    let mut stdin = child.stdin.take().expect("piped");
    let mut line = serde_json::to_string(&request).map_err(|e| e.to_string())?;
    line.push('\n');
    let told = stdin.write_all(line.as_bytes());
    let mut ready = String::new();
    let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut ready);
    let mapped = if told.is_ok() && ready.trim_end() == "unshared" {
        mapping.write_maps(child.id())
    } else {
        Err("the owner changer did not make its namespace".into())
    };
    if mapped.is_ok() {
        let _ = stdin.write_all(b"mapped\n");
    }
    drop(stdin);
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for the owner changer: {e}"))?;
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let said = if said.is_empty() {
        format!("it exited with {}", out.status)
    } else {
        said
    };
    mapped.map_err(|e| format!("{e}: {said}"))?;
    if !out.status.success() {
        return Err(format!("as the pod's root: {said}"));
    }
    Ok(())
}

/// The owner changer (`run_owner_changer`), a fresh single-threaded exec: reads its request,
/// makes a user namespace, says so, and once the host has written its maps becomes its
/// root and does what it was asked.
pub(crate) fn run_owner_changer_role() -> i32 {
    match change_owners() {
        Ok(()) => 0,
        Err(e) => crate::sys::fail(&e),
    }
}

fn change_owners() -> Result<(), String> {
    use std::io::{BufRead, Write};
    use std::os::unix::fs::PermissionsExt;
    let stdin = std::io::stdin();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the request: {e}"))?;
    let request: OwnersRequest =
        serde_json::from_str(&line).map_err(|e| format!("reading the request: {e}"))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("unshare: {e} (are unprivileged user namespaces enabled?)"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "unshared")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("telling the host: {e}"))?;
    line.clear();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("waiting for the maps: {e}"))?;
    if line.trim_end() != "mapped" {
        return Err("the host did not map the namespace's ids".into());
    }
    let root = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
    nix::unistd::setresgid(root.1, root.1, root.1).map_err(|e| format!("setresgid: {e}"))?;
    nix::unistd::setresuid(root.0, root.0, root.0).map_err(|e| format!("setresuid: {e}"))?;
    let owners = match request.action {
        Action::Probe => return Ok(()),
        Action::Remove => {
            return std::fs::remove_dir_all(&request.root)
                .map_err(|e| format!("removing {}: {e}", request.root.display()));
        }
        Action::Give(owners) => owners,
    };
    // Within the image's root, where a symlink resolves inside it: a layer's links are the
    // image's, never a way to the host's files.
    nix::unistd::chroot(&request.root)
        .and_then(|()| nix::unistd::chdir("/"))
        .map_err(|e| format!("entering {}: {e}", request.root.display()))?;
    for owner in &owners {
        let path = Path::new("/").join(&owner.path);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("{}: {e}", owner.path.display()))?;
        std::os::unix::fs::lchown(&path, Some(owner.uid), Some(owner.gid)).map_err(|e| {
            format!(
                "giving {} to {}:{}: {e}",
                owner.path.display(),
                owner.uid,
                owner.gid
            )
        })?;
        if !meta.file_type().is_symlink() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(owner.mode & 0o7777))
                .map_err(|e| format!("{}: {e}", owner.path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_are_read_as_subuid_5_says() {
        let text = "alice:100000:65536\n1001:165536:65536\nbob:231072:1000\nbob:300000:70000\n";
        assert_eq!(subordinate_start(text, 1000, Some("alice")), Some(100000));
        assert_eq!(subordinate_start(text, 1001, Some("carol")), Some(165536));
        // A range too small for a pod's ids is passed over.
        assert_eq!(subordinate_start(text, 1002, Some("bob")), Some(300000));
        assert_eq!(subordinate_start(text, 1003, None), None);
        assert_eq!(subordinate_start("junk\n:::\n", 1, Some("x")), None);
    }

    #[test]
    fn maps_are_written_as_rootless_runtimes_write_them() {
        let m = IdMapping::Subordinate {
            uid: 1000,
            gid: 1000,
            sub_uid: 100000,
            sub_gid: 200000,
        };
        assert_eq!(
            m.extents(),
            [
                vec![(0, 1000, 1), (1, 100000, 65535)],
                vec![(0, 1000, 1), (1, 200000, 65535)]
            ]
        );
        assert_eq!(m.root_ids(), (1000, 1000));
        assert!(m.maps_range());
        let single = IdMapping::Single { uid: 7, gid: 8 };
        assert_eq!(single.own_maps(), ("0 7 1\n".into(), "0 8 1\n".into()));
        assert!(!single.maps_range());
        assert_eq!(
            IdMapping::Range { base: 100000 }.root_ids(),
            (100000, 100000)
        );
    }
}
