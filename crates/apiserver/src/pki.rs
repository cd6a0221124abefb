//! The cluster's certificates and keys, made fresh for each cluster, shaped as k3s makes them.
//!
//! Mirrors `k3s-io/k3s:pkg/daemons/control/deps/deps.go`: a server CA and a client CA
//! (ECDSA P-256, CN `<program>-server-ca@<unix time>`), a serving certificate with CN
//! `kube-apiserver` whose PEM holds the leaf followed by the CA, and an admin client
//! certificate `CN=system:admin, O=system:masters`. The service-account signing key is
//! RSA 2048, as k3s's `service.key`. Nothing here touches the disk.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// DNS names on the serving certificate, after `kubernetes...` the SANs k3s adds.
pub const SERVING_DNS_NAMES: &[&str] = &[
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "localhost",
];

/// IP SANs: loopback and the `kubernetes` Service ClusterIP.
pub const SERVING_IPS: &[[u8; 4]] = &[[127, 0, 0, 1], [10, 43, 0, 1]];

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating key pair for {what}")]
    KeyGen {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("signing certificate for {what}")]
    Sign {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
}

/// A certificate and its key, PEM and DER.
pub struct KeyedCert {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_pem: String,
    key_der: Vec<u8>,
}

impl KeyedCert {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

impl std::fmt::Debug for KeyedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedCert").finish_non_exhaustive()
    }
}

/// Everything TLS needs for one cluster.
#[derive(Debug)]
pub struct Pki {
    /// The server CA: pods trust it through `kube-root-ca.crt`.
    pub server_ca: KeyedCert,
    /// The CA that signs client certificates; the server trusts client certs it signed.
    pub client_ca: KeyedCert,
    /// The serving certificate (leaf only; `serving_chain` adds the CA).
    pub serving: KeyedCert,
    /// `CN=system:admin, O=system:masters`.
    pub admin: KeyedCert,
    /// The CA of authenticating proxies (k3s's `request-header-ca.crt`): a client
    /// certificate it signed, for a name in `REQUEST_HEADER_ALLOWED_NAMES`, may say who
    /// the user is in `X-Remote-*` headers.
    pub request_header_ca: KeyedCert,
    client_issuer: CertifiedIssuer<'static, KeyPair>,
    request_header_issuer: CertifiedIssuer<'static, KeyPair>,
}

/// The proxy names the request-header authenticator accepts (k3s's
/// `--requestheader-allowed-names`, `k3s-io/k3s:pkg/daemons/control/server.go`).
pub const REQUEST_HEADER_ALLOWED_NAMES: &[&str] = &["system:auth-proxy"];

fn offset(t: jiff::Timestamp) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.as_second())
        .expect("certificate times are in range")
}

fn keypair(what: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|source| PkiError::KeyGen { what, source })
}

