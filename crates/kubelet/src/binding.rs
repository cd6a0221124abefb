//! Binding pending pods to this node: the scheduler's job, done here for the one node, with
//! the `Scheduled` event the scheduler records.

use crate::{Kubelet, events};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

impl Kubelet {
    /// Binds `pod`, which no node runs yet, to this node with a Binding.
    pub(crate) async fn bind(&self, pod: &Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        // The scheduler's job, done here for the one node: a Binding.
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"apiVersion": "v1", "kind": "Node", "name": self.config.node_name}});
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        match api
            .create_subresource::<Value, Value>("binding", &name, &PostParams::default(), &binding)
            .await
        {
            Ok(_) => events::scheduled(&self.client, pod, &self.config.node_name).await,
            Err(e) => tracing::warn!(pod = %name, error = %e, "binding failed"),
        }
    }
}
