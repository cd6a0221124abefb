//! Pods as sandboxed processes: the embedded kubelet's container runtime. Linux only.
//!
//! A pod is a *sandbox*: a holder process that owns the pod's user, network (only `lo`),
//! UTS (hostname = pod name), IPC and PID namespaces, with a PID 1 that reaps orphans.
//! A container is a process started inside those namespaces, in a mount namespace of its
//! own over a read-only view of the host root with a writable `/tmp` and the pod's volumes.
//!
//! Both the holder and the container launcher are this very executable, re-run with
//! `PODBOX_ROLE` set; `sys` catches that before `main` runs. So any binary that links
//! podbox (the harness, tests, xtask) can host pods without a helper binary.
//! Everything dies with the host process: the holder watches a pipe from it, and killing
//! the pod's PID 1 kills every process in its PID namespace.
//!
//! This crate does not talk to the API server; the kubelet that drives it lives elsewhere.

mod connect;
mod devices;
mod dns;
mod holder;
mod ids;
mod launcher;
mod root;
mod sys;
pub use ids::{FileOwner, IdMapping, give_to_pod_ids, id_mapping, remove_as_pod_root};
pub use sys::tether;

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("starting the pod sandbox for {pod}")]
    SpawnHolder {
        pod: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the pod sandbox for {pod} failed to set up its namespaces: {detail}")]
    HolderFailed { pod: String, detail: String },
    #[error("finding this executable to re-run as a pod process")]
    CurrentExe(#[source] std::io::Error),
    #[error("encoding the container spec")]
    Spec(#[source] serde_json::Error),
    #[error("making the socket a container's terminal arrives on")]
    Console(#[source] std::io::Error),
}

/// A pod's sandbox: what all its containers share.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SandboxSpec {
    /// The pod's hostname (the pod name).
    pub hostname: String,
    /// Addresses to put on the pod's `lo` (the pod IP); the API and DNS service
    /// addresses are added when `api` and `dns` are set.
    pub addresses: Vec<std::net::Ipv4Addr>,
    /// The API server, reachable in the pod at its Service's address, port 443.
    pub api: Option<ApiBridge>,
    /// Cluster DNS, answered in the pod at its Service's address, port 53.
    pub dns: Option<ClusterDns>,
}

/// The API server in a pod: connections to `service_ip:443` are relayed, bytes as they
/// are (TLS end to end), to the server's Unix socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiBridge {
    /// The `kubernetes` Service's ClusterIP.
    pub service_ip: std::net::Ipv4Addr,
    pub socket: String,
}

/// Cluster DNS in a pod: `service_ip:53` answers from a file of `name address` lines,
/// read on every query, so whoever writes it can update it while the pod runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClusterDns {
    /// The cluster DNS Service's ClusterIP.
    pub service_ip: std::net::Ipv4Addr,
    pub records: String,
}

/// A bind mount into a container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mount {
    /// Host path.
    pub source: String,
    /// Path inside the container.
    pub target: String,
    pub read_only: bool,
}

/// One process to run in a sandbox.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ContainerSpec {
    /// Program and arguments; the program is looked up on the container's `PATH`.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory inside the container.
    pub cwd: String,
    pub mounts: Vec<Mount>,
    /// The program's stdin is a terminal that becomes its controlling terminal.
    #[serde(default)]
    pub tty: bool,
    /// Run in an image's own root instead of the host's (see `ImageRoot`).
    #[serde(default)]
    pub image: Option<ImageRoot>,
    /// Join the root of a running container instead of making one: the host PID of the
    /// process `Sandbox::command` spawned for it (`kubectl exec` sees what it wrote).
    /// `mounts` and `image` are then the container's, not this spec's.
    #[serde(default)]
    pub join: Option<u32>,
    /// Who the program runs as in the pod; root when none. Another user needs a pod that
    /// maps a range of ids (`maps_id_range`).
    #[serde(default)]
    pub user: Option<User>,
}

