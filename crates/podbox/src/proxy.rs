//! A built-in `kubectl proxy` for containers of the kubectl image on hosts without
//! kubectl: it serves plain HTTP on `127.0.0.1:8001` inside the pod and forwards each
//! request to the API server with the pod's service-account token, over TLS verified
//! with the service-account CA — the in-cluster configuration client-go builds.
//!
//! Mirrors `kubectl@v0.33.0:pkg/cmd/proxy/proxy.go` and `pkg/proxy/proxy_server.go`:
//! the start-up line, `--port` and `--address`, the default host and path filters
//! (`Forbidden\n`, 403). One request per connection; no `/static/` and no other kubectl
//! command.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

struct Upstream {
    host: String,
    port: String,
    tls: Arc<rustls::ClientConfig>,
}

/// Runs the built-in program named by the spec; returns the process exit code.
pub fn builtin(spec: &crate::ContainerSpec) -> i32 {
    let args: Vec<&str> = spec.argv.iter().map(String::as_str).collect();
    match (spec.builtin.as_deref(), args.as_slice()) {
        (Some("kubectl"), [_, "proxy", rest @ ..]) => match proxy(rest, &spec.env) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        (Some("kubectl"), _) => {
            eprintln!(
                "error: the embedded runtime's built-in kubectl runs only `kubectl proxy`; install kubectl on the host for {:?}",
                args.get(1..).unwrap_or_default()
            );
            1
        }
        (other, _) => {
            eprintln!("podbox: unknown built-in program {other:?}");
            127
        }
    }
}

fn in_cluster(env: &[(String, String)]) -> Result<Upstream, String> {
    let get = |k: &str| {
        env.iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let (Some(host), Some(port)) = (
        get("KUBERNETES_SERVICE_HOST"),
        get("KUBERNETES_SERVICE_PORT"),
    ) else {
        // client-go's ErrNotInCluster.
        return Err("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into());
    };
    let ca = std::fs::read(format!("{SA_DIR}/ca.crt"))
        .map_err(|e| format!("open {SA_DIR}/ca.crt: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca.as_slice()) {
        let cert = cert.map_err(|e| format!("reading {SA_DIR}/ca.crt: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("reading {SA_DIR}/ca.crt: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Upstream {
        host,
        port,
        tls: Arc::new(tls),
    })
}

fn proxy(args: &[&str], env: &[(String, String)]) -> Result<(), String> {
    let mut port = "8001".to_string();
    let mut address = "127.0.0.1".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = a
            .split_once('=')
            .map_or((*a, None), |(f, v)| (f, Some(v.to_string())));
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().map(|s| s.to_string()))
                .ok_or_else(|| format!("flag needs an argument: {flag}"))
        };
        match flag {
            "--port" | "-p" => port = value()?,
            "--address" => address = value()?,
            other => {
                return Err(format!(
                    "unknown flag: {other} (the built-in kubectl proxy knows --port and --address)"
                ));
            }
        }
    }
    let upstream = Arc::new(in_cluster(env)?);
    let listener = TcpListener::bind(format!("{address}:{port}"))
        .map_err(|e| format!("listen tcp {address}:{port}: {e}"))?;
    // `Starting to serve on %s\n` with the listener's address.
    println!(
        "Starting to serve on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let _ = std::io::stdout().flush();
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let upstream = upstream.clone();
        std::thread::spawn(move || {
            let _ = serve(conn, &upstream);
        });
    }
    Ok(())
}

/// The default filters of `kubectl proxy`: hosts `^localhost$`, `^127\.0\.0\.1$`,
/// `^\[::1\]$`; paths `^/api/.*/pods/.*/exec` and `^/api/.*/pods/.*/attach` rejected.
fn allowed(host: &str, path: &str) -> bool {
    let hostname = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    let host_ok = matches!(hostname.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    let rejected = path.starts_with("/api/") && path.contains("/pods/") && {
        let after = &path[path.find("/pods/").unwrap_or(0) + 6..];
        after.contains("/exec") || after.contains("/attach")
    };
    host_ok && !rejected
}

/// One request as the client sent it.
struct Request {
    /// The request line, then the header lines, each with its line ending.
    head: Vec<String>,
    host: String,
    body: Vec<u8>,
}

impl Request {
    /// Reads one request; `None` when the client closes before the end of the head.
    fn read(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
        let mut head = Vec::new();
        let mut line = String::new();
        let mut content_length = 0usize;
        let mut host = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            if let Some(v) = lower.strip_prefix("host:") {
                host = v.trim().to_string();
            }
            head.push(line.clone());
        }
        let mut body = vec![0u8; content_length];
        reader.read_exact(&mut body)?;
        Ok(Some(Request { head, host, body }))
    }

    fn request_line(&self) -> String {
        self.head.first().cloned().unwrap_or_default()
    }

    fn path(&self) -> String {
        self.request_line()
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string()
    }

    /// The head to send upstream: the client's, without its host, credentials and
    /// hop-by-hop headers, with the API server as host and the pod's `token`.
    fn upstream_head(&self, upstream: &Upstream, token: &str) -> String {
        let mut request = self.request_line();
        for h in self.head.iter().skip(1) {
            let name = h
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if matches!(
                name.as_str(),
                "host"
                    | "authorization"
                    | "connection"
                    | "keep-alive"
                    | "proxy-connection"
                    | "accept-encoding"
            ) {
                continue;
            }
            request.push_str(h);
        }
        request.push_str(&format!("Host: {}:{}\r\n", upstream.host, upstream.port));
        if !token.trim().is_empty() {
            request.push_str(&format!("Authorization: Bearer {}\r\n", token.trim()));
        }
        request.push_str("Connection: close\r\n\r\n");
        request
    }
}

fn serve(conn: TcpStream, upstream: &Upstream) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some(request) = Request::read(&mut reader)? else {
        return Ok(());
    };
    let mut out = conn;
    if !allowed(&request.host, &request.path()) {
        let msg = "Forbidden\n";
        write!(
            out,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
            msg.len()
        )?;
        return Ok(());
    }
    let token = std::fs::read_to_string(format!("{SA_DIR}/token")).unwrap_or_default();
    let head = request.upstream_head(upstream, &token);
    forward(upstream, head.as_bytes(), &request.body, &mut out)
}

/// Sends the request to the API server over TLS and its response to `out`; a failure
/// while reading the response is answered with 502.
fn forward(
    upstream: &Upstream,
    head: &[u8],
    body: &[u8],
    out: &mut TcpStream,
) -> std::io::Result<()> {
    let server_name = rustls::pki_types::ServerName::try_from(upstream.host.clone())
        .map_err(std::io::Error::other)?;
    let mut tls = rustls::ClientConnection::new(upstream.tls.clone(), server_name)
        .map_err(std::io::Error::other)?;
    let mut tcp = TcpStream::connect(format!("{}:{}", upstream.host, upstream.port))?;
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    stream.write_all(head)?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // The server closed without close_notify: what arrived is the response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => {
            let msg = format!("error trying to reach the API server: {e}\n");
            write!(
                out,
                "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                msg.len()
            )?;
            return Ok(());
        }
    }
    out.write_all(&response)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn default_filters() {
        assert!(allowed("localhost:8001", "/api"));
        assert!(allowed("127.0.0.1:8001", "/api/v1/namespaces/default/pods"));
        assert!(!allowed("10.42.0.5:8001", "/api"));
        assert!(!allowed(
            "localhost",
            "/api/v1/namespaces/default/pods/x/exec"
        ));
        assert!(!allowed(
            "localhost",
            "/api/v1/namespaces/default/pods/x/attach"
        ));
    }
}
