//! Events about pods, as the kubelet and scheduler record them (`kubectl describe pod`
//! and `kubectl get events` show them): `Scheduled`, `Pulled`, `Created`, `Started`,
//! `Killing`, and `Failed` when an image cannot run.
//!
//! The shape follows `k8s.io/client-go/tools/record` (`makeEvent`): a core/v1 Event named
//! `<pod>.<hex nanoseconds>`, `source` and `reportingComponent` set, count 1. The message
//! wording follows kubelet v1.33 as remembered (`Created container: main`,
//! `Started container main`), UNCONFIRMED against a capture.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;

/// The `fieldPath` of a container's events: `spec.containers{main}`.
pub fn container_field(name: &str) -> String {
    format!("spec.containers{{{name}}}")
}

/// Who reports: the component (`kubelet`, `default-scheduler`) and its host.
pub struct Recorder<'a> {
    pub client: &'a kube::Client,
    pub component: &'a str,
    pub host: &'a str,
}

impl Recorder<'_> {
    /// Records one event about `pod`; failures to record are logged, never fatal.
    pub async fn record(
        &self,
        pod: &Pod,
        kind: &str,
        reason: &str,
        message: &str,
        field_path: Option<&str>,
    ) {
        let (client, component, host) = (self.client, self.component, self.host);
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let now = jiff::Timestamp::now();
        let stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut involved = json!({
            "kind": "Pod",
            "namespace": ns,
            "name": name,
            "uid": pod.metadata.uid,
            "apiVersion": "v1",
            "resourceVersion": pod.metadata.resource_version,
        });
        if let Some(fp) = field_path {
            involved["fieldPath"] = json!(fp);
        }
        let mut source = json!({"component": component});
        if !host.is_empty() {
            source["host"] = json!(host);
        }
        let event = json!({
            "metadata": {"name": format!("{name}.{:x}", now.as_nanosecond() as u64), "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": kind,
            "reportingComponent": component,
            "reportingInstance": host,
        });
        let Ok(event) = serde_json::from_value::<Event>(event) else {
            return;
        };
        if let Err(e) = Api::<Event>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &event)
            .await
        {
            tracing::debug!(error = %e, "recording an event failed");
        }
    }
}
