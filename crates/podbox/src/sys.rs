//! The system calls behind pods: namespaces, mounts, and the re-run entry points.
//! The only module in the workspace allowed `unsafe`; every block says why it is sound.
//! The holder's and the launcher's logic lives in `holder`, `launcher` and `root`, which
//! reach the kernel through the thin wrappers here.
#![allow(unsafe_code)]

use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid, fork};
use std::ffi::CString;

pub const ROLE: &str = "PODBOX_ROLE";
pub const ROLE_HOLDER: &str = "holder";
pub const ROLE_CONTAINER: &str = "container";
pub const ROLE_OWNERS: &str = "owners";
pub const ROLE_CONNECT: &str = "connect";
pub const PORT: &str = "PODBOX_PORT";
pub const ADDRESS: &str = "PODBOX_ADDRESS";
pub const CHECK: &str = "PODBOX_CHECK";
/// What a pod process's failure message starts with on its standard error.
pub(crate) const FAILURE_PREFIX: &str = "podbox: ";
pub const SANDBOX: &str = "PODBOX_SANDBOX";
pub const IDS: &str = "PODBOX_IDS";
pub const HOLDER_PID: &str = "PODBOX_HOLDER_PID";
pub const SPEC: &str = "PODBOX_SPEC";
/// Set when the launcher finds a console socket on `CONSOLE_FD`.
pub const CONSOLE: &str = "PODBOX_CONSOLE";
/// The descriptor a container's launcher finds its console socket on.
const CONSOLE_FD: std::os::fd::RawFd = 3;

/// Runs before `main` in every binary that links podbox; returns at once unless this
/// process was started as a pod holder or container launcher.
extern "C" fn early_init() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let code = match role.as_str() {
        ROLE_HOLDER => crate::holder::run(),
        ROLE_CONTAINER => crate::launcher::run(),
        ROLE_OWNERS => crate::ids::run_owner_changer_role(),
        ROLE_CONNECT => crate::connect::run(),
        _ => fail(&format!("unknown {ROLE} {role}")),
    };
    std::process::exit(code);
}

#[used]
// SAFETY: placing a function pointer in `.init_array` is how ELF runs constructors; the
// function only reads the environment and, when it is not ours to handle, returns.
#[unsafe(link_section = ".init_array")]
static EARLY_INIT: extern "C" fn() = early_init;

/// Referenced from the public API so the linker keeps this object, and its constructor.
pub fn ensure_linked() {
    std::hint::black_box(&EARLY_INIT);
}

pub(crate) fn fail(msg: &str) -> i32 {
    eprintln!("{FAILURE_PREFIX}{msg}");
    127
}

/// `fork(2)`, for the holder and the launcher only: both run single-threaded, as the
/// pre-main constructor of a fresh exec, and neither starts a thread before it forks.
pub(crate) fn fork_single_threaded() -> Result<ForkResult, String> {
    // SAFETY: this process is single-threaded (we run before main, and only a fresh
    // exec reaches here), so the child may use any function after fork.
    unsafe { fork() }.map_err(|e| format!("fork: {e}"))
}

/// The calling process gets SIGKILL when its parent dies (`PR_SET_PDEATHSIG`).
pub(crate) fn die_with_parent() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
}

/// `command`'s process gets SIGKILL when the thread that spawns it ends
/// (`PR_SET_PDEATHSIG`, set in the child between fork and exec), so a host program started
/// this way never outlives what started it, even when that is killed with SIGKILL. Spawn it
/// from a thread that lives as long as the program should: the signal follows the thread,
/// not the process.
pub fn tether(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and calls only prctl(2)
    // and getppid(2), which are async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the line above: then nobody is left to kill
            // this child later, so it does not start.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the parent process has exited"));
            }
            Ok(())
        })
    };
}

/// Sleeps until a signal arrives (`pause(2)`).
pub(crate) fn pause() {
    // SAFETY: pause() takes no arguments; it returns on a signal.
    unsafe { libc::pause() };
}

/// Makes the terminal on stdin the controlling terminal of this process's new session
/// (`TIOCSCTTY`).
pub(crate) fn set_controlling_terminal() -> std::io::Result<()> {
    // SAFETY: TIOCSCTTY on fd 0 takes an integer argument.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Drops every capability from the bounding set (`PR_CAPBSET_DROP`).
pub(crate) fn drop_capability_bounding_set() {
    for cap in 0..=libc::c_ulong::from(63u8) {
        // SAFETY: PR_CAPBSET_DROP takes a capability number; unknown numbers fail harmlessly.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
}

/// Execs can no longer gain privileges (`PR_SET_NO_NEW_PRIVS`).
pub(crate) fn set_no_new_privs() {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
}

/// Brings the loopback interface up (`ip link set lo up`).
pub(crate) fn loopback_up() -> Result<(), String> {
    // SAFETY: a plain socket() call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `ifreq` is plain old data; zeroed is a valid value for it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads into `req`, which outlives the call; `fd` is open.
    let got = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) };
    // SAFETY: reading the union field the kernel just filled for SIOCGIFFLAGS.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `req`; `fd` is open.
    let set = if got == 0 {
        unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) }
    } else {
        got
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: closing the descriptor opened above, once.
    unsafe { libc::close(fd) };
    if set != 0 {
        return Err(format!("bringing up lo: {err}"));
    }
    Ok(())
}

