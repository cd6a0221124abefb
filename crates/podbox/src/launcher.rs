//! The container launcher: joins a pod's namespaces, forks the container's process into
//! the pod's PID namespace, and exits with its code; the process builds its root and
//! execs the program.

use crate::ContainerSpec;
use crate::sys::{self, HOLDER_PID, SPEC};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

/// The container launcher: joins the pod's namespaces, builds the container's root, runs
/// the program in the pod's PID namespace and exits with its code.
pub(crate) fn run() -> i32 {
    match container_setup() {
        Ok(code) => code,
        Err(e) => sys::fail(&e),
    }
}

fn container_setup() -> Result<i32, String> {
    let holder = std::env::var(HOLDER_PID).map_err(|_| format!("{HOLDER_PID} is not set"))?;
    let spec: ContainerSpec =
        serde_json::from_str(&std::env::var(SPEC).map_err(|_| format!("{SPEC} is not set"))?)
            .map_err(|e| e.to_string())?;
    let console = match std::env::var_os(sys::CONSOLE) {
        Some(_) => Some(sys::take_console()?),
        None => None,
    };
    let (sources, layers) = join_pod(&holder, &spec)?;
    match sys::fork_single_threaded()? {
        ForkResult::Child => {
            sys::die_with_parent();
            let built = match spec.join {
                Some(_) => crate::root::enter_joined(&spec),
                None => crate::root::build_root(&spec, &sources, layers.as_ref()),
            };
            let e = match built.and_then(|()| match console {
                Some(socket) => open_terminal(socket, &spec),
                None => Ok(()),
            }) {
                Ok(()) => exec(&spec),
                Err(e) => e,
            };
            Ok(sys::fail(&e))
        }
        ForkResult::Parent { child } => {
            // Only the container's process holds the console socket: if it ends before
            // sending its terminal, the host reads the end at once.
            drop(console);
            wait_for_container(child)
        }
    }
}

fn ns_fd(pid: &str, ns: &str) -> Result<std::fs::File, String> {
    let p = format!("/proc/{pid}/ns/{ns}");
    std::fs::File::open(&p).map_err(|e| format!("opening {p}: {e}"))
}

/// Joins the namespaces of the pod whose holder is `holder`, in a new mount namespace of
/// the container's own; returns the spec's bind sources, opened.
fn join_pod(holder: &str, spec: &ContainerSpec) -> Result<Joined, String> {
    let fds = [
        (ns_fd(holder, "user")?, CloneFlags::CLONE_NEWUSER),
        (ns_fd(holder, "uts")?, CloneFlags::CLONE_NEWUTS),
        (ns_fd(holder, "ipc")?, CloneFlags::CLONE_NEWIPC),
        (ns_fd(holder, "net")?, CloneFlags::CLONE_NEWNET),
        (ns_fd(holder, "pid_for_children")?, CloneFlags::CLONE_NEWPID),
    ];
    // A running container's mount namespace, opened (as the others are) while this
    // process is still the host user: the container's processes are the pod's now.
    let joined_mnt = match spec.join {
        Some(pid) => {
            wait_for_program(pid)?;
            Some(ns_fd(&pid.to_string(), "mnt")?)
        }
        None => None,
    };
    let (user, rest) = fds.split_first().expect("five namespaces");
    setns(user.0.as_fd(), user.1).map_err(|e| format!("joining the pod's user namespace: {e}"))?;
    let mut sources = Vec::new();
    let mut layers = None;
    if let Some(mnt) = joined_mnt {
        // Another container's mount namespace (made in the pod's user namespace, whose
        // capabilities joining granted): its root and mounts are this process's now.
        setns(mnt.as_fd(), CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("joining the container's mount namespace: {e}"))?;
    } else {
        // Joining the namespace granted its full capabilities; the container's mount
        // namespace is made now, so that it belongs to the pod's user namespace.
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare mount namespace: {e}"))?;
        // Volume sources and the image's layers are reached while this process still has
        // the host user's ids (joining a user namespace keeps them): the pod's user may
        // not be able to reach where the cluster keeps them, e.g. under a private (0700)
        // directory. Sources are opened, and the root staged, in the new mount namespace.
        for m in &spec.mounts {
            let f = std::fs::File::open(&m.source)
                .map_err(|e| format!("opening volume source {}: {e}", m.source))?;
            sources.push(f);
        }
        layers = crate::root::stage(spec)?;
    }
    // Become the pod's root (the only mapped id) so that files can be created; the
    // capabilities stay.
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(|e| format!("setresgid in the pod: {e}"))?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .map_err(|e| format!("setresuid in the pod: {e}"))?;
    for (fd, kind) in rest {
        setns(fd.as_fd(), *kind).map_err(|e| format!("joining the pod's {kind:?}: {e}"))?;
    }
    Ok((sources, layers))
}

