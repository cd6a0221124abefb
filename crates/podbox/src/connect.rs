//! A TCP connection to a port on a pod's loopback, made from inside the pod's network
//! namespace: what a kubelet's TCP and HTTP probes and its port forwarding need
//! (`pkg/kubelet/prober`, and the CRI's `PortForward`, which containerd serves by entering
//! the sandbox's network namespace, `internal/cri/server/sandbox_portforward_linux.go`).
//!
//! It is this executable re-run in the `connect` role (`Sandbox::connect`): before `main`,
//! still single-threaded, it joins the pod's user namespace (whose owner the host user
//! is), then its network namespace, connects to `127.0.0.1:<port>`, and relays its
//! standard input to the connection and the connection to its standard output until both
//! ends close. A refused connection exits 1 with the reason on standard error; with
//! `PODBOX_CONNECT_ONLY` set, a connection made exits 0 at once (a TCP probe).

use crate::sys;
use nix::sched::{CloneFlags, setns};
use std::io::{Read, Write};
use std::os::fd::AsFd;

pub(crate) fn run() -> i32 {
    match connect() {
        Ok(code) => code,
        Err(e) => sys::fail(&e),
    }
}

fn connect() -> Result<i32, String> {
    let holder = std::env::var(sys::HOLDER_PID).map_err(|_| "no holder PID".to_string())?;
    let port: u16 = std::env::var(sys::PORT)
        .ok()
        .and_then(|p| p.parse().ok())
        .ok_or("no port")?;
    let open = |ns: &str| {
        let p = format!("/proc/{holder}/ns/{ns}");
        std::fs::File::open(&p).map_err(|e| format!("opening {p}: {e}"))
    };
    let (user, net) = (open("user")?, open("net")?);
    setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("joining the pod's user namespace: {e}"))?;
    setns(net.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("joining the pod's network namespace: {e}"))?;
    // Worded as Go's dialer words it (`dial tcp 127.0.0.1:80: connect: connection refused`).
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            _ => e.to_string(),
        };
        format!("dial tcp 127.0.0.1:{port}: connect: {why}")
    })?;
    if std::env::var_os(sys::CONNECT_ONLY).is_some() {
        return Ok(0);
    }
    let mut to_pod = stream.try_clone().map_err(|e| e.to_string())?;
    let writer = std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_pod.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to_pod.shutdown(std::net::Shutdown::Write);
    });
    let mut from_pod = stream;
    let mut stdout = std::io::stdout().lock();
    let mut buf = [0u8; 32 * 1024];
    loop {
        match from_pod.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stdout.write_all(&buf[..n]).is_err() || stdout.flush().is_err() {
                    break;
                }
            }
        }
    }
    // The pod closed its side: what the client still sends has nowhere to go, and the
    // thread copying it ends with the process.
    drop(writer);
    Ok(0)
}
