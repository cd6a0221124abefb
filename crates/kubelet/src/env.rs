//! A container's environment as the kubelet builds it (`pkg/kubelet/kubelet_pods.go`,
//! `makeEnvironmentVariables`; FIDELITY.md §5): the image's variables, `HOSTNAME`, the
//! service variables (the `kubernetes` Service always, others of the pod's namespace when
//! `enableServiceLinks`), then the container's `env` with `valueFrom` resolved.

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvFromSource, EnvVarSource, Pod, Secret, Service,
};
use std::collections::{BTreeMap, BTreeSet};

/// `FromServices` in `pkg/kubelet/envvars/envvars.go`: `<NAME>_SERVICE_HOST`, `_PORT`,
/// `_PORT_<port-name>` and the Docker-link style `<NAME>_PORT_<port>_<PROTO>...`.
pub fn service_vars(services: &[Service]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for svc in services {
        let Some(spec) = &svc.spec else { continue };
        let ip = spec.cluster_ip.as_deref().unwrap_or("");
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let name = svc
            .metadata
            .name
            .as_deref()
            .unwrap_or("")
            .to_uppercase()
            .replace('-', "_");
        let ports = spec.ports.as_deref().unwrap_or_default();
        let Some(first) = ports.first() else { continue };
        out.push((format!("{name}_SERVICE_HOST"), ip.to_string()));
        out.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
        for p in ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                out.push((
                    format!(
                        "{name}_SERVICE_PORT_{}",
                        pn.to_uppercase().replace('-', "_")
                    ),
                    p.port.to_string(),
                ));
            }
        }
        let proto = |p: &k8s_openapi::api::core::v1::ServicePort| {
            p.protocol.clone().unwrap_or_else(|| "TCP".into())
        };
        out.push((
            format!("{name}_PORT"),
            format!("{}://{ip}:{}", proto(first).to_lowercase(), first.port),
        ));
        for p in ports {
            let pr = proto(p);
            let prefix = format!("{name}_PORT_{}_{}", p.port, pr.to_uppercase());
            out.push((
                prefix.clone(),
                format!("{}://{ip}:{}", pr.to_lowercase(), p.port),
            ));
            out.push((format!("{prefix}_PROTO"), pr.to_lowercase()));
            out.push((format!("{prefix}_PORT"), p.port.to_string()));
            out.push((format!("{prefix}_ADDR"), ip.to_string()));
        }
    }
    out
}

/// What `valueFrom` may read.
pub struct Sources<'a> {
    pub pod: &'a Pod,
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
    pub secrets: &'a BTreeMap<String, Secret>,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

/// A `fieldRef` path of the downward API.
pub fn field_ref(pod: &Pod, path: &str, pod_ip: &str, host_ip: &str) -> Option<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    Some(match path {
        "metadata.name" => meta.name.clone()?,
        "metadata.namespace" => meta.namespace.clone()?,
        "metadata.uid" => meta.uid.clone()?,
        "spec.nodeName" => spec?.node_name.clone()?,
        "spec.serviceAccountName" => spec?.service_account_name.clone()?,
        "status.podIP" | "status.podIPs" => pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => host_ip.to_string(),
        p if p.starts_with("metadata.labels['") => {
            let key = p
                .trim_start_matches("metadata.labels['")
                .trim_end_matches("']");
            meta.labels.as_ref()?.get(key)?.clone()
        }
        p if p.starts_with("metadata.annotations['") => {
            let key = p
                .trim_start_matches("metadata.annotations['")
                .trim_end_matches("']");
            meta.annotations.as_ref()?.get(key)?.clone()
        }
        _ => return None,
    })
}

/// The variables so far, in order; setting one again replaces it and moves it last.
struct Variables(Vec<(String, String)>);

impl Variables {
    fn set(&mut self, k: String, v: String) {
        self.0.retain(|(ek, _)| *ek != k);
        self.0.push((k, v));
    }

    /// Every key of the ConfigMap or Secret that `from` names, with its prefix.
    fn add_source(&mut self, from: &EnvFromSource, src: &Sources<'_>) -> Result<(), String> {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            match src.config_maps.get(&r.name) {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        self.set(format!("{prefix}{k}"), v.clone());
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(format!("configmap {:?} not found", r.name)),
            }
        }
        if let Some(r) = &from.secret_ref {
            match src.secrets.get(&r.name) {
                Some(s) => {
                    for (k, v) in s.data.iter().flatten() {
                        self.set(
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(&v.0).into_owned(),
                        );
                    }
                }
                None if r.optional == Some(true) => {}
                None => return Err(format!("secret {:?} not found", r.name)),
            }
        }
        Ok(())
    }
}

