//! The system calls behind pods: namespaces, mounts, and the re-run entry points.
//! The only module in the workspace allowed `unsafe`; every block says why it is sound.
#![allow(unsafe_code)]

use crate::{ContainerSpec, SandboxSpec};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid, fork, pivot_root, sethostname};
use std::ffi::CString;
use std::os::fd::AsFd;

pub const ROLE: &str = "PODBOX_ROLE";
pub const ROLE_HOLDER: &str = "holder";
pub const ROLE_CONTAINER: &str = "container";
pub const SANDBOX: &str = "PODBOX_SANDBOX";
pub const HOLDER_PID: &str = "PODBOX_HOLDER_PID";
pub const SPEC: &str = "PODBOX_SPEC";

/// Runs before `main` in every binary that links podbox; returns at once unless this
/// process was started as a pod holder or container launcher.
extern "C" fn early_init() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let code = match role.as_str() {
        ROLE_HOLDER => holder(),
        ROLE_CONTAINER => container(),
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

fn fail(msg: &str) -> i32 {
    eprintln!("podbox: {msg}");
    127
}

fn write_file(path: &str, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("writing {path}: {e}"))
}

/// Brings the loopback interface up (`ip link set lo up`).
fn loopback_up() -> Result<(), String> {
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

/// The holder: new user, network, UTS, IPC and PID namespaces; a PID 1 that reaps; lives
/// until its stdin (a pipe from the host) closes.
fn holder() -> i32 {
    match holder_setup() {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn holder_setup() -> Result<i32, String> {
    let spec: SandboxSpec =
        serde_json::from_str(&std::env::var(SANDBOX).map_err(|_| format!("{SANDBOX} is not set"))?)
            .map_err(|e| format!("reading the sandbox spec: {e}"))?;
    // What the pod's services read is opened now, as the host user: the pod's own user
    // (nobody, when the host is root) may not be able to reach where the cluster keeps
    // its files, e.g. under a private (0700) directory.
    let api_socket = spec
        .api_socket
        .as_deref()
        .map(|p| open_path(p).map_err(|e| format!("opening the API server socket {p}: {e}")))
        .transpose()?;
    let dns_records = spec
        .dns_records
        .as_deref()
        .map(|p| std::fs::File::open(p).map_err(|e| format!("opening the DNS records {p}: {e}")))
        .transpose()?;
    // Root in the pod is the host user that runs the cluster, or `nobody` when that is
    // root, so that a pod never holds host root's files. A process may only map its own
    // uid into a namespace it creates, so root first becomes nobody.
    if Uid::effective().is_root() {
        nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
        let nobody = Gid::from_raw(65534);
        nix::unistd::setresgid(nobody, nobody, nobody).map_err(|e| format!("setresgid: {e}"))?;
        let nobody = Uid::from_raw(65534);
        nix::unistd::setresuid(nobody, nobody, nobody).map_err(|e| format!("setresuid: {e}"))?;
        // Changing credentials made the process non-dumpable, which turns its /proc files
        // over to root; take them back so it can write its own id maps.
        // SAFETY: PR_SET_DUMPABLE takes integers only.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    }
    let (uid, gid) = (Uid::effective(), Gid::effective());
    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID;
    unshare(flags)
        .map_err(|e| format!("unshare: {e} (are unprivileged user namespaces enabled?)"))?;
    write_file("/proc/self/setgroups", "deny")?;
    write_file("/proc/self/uid_map", &format!("0 {} 1\n", uid.as_raw()))?;
    write_file("/proc/self/gid_map", &format!("0 {} 1\n", gid.as_raw()))?;
    sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;
    loopback_up()?;
    let mut addresses = spec.addresses.clone();
    if spec.api_socket.is_some() {
        addresses.push(crate::API_SERVICE_IP);
    }
    if spec.dns_records.is_some() {
        addresses.push(crate::DNS_SERVICE_IP);
    }
    for a in &addresses {
        add_loopback_address(*a)?;
    }
    // Bind the services before forking, so `ready` means they answer.
    let api = match api_socket {
        Some(sock) => Some((
            std::net::TcpListener::bind((crate::API_SERVICE_IP, 443))
                .map_err(|e| format!("listening on 10.43.0.1:443: {e}"))?,
            sock,
        )),
        None => None,
    };
    let dns = match dns_records {
        Some(file) => Some((
            std::net::UdpSocket::bind((crate::DNS_SERVICE_IP, 53))
                .map_err(|e| format!("listening on 10.43.0.10:53: {e}"))?,
            file,
        )),
        None => None,
    };
    // SAFETY: this process is single-threaded (we run before main, and only a fresh
    // exec reaches here), so the child may use any function after fork.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // PID 1 of the pod: die with the holder, serve the API relay and DNS on threads
            // (the holder cannot: a process that unshared its PID namespace may not start
            // threads), reap orphans.
            // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            if let Some((listener, sock)) = api {
                std::thread::spawn(move || relay_api(listener, sock));
            }
            if let Some((socket, file)) = dns {
                std::thread::spawn(move || crate::dns::serve(socket, file));
            }
            loop {
                match waitpid(Pid::from_raw(-1), None) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::ECHILD) => {
                        // SAFETY: pause() takes no arguments; it returns on a signal.
                        unsafe { libc::pause() };
                    }
                    Err(_) => {}
                }
            }
        }
        ForkResult::Parent { child } => {
            drop((api, dns));
            println!("ready");
            // Wait for the host to go away (EOF), then take the pod down with us.
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            Ok(0)
        }
    }
}

