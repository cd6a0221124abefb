use super::*;

fn pretty(e: &ApiError) -> String {
    serde_json::to_string_pretty(&e.to_status()).unwrap()
}

#[test]
fn unauthorized_matches_upstream() {
    assert_eq!(
        pretty(&ApiError::unauthorized()),
        r#"{
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {},
  "status": "Failure",
  "message": "Unauthorized",
  "reason": "Unauthorized",
  "code": 401
}"#
    );
}

#[test]
fn forbidden_list_matches_real_capture() {
    let e = ApiError::forbidden(
        GroupResource {
            group: "",
            resource: "pods",
        },
        "",
        r#"User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default""#,
    );
    assert_eq!(
        pretty(&e),
        r#"{
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
}"#
    );
}

#[test]
fn named_group_messages() {
    let gr = GroupResource {
        group: "apps",
        resource: "deployments",
    };
    assert_eq!(
        ApiError::not_found(gr, "x").message,
        r#"deployments.apps "x" not found"#
    );
    assert_eq!(
        ApiError::forbidden(gr, "web", "User \"u\" cannot get").message,
        r#"deployments.apps "web" is forbidden: User "u" cannot get"#
    );
    let non_resource = ApiError::forbidden(
        GroupResource {
            group: "",
            resource: "",
        },
        "",
        "m",
    );
    assert_eq!(non_resource.message, "forbidden: m");
    assert_eq!(non_resource.to_status()["details"], serde_json::json!({}));
}

#[test]
fn invalid_aggregates_causes() {
    let one = ApiError::invalid("", "Pod", "x", vec![field::required("spec.containers", "")]);
    assert_eq!(
        one.message,
        r#"Pod "x" is invalid: spec.containers: Required value"#
    );
    let two = ApiError::invalid(
        "batch",
        "Job",
        "j",
        vec![field::required("a", ""), field::required("b", "")],
    );
    assert_eq!(
        two.message,
        r#"Job.batch "j" is invalid: [a: Required value, b: Required value]"#
    );
    assert_eq!(two.to_status()["details"]["kind"], "Job");
}
