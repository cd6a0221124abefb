//! A TCP connection to a port on a pod's loopback, made from inside the pod's network
//! namespace: what a kubelet's port forwarding needs (the CRI's `PortForward`, which
//! containerd serves by entering the sandbox's network namespace,
//! `internal/cri/server/sandbox_portforward_linux.go`).
//!
//! It is this executable re-run in the `connect` role (`Sandbox::connect`): before `main`,
//! still single-threaded, it joins the pod's user namespace (whose owner the host user
//! is), then its network namespace, connects to `<address>:<port>` (`127.0.0.1` unless
//! given: a probe connects to the pod's IP), and relays its
//! standard input to the connection and the connection to its standard output until both
//! ends close. A refused connection exits with the reason on standard error.

use crate::sys;
use nix::sched::{CloneFlags, setns};
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
    let address: std::net::Ipv4Addr = match std::env::var(sys::ADDRESS) {
        Ok(a) => a
            .parse()
            .map_err(|_| format!("{a:?} is not an IPv4 address"))?,
        Err(_) => std::net::Ipv4Addr::LOCALHOST,
    };
    let open = |ns: &str| {
        let p = format!("/proc/{holder}/ns/{ns}");
        std::fs::File::open(&p).map_err(|e| format!("opening {p}: {e}"))
    };
    let (user, net) = (open("user")?, open("net")?);
    setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("joining the pod's user namespace: {e}"))?;
    setns(net.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("joining the pod's network namespace: {e}"))?;
    // Worded as Go's dialer words it (`dial tcp 127.0.0.1:80: connect: connection
    // refused`): the errno's text as Go's table has it, the C library's without its capital.
    let stream = std::net::TcpStream::connect((address, port)).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(n) => {
                let desc = nix::errno::Errno::from_raw(n).desc();
                let mut c = desc.chars();
                c.next()
                    .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
            None => e.to_string(),
        };
        format!("dial tcp {address}:{port}: connect: {why}")
    })?;
    if std::env::var_os(sys::CHECK).is_some() {
        // Only whether a connection is accepted (a TCP probe).
        return Ok(0);
    }
    let mut to_pod = stream.try_clone().map_err(|e| e.to_string())?;
    let writer = std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_pod);
        let _ = to_pod.shutdown(std::net::Shutdown::Write);
    });
    // Unbuffered: what the pod sends goes out as it arrives.
    let mut stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .map_err(|e| e.to_string())?;
    let mut from_pod = stream;
    let _ = std::io::copy(&mut from_pod, &mut stdout);
    // The pod closed its side: what the client still sends has nowhere to go, and the
    // thread copying it ends with the process.
    drop(writer);
    Ok(0)
}