fn ca(
    prefix: &str,
    what: &'static str,
) -> Result<(KeyedCert, CertifiedIssuer<'static, KeyPair>), PkiError> {
    let now = jiff::Timestamp::now();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    // `createSigningCertKey`: CommonName is "<prefix>-ca@<unix seconds>".
    dn.push(
        DnType::CommonName,
        format!("{prefix}-ca@{}", now.as_second()),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.not_before = offset(now - jiff::SignedDuration::from_hours(1));
    params.not_after = offset(now + jiff::SignedDuration::from_hours(24 * 365 * 10));
    let key = keypair(what)?;
    let key_pem = key.serialize_pem();
    let key_der = key.serialize_der();
    let issuer = CertifiedIssuer::self_signed(params, key)
        .map_err(|source| PkiError::Sign { what, source })?;
    let cert = KeyedCert {
        cert_pem: issuer.pem(),
        cert_der: issuer.der().clone(),
        key_pem,
        key_der,
    };
    Ok((cert, issuer))
}

fn leaf(
    params: CertificateParams,
    issuer: &CertifiedIssuer<'static, KeyPair>,
    what: &'static str,
) -> Result<KeyedCert, PkiError> {
    let key = keypair(what)?;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|source| PkiError::Sign { what, source })?;
    Ok(KeyedCert {
        cert_pem: cert.pem(),
        cert_der: cert.der().clone(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    })
}

fn leaf_params(cn: &str, orgs: &[&str], usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let now = jiff::Timestamp::now();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    // Go's `x509.CreateCertificate` names the issuer's key in every certificate a CA with
    // a SubjectKeyId signs (`crypto/x509/x509.go`: `authorityKeyId = parent.SubjectKeyId`),
    // and clients that verify strictly (Python 3.13's default context, OpenSSL's
    // `X509_V_FLAG_X509_STRICT`) refuse a leaf without it.
    params.use_authority_key_identifier_extension = true;
    params.not_before = offset(now - jiff::SignedDuration::from_hours(1));
    params.not_after = offset(now + jiff::SignedDuration::from_hours(24 * 365));
    params
}

/// A certificate authority: its self-signed certificate and key, and the signer.
pub struct Authority {
    pub cert: KeyedCert,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// A fresh CA whose CommonName is `<prefix>-ca@<unix time>`.
    pub fn generate(prefix: &str, what: &'static str) -> Result<Authority, PkiError> {
        let (cert, issuer) = ca(prefix, what)?;
        Ok(Authority { cert, issuer })
    }

    /// A client certificate for `user` in `groups` (`CN=user, O=group...`).
    pub fn client_cert(
        &self,
        user: &str,
        groups: &[&str],
        what: &'static str,
    ) -> Result<KeyedCert, PkiError> {
        leaf(
            leaf_params(user, groups, ExtendedKeyUsagePurpose::ClientAuth),
            &self.issuer,
            what,
        )
    }

    /// A serving certificate `CN=<cn>` for the API server's names and addresses
    /// (`SERVING_DNS_NAMES`, `SERVING_IPS`).
    pub fn serving_cert(&self, cn: &str, what: &'static str) -> Result<KeyedCert, PkiError> {
        let mut params = leaf_params(cn, &[], ExtendedKeyUsagePurpose::ServerAuth);
        let mut sans: Vec<SanType> = Vec::new();
        for name in SERVING_DNS_NAMES {
            sans.push(SanType::DnsName(
                (*name).try_into().expect("static DNS names are valid"),
            ));
        }
        for ip in SERVING_IPS {
            sans.push(SanType::IpAddress(std::net::IpAddr::from(*ip)));
        }
        params.subject_alt_names = sans;
        leaf(params, &self.issuer, what)
    }

    /// A serving certificate `CN=<cn>` for other names and addresses: a kubelet's, which
    /// k3s signs with the server CA for the node's name, `localhost`, its IP and
    /// `127.0.0.1` (`k3s-io/k3s:pkg/server/router.go`, `servingKubeletCert`).
    pub fn serving_cert_for(
        &self,
        cn: &str,
        dns_names: &[&str],
        ips: &[std::net::IpAddr],
        what: &'static str,
    ) -> Result<KeyedCert, PkiError> {
        let mut params = leaf_params(cn, &[], ExtendedKeyUsagePurpose::ServerAuth);
        let mut sans: Vec<SanType> = Vec::new();
        for name in dns_names {
            let name = (*name)
                .try_into()
                .map_err(|source| PkiError::Sign { what, source })?;
            sans.push(SanType::DnsName(name));
        }
        sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.subject_alt_names = sans;
        leaf(params, &self.issuer, what)
    }
}

impl Pki {
    /// Makes a fresh set: three CAs (server, client, request header), the serving
    /// certificate and the admin certificate.
    pub fn generate() -> Result<Pki, PkiError> {
        // k3s names its CAs after its program: `version.Program + "-server"`, `"-client"`
        // and `"-request-header"` (`k3s-io/k3s:pkg/daemons/control/deps/deps.go`).
        let server = Authority::generate("k3s-server", "server CA")?;
        let client = Authority::generate("k3s-client", "client CA")?;
        let request_header = Authority::generate("k3s-request-header", "request-header CA")?;
        let serving = server.serving_cert("kube-apiserver", "serving certificate")?;
        let admin = client.client_cert(
            "system:admin",
            &["system:masters"],
            "admin client certificate",
        )?;
        Ok(Pki {
            server_ca: server.cert,
            client_ca: client.cert,
            serving,
            admin,
            request_header_ca: request_header.cert,
            client_issuer: client.issuer,
            request_header_issuer: request_header.issuer,
        })
    }

    /// The serving chain as k3s writes `serving-kube-apiserver.crt`: leaf, then the CA.
    pub fn serving_chain(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.serving.cert_der.clone(),
            self.server_ca.cert_der.clone(),
        ]
    }

    /// A client certificate for `user` in `groups`, signed by the client CA.
    pub fn client_cert(&self, user: &str, groups: &[&str]) -> Result<KeyedCert, PkiError> {
        leaf(
            leaf_params(user, groups, ExtendedKeyUsagePurpose::ClientAuth),
            &self.client_issuer,
            "client certificate",
        )
    }

    /// An authenticating proxy's certificate (`CN=<name>`), signed by the request-header
    /// CA, as k3s's `client-auth-proxy.crt` is.
    pub fn proxy_cert(&self, name: &str) -> Result<KeyedCert, PkiError> {
        leaf(
            leaf_params(name, &[], ExtendedKeyUsagePurpose::ClientAuth),
            &self.request_header_issuer,
            "proxy client certificate",
        )
    }
}

#[cfg(test)]
mod tests;
