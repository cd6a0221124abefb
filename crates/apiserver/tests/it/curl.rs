//! The server judged by the real `curl`, byte for byte against upstream's answers
//! (FIDELITY.md §2, §9, §10).

use super::clients::{TempDir, cluster, temp_dir, tool};
use std::process::Command;

struct Curl {
    bin: std::path::PathBuf,
    dir: TempDir,
    url: String,
}

impl Curl {
    fn new(c: &apiserver::Cluster) -> Option<Curl> {
        let bin = tool("curl", "your package manager (apt-get install curl)")?;
        let dir = temp_dir();
        std::fs::write(dir.path().join("ca.crt"), &c.pki().server_ca.cert_pem).unwrap();
        Some(Curl {
            bin,
            dir,
            url: c.url(),
        })
    }

    /// Runs curl with `args` and the URL path; returns (exit code, stdout, stderr).
    async fn run(&self, args: &[&str], path: &str) -> (i32, String, String) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .arg(format!("{}{path}", self.url))
            .current_dir(self.dir.path());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

const UNAUTHORIZED: &str = r#"{
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {},
  "status": "Failure",
  "message": "Unauthorized",
  "reason": "Unauthorized",
  "code": 401
}"#;

const FORBIDDEN_PODS: &str = r#"{
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {},
  "status": "Failure",
  "message": "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
  "reason": "Forbidden",
  "details": {
    "kind": "pods"
  },
  "code": 403
}"#;

const FORBIDDEN_ROOT: &str = r#"{
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {},
  "status": "Failure",
  "message": "forbidden: User \"system:serviceaccount:default:default\" cannot get path \"/\"",
  "reason": "Forbidden",
  "details": {},
  "code": 403
}"#;

async fn default_token(c: &apiserver::Cluster) -> String {
    c.service_account_token("default", "default", 3600)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_sees_what_k3s_answers() {
    let c = cluster().await;
    let Some(curl) = Curl::new(&c) else { return };
    without_credentials_is_unauthorized(&curl).await;

    let token = default_token(&c).await;
    let auth = format!("Authorization: Bearer {token}");
    let with_token = ["-s", "--cacert", "ca.crt", "-H", auth.as_str()];
    the_default_service_account_reads_discovery_only(&curl, &with_token).await;
    a_cluster_admin_service_account_reads_the_root_paths(&c, &curl, &with_token).await;
    version_is_always_pretty(&curl, &auth).await;
}

/// Without credentials the answer is upstream's 401, and without the CA curl refuses the
/// chain.
async fn without_credentials_is_unauthorized(curl: &Curl) {
    // With the CA and no credentials: the upstream 401, pretty, no trailing newline.
    let (code, body, _) = curl.run(&["-s", "--cacert", "ca.crt"], "/").await;
    assert_eq!((code, body.as_str()), (0, UNAUTHORIZED));
    // -k skips verification but still has no credentials.
    let (code, body, _) = curl.run(&["-sk"], "/").await;
    assert_eq!((code, body.as_str()), (0, UNAUTHORIZED));
    // Without the CA, curl refuses the chain (leaf + CA, like k3s): exit 60.
    let (code, _, err) = curl.run(&["-sS"], "/").await;
    assert_eq!(code, 60);
    assert!(
        err.starts_with(
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain"
        ),
        "{err}"
    );
}

/// The default service account's token reads discovery, and is forbidden `/` and pods.
async fn the_default_service_account_reads_discovery_only(curl: &Curl, with_token: &[&str]) {
    // `/` is not among system:discovery's URLs, so the default service account may not
    // read it (upstream bootstrap policy; the book binds cluster-admin first).
    let (_, body, _) = curl.run(with_token, "/").await;
    assert_eq!(body, FORBIDDEN_ROOT);
    let (_, body, _) = curl
        .run(with_token, "/api/v1/namespaces/default/pods")
        .await;
    assert_eq!(body, FORBIDDEN_PODS);
    // `/api` is discovery: allowed.
    let (_, body, _) = curl.run(with_token, "/api").await;
    assert!(
        body.starts_with("{\n  \"kind\": \"APIVersions\",\n  \"versions\": [\n    \"v1\"\n  ],"),
        "{body}"
    );
}

/// Once bound to cluster-admin, the service account reads `/` and a group version as
/// upstream prints them.
async fn a_cluster_admin_service_account_reads_the_root_paths(
    c: &apiserver::Cluster,
    curl: &Curl,
    with_token: &[&str],
) {
    // A service account bound to cluster-admin reads the root paths.
    let binding = serde_json::json!({
        "metadata": {"name": "permissive"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}],
    });
    let admin = kube::Client::new(c.service_as(apiserver::UserInfo::admin()), "default");
    let crbs: kube::Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = kube::Api::all(admin);
    crbs.create(
        &kube::api::PostParams::default(),
        &serde_json::from_value(binding).unwrap(),
    )
    .await
    .unwrap();
    let (_, body, _) = curl.run(with_token, "/").await;
    assert!(body.starts_with("{\n  \"paths\": [\n    \"/.well-known/openid-configuration\",\n    \"/api\",\n    \"/api/v1\",\n    \"/apis\",\n    \"/apis/\",\n"), "{body}");
    assert!(body.ends_with("\"/version\"\n  ]\n}"));

    let (_, body, _) = curl.run(with_token, "/apis/batch/v1").await;
    let expected: serde_json::Value = serde_json::from_str(concat!(
        r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1","resources":["#,
        r#"{"name":"cronjobs","singularName":"cronjob","namespaced":true,"kind":"CronJob","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cj"],"categories":["all"],"storageVersionHash":"sd5LIXh4Fjs="},"#,
        r#"{"name":"cronjobs/status","singularName":"","namespaced":true,"kind":"CronJob","verbs":["get","patch","update"]},"#,
        r#"{"name":"jobs","singularName":"job","namespaced":true,"kind":"Job","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"categories":["all"],"storageVersionHash":"mudhfqk/qZY="},"#,
        r#"{"name":"jobs/status","singularName":"","namespaced":true,"kind":"Job","verbs":["get","patch","update"]}]}"#
    ))
    .unwrap();
    assert_eq!(body, serde_json::to_string_pretty(&expected).unwrap());
}

/// /version is always pretty, even for clients that are not curl.
async fn version_is_always_pretty(curl: &Curl, auth: &str) {
    let (_, body, _) = curl
        .run(
            &[
                "-s",
                "--cacert",
                "ca.crt",
                "-A",
                "kubectl/v1.33",
                "-H",
                auth,
            ],
            "/version",
        )
        .await;
    assert!(
        body.starts_with(
            "{\n  \"major\": \"1\",\n  \"minor\": \"33\",\n  \"emulationMajor\": \"1\","
        ),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_answer_as_upstream() {
    let c = cluster().await;
    let Some(curl) = Curl::new(&c) else { return };
    let token = default_token(&c).await;
    let auth = format!("Authorization: Bearer {token}");
    let admin = [
        "-s",
        "--cacert",
        "ca.crt",
        "-H",
        auth.as_str(),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{content_type}",
    ];
    // Non-resource paths are authorised first: the SA may not get /foo.
    let (_, out, _) = curl.run(&admin, "/foo").await;
    assert_eq!(out, "403 application/json");
    let (_, out, _) = curl.run(&admin, "/healthz").await;
    assert_eq!(out, "200 text/plain; charset=utf-8");
}
