//! The ClusterRole aggregation controller (`pkg/controller/clusterroleaggregation`).

use crate::bootstrap::CONTROLLER_MANAGER;
use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::{Registry, Writer};
use serde_json::Value;

/// The ClusterRole aggregation controller: a role with an `aggregationRule` gets the
/// rules of every ClusterRole its selectors match, in name order.
pub(crate) fn aggregate_cluster_roles(reg: &Registry) {
    let res = DISCOVERY.served("rbac.authorization.k8s.io", "clusterroles");
    // Aggregation chains (view → edit → admin), so repeat until nothing changes.
    for _ in 0..4 {
        let (roles, _) = reg.list(res, None);
        let mut changed = false;
        for role in roles.iter().filter(|r| r.get("aggregationRule").is_some()) {
            let selectors = role["aggregationRule"]["clusterRoleSelectors"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut rules: Vec<Value> = Vec::new();
            for other in roles
                .iter()
                .filter(|o| object::name(o) != object::name(role))
            {
                let labels = object::labels(other);
                let selected = selectors.iter().any(|s| {
                    s.get("matchLabels")
                        .and_then(Value::as_object)
                        .is_some_and(|ml| ml.iter().all(|(k, v)| labels.get(k) == Some(v)))
                });
                if selected {
                    for r in other["rules"].as_array().into_iter().flatten() {
                        if !rules.contains(r) {
                            rules.push(r.clone());
                        }
                    }
                }
            }
            if role.get("rules") != Some(&Value::Array(rules.clone())) {
                let mut next = (**role).clone();
                next["rules"] = Value::Array(rules);
                if reg
                    .update(
                        res,
                        None,
                        "",
                        object::name(role),
                        next,
                        &Writer::internal(CONTROLLER_MANAGER),
                    )
                    .is_ok()
                {
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
