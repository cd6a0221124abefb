use super::*;
use x509_parser::prelude::*;

#[test]
fn serving_cert_has_k3s_names_and_chain() {
    let pki = Pki::generate().unwrap();
    let (_, cert) = X509Certificate::from_der(&pki.serving.cert_der).unwrap();
    assert_eq!(
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "kube-apiserver"
    );
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => format!("{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    for dns in SERVING_DNS_NAMES {
        assert!(
            names.iter().any(|n| n == dns),
            "{dns} missing from {names:?}"
        );
    }
    assert_eq!(names.len(), SERVING_DNS_NAMES.len() + SERVING_IPS.len());
    assert_eq!(pki.serving_chain().len(), 2);
    assert_eq!(pki.serving_chain()[1], pki.server_ca.cert_der);
}

#[test]
fn admin_cert_is_system_masters() {
    let pki = Pki::generate().unwrap();
    let (_, cert) = X509Certificate::from_der(&pki.admin.cert_der).unwrap();
    assert_eq!(
        cert.subject().to_string(),
        "O=system:masters, CN=system:admin"
    );
    let (_, ca) = X509Certificate::from_der(&pki.server_ca.cert_der).unwrap();
    assert!(ca.subject().to_string().starts_with("CN=k3s-server-ca@"));
}

#[test]
fn a_leaf_names_its_issuer_s_key_as_go_s_certificates_do() {
    let pki = Pki::generate().unwrap();
    let (_, ca) = X509Certificate::from_der(&pki.server_ca.cert_der).unwrap();
    let ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("a CA has a SubjectKeyIdentifier");
    for leaf in [&pki.serving, &pki.admin] {
        let (_, cert) = X509Certificate::from_der(&leaf.cert_der).unwrap();
        let aki = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.clone(),
                _ => None,
            })
            .expect("a leaf has an AuthorityKeyIdentifier");
        if std::ptr::eq(leaf, &pki.serving) {
            assert_eq!(aki.0, ski.as_slice());
        }
    }
}