/// An `O_PATH` descriptor of `path`: it names the file without opening it for reading, so
/// that a process whose user cannot reach `path` can still use it through
/// `/proc/self/fd/N` (a Unix socket is connected to that way).
fn open_path(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(path)
}

/// Relays each connection to `10.43.0.1:443` to the API server's Unix socket, bytes as
/// they are: the pod's TLS session ends at the API server.
fn relay_api(listener: std::net::TcpListener, socket: std::fs::File) {
    // Connecting through the descriptor opened as the host user, not by the socket's path.
    let socket = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&socket));
    for conn in listener.incoming() {
        let Ok(tcp) = conn else { continue };
        let socket = socket.clone();
        std::thread::spawn(move || {
            let Ok(unix) = std::os::unix::net::UnixStream::connect(&socket) else {
                // The API server is gone: the client sees the connection close.
                return;
            };
            let (Ok(mut tcp_r), Ok(mut unix_w)) = (tcp.try_clone(), unix.try_clone()) else {
                return;
            };
            let up = std::thread::spawn(move || {
                let _ = std::io::copy(&mut tcp_r, &mut unix_w);
                let _ = unix_w.shutdown(std::net::Shutdown::Write);
            });
            let (mut unix_r, mut tcp_w) = (unix, tcp);
            let _ = std::io::copy(&mut unix_r, &mut tcp_w);
            let _ = tcp_w.shutdown(std::net::Shutdown::Write);
            let _ = up.join();
        });
    }
}

