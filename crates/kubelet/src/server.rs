//! A joined node's HTTPS server, which the API server calls for a pod's logs, exec and
//! port forwarding, as it calls any kubelet (`pkg/kubelet/server/server.go`).
//!
//! Who calls is read from the client certificate, which must be signed by the CA the
//! kubelet trusts (`--client-ca-file`; k3s's kubelet refuses anonymous requests), and
//! what they may do is asked of the API server with a SubjectAccessReview, as the
//! kubelet's webhook authorizer asks (`pkg/kubelet/server/auth.go`: the verb from the
//! method, resource `nodes`, subresource `proxy` for these paths), answers allowed for
//! five minutes (`--authorization-webhook-cache-authorized-ttl`'s default).

use crate::answer::{Body, pod_not_found, text};
use crate::{Kubelet, Stop, spdy, until};
use apiserver::runtime::{AttachRequest, ExecRequest, LogRequest, PodRuntime, Remote};
use futures::StreamExt;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an allowed answer is kept.
const AUTHORIZED_TTL: Duration = Duration::from_secs(300);

/// How long a caller has for the TLS handshake and a request's headers: the port is on the
/// node's address, reachable from the network.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts serving on the node's IP, on a port the system picks; returns the port (the
/// Node's `daemonEndpoints.kubeletEndpoint.Port`) and the guard that, dropped, ends the
/// server and every connection and stream it started.
pub(crate) async fn serve(kubelet: Arc<Kubelet>, tls: &Tls<'_>) -> Result<(u16, Stop), String> {
    let addr = format!("{}:0", kubelet.config.node_ip);
    let tls = tls_config(tls)?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let stop = Stop::new();
    let server = Arc::new(Server {
        kubelet,
        allowed: Mutex::new(HashMap::new()),
        stop: stop.signal(),
    });
    stop.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let server = server.clone();
            // Frames are small and answered at once: Nagle's delay would hold each reply
            // for the peer's delayed acknowledgement (Go's connections set no delay too).
            let _ = tcp.set_nodelay(true);
            tokio::spawn(until(server.stop.clone(), async move {
                let Ok(Ok(tls)) =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                else {
                    return;
                };
                let caller = tls.get_ref().1.peer_certificates().and_then(caller);
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    let caller = caller.clone();
                    async move { Ok::<_, std::convert::Infallible>(server.handle(caller, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HANDSHAKE_TIMEOUT)
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            }));
        }
    });
    Ok((port, stop))
}

/// The server's certificate chain and key (PEM), and the CA its callers' certificates
/// must be signed by.
pub(crate) struct Tls<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
    pub client_ca_pem: &'a str,
}

/// TLS with the kubelet's serving certificate, requiring a client certificate signed by
/// the client CA.
fn tls_config(join: &Tls<'_>) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pem = |text: &str| {
        rustls_pemfile::certs(&mut text.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("reading a certificate: {e}"))
    };
    let mut roots = rustls::RootCertStore::empty();
    for ca in pem(join.client_ca_pem)? {
        roots.add(ca).map_err(|e| format!("the client CA: {e}"))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("the client CA: {e}"))?;
    let key = rustls_pemfile::private_key(&mut join.key_pem.as_bytes())
        .map_err(|e| format!("reading the serving key: {e}"))?
        .ok_or("no serving key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(pem(join.cert_pem)?, key)
        .map_err(|e| format!("the serving certificate: {e}"))?;
    // Upgrades (exec, port forwarding) are HTTP/1.1's.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A caller: the certificate's CommonName and Organizations, as x509 authentication reads
/// them (`k8s.io/apiserver/pkg/authentication/request/x509`, `CommonNameUserConversion`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Caller {
    user: String,
    groups: Vec<String>,
}

