//! An `http` step `via: token` trusts the cluster CA and sends a ServiceAccount's token,
//! and neither the token nor the CA ends up in the transcript.

#[tokio::test(flavor = "multi_thread")]
async fn http_via_token_authenticates_as_the_service_account() {
    for (tool, install) in [
        ("kubectl", testkit::install::KUBECTL),
        ("curl", testkit::install::CURL),
    ] {
        if testkit::host_tool(tool, install).is_none() {
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("kubelab-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.join("04-token");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("scenario.yaml"),
        r#"title: token
summary: requests with a service account's token
steps:
  - http: {path: /api, via: token}
    name: api
  - http: {path: /api/v1/namespaces/default/pods, via: token, as: default}
    name: pods
"#,
    )
    .unwrap();
    let lab = harness::Lab::from_dir(&dir).unwrap();
    let steps = harness::run(&lab, &backends::Embedded::default())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    let (name, api) = &steps[0];
    assert_eq!(name, "lab04__01-api");
    assert!(
        api.starts_with(
            "$ curl -s --cacert ca.crt -H \"Authorization: Bearer $TOKEN\" https://127.0.0.1:"
        ),
        "{api}"
    );
    assert!(api.contains("\"kind\": \"APIVersions\""), "{api}");
    let (_, pods) = &steps[1];
    assert!(
        pods.contains(
            r#""message": "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"""#
        ),
        "{pods}"
    );
    for (_, text) in &steps {
        assert!(!text.contains("eyJ"), "a token leaked: {text}");
        assert!(!text.contains("BEGIN CERTIFICATE"), "{text}");
    }
}
