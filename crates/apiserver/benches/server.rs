//! `cargo bench -p apiserver` (and `cargo xtask bench`): the embedded API server against
//! its targets, measured in one run against a baseline on the same machine (DESIGN.md,
//! Performance targets).
//!
//! - start to first answered request (target ≤ 10 ms, release), in-process, median of 15;
//! - GET latency and throughput over TLS keep-alive for an object read with the admin
//!   certificate, against a bare hyper + rustls server answering the same bytes on the
//!   same TLS configuration (target ≥ 80 % of its throughput);
//! - resident memory of the cluster process after the load (target ≤ 50 MB).
//!
//! Each server runs in its own child process (this binary re-executed with
//! `KUBELAB_BENCH_SERVE=cluster|baseline`) so that memory and CPU are its own. The
//! baseline serves the very bytes the cluster answered (read from the cluster, handed
//! over in a file), so the two cannot differ by chance, e.g. by the length of a freshly
//! generated CA certificate; every answer of either server is checked against them.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use rustls::pki_types::ServerName;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::bench::Row;
use tokio::net::TcpStream;

const PATH: &str = "/api/v1/namespaces/default/configmaps/kube-root-ca.crt";
const CONNECTIONS: usize = 4;
const LOAD_SECONDS: u64 = 3;
const LATENCY_REQUESTS: usize = 2000;

fn main() {
    match std::env::var("KUBELAB_BENCH_SERVE").as_deref() {
        Ok(mode) => serve(mode),
        Err(_) => run(),
    }
}

/// Child mode: start a server, print `port` and the PEMs the client needs, then serve until
/// stdin closes.
fn serve(mode: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cluster = apiserver::Cluster::start(apiserver::Config::default())
            .await
            .unwrap();
        let port = if mode == "baseline" {
            // The bytes the cluster child answered, served by bare hyper + rustls.
            let body =
                Bytes::from(std::fs::read(std::env::var("KUBELAB_BENCH_BODY").unwrap()).unwrap());
            let tls = apiserver::tls_config(cluster.pki()).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            tokio::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    let _ = s.set_nodelay(true);
                    let (acceptor, body) = (acceptor.clone(), body.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(s).await else {
                            return;
                        };
                        let svc = hyper::service::service_fn(move |_req| {
                            let body = body.clone();
                            async move {
                                let mut r = hyper::Response::new(Full::new(body));
                                r.headers_mut()
                                    .insert("content-type", "application/json".parse().unwrap());
                                Ok::<_, std::convert::Infallible>(r)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                            .await;
                    });
                }
            });
            port
        } else {
            cluster.addr.port()
        };
        let pki = cluster.pki();
        println!("{port}");
        println!("{}", pki.server_ca.cert_pem.replace('\n', "|"));
        println!("{}", pki.admin.cert_pem.replace('\n', "|"));
        println!("{}", pki.admin.key_pem.replace('\n', "|"));
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await
        .unwrap();
        drop(cluster);
    });
}

struct Child {
    proc: std::process::Child,
    port: u16,
    connector: tokio_rustls::TlsConnector,
}