/// A container's user in the pod: uid, primary gid and supplementary gids.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    #[serde(default)]
    pub groups: Vec<u32>,
}

/// A container's root made from an image, as a container runtime's overlay snapshotter
/// makes it: the image's unpacked root is the read-only lower layer, shared by every
/// container of the image, and the container writes to a layer of its own. All three are
/// host directories; `upper` and `work` are empty, on one filesystem, and owned (as the
/// lower layer's files are) by `pod_root_ids()`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageRoot {
    pub lower: String,
    pub upper: String,
    pub work: String,
}

/// The host user and group a pod's root is (`IdMapping::root_ids`): the first of the
/// range its user namespace maps when the host runs as root (`ROOT_ID_BASE`), else the
/// user running the cluster, so that a pod never holds host root's files. Files a pod's
/// root must own (an image's root, its writable layer, its volumes) belong to these ids.
pub fn pod_root_ids() -> (u32, u32) {
    id_mapping().root_ids()
}

/// Whether a pod's user namespace maps a whole range of ids, so that its containers may run
/// as any user and group below `ID_COUNT`, as a container runtime's would: when the host
/// runs as root, which may map any ids (as containerd running as root does), or when a
/// rootless host user has subordinate ids (`IdMapping::Subordinate`). Otherwise the
/// namespace maps one id, the host user, to the pod's root, and only root exists in it.
pub fn maps_id_range() -> bool {
    id_mapping().maps_range()
}

/// Where, when the host runs as root, a pod's ids start on the host: pod uid N is host
/// uid `ROOT_ID_BASE + N` (gids alike), for N below `ID_COUNT`; the conventional first
/// subordinate id (`/etc/subuid`, `useradd`'s `SUB_UID_MIN`).
pub const ROOT_ID_BASE: u32 = 100_000;

/// How many ids a pod's user namespace maps when it maps a range: every 16-bit id, as a
/// container image's files may name.
pub const ID_COUNT: u32 = 65_536;

/// Why a pod process (a container's launcher, a connection) failed, from what it wrote on
/// its standard error: the message without the prefix it is written with.
pub fn failure(stderr: &str) -> &str {
    let text = stderr.trim();
    text.strip_prefix(sys::FAILURE_PREFIX).unwrap_or(text)
}

/// SIGTERM to the pod process `pid` (a container's launcher forwards it to the
/// container's program).
pub fn terminate(pid: u32) -> std::io::Result<()> {
    let pid = i32::try_from(pid).map_err(std::io::Error::other)?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .map_err(std::io::Error::from)
}

/// Sets the size of the terminal whose host side is `fd` (`TIOCSWINSZ`), which its
/// programs see as SIGWINCH.
pub fn set_terminal_size(fd: &std::os::fd::OwnedFd, cols: u16, rows: u16) -> std::io::Result<()> {
    sys::set_window_size(fd, cols, rows)
}

/// A running sandbox. Dropping it kills every process of the pod.
#[derive(Debug)]
pub struct Sandbox {
    holder: Child,
    hostname: String,
}

impl Sandbox {
    /// Creates the pod's namespaces and waits until they are ready.
    pub fn create(spec: &SandboxSpec) -> Result<Sandbox, Error> {
        sys::ensure_linked();
        let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
        let mut holder = Command::new(exe)
            .env_clear()
            .env(sys::ROLE, sys::ROLE_HOLDER)
            .env(
                sys::SANDBOX,
                serde_json::to_string(spec).map_err(Error::Spec)?,
            )
            .env(
                sys::IDS,
                serde_json::to_string(&id_mapping()).map_err(Error::Spec)?,
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::SpawnHolder {
                pod: spec.hostname.clone(),
                source,
            })?;
        let stdout = holder.stdout.take().expect("piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim_end() != "ready" {
            let _ = holder.kill();
            let out = holder.wait_with_output().ok();
            let stderr = out
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                .unwrap_or_default();
            return Err(Error::HolderFailed {
                pod: spec.hostname.clone(),
                detail: if stderr.is_empty() {
                    "it exited without a word".into()
                } else {
                    stderr
                },
            });
        }
        Ok(Sandbox {
            holder,
            hostname: spec.hostname.clone(),
        })
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The holder's host PID (its `/proc/<pid>/ns/*` are the pod's namespaces).
    pub fn holder_pid(&self) -> u32 {
        self.holder.id()
    }

