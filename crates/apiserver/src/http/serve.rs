//! Serving the router over TLS: on a TCP listener for the host and on a Unix socket that
//! the pod runtime bridges to `10.43.0.1:443`. Client certificates are optional and, when
//! presented, must be signed by the client CA; the verified user rides along with each
//! request as a `PeerIdentity`.

use super::PeerIdentity;
use super::chain::AuthProxy;
use crate::pki::Pki;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("building the client certificate verifier")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    #[error("building the TLS server configuration")]
    Config(#[source] rustls::Error),
}

/// The TLS configuration: serving chain (leaf + CA, like k3s), optional client certs.
pub fn tls_config(pki: &Pki) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in [&pki.client_ca, &pki.request_header_ca] {
        roots.add(ca.cert_der.clone()).map_err(TlsError::Config)?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(TlsError::Verifier)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(pki.serving_chain(), pki.serving.key_der())
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Where connections come from: the host's TCP port or the pods' Unix socket.
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

/// Accepts connections until `stop` changes, serving each on its own task.
pub async fn accept_loop(
    listener: Listener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    request_header_ca: Arc<Vec<u8>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = async {
                match &listener {
                    Listener::Tcp(l) => l.accept().await.map(|(s, _)| {
                        let _ = s.set_nodelay(true);
                        tokio::spawn(serve_connection(
                            s,
                            acceptor.clone(),
                            router.clone(),
                            request_header_ca.clone(),
                        ));
                    }),
                    Listener::Unix(l) => l.accept().await.map(|(s, _)| {
                        tokio::spawn(serve_connection(
                            s,
                            acceptor.clone(),
                            router.clone(),
                            request_header_ca.clone(),
                        ));
                    }),
                }
            } => {
                if let Err(e) = accepted {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Serves one accepted connection: TLS handshake, then HTTP/1.1 or HTTP/2.
pub async fn serve_connection<S>(
    stream: S,
    acceptor: TlsAcceptor,
    router: axum::Router,
    request_header_ca: Arc<Vec<u8>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tls = match acceptor.accept(stream).await {
        Ok(t) => t,
        Err(e) => {
            // A client that does not trust our CA hangs up here (curl exit 60); not our error.
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
    };
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|c| crate::authn::peer(c, &request_header_ca));
    let (identity, proxy) = match peer {
        Some(crate::authn::Peer::User(user)) => (PeerIdentity(Some(Arc::new(user))), None),
        Some(crate::authn::Peer::Proxy(name)) => (PeerIdentity(None), Some(AuthProxy(name))),
        None => (PeerIdentity(None), None),
    };
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(identity.clone());
            if let Some(proxy) = &proxy {
                req.extensions_mut().insert(proxy.clone());
            }
            let router = router.clone();
            async move { router.oneshot(req.map(axum::body::Body::new)).await }
        });
    let builder = auto::Builder::new(TokioExecutor::new());
    if let Err(e) = builder
        .serve_connection_with_upgrades(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