impl Child {
    fn spawn(mode: &str, body: Option<&std::path::Path>) -> Child {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        if let Some(body) = body {
            cmd.env("KUBELAB_BENCH_BODY", body);
        }
        let mut proc = cmd
            .env("KUBELAB_BENCH_SERVE", mode)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let mut next = || lines.next().unwrap().unwrap().replace('|', "\n");
        let port: u16 = next().trim().parse().unwrap();
        let (ca, cert, key) = (next(), next(), next());
        Child {
            proc,
            port,
            connector: connector(&ca, &cert, &key),
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        drop(self.proc.stdin.take());
        let _ = self.proc.wait();
    }
}

fn connector(ca: &str, cert: &str, key: &str) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(port: u16, connector: &tokio_rustls::TlsConnector) -> Sender {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn get(sender: &mut Sender) -> Bytes {
    sender.ready().await.unwrap();
    let req = http::Request::builder()
        .uri(PATH)
        .header("host", "localhost")
        .header("user-agent", "bench")
        .body(Empty::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap().to_bytes()
}

struct Load {
    median_us: f64,
    p99_us: f64,
    rps: f64,
}

/// Latency on one connection, then throughput on several; every answer must be `body`.
async fn load(child: &Child, body: &Bytes) -> Load {
    let mut sender = connect(child.port, &child.connector).await;
    for _ in 0..200 {
        assert_eq!(&get(&mut sender).await, body, "the answer stays the same");
    }
    let mut samples = Vec::with_capacity(LATENCY_REQUESTS);
    for _ in 0..LATENCY_REQUESTS {
        let t = Instant::now();
        let got = get(&mut sender).await;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(got.len(), body.len(), "the answer stays the same");
    }
    samples.sort_by(f64::total_cmp);
    let deadline = Instant::now() + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut s = connect(child.port, &child.connector).await;
        let expected = body.len();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                assert_eq!(
                    get(&mut s).await.len(),
                    expected,
                    "the answer stays the same"
                );
                n += 1;
            }
            n
        }));
    }
    let start = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    Load {
        median_us: samples[samples.len() / 2],
        p99_us: samples[samples.len() * 99 / 100],
        rps: total as f64 / start.elapsed().as_secs_f64(),
    }
}

fn run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Start to first answered request, in-process: fresh PKI, seeded store, TLS listener,
        // then a TLS GET with the admin certificate.
        let mut starts = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            let cluster = apiserver::Cluster::start(apiserver::Config::default()).await.unwrap();
            let pki = cluster.pki();
            let c = connector(&pki.server_ca.cert_pem, &pki.admin.cert_pem, &pki.admin.key_pem);
            let mut s = connect(cluster.addr.port(), &c).await;
            get(&mut s).await;
            starts.push(t.elapsed().as_secs_f64() * 1e3);
            cluster.shutdown().await;
        }
        starts.sort_by(f64::total_cmp);
        let start_ms = starts[starts.len() / 2];

        let cluster = Child::spawn("cluster", None);
        let body = {
            let mut s = connect(cluster.port, &cluster.connector).await;
            get(&mut s).await
        };
        let body_file = std::env::temp_dir().join(format!("kubelab-bench-body-{}", std::process::id()));
        std::fs::write(&body_file, &body).unwrap();
        let baseline = Child::spawn("baseline", Some(&body_file));
        let base = load(&baseline, &body).await;
        drop(baseline);
        let _ = std::fs::remove_file(&body_file);
        let ours = load(&cluster, &body).await;
        let rss_mib = cluster.rss_kib() as f64 / 1024.0;
        drop(cluster);

        let ratio = ours.rps / base.rps * 100.0;
        println!(
            "kubelab apiserver benchmark ({} cores); GET {PATH} ({} bytes) over TLS keep-alive, {CONNECTIONS} connections",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            body.len()
        );
        let baseline = "bare hyper + rustls, same bytes";
        Row {
            figure: "API server: start to first answered request".into(),
            value: format!("{start_ms:.1} ms"),
            target: "<= 10 ms".into(),
            met: Some(start_ms <= 10.0),
            baseline: "none (a real kube-apiserver: see control-plane)".into(),
        }
        .record();
        Row {
            figure: "API server: GET latency, median (p99)".into(),
            value: format!("{:.0} us ({:.0} us)", ours.median_us, ours.p99_us),
            target: "".into(),
            met: None,
            baseline: format!("{baseline}: {:.0} us ({:.0} us)", base.median_us, base.p99_us),
        }
        .record();
        Row {
            figure: "API server: GET throughput".into(),
            value: format!("{:.0} req/s = {ratio:.0} %", ours.rps),
            target: ">= 80 %".into(),
            met: Some(ratio >= 80.0),
            baseline: format!("{baseline}: {:.0} req/s", base.rps),
        }
        .record();
        Row {
            figure: "API server: RSS after the load".into(),
            value: format!("{rss_mib:.1} MiB"),
            target: "<= 50 MB".into(),
            met: Some(rss_mib * 1.048_576 <= 50.0),
            baseline: "".into(),
        }
        .record();
    });
}