    /// A command that runs `spec` inside the sandbox; set its stdio and spawn it. It exits
    /// with the container's exit code (128 + signal when killed by a signal).
    pub fn command(&self, spec: &ContainerSpec) -> Result<Command, Error> {
        let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
        let json = serde_json::to_string(spec).map_err(Error::Spec)?;
        let mut cmd = Command::new(exe);
        cmd.env_clear()
            .env(sys::ROLE, sys::ROLE_CONTAINER)
            .env(sys::HOLDER_PID, self.holder.id().to_string())
            .env(sys::SPEC, json);
        Ok(cmd)
    }
}

/// Where a container's terminal arrives: a container started by
/// `Sandbox::command_on_terminal` opens its terminal in its own `/dev/pts` and sends the
/// host side here, as runc sends a console to containerd over its console socket.
#[derive(Debug)]
pub struct Console {
    socket: std::os::unix::net::UnixStream,
}

impl Console {
    /// Waits, at most `timeout`, for the host side of the container's terminal. An error
    /// when the container ends first (its launcher says why on its standard error).
    pub fn receive(self, timeout: std::time::Duration) -> std::io::Result<std::os::fd::OwnedFd> {
        self.socket.set_read_timeout(Some(timeout))?;
        sys::receive_fd(&self.socket)
    }
}

impl Sandbox {
    /// `command` for a spec whose standard streams are a terminal (`tty`): the container
    /// opens it in its own devpts, so that its programs see it as the container's
    /// (`/dev/pts/0`), and sends the host side to the returned `Console`. The launcher's
    /// own standard streams carry only what fails before that.
    pub fn command_on_terminal(&self, spec: &ContainerSpec) -> Result<(Command, Console), Error> {
        let mut cmd = self.command(&ContainerSpec {
            tty: true,
            ..spec.clone()
        })?;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(Error::Console)?;
        sys::pass_console(&mut cmd, theirs.into());
        cmd.env(sys::CONSOLE, "1");
        Ok((cmd, Console { socket: ours }))
    }

    /// A command that connects to `port` on the pod's loopback from inside its network
    /// namespace (`connect`): its standard input goes to the connection and the
    /// connection comes out on its standard output; refused, it exits non-zero and says why on
    /// standard error.
    pub fn connect(&self, port: u16) -> Result<Command, Error> {
        let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
        let mut cmd = Command::new(exe);
        cmd.env_clear()
            .env(sys::ROLE, sys::ROLE_CONNECT)
            .env(sys::HOLDER_PID, self.holder.id().to_string())
            .env(sys::PORT, port.to_string());
        Ok(cmd)
    }

    /// `connect` to `address` (one of the pod's own, such as its IP) rather than its
    /// loopback: what a kubelet's probe reaches.
    pub fn connect_to(&self, address: std::net::Ipv4Addr, port: u16) -> Result<Command, Error> {
        let mut cmd = self.connect(port)?;
        cmd.env(sys::ADDRESS, address.to_string());
        Ok(cmd)
    }

    /// A command that only connects to `address:port` from inside the pod's network
    /// namespace and exits 0 once the connection is accepted (a TCP probe); refused, it
    /// exits non-zero and says why on standard error.
    pub fn check(&self, address: std::net::Ipv4Addr, port: u16) -> Result<Command, Error> {
        let mut cmd = self.connect_to(address, port)?;
        cmd.env(sys::CHECK, "1");
        Ok(cmd)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Killing the holder kills the pod's PID 1, and with it every process in the pod.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
