//! Events about pods, as the kubelet and scheduler record them (`kubectl describe pod`
//! and `kubectl get events` show them): `Scheduled`, `Pulled`, `Created`, `Started`,
//! `Killing`, and `Failed` when an image cannot run.
//!
//! The shape follows `k8s.io/client-go/tools/record` (`makeEvent`): a core/v1 Event named
//! `<pod>.<hex nanoseconds>`, `source` and `reportingComponent` set, count 1; the same
//! event again is the first one counted again (`Seen`). The wording and the shape are
//! compared with kube-apiserver v1.33.3's answers on the control-plane backend, where the
//! same kubelet runs beside the real kube-scheduler.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// Events already recorded, by what makes two events the same, as client-go's event
/// correlator keeps them (`tools/record/events_cache.go`: `getEventKey`, `eventObserve`,
/// an LRU of 4096): the name, count and first time of the one recorded.
#[derive(Default)]
pub struct Seen(Mutex<HashMap<String, (String, i32, String)>>);

/// `os.Hostname()`, read once: the kernel's host name, which kube-scheduler's reporting
/// instance carries.
static HOSTNAME: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim_end().to_string())
        .unwrap_or_default()
});

/// How many events `Seen` keeps (`maxLruCacheEntries`).
const SEEN_MAX: usize = 4096;

/// The `fieldPath` of a container's events: `spec.containers{main}`.
pub fn container_field(name: &str) -> String {
    format!("spec.containers{{{name}}}")
}

/// The pod an event is about (`involvedObject`), as `ref.GetReference` makes it.
fn involved(pod: &Pod) -> serde_json::Value {
    json!({
        "kind": "Pod",
        "namespace": pod.metadata.namespace,
        "name": pod.metadata.name,
        "uid": pod.metadata.uid,
        "apiVersion": "v1",
        "resourceVersion": pod.metadata.resource_version,
    })
}

/// Who reports: the component (`kubelet`) and its host, and what it recorded before.
pub struct Recorder<'a> {
    pub client: &'a kube::Client,
    pub component: &'a str,
    pub host: &'a str,
    pub seen: &'a Seen,
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
        let mut involved = involved(pod);
        if let Some(fp) = field_path {
            involved["fieldPath"] = json!(fp);
        }
        let mut source = json!({"component": component});
        if !host.is_empty() {
            source["host"] = json!(host);
        }
        let api = Api::<Event>::namespaced(client.clone(), &ns);
        // The same event again is the first one counted again (`eventObserve`): a patch of
        // its count, last time and message (client-go's `createPatch`).
        let key = [
            component,
            host,
            "Pod",
            &ns,
            &name,
            field_path.unwrap_or(""),
            pod.metadata.uid.as_deref().unwrap_or(""),
            "v1",
            kind,
            reason,
            message,
        ]
        .concat();
        let again = {
            let mut seen = self.seen.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.get_mut(&key).map(|(event, count, _)| {
                *count += 1;
                (event.clone(), *count)
            })
        };
        if let Some((event, count)) = again {
            let patch = json!({"count": count, "lastTimestamp": stamp, "message": message});
            match api
                .patch(&event, &PatchParams::default(), &Patch::Strategic(&patch))
                .await
            {
                Ok(_) => return,
                // Gone (a namespace emptied, events expired): recorded anew, as
                // `recordEvent` does when the patch finds nothing.
                Err(e) => tracing::debug!(error = %e, "counting an event again failed"),
            }
        }
        let event_name = format!("{name}.{:x}", now.as_nanosecond() as u64);
        let event = json!({
            "metadata": {"name": event_name, "namespace": ns},
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
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                let mut seen = self.seen.0.lock().unwrap_or_else(|e| e.into_inner());
                if seen.len() >= SEEN_MAX {
                    seen.clear();
                }
                seen.insert(key, (event_name, 1, stamp));
            }
            Err(e) => tracing::debug!(error = %e, "recording an event failed"),
        }
    }
}

/// The `Scheduled` event kube-scheduler records when it binds a pod, through the
/// `events.k8s.io/v1` API (`pkg/scheduler/schedule_one.go`, `handleBindingCycle`'s
/// `FrameworkHandle.EventRecorder().Eventf`; `k8s.io/client-go/tools/events`), as the
/// core/v1 API shows it: an `eventTime` and `action` instead of timestamps and a count,
/// no `source`, and the reporting instance `default-scheduler-<hostname>`.
pub async fn scheduled(client: &kube::Client, pod: &Pod, node: &str) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let host = HOSTNAME.as_str();
    let event = json!({
        "metadata": {"name": format!("{name}.{:x}", now.as_nanosecond() as u64), "namespace": ns},
        "involvedObject": involved(pod),
        "reason": "Scheduled",
        "message": format!("Successfully assigned {ns}/{name} to {node}"),
        "source": {},
        "type": "Normal",
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
        "action": "Binding",
        "reportingComponent": "default-scheduler",
        "reportingInstance": format!("default-scheduler-{host}"),
    });
    let Ok(event) = serde_json::from_value::<Event>(event) else {
        return;
    };
    if let Err(e) = Api::<Event>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &event)
        .await
    {
        tracing::debug!(error = %e, "recording the Scheduled event failed");
    }
}
