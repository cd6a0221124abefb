//! The files a reference control plane reads, laid out as k3s lays out its server data
//! directory (`k3s-io/k3s:pkg/daemons/control/deps/deps.go`, `CreateRuntimeCertFiles`):
//! `tls/` for certificates and keys, `cred/` for kubeconfigs, `db/etcd` for etcd's data.
//! Certificates are 0644, keys and kubeconfigs 0600, the directories 0700.

use apiserver::pki::{Authority, KeyedCert, PkiError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why the files could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("generating certificates")]
    Pki(#[from] PkiError),
    #[error("generating the service-account key: {0}")]
    ServiceAccountKey(String),
    #[error("writing {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing a kubeconfig")]
    Kubeconfig(#[from] harness::kubeconfig::KubeconfigError),
}

/// Paths of everything the three processes read, under one data directory.
#[derive(Debug, Clone)]
pub struct Files {
    pub dir: PathBuf,
    /// The server CA (PEM), which clients trust.
    pub server_ca_pem: String,
    /// The admin kubeconfig (`system:admin`, `system:masters`), pointing at the API server.
    pub admin: kube::config::Kubeconfig,
    /// What the node needs to join, when the control plane has one.
    pub node: Option<kubelet::Join>,
}

impl Files {
    pub fn tls(&self, name: &str) -> String {
        self.dir.join("tls").join(name).display().to_string()
    }

    pub fn cred(&self, name: &str) -> String {
        self.dir.join("cred").join(name).display().to_string()
    }

    pub fn etcd_data(&self) -> PathBuf {
        self.dir.join("db/etcd")
    }

    pub fn log(&self, component: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{component}.log"))
    }
}

/// Makes the CAs, certificates, keys and kubeconfigs of one control plane whose API
/// server will listen at `server` (`https://127.0.0.1:<port>`), and, given a node
/// (`node`: its name and IP), the node's credentials and kube-scheduler's.
pub fn write(
    dir: &Path,
    server: &str,
    node: Option<(&str, std::net::IpAddr)>,
) -> Result<Files, FilesError> {
    for sub in ["tls", "cred", "db", "logs"] {
        make_dir(&dir.join(sub))?;
    }
    let tls = dir.join("tls");
    // k3s's three CAs (`genClientCerts`, `genServerCerts`, `genRequestHeaderCerts`).
    let server_ca = Authority::generate("k3s-server", "server CA")?;
    let client_ca = Authority::generate("k3s-client", "client CA")?;
    let request_header_ca = Authority::generate("k3s-request-header", "request-header CA")?;
    write_cert(&tls, "server-ca", &server_ca.cert)?;
    write_cert(&tls, "client-ca", &client_ca.cert)?;
    write_cert(&tls, "request-header-ca", &request_header_ca.cert)?;

    // `serving-kube-apiserver.crt` holds the leaf, then the CA.
    let mut serving = server_ca.serving_cert("kube-apiserver", "serving certificate")?;
    serving.cert_pem.push_str(&server_ca.cert.cert_pem);
    write_cert(&tls, "serving-kube-apiserver", &serving)?;

    let admin = client_ca.client_cert("system:admin", &["system:masters"], "admin")?;
    let controller = client_ca.client_cert(
        "system:kube-controller-manager",
        &[],
        "controller-manager client certificate",
    )?;
    let kubelet_client = client_ca.client_cert(
        "system:apiserver",
        &["system:masters"],
        "API server's kubelet client certificate",
    )?;
    let auth_proxy = request_header_ca.client_cert("system:auth-proxy", &[], "auth proxy")?;
    write_cert(&tls, "client-admin", &admin)?;
    write_cert(&tls, "client-controller", &controller)?;
    write_cert(&tls, "client-kube-apiserver", &kubelet_client)?;
    write_cert(&tls, "client-auth-proxy", &auth_proxy)?;
    write_private(
        &tls.join("service.key"),
        &service_account_key().map_err(FilesError::ServiceAccountKey)?,
    )?;

    let ca = &server_ca.cert.cert_pem;
    let admin_kc = apiserver::kubeconfig::admin(server, ca, &admin);
    let cred = dir.join("cred");
    harness::kubeconfig::write(&cred.join("admin.kubeconfig"), &admin_kc)?;
    harness::kubeconfig::write(
        &cred.join("controller.kubeconfig"),
        &apiserver::kubeconfig::admin(server, ca, &controller),
    )?;
    let node = match node {
        None => None,
        Some((name, ip)) => {
            // k3s's scheduler certificate (`genClientCerts`) and kubeconfig.
            let scheduler = client_ca.client_cert(
                "system:kube-scheduler",
                &[],
                "scheduler client certificate",
            )?;
            write_cert(&tls, "client-scheduler", &scheduler)?;
            harness::kubeconfig::write(
                &cred.join("scheduler.kubeconfig"),
                &apiserver::kubeconfig::admin(server, ca, &scheduler),
            )?;
            Some(node_files(
                dir,
                server,
                (name, ip),
                (&server_ca, &client_ca),
            )?)
        }
    };
    Ok(Files {
        dir: dir.to_path_buf(),
        server_ca_pem: ca.clone(),
        admin: admin_kc,
        node,
    })
}

/// The node's files, as a k3s agent keeps them (`k3s-io/k3s:pkg/agent/config/config.go`):
/// its kubelet's client certificate `system:node:<name>` in `system:nodes`
/// (`client-kubelet.crt`), signed by the client CA, and its serving certificate
/// (`serving-kubelet.crt`), signed by the server CA for the node's name, `localhost`, its
/// IP and `127.0.0.1` (`pkg/server/router.go`, `servingKubeletCert`).
fn node_files(
    dir: &Path,
    server: &str,
    (name, ip): (&str, std::net::IpAddr),
    (server_ca, client_ca): (&Authority, &Authority),
) -> Result<kubelet::Join, FilesError> {
    let agent = dir.join("agent");
    make_dir(&agent)?;
    let user = format!("system:node:{name}");
    let client = client_ca.client_cert(&user, &["system:nodes"], "kubelet client certificate")?;
    let mut ips = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    if !ips.contains(&ip) {
        ips.push(ip);
    }
    let mut serving = server_ca.serving_cert_for(
        name,
        &[name, "localhost"],
        &ips,
        "kubelet serving certificate",
    )?;
    serving.cert_pem.push_str(&server_ca.cert.cert_pem);
    write_cert(&agent, "client-kubelet", &client)?;
    write_cert(&agent, "serving-kubelet", &serving)?;
    let kubeconfig = apiserver::kubeconfig::admin(server, &server_ca.cert.cert_pem, &client);
    harness::kubeconfig::write(&agent.join("kubelet.kubeconfig"), &kubeconfig)?;
    Ok(kubelet::Join {
        kubeconfig,
        serving_cert_pem: serving.cert_pem,
        serving_key_pem: serving.key_pem,
        client_ca_pem: client_ca.cert.cert_pem.clone(),
    })
}

/// k3s's `service.key`: RSA 2048 (`certutil.NewPrivateKey`), PKCS#1 PEM.
fn service_account_key() -> Result<String, String> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| e.to_string())?;
    key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| e.to_string())
}

fn make_dir(path: &Path) -> Result<(), FilesError> {
    let fail = |source| FilesError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(fail)
}

fn write_cert(dir: &Path, name: &str, cert: &KeyedCert) -> Result<(), FilesError> {
    let crt = dir.join(format!("{name}.crt"));
    std::fs::write(&crt, &cert.cert_pem).map_err(|source| FilesError::Write {
        path: crt.display().to_string(),
        source,
    })?;
    write_private(&dir.join(format!("{name}.key")), &cert.key_pem)
}

fn write_private(path: &Path, text: &str) -> Result<(), FilesError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| FilesError::Write {
            path: path.display().to_string(),
            source,
        })
}
