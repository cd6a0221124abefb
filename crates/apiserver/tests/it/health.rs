//! Health endpoints answer as a v1.33 kube-apiserver does.

use super::clients::{cluster, request};

/// `kubectl get --raw '/readyz?verbose'` on a real kube-apiserver v1.33.1.
const READYZ_VERBOSE: &str = "[+]ping ok
[+]log ok
[+]etcd ok
[+]etcd-readiness ok
[+]informer-sync ok
[+]poststarthook/start-apiserver-admission-initializer ok
[+]poststarthook/generic-apiserver-start-informers ok
[+]poststarthook/priority-and-fairness-config-consumer ok
[+]poststarthook/priority-and-fairness-filter ok
[+]poststarthook/storage-object-count-tracker-hook ok
[+]poststarthook/start-apiextensions-informers ok
[+]poststarthook/start-apiextensions-controllers ok
[+]poststarthook/crd-informer-synced ok
[+]poststarthook/start-system-namespaces-controller ok
[+]poststarthook/start-cluster-authentication-info-controller ok
[+]poststarthook/start-kube-apiserver-identity-lease-controller ok
[+]poststarthook/start-kube-apiserver-identity-lease-garbage-collector ok
[+]poststarthook/start-legacy-token-tracking-controller ok
[+]poststarthook/start-service-ip-repair-controllers ok
[+]poststarthook/rbac/bootstrap-roles ok
[+]poststarthook/scheduling/bootstrap-system-priority-classes ok
[+]poststarthook/priority-and-fairness-config-producer ok
[+]poststarthook/bootstrap-controller ok
[+]poststarthook/start-kubernetes-service-cidr-controller ok
[+]poststarthook/aggregator-reload-proxy-client-cert ok
[+]poststarthook/start-kube-aggregator-informers ok
[+]poststarthook/apiservice-status-local-available-controller ok
[+]poststarthook/apiservice-status-remote-available-controller ok
[+]poststarthook/apiservice-registration-controller ok
[+]poststarthook/apiservice-discovery-controller ok
[+]poststarthook/kube-apiserver-autoregistration ok
[+]autoregister-completion ok
[+]poststarthook/apiservice-openapi-controller ok
[+]poststarthook/apiservice-openapiv3-controller ok
[+]shutdown ok
readyz check passed
";

#[tokio::test]
async fn health_endpoints_list_the_v1_33_checks() {
    let c = cluster().await;
    let get = |path: &'static str| request(&c, "GET", path, &[], "");
    assert_eq!(
        get("/readyz?verbose").await,
        (200, READYZ_VERBOSE.to_string())
    );
    assert_eq!(get("/readyz").await, (200, "ok".to_string()));
    let (code, livez) = get("/livez?verbose&exclude=etcd").await;
    assert_eq!(code, 200);
    assert!(
        livez.starts_with("[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n[+]poststarthook/"),
        "{livez}"
    );
    assert!(
        livez
            .ends_with("[+]poststarthook/apiservice-openapiv3-controller ok\nlivez check passed\n"),
        "{livez}"
    );
    assert!(!livez.contains("shutdown"));
    let (_, readyz) = get("/readyz?verbose&exclude=nope").await;
    assert!(
        readyz.ends_with("[+]shutdown ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nreadyz check passed\n"),
        "{readyz}"
    );
    assert_eq!(
        get("/healthz/poststarthook/rbac/bootstrap-roles").await,
        (200, "ok".to_string())
    );
    assert_eq!(get("/livez/shutdown").await.0, 404);

    // Listed but not modelled: a Status that says so.
    let (code, body) = get("/metrics").await;
    assert_eq!(code, 501);
    assert!(
        body.contains("the embedded cluster does not serve /metrics yet"),
        "{body}"
    );

    let (_, root) = get("/").await;
    for path in [
        "/healthz/poststarthook/rbac/bootstrap-roles",
        "/livez/etcd",
        "/readyz/shutdown",
    ] {
        assert!(
            root.contains(&format!("\"{path}\"")),
            "{path} missing from /"
        );
    }
}