/// `ip addr add <addr>/32 dev lo` over rtnetlink (`RTM_NEWADDR`). In a new network
/// namespace `lo` is always interface 1.
pub(crate) fn add_loopback_address(addr: std::net::Ipv4Addr) -> Result<(), String> {
    const LO_INDEX: u32 = 1;
    // nlmsghdr (16) + ifaddrmsg (8) + two rtattrs of 4 + 4 bytes.
    let mut msg: Vec<u8> = Vec::with_capacity(40);
    let total: u32 = 16 + 8 + 8 + 8;
    msg.extend_from_slice(&total.to_ne_bytes());
    msg.extend_from_slice(&libc::RTM_NEWADDR.to_ne_bytes());
    let flags =
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    msg.extend_from_slice(&[libc::AF_INET as u8, 32, 0, libc::RT_SCOPE_HOST]);
    msg.extend_from_slice(&LO_INDEX.to_ne_bytes());
    for kind in [libc::IFA_LOCAL, libc::IFA_ADDRESS] {
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&addr.octets());
    }
    // SAFETY: a plain socket() call; the descriptor is closed below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(format!(
            "netlink socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `msg` is a valid buffer of the given length for the duration of the call.
    let sent = unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) };
    let mut reply = [0u8; 256];
    // SAFETY: `reply` is a writable buffer of the given length.
    let got = if sent == msg.len() as isize {
        unsafe { libc::recv(fd, reply.as_mut_ptr().cast(), reply.len(), 0) }
    } else {
        -1
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: closing the descriptor opened above, once.
    unsafe { libc::close(fd) };
    if got < 36 {
        return Err(format!("adding {addr} to lo: {err}"));
    }
    // An NLMSG_ERROR reply carries the errno (0 for the acknowledgement) after the header.
    let errno = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
    if errno != 0 {
        return Err(format!(
            "adding {addr} to lo: {}",
            std::io::Error::from_raw_os_error(-errno)
        ));
    }
    Ok(())
}

/// `mount_setattr(2)` with `MOUNT_ATTR_RDONLY` over a whole tree.
pub(crate) fn make_tree_read_only(path: &str) -> Result<(), String> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const SYS_MOUNT_SETATTR: libc::c_long = 442;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let c = CString::new(path).map_err(|e| e.to_string())?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `c` and `attr` outlive the call; the size passed is that of `attr`.
    let r = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            libc::AT_FDCWD,
            c.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(format!(
            "making {path} read-only: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The container's PID (in the host's view) for the signal forwarder.
static CONTAINER_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = CONTAINER_PID.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and takes plain integers.
        unsafe { libc::kill(pid, sig) };
    }
}

/// SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to the launcher go to the container, so a
/// graceful stop reaches the program.
pub(crate) fn forward_signals_to(child: Pid) {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    if CONTAINER_PID.swap(child.as_raw(), std::sync::atomic::Ordering::Relaxed) == child.as_raw() {
        return;
    }
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        // SAFETY: the handler only calls kill(2), which is async-signal-safe.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Gives `command`'s process `socket` as its descriptor `CONSOLE_FD` (`dup2(2)` between
/// fork and exec, which leaves the copy open across exec).
pub(crate) fn pass_console(command: &mut std::process::Command, socket: std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // A copy numbered 3 or above (`F_DUPFD_CLOEXEC`), so that the child's standard
    // streams, set before the closure runs, cannot have replaced it.
    let socket = socket.try_clone().unwrap_or(socket);
    let raw = socket.as_raw_fd();
    // SAFETY: the closure runs in the child between fork and exec and calls only dup2(2)
    // and fcntl(2), which are async-signal-safe; it allocates nothing. `socket` lives in
    // the closure, so `raw` is open until the command is dropped.
    unsafe {
        command.pre_exec(move || {
            let _open = &socket;
            let r = if raw == CONSOLE_FD {
                libc::fcntl(raw, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, CONSOLE_FD)
            };
            if r == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
}

/// The console socket `pass_console` gave this process, now owned (and closed when
/// dropped).
pub(crate) fn take_console() -> Result<std::os::fd::OwnedFd, String> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_GETFD only reads the descriptor's flags; it fails on a closed one.
    if unsafe { libc::fcntl(CONSOLE_FD, libc::F_GETFD) } == -1 {
        return Err(format!(
            "{CONSOLE} is set but descriptor {CONSOLE_FD} is not open"
        ));
    }
    // SAFETY: the descriptor is open, and the launcher is started with `CONSOLE` set only
    // by `pass_console`, which leaves the socket on it; nothing else in this process uses
    // it, and this is called once per process.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(CONSOLE_FD) })
}

/// Sends `fd` over `socket` (`SCM_RIGHTS`).
pub(crate) fn send_fd(
    socket: &std::os::fd::OwnedFd,
    fd: std::os::fd::BorrowedFd<'_>,
) -> std::io::Result<()> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    use std::os::fd::AsRawFd;
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[std::io::IoSlice::new(b"t")],
        &[ControlMessage::ScmRights(&fds)],
        // A host that has gone is an error here, not a SIGPIPE.
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    Ok(())
}

/// The descriptor sent over `socket` (`SCM_RIGHTS`), received close-on-exec; an error if
/// the other side closed it without sending one.
pub(crate) fn receive_fd(
    socket: &std::os::unix::net::UnixStream,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd, RawFd};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            // A signal handler ran on this thread: a read with a timeout is not restarted.
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel has just installed `fd` in this process for this
            // message; nothing else owns it.
            return Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the container closed its console without sending its terminal",
    ))
}

/// Makes `fd` this process's standard input, output and error.
pub(crate) fn make_stdio(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    for target in 0..3 {
        // SAFETY: dup2(2) on an open descriptor; 0, 1 and 2 are this process's to replace.
        if unsafe { libc::dup2(fd.as_raw_fd(), target) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `TIOCSWINSZ` on a terminal.
pub(crate) fn set_window_size(
    fd: &std::os::fd::OwnedFd,
    cols: u16,
    rows: u16,
) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a `winsize` that outlives the call; the fd is open.
    let r = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(fd), libc::TIOCSWINSZ, &ws) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