/// Waits until the container that `launcher` runs has built its root and become its
/// program: a process joining its mount namespace sooner would find the root half made
/// (the overlay without its bind mounts, or no `pivot_root` yet). The launcher's one child
/// is the container's process; once it has exec'd, its executable is not the launcher's.
fn wait_for_program(launcher: u32) -> Result<(), String> {
    let started = std::time::Instant::now();
    let exe = |pid: &str| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let own = exe(&launcher.to_string());
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
                .map_err(|e| format!("the container's launcher {launcher} is gone: {e}"))?;
        if let Some(child) = children.split_whitespace().next()
            && let Some(program) = exe(child)
            && Some(&program) != own.as_ref()
        {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(format!(
                "the container's process (launcher {launcher}) has not started its program"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// What joining the pod leaves for building the root: the volume sources and the image's
/// layers, opened.
type Joined = (Vec<std::fs::File>, Option<crate::root::Layers>);

/// Waits for the container's process, forwarding signals to it; its exit code, or 128 +
/// the signal that killed it.
fn wait_for_container(child: Pid) -> Result<i32, String> {
    loop {
        sys::forward_signals_to(child);
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("waiting for the container: {e}")),
        }
    }
}

/// Opens a terminal in the container's own devpts (its `/dev/ptmx`), sends its host side
/// over `socket`, and makes the terminal this process's standard streams, given to the
/// user the container runs as (runc's `setupConsole` and `fixStdioPermissions`,
/// `libcontainer/init_linux.go`).
fn open_terminal(socket: std::os::fd::OwnedFd, spec: &ContainerSpec) -> Result<(), String> {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| format!("opening /dev/ptmx: {e}"))?;
    nix::pty::grantpt(&master).map_err(|e| format!("grantpt: {e}"))?;
    nix::pty::unlockpt(&master).map_err(|e| format!("unlockpt: {e}"))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| format!("ptsname: {e}"))?;
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&name)
        .map_err(|e| format!("opening {name}: {e}"))?;
    if let Some(user) = &spec.user {
        std::os::unix::fs::fchown(&terminal, Some(user.uid), Some(user.gid))
            .map_err(|e| format!("giving {name} to {}: {e}", user.uid))?;
    }
    sys::send_fd(&socket, master.as_fd())
        .map_err(|e| format!("sending the terminal to the host: {e}"))?;
    drop(master);
    drop(socket);
    sys::make_stdio(terminal.as_fd()).map_err(|e| format!("making {name} stdio: {e}"))
}

/// Drops every capability, becomes the container's user (root of the pod's user namespace
/// unless the spec names another), and execs.
fn exec(spec: &ContainerSpec) -> String {
    if spec.tty {
        // A new session whose controlling terminal is the one on stdin.
        if let Err(e) = nix::unistd::setsid() {
            return format!("setsid: {e}");
        }
        if let Err(e) = sys::set_controlling_terminal() {
            return format!("setting the controlling terminal: {e}");
        }
    }
    sys::drop_capability_bounding_set();
    sys::set_no_new_privs();
    let user = spec.user.clone().unwrap_or(crate::User {
        uid: 0,
        gid: 0,
        groups: Vec::new(),
    });
    // Supplementary groups can be set only where the pod's id map was written from
    // outside: a namespace that maps one id denies `setgroups` (and its root needs none).
    let setgroups_allowed =
        std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "allow");
    if setgroups_allowed || !user.groups.is_empty() {
        let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        if let Err(e) = nix::unistd::setgroups(&groups) {
            return format!("setgroups {:?}: {e}", user.groups);
        }
    }
    let (uid, gid) = (Uid::from_raw(user.uid), Gid::from_raw(user.gid));
    if let Err(e) = nix::unistd::setresgid(gid, gid, gid) {
        return format!("setresgid {gid}: {e}");
    }
    if let Err(e) = nix::unistd::setresuid(uid, uid, uid) {
        return format!("setresuid {uid}: {e}");
    }
    let resolved = match resolve_program(spec) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let to_c = |s: &str| CString::new(s).unwrap_or_default();
    let argv: Vec<CString> = spec.argv.iter().map(|a| to_c(a)).collect();
    let env: Vec<CString> = spec
        .env
        .iter()
        .map(|(k, v)| to_c(&format!("{k}={v}")))
        .collect();
    match nix::unistd::execve(&to_c(&resolved), &argv, &env) {
        Ok(never) => match never {},
        Err(e) => format!("exec {resolved}: {e}"),
    }
}

/// The path of the spec's program: as given when it has a `/`, else found on the
/// container's `PATH`.
fn resolve_program(spec: &ContainerSpec) -> Result<String, String> {
    let Some(program) = spec.argv.first() else {
        return Err("the container has no command".into());
    };
    let path = spec.env.iter().find(|(k, _)| k == "PATH").map_or(
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        |(_, v)| v.as_str(),
    );
    if program.contains('/') {
        return Ok(program.clone());
    }
    path.split(':')
        .map(|d| format!("{d}/{program}"))
        .find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| format!("exec: {program:?}: executable file not found in $PATH"))
}