fn caller(certs: &[rustls::pki_types::CertificateDer<'_>]) -> Option<Caller> {
    let (_, cert) = x509_parser::parse_x509_certificate(certs.first()?).ok()?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    Some(Caller { user, groups })
}

struct Server {
    kubelet: Arc<Kubelet>,
    /// Ends the connections and streams the server started.
    stop: tokio::sync::watch::Receiver<bool>,
    /// (caller, verb) allowed, and when that was answered.
    allowed: Mutex<HashMap<(Caller, String), Instant>>,
}

impl Server {
    async fn handle(&self, caller: Option<Caller>, req: Request<Incoming>) -> Response<Body> {
        let Some(caller) = caller else {
            return text(StatusCode::UNAUTHORIZED, "Unauthorized");
        };
        let verb = apiserver::method_verb(req.method());
        let path = req.uri().path().to_string();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if let Err(response) = self.authorize(&caller, verb).await {
            return response;
        }
        let query: Vec<(String, String)> =
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        match parts.as_slice() {
            ["containerLogs", ns, pod, container] => self.logs(ns, pod, container, &query).await,
            // `/exec/{ns}/{pod}/{container}` and `/exec/{ns}/{pod}/{uid}/{container}`.
            // `/exec/{ns}/{pod}/{container}`, `/attach/...`, and each with the pod's uid
            // before the container.
            [kind @ ("exec" | "attach"), ns, pod, container]
            | [kind @ ("exec" | "attach"), ns, pod, _, container] => {
                self.remote(req, kind == &"attach", ns, pod, container, &query)
            }
            ["portForward", ns, pod] | ["portForward", ns, pod, _] => {
                spdy::port_forward(req, self.kubelet.clone(), ns, pod, self.stop.clone())
            }
            _ => text(StatusCode::NOT_FOUND, "404 page not found"),
        }
    }

    /// Asks the API server whether `caller` may `verb` nodes/proxy on this node.
    async fn authorize(&self, caller: &Caller, verb: &str) -> Result<(), Response<Body>> {
        let key = (caller.clone(), verb.to_string());
        let fresh = |at: &Instant| at.elapsed() < AUTHORIZED_TTL;
        if self
            .allowed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .is_some_and(fresh)
        {
            return Ok(());
        }
        let node = &self.kubelet.config.node_name;
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(caller.user.clone()),
                groups: Some(caller.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    resource: Some("nodes".into()),
                    subresource: Some("proxy".into()),
                    name: Some(node.clone()),
                    version: Some("v1".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: kube::Api<SubjectAccessReview> = kube::Api::all(self.kubelet.client.clone());
        match api.create(&Default::default(), &review).await {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {
                self.allowed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, Instant::now());
                Ok(())
            }
            // Worded as `InstallAuthFilter` words it (`pkg/kubelet/server/server.go`).
            Ok(_) => Err(text(
                StatusCode::FORBIDDEN,
                &format!(
                    "Forbidden (user={}, verb={verb}, resource=nodes, subresource(s)=[proxy])\n",
                    caller.user
                ),
            )),
            Err(e) => Err(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "Authorization error (user={}, verb={verb}, resource=nodes, subresource=proxy): {e}",
                    caller.user
                ),
            )),
        }
    }

    /// `/containerLogs`: the log as chunked text, as `getContainerLogs` writes it; a
    /// refusal is a 400 whose body is the reason, which the API server passes on.
    async fn logs(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        query: &[(String, String)],
    ) -> Response<Body> {
        let Some(uid) = self.kubelet.target(ns, pod).map(|t| t.uid) else {
            return pod_not_found(Some(pod));
        };
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        // `PodLogOptions` decoded from the query: booleans as `strconv.ParseBool` reads them.
        let flag = |k: &str| {
            get(k).is_some_and(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"))
        };
        let number = |k: &str| get(k).and_then(|v| v.parse::<usize>().ok());
        let req = LogRequest {
            namespace: ns.into(),
            pod: pod.into(),
            uid,
            container: container.into(),
            follow: flag("follow"),
            previous: flag("previous"),
            timestamps: flag("timestamps"),
            tail_lines: number("tailLines"),
            limit_bytes: number("limitBytes"),
            since: match apiserver::runtime::log_since(get("sinceSeconds"), get("sinceTime")) {
                Ok(since) => since,
                Err(why) => return text(StatusCode::BAD_REQUEST, &why),
            },
        };
        match self.kubelet.logs(req).await {
            Ok(stream) => {
                let body = StreamBody::new(stream.map(|b| Ok(Frame::data(b))));
                Response::builder()
                    .header("Content-Type", "text/plain")
                    .body(BodyExt::boxed_unsync(body))
                    .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response"))
            }
            Err(e) => text(StatusCode::BAD_REQUEST, &e.0),
        }
    }

    /// `/exec` and `/attach`: upgraded to SPDY, then the streams of `remotecommand`.
    fn remote(
        &self,
        req: Request<Incoming>,
        attach: bool,
        ns: &str,
        pod: &str,
        container: &str,
        query: &[(String, String)],
    ) -> Response<Body> {
        // In `getExec`'s and `getAttach`'s order (`pkg/kubelet/server/server.go`): the
        // options, the pod, then the runtime's refusal of the container, all before any
        // upgrade. A stream is asked for with "1" (`remotecommand/httpstream.go`,
        // `NewOptions`); with a terminal, standard error is the terminal's, with no stream
        // of its own.
        let flag = |k: &str| query.iter().any(|(n, v)| n == k && v == "1");
        let options = spdy::StreamOptions {
            stdin: flag("input"),
            stdout: flag("output"),
            stderr: flag("error") && !flag("tty"),
            tty: flag("tty"),
        };
        if !(options.stdin || options.stdout || options.stderr) {
            return text(
                StatusCode::BAD_REQUEST,
                "you must specify at least 1 of stdin, stdout, stderr",
            );
        }
        let Some(target) = self.kubelet.target(ns, pod) else {
            return pod_not_found(None);
        };
        // `GetExec` and `GetAttach` (`kubelet_pods.go`), written by `streaming.WriteError`.
        let refuse = |why: &str| text(StatusCode::INTERNAL_SERVER_ERROR, why);
        let Some(io) = target.io.get(container) else {
            return refuse(&format!("container not found ({container:?})"));
        };
        let remote = if attach {
            // Whether an attach has a terminal is the container's: a terminal's standard
            // error cannot be a stream of its own (the CRI streaming server's
            // `validateAttachRequest`, `k8s.io/kubelet/pkg/cri/streaming/server.go`).
            if io.tty && options.stderr {
                return refuse("tty and stderr cannot both be true");
            }
            Remote::Attach(AttachRequest {
                namespace: ns.into(),
                pod: pod.into(),
                uid: target.uid,
                container: container.into(),
                stdin: options.stdin,
                stdout: options.stdout,
                stderr: options.stderr,
            })
        } else {
            Remote::Exec(ExecRequest {
                namespace: ns.into(),
                pod: pod.into(),
                uid: target.uid,
                container: container.into(),
                command: query
                    .iter()
                    .filter(|(n, _)| n == "command")
                    .map(|(_, v)| v.clone())
                    .collect(),
                stdin: options.stdin,
                stdout: options.stdout,
                stderr: options.stderr,
                tty: options.tty,
            })
        };
        spdy::exec(
            req,
            self.kubelet.clone(),
            remote,
            options,
            self.stop.clone(),
        )
    }
}
