//! The pod holder: the process that owns a pod's user, network, UTS, IPC and PID
//! namespaces, with the pod's PID 1 below it serving the API relay and cluster DNS.

use crate::SandboxSpec;
use crate::sys::{self, SANDBOX};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Gid, Pid, Uid, sethostname};
use std::fs::File;
use std::net::{TcpListener, UdpSocket};

/// The holder: new user, network, UTS, IPC and PID namespaces; a PID 1 that reaps; lives
/// until its stdin (a pipe from the host) closes.
pub(crate) fn run() -> i32 {
    match holder_setup() {
        Ok(code) => code,
        Err(e) => sys::fail(&e),
    }
}

fn holder_setup() -> Result<i32, String> {
    let spec: SandboxSpec =
        serde_json::from_str(&std::env::var(SANDBOX).map_err(|_| format!("{SANDBOX} is not set"))?)
            .map_err(|e| format!("reading the sandbox spec: {e}"))?;
    let sources = ServiceSources::open(&spec)?;
    enter_namespaces(&spec)?;
    // Bind the services before forking, so `ready` means they answer.
    let services = sources.bind()?;
    match sys::fork_single_threaded()? {
        ForkResult::Child => pod_init(services),
        ForkResult::Parent { child } => {
            drop(services);
            Ok(wait_for_host(child))
        }
    }
}

/// What the pod's services read: the API server's socket and the DNS records.
struct ServiceSources {
    api: Option<(std::net::Ipv4Addr, File)>,
    dns: Option<(std::net::Ipv4Addr, File)>,
}

impl ServiceSources {
    /// What the pod's services read is opened now, as the host user: the pod's own user
    /// (nobody, when the host is root) may not be able to reach where the cluster keeps
    /// its files, e.g. under a private (0700) directory.
    fn open(spec: &SandboxSpec) -> Result<ServiceSources, String> {
        let api = spec
            .api
            .as_ref()
            .map(|a| {
                open_path(&a.socket)
                    .map(|f| (a.service_ip, f))
                    .map_err(|e| format!("opening the API server socket {}: {e}", a.socket))
            })
            .transpose()?;
        let dns = spec
            .dns
            .as_ref()
            .map(|d| {
                File::open(&d.records)
                    .map(|f| (d.service_ip, f))
                    .map_err(|e| format!("opening the DNS records {}: {e}", d.records))
            })
            .transpose()?;
        Ok(ServiceSources { api, dns })
    }

    /// Binds the services on their addresses in the pod's network namespace.
    fn bind(self) -> Result<Services, String> {
        let api = match self.api {
            Some((ip, sock)) => Some((
                TcpListener::bind((ip, 443)).map_err(|e| format!("listening on {ip}:443: {e}"))?,
                sock,
            )),
            None => None,
        };
        let dns = match self.dns {
            Some((ip, file)) => Some((
                UdpSocket::bind((ip, 53)).map_err(|e| format!("listening on {ip}:53: {e}"))?,
                file,
            )),
            None => None,
        };
        Ok(Services { api, dns })
    }
}

/// The pod's services, bound: the API relay and cluster DNS, each with what it serves.
struct Services {
    api: Option<(TcpListener, File)>,
    dns: Option<(UdpSocket, File)>,
}

