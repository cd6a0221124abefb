//! CustomResourceDefinitions, as apiextensions-apiserver v0.33.3 defaults and stores them
//! (`pkg/apis/apiextensions/v1/defaults.go`, `pkg/registry/customresourcedefinition/
//! strategy.go`).

use super::Strategy;
use serde_json::{Value, json};

/// The CustomResourceDefinition kind's strategy.
pub(crate) struct Definition;

impl Strategy for Definition {
    fn has_generation(&self) -> bool {
        true
    }

    /// `SetDefaults_CustomResourceDefinitionSpec`: the singular name is the kind in lower
    /// case, the list kind `<Kind>List`, the conversion `None`; a webhook's service port
    /// 443 (`SetDefaults_ServiceReference`).
    fn defaults(&self, obj: &mut Value) {
        // `SetDefaults_CustomResourceDefinition`: no stored versions means the storage one.
        let stored = obj
            .pointer("/status/storedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| !v.is_empty());
        if !stored
            && let Some(storage) = storage_version(obj)
            && let Some(root) = obj.as_object_mut()
        {
            let status = root.entry("status").or_insert_with(|| json!({}));
            if !status.is_object() {
                *status = json!({});
            }
            status["storedVersions"] = json!([storage]);
        }
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
            let kind = names
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let unset = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").is_empty();
            if unset(names.get("singular")) {
                names.insert("singular".into(), json!(kind.to_lowercase()));
            }
            if unset(names.get("listKind")) && !kind.is_empty() {
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
        }
        let conversion = spec
            .entry("conversion")
            .or_insert_with(|| json!({"strategy": "None"}));
        if conversion.is_null() {
            *conversion = json!({"strategy": "None"});
        }
        if let Some(service) = conversion
            .pointer_mut("/webhook/clientConfig/service")
            .and_then(Value::as_object_mut)
            && service.get("port").is_none_or(Value::is_null)
        {
            service.insert("port".into(), json!(443));
        }
    }

    /// `PrepareForCreate`: the status cleared (done before this), then the storage
    /// version recorded as stored, so that it is part of the create and not of the
    /// establishing controller's status write.
    fn prepare_create(&self, obj: &mut Value) {
        if let (Some(name), Some(root)) = (storage_version(obj), obj.as_object_mut()) {
            root.insert("status".into(), json!({"storedVersions": [name]}));
        }
    }
}

/// The name of the version marked `storage`.
fn storage_version(obj: &Value) -> Option<String> {
    obj.pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v["storage"] == json!(true)))
        .and_then(|v| v["name"].as_str())
        .map(str::to_string)
}
