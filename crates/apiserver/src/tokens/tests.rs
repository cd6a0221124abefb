use super::*;
use std::sync::LazyLock;

static KEY: LazyLock<SaKey> = LazyLock::new(|| SaKey::generate().unwrap());

fn spec(pod: bool, seconds: i64) -> TokenSpec {
    TokenSpec {
        namespace: "default".into(),
        service_account: Ref {
            name: "default".into(),
            uid: "sa-uid".into(),
        },
        pod: pod.then(|| Ref {
            name: "p".into(),
            uid: "pod-uid".into(),
        }),
        node: None,
        audiences: API_AUDIENCES.iter().map(|s| s.to_string()).collect(),
        expiration_seconds: seconds,
    }
}

fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(p).unwrap()).unwrap()
}

#[test]
fn pod_bound_3607_is_extended_with_warnafter() {
    let t = issue(&KEY, &spec(true, 3607), 1000);
    let c = payload(&t.token);
    assert_eq!(c["exp"], 1000 + 31_536_000);
    assert_eq!(c["kubernetes.io"]["warnafter"], 1000 + 3607);
    assert_eq!(c["iat"], c["nbf"]);
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "aud",
            "exp",
            "iat",
            "iss",
            "jti",
            "kubernetes.io",
            "nbf",
            "sub"
        ]
    );
    let claims = verify(&KEY, &t.token, 1001).unwrap();
    assert_eq!(claims.sub, "system:serviceaccount:default:default");
}

#[test]
fn create_token_is_one_hour_without_pod() {
    let t = issue(&KEY, &spec(false, 3600), 1000);
    let c = payload(&t.token);
    assert_eq!(c["exp"], 4600);
    assert!(c["kubernetes.io"].get("warnafter").is_none());
    assert!(c["kubernetes.io"].get("pod").is_none());
}

#[test]
fn header_has_alg_and_kid_only() {
    let t = issue(&KEY, &spec(false, 3600), 1000);
    let h = t.token.split('.').next().unwrap();
    let header = String::from_utf8(B64.decode(h).unwrap()).unwrap();
    assert_eq!(
        header,
        format!(r#"{{"alg":"RS256","kid":"{}"}}"#, KEY.kid())
    );
    assert_eq!(KEY.kid().len(), 43);
}

#[test]
fn bad_tokens_are_rejected() {
    let good = issue(&KEY, &spec(false, 3600), 1000).token;
    assert!(matches!(
        verify(&KEY, "garbage", 1001),
        Err(TokenError::Malformed)
    ));
    assert!(matches!(
        verify(&KEY, &good, 4600),
        Err(TokenError::Expired)
    ));
    assert!(matches!(
        verify(&KEY, &good, 999),
        Err(TokenError::NotYetValid)
    ));
    // Flip a signature byte.
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(verify(&KEY, &tampered, 1001).is_err());
    // Signed by another key.
    let other = SaKey::generate().unwrap();
    let forged = issue(&other, &spec(false, 3600), 1000).token;
    assert!(matches!(
        verify(&KEY, &forged, 1001),
        Err(TokenError::BadSignature)
    ));
    // Wrong audience.
    let mut s = spec(false, 3600);
    s.audiences = vec!["vault".into()];
    let t = issue(&KEY, &s, 1000).token;
    assert!(matches!(
        verify(&KEY, &t, 1001),
        Err(TokenError::WrongAudience(_))
    ));
}
