//! Service: `SetDefaults_Service` (`pkg/apis/core/v1/defaults.go`) with the single-stack
//! IPv4 defaults of its REST storage, ClusterIP allocation from k3s's service range
//! (`pkg/registry/core/service/storage/alloc.go`), and the printer columns
//! (`printService`).

use super::{Strategy, default};
use crate::object;
use crate::registry::Registry;
use crate::status::{ApiError, field};
use crate::table::{AGE, Column, NAME, Printer, age, format_labels, none_if_empty, str_at};
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub(crate) struct Service;

impl Strategy for Service {
    fn defaults(&self, obj: &mut Value) {
        default_service(super::obj_mut(obj, "spec"));
    }

    /// The ClusterIP allocator for the service range 10.43.0.0/16 (k3s's default): a free
    /// address for a Service that asks for none, or the one it asks for if free.
    fn allocate(&self, reg: &Registry, obj: &mut Value, dry_run: bool) -> Result<(), ApiError> {
        let spec = obj.get("spec").cloned().unwrap_or(json!({}));
        if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
            return Ok(());
        }
        let wanted = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
        if wanted == "None" {
            return Ok(());
        }
        let services_res = crate::discovery::DISCOVERY
            .resource("", "v1", "services")
            .expect("services are served");
        let (services, _) = reg.list(services_res, None);
        let taken: std::collections::HashSet<String> = services
            .iter()
            .filter_map(|s| {
                s.pointer("/spec/clusterIP")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        let name = object::name(obj).to_string();
        let ip = if wanted.is_empty() && dry_run {
            // A dry run does not look for a free address: it answers the range's own
            // (kubernetes pkg/registry/core/service/ipallocator/ipallocator.go,
            // `allocateNextService`).
            "10.43.0.0".to_string()
        } else if wanted.is_empty() {
            // Random like upstream's bitmap allocator, skipping .0, the API service (.1)
            // and the DNS service (.10).
            use rand::Rng;
            let mut rng = rand::thread_rng();
            let mut found = None;
            for _ in 0..1000 {
                let n: u32 = rng.gen_range(2..65534);
                let ip = format!("10.43.{}.{}", n >> 8, n & 0xff);
                if n != 10 && !taken.contains(&ip) {
                    found = Some(ip);
                    break;
                }
            }
            found.ok_or_else(|| {
                ApiError::internal("failed to allocate a serviceIP: range is full")
            })?
        } else {
            let Ok(parsed) = wanted.parse::<std::net::Ipv4Addr>() else {
                // `ValidateService` refuses what is not an address before any allocator.
                let causes = vec![field::invalid(
                    "spec.clusterIPs[0]",
                    &crate::status::quote(wanted),
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                )];
                return Err(ApiError::invalid("", "Service", &name, causes));
            };
            if parsed.octets()[0] != 10 || parsed.octets()[1] != 43 {
                // The ServiceCIDR allocator (`pkg/registry/core/service/ipallocator/
                // cidrallocator.go`, `ErrMismatchedNetwork`).
                let value = format!("[]string{{{}}}", crate::status::quote(wanted));
                let detail = format!(
                    "failed to allocate IP {wanted}: the provided network does not match the current range"
                );
                return Err(invalid_cluster_ip(&name, &value, &detail));
            }
            if taken.contains(wanted) {
                let value = format!("[]string{{{}}}", crate::status::quote(wanted));
                let detail =
                    format!("failed to allocate IP {wanted}: provided IP is already allocated");
                return Err(invalid_cluster_ip(&name, &value, &detail));
            }
            wanted.to_string()
        };
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("clusterIP".into(), json!(ip));
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        Ok(())
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }

    fn validate(&self, obj: &Value) -> Vec<crate::status::Cause> {
        validate_ports(obj.get("spec").unwrap_or(&Value::Null))
    }
}

/// `ValidateService`'s ports (`pkg/apis/core/validation/validation.go`), as far as
/// modelled: required unless the Service is headless or an ExternalName, and each
/// `port` and numeric `targetPort` within 1–65535.
fn validate_ports(spec: &Value) -> Vec<crate::status::Cause> {
    const RANGE: &str = "must be between 1 and 65535, inclusive";
    let ports = spec.get("ports").and_then(Value::as_array);
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let external = spec.get("type").and_then(Value::as_str) == Some("ExternalName");
    if ports.is_none_or(Vec::is_empty) {
        return if headless || external {
            Vec::new()
        } else {
            vec![field::required("spec.ports", "")]
        };
    }
    let mut causes = Vec::new();
    for (i, p) in ports.into_iter().flatten().enumerate() {
        let out_of_range = |v: &Value| v.as_i64().is_some_and(|n| !(1..=65535).contains(&n));
        if let Some(port) = p.get("port").filter(|v| out_of_range(v)) {
            causes.push(field::invalid(
                &format!("spec.ports[{i}].port"),
                &port.to_string(),
                RANGE,
            ));
        }
        if let Some(target) = p.get("targetPort").filter(|v| out_of_range(v)) {
            causes.push(field::invalid(
                &format!("spec.ports[{i}].targetPort"),
                &target.to_string(),
                RANGE,
            ));
        }
    }
    causes
}

/// `SetDefaults_Service` and the single-stack IPv4 defaults of the Service REST storage.
/// The ClusterIP itself is allocated by the registry, which can see the other Services.
fn default_service(spec: &mut Map<String, Value>) {
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if spec.get("type").and_then(Value::as_str) != Some("ExternalName") {
        default(spec, "ipFamilies", json!(["IPv4"]));
        default(spec, "ipFamilyPolicy", json!("SingleStack"));
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if headless {
        spec.insert("clusterIPs".into(), json!(["None"]));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
            if p.get("targetPort").is_none() {
                let port = p.get("port").cloned().unwrap_or(json!(0));
                p.insert("targetPort".into(), port);
            }
        }
    }
}

static PRINTER: Printer = Printer::new(COLUMNS, cells);

#[rustfmt::skip]
const COLUMNS: &[Column] = &[
    NAME,
    Column::field("Type", "string", "core/v1.ServiceSpec.type", 0),
    Column::field("Cluster-IP", "string", "core/v1.ServiceSpec.clusterIP", 0),
    Column::field("External-IP", "string", "core/v1.ServiceSpec.externalIPs", 0),
    Column::field("Port(s)", "string", "core/v1.ServiceSpec.ports", 0),
    AGE,
    Column::field("Selector", "string", "core/v1.ServiceSpec.selector", 1),
];

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    let ports: Vec<String> = obj
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np != 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    vec![
        json!(str_at(obj, "/spec/type")),
        none_if_empty(str_at(obj, "/spec/clusterIP")),
        json!("<none>"),
        none_if_empty(&ports.join(",")),
        age(obj, now),
        format_labels(obj.pointer("/spec/selector")),
    ]
}

/// The Invalid error of a ClusterIP the allocator refuses.
fn invalid_cluster_ip(name: &str, value: &str, detail: &str) -> ApiError {
    let causes = vec![field::invalid("spec.clusterIPs", value, detail)];
    ApiError::invalid("", "Service", name, causes)
}