/// Creates the pod's namespaces, maps ids into them, and sets up the hostname and the
/// addresses on `lo`. Where the pod maps a range of ids (`IdMapping`), they are written by
/// `map_range` from outside, and the holder then becomes the pod's root (as root on the
/// host, so that it holds no host root's ids); otherwise a process may only map its own
/// ids into a namespace it creates, and the host user becomes the pod's root, its only id.
fn enter_namespaces(spec: &SandboxSpec) -> Result<(), String> {
    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID;
    let unshared = |flags| {
        unshare(flags)
            .map_err(|e| format!("unshare: {e} (are unprivileged user namespaces enabled?)"))
    };
    // The host's mapping, as the process that made this sandbox found it (this one runs
    // with an empty environment).
    let mapping: crate::IdMapping = std::env::var(sys::IDS)
        .ok()
        .and_then(|m| serde_json::from_str(&m).ok())
        .ok_or_else(|| format!("{} is not set", sys::IDS))?;
    if mapping.maps_range() {
        map_range(mapping, || unshared(flags))?;
        nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups in the pod: {e}"))?;
        let root = (Uid::from_raw(0), Gid::from_raw(0));
        nix::unistd::setresgid(root.1, root.1, root.1)
            .map_err(|e| format!("setresgid in the pod: {e}"))?;
        nix::unistd::setresuid(root.0, root.0, root.0)
            .map_err(|e| format!("setresuid in the pod: {e}"))?;
    } else {
        let (uid_map, gid_map) = mapping.own_maps();
        unshared(flags)?;
        write_file("/proc/self/setgroups", "deny")?;
        write_file("/proc/self/uid_map", &uid_map)?;
        write_file("/proc/self/gid_map", &gid_map)?;
    }
    sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;
    sys::loopback_up()?;
    let mut addresses = spec.addresses.clone();
    addresses.extend(spec.api.as_ref().map(|a| a.service_ip));
    addresses.extend(spec.dns.as_ref().map(|d| d.service_ip));
    for a in &addresses {
        sys::add_loopback_address(*a)?;
    }
    Ok(())
}

/// Runs `unshare` (which makes this process's new user namespace), with the pod's ids
/// mapped from outside it: only a process with `CAP_SETUID` in the parent namespace may
/// map ids other than its own (user_namespaces(7)), so a helper forked first, still in the
/// host's namespaces, writes the maps once told the namespace is there (as root directly,
/// rootless through `newuidmap` and `newgidmap`).
fn map_range(
    mapping: crate::IdMapping,
    unshare: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    use std::io::{Read, Write};
    let holder = nix::unistd::getpid();
    let (told, tell) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    match sys::fork_single_threaded()? {
        ForkResult::Child => {
            drop(tell);
            sys::die_with_parent();
            let mut told = told;
            let mut byte = [0u8];
            if told.read_exact(&mut byte).is_err() {
                // The holder failed before its namespace existed and said why.
                std::process::exit(1);
            }
            match mapping.write_maps(holder.as_raw().unsigned_abs()) {
                Ok(()) => std::process::exit(0),
                Err(e) => std::process::exit(sys::fail(&e)),
            }
        }
        ForkResult::Parent { child } => {
            drop(told);
            let unshared = unshare();
            let mut tell = tell;
            if unshared.is_ok() {
                tell.write_all(b"u")
                    .map_err(|e| format!("telling the id mapper: {e}"))?;
            }
            drop(tell);
            let mapped = waitpid(child, None);
            unshared?;
            match mapped {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
                other => Err(format!("mapping the pod's ids failed ({other:?})")),
            }
        }
    }
}

/// PID 1 of the pod: die with the holder, serve the API relay and DNS on threads (the
/// holder cannot: a process that unshared its PID namespace may not start threads), reap
/// orphans.
fn pod_init(services: Services) -> ! {
    sys::die_with_parent();
    if let Some((listener, sock)) = services.api {
        std::thread::spawn(move || relay_api(listener, sock));
    }
    if let Some((socket, file)) = services.dns {
        std::thread::spawn(move || crate::dns::serve(socket, file));
    }
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => sys::pause(),
            Err(_) => {}
        }
    }
}

/// Says `ready`, waits for the host to go away (EOF), then takes the pod down with us.
fn wait_for_host(pod_init: Pid) -> i32 {
    println!("ready");
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
    let _ = kill(pod_init, Signal::SIGKILL);
    let _ = waitpid(pod_init, None);
    0
}

fn write_file(path: &str, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("writing {path}: {e}"))
}

/// An `O_PATH` descriptor of `path`: it names the file without opening it for reading, so
/// that a process whose user cannot reach `path` can still use it through
/// `/proc/self/fd/N` (a Unix socket is connected to that way).
fn open_path(path: &str) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(path)
}

/// Relays each connection to `10.43.0.1:443` to the API server's Unix socket, bytes as
/// they are: the pod's TLS session ends at the API server.
fn relay_api(listener: TcpListener, socket: File) {
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