/// `ip addr add <addr>/32 dev lo` over rtnetlink (`RTM_NEWADDR`). In a new network
/// namespace `lo` is always interface 1.
fn add_loopback_address(addr: std::net::Ipv4Addr) -> Result<(), String> {
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
fn make_tree_read_only(path: &str) -> Result<(), String> {
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

fn ns_fd(pid: &str, ns: &str) -> Result<std::fs::File, String> {
    let p = format!("/proc/{pid}/ns/{ns}");
    std::fs::File::open(&p).map_err(|e| format!("opening {p}: {e}"))
}

/// The container launcher: joins the pod's namespaces, builds the container's root, runs
/// the program in the pod's PID namespace and exits with its code.
fn container() -> i32 {
    match container_setup() {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn container_setup() -> Result<i32, String> {
    let holder = std::env::var(HOLDER_PID).map_err(|_| format!("{HOLDER_PID} is not set"))?;
    let spec: ContainerSpec =
        serde_json::from_str(&std::env::var(SPEC).map_err(|_| format!("{SPEC} is not set"))?)
            .map_err(|e| e.to_string())?;
    let fds = [
        (ns_fd(&holder, "user")?, CloneFlags::CLONE_NEWUSER),
        (ns_fd(&holder, "uts")?, CloneFlags::CLONE_NEWUTS),
        (ns_fd(&holder, "ipc")?, CloneFlags::CLONE_NEWIPC),
        (ns_fd(&holder, "net")?, CloneFlags::CLONE_NEWNET),
        (
            ns_fd(&holder, "pid_for_children")?,
            CloneFlags::CLONE_NEWPID,
        ),
    ];
    let (user, rest) = fds.split_first().expect("five namespaces");
    setns(user.0.as_fd(), user.1).map_err(|e| format!("joining the pod's user namespace: {e}"))?;
    // Joining the namespace granted its full capabilities; the container's mount
    // namespace is made now, so that it belongs to the pod's user namespace.
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare mount namespace: {e}"))?;
    // Volume sources are opened while this process still has the host user's ids (joining
    // a user namespace keeps them): the pod's user may not be able to reach where the
    // cluster keeps them, e.g. under a private (0700) directory. They are opened in the
    // new mount namespace, where they will be bind-mounted.
    let mut sources = Vec::new();
    for m in &spec.mounts {
        let f = std::fs::File::open(&m.source)
            .map_err(|e| format!("opening volume source {}: {e}", m.source))?;
        sources.push(f);
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
    // SAFETY: single-threaded (pre-main constructor of a fresh exec), so fork is sound.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let e = match build_root(&spec, &sources) {
                Ok(()) if spec.builtin.is_some() => return Ok(crate::proxy::builtin(&spec)),
                Ok(()) => exec(&spec),
                Err(e) => e,
            };
            Ok(fail(&e))
        }
        ForkResult::Parent { child } => loop {
            forward_signals_to(child);
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("waiting for the container: {e}")),
            }
        },
    }
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
fn forward_signals_to(child: Pid) {
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

/// The container's filesystem: the host root read-only, fresh `/proc` and `/tmp`, the
/// spec's bind mounts; then `pivot_root` into it.
/// `sources` are the spec's bind sources, held open: the scratch mount below may hide
/// their host paths.
fn build_root(spec: &ContainerSpec, sources: &[std::fs::File]) -> Result<(), String> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("making / private: {e}"))?;
    // A scratch tmpfs to hold the new root's mount point.
    let scratch = "/tmp";
    mount(
        Some("tmpfs"),
        scratch,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0755"),
    )
    .map_err(|e| format!("mounting scratch tmpfs: {e}"))?;
    let root = "/tmp/root";
    std::fs::create_dir(root).map_err(|e| format!("creating {root}: {e}"))?;
    mount(
        Some("/"),
        root,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .map_err(|e| format!("binding the host root: {e}"))?;
    make_tree_read_only(root)?;
    mount(
        Some("tmpfs"),
        &format!("{root}/tmp") as &str,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )
    .map_err(|e| format!("mounting /tmp: {e}"))?;
    mount(
        Some("proc"),
        &format!("{root}/proc") as &str,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        none,
    )
    .map_err(|e| format!("mounting /proc: {e}"))?;
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
    if !spec.bin.is_empty() {
        install_bin(root, &spec.bin)?;
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

/// Covers the program directories with a tmpfs holding only `bin`: each distinct host
/// program is bind-mounted once (as `/usr/bin/.podbox-N`) and every name is a symlink to
/// it, so multi-call binaries like busybox see the applet name in `argv[0]`.
fn install_bin(root: &str, bin: &[(String, String)]) -> Result<(), String> {
    let none: Option<&str> = None;
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    for d in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let resolved = resolve_in_root(root, d)?;
        if !dirs.contains(&resolved) && resolved.is_dir() {
            dirs.push(resolved);
        }
    }
    for d in &dirs {
        mount(
            Some("tmpfs"),
            d.as_path(),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        )
        .map_err(|e| format!("mounting a tmpfs at {}: {e}", d.display()))?;
    }
    let home = dirs
        .first()
        .ok_or("no program directory in the root")?
        .clone();
    let mut programs: Vec<&str> = Vec::new();
    for (_, host) in bin {
        if !programs.contains(&host.as_str()) {
            programs.push(host);
        }
    }
    for (i, host) in programs.iter().enumerate() {
        let file = home.join(format!(".podbox-{i}"));
        std::fs::write(&file, b"").map_err(|e| format!("creating {}: {e}", file.display()))?;
        mount(Some(*host), file.as_path(), none, MsFlags::MS_BIND, none)
            .map_err(|e| format!("binding {host}: {e}"))?;
    }
    for (name, host) in bin {
        let i = programs.iter().position(|p| p == host).unwrap_or(0);
        let inside = format!("/usr/bin/.podbox-{i}");
        for d in &dirs {
            let link = d.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(&inside, &link)
                    .map_err(|e| format!("linking {}: {e}", link.display()))?;
            }
        }
    }
    make_tree_read_only(&home.display().to_string())?;
    for d in dirs.iter().skip(1) {
        make_tree_read_only(&d.display().to_string())?;
    }
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

/// Opens a pseudo-terminal pair.
pub fn open_pty() -> std::io::Result<crate::Pty> {
    let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
    Ok(crate::Pty {
        master: pty.master,
        slave: pty.slave,
    })
}

/// `TIOCSWINSZ` on a terminal.
pub fn set_window_size(fd: &std::os::fd::OwnedFd, cols: u16, rows: u16) -> std::io::Result<()> {
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

/// Drops every capability, becomes root of the pod's user namespace, and execs.
fn exec(spec: &ContainerSpec) -> String {
    if spec.tty {
        // A new session whose controlling terminal is the one on stdin.
        if let Err(e) = nix::unistd::setsid() {
            return format!("setsid: {e}");
        }
        // SAFETY: TIOCSCTTY on fd 0 takes an integer argument.
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
            return format!(
                "setting the controlling terminal: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    for cap in 0..=libc::c_ulong::from(63u8) {
        // SAFETY: PR_CAPBSET_DROP takes a capability number; unknown numbers fail harmlessly.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if let Err(e) = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)) {
        return format!("setresgid: {e}");
    }
    if let Err(e) = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)) {
        return format!("setresuid: {e}");
    }
    let Some(program) = spec.argv.first() else {
        return "the container has no command".into();
    };
    let path = spec.env.iter().find(|(k, _)| k == "PATH").map_or(
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        |(_, v)| v.as_str(),
    );
    let resolved = if program.contains('/') {
        program.clone()
    } else {
        match path
            .split(':')
            .map(|d| format!("{d}/{program}"))
            .find(|p| std::path::Path::new(p).is_file())
        {
            Some(p) => p,
            None => return format!("exec: {program:?}: executable file not found in $PATH"),
        }
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