/// The ConfigMaps and Secrets the pod's containers take variables from (`envFrom` and
/// `valueFrom`), by name.
pub fn referenced(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut config_maps, mut secrets) = (BTreeSet::new(), BTreeSet::new());
    let spec = pod.spec.as_ref();
    let containers = spec
        .into_iter()
        .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers));
    for c in containers {
        for from in c.env_from.iter().flatten() {
            config_maps.extend(from.config_map_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(from.secret_ref.as_ref().map(|r| r.name.clone()));
        }
        for from in c.env.iter().flatten().filter_map(|v| v.value_from.as_ref()) {
            config_maps.extend(from.config_map_key_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(from.secret_key_ref.as_ref().map(|r| r.name.clone()));
        }
    }
    (config_maps, secrets)
}

/// The environment of `container`; an error names the missing reference, as the kubelet's
/// `CreateContainerConfigError` message does.
pub fn container_env(
    image_env: &[(String, String)],
    container: &Container,
    service_env: &[(String, String)],
    src: &Sources<'_>,
) -> Result<Vec<(String, String)>, String> {
    let mut env = Variables(image_env.to_vec());
    env.set(
        "HOSTNAME".into(),
        src.pod.metadata.name.clone().unwrap_or_default(),
    );
    for (k, v) in service_env {
        env.set(k.clone(), v.clone());
    }
    for from in container.env_from.iter().flatten() {
        env.add_source(from, src)?;
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) => expand(v, &env.0),
            (None, Some(from)) => match value_from(from, src)? {
                Some(v) => v,
                None => continue,
            },
            (None, None) => String::new(),
        };
        env.set(var.name.clone(), value);
    }
    Ok(env.0)
}

/// A variable's `valueFrom`; `None` when it names an optional key that is missing, so the
/// variable is left out.
fn value_from(from: &EnvVarSource, src: &Sources<'_>) -> Result<Option<String>, String> {
    let ns = src.pod.metadata.namespace.as_deref().unwrap_or("");
    if let Some(f) = &from.field_ref {
        Ok(Some(
            field_ref(src.pod, &f.field_path, src.pod_ip, src.host_ip).unwrap_or_default(),
        ))
    } else if let Some(k) = &from.config_map_key_ref {
        match src
            .config_maps
            .get(&k.name)
            .and_then(|cm| cm.data.as_ref()?.get(&k.key))
        {
            Some(v) => Ok(Some(v.clone())),
            None if k.optional == Some(true) => Ok(None),
            None => Err(format!(
                "couldn't find key {} in ConfigMap {ns}/{}",
                k.key, k.name
            )),
        }
    } else if let Some(k) = &from.secret_key_ref {
        match src
            .secrets
            .get(&k.name)
            .and_then(|s| s.data.as_ref()?.get(&k.key))
        {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v.0).into_owned())),
            None if k.optional == Some(true) => Ok(None),
            None => Err(format!(
                "couldn't find key {} in Secret {ns}/{}",
                k.key, k.name
            )),
        }
    } else {
        Ok(Some(String::new()))
    }
}

/// `$(VAR)` expansion against the variables defined so far (`expansion.MappingFuncFor`);
/// `$$` escapes, unknown references stay as written.
pub(crate) fn expand(value: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let (Some(inner), true) = (after.strip_prefix('('), after.contains(')')) {
            let end = inner.find(')').unwrap_or(0);
            let name = &inner[..end];
            match env.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_service_variables_match_fidelity() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kubernetes"},
            "spec": {"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]},
        }))
        .unwrap();
        let vars = service_vars(&[svc]);
        let want = [
            ("KUBERNETES_SERVICE_HOST", "10.43.0.1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT", "tcp://10.43.0.1:443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.43.0.1:443"),
            ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            ("KUBERNETES_PORT_443_TCP_PORT", "443"),
            ("KUBERNETES_PORT_443_TCP_ADDR", "10.43.0.1"),
        ];
        let got: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn expansion() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(expand("$(A)-$(B)-$$(A)", &env), "x-$(B)-$(A)");
    }
}
