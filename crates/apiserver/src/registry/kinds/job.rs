//! Job: `SetDefaults_Job` (`pkg/apis/batch/v1/defaults.go`), the strategy's selector
//! generation and generation counting (`pkg/registry/batch/job/strategy.go`), its field
//! label and printer columns (`printJob`).

use super::{Strategy, default, obj_mut};
use crate::object;
use crate::table::{AGE, Column, NAME, Printer, age, format_labels, human_duration, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Job;

impl Strategy for Job {
    fn defaults(&self, obj: &mut Value) {
        default_job(obj);
    }

    fn prepare_create(&self, obj: &mut Value) {
        generate_job_selector(obj);
        labels_from_template(obj);
    }

    fn has_generation(&self) -> bool {
        true
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["status.successful"]
    }

    /// `ValidateJobSpec` (`pkg/apis/batch/validation/validation.go`), as far as modelled:
    /// a Job's pods restart `OnFailure` or `Never`, and its template has containers.
    fn validate(&self, obj: &Value) -> Vec<crate::status::Cause> {
        let mut causes = Vec::new();
        let policy = str_at(obj, "/spec/template/spec/restartPolicy");
        if policy != "OnFailure" && policy != "Never" {
            causes.push(crate::status::field::required(
                "spec.template.spec.restartPolicy",
                "valid values: \"OnFailure\", \"Never\"",
            ));
        }
        causes.extend(super::pod::validate_containers(
            obj.pointer("/spec/template/spec/containers"),
            "spec.template.spec.containers",
        ));
        causes
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

/// `SetDefaults_Job` and the Job strategy's selector generation.
/// The Job strategy's `generateSelector`: the controller-uid label on selector and
/// template (`pkg/registry/batch/job/strategy.go`).
fn generate_job_selector(obj: &mut Value) {
    let uid = object::meta_str(obj, "uid").to_string();
    let name = object::name(obj).to_string();
    let spec = obj_mut(obj, "spec");
    if spec
        .get("manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return;
    }
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    let labels = obj_mut(template_meta(template), "labels");
    labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
    labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
    labels.insert("controller-uid".into(), json!(uid));
    labels.insert("job-name".into(), json!(name));
}

/// `SetDefaults_Job`'s "a Job without labels takes its template's": the defaulter also
/// runs when the stored Job is decoded, after `PrepareForCreate` has labelled the template,
/// so a Job created without labels is answered with the generated ones.
fn labels_from_template(obj: &mut Value) {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    let has_labels = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if let (Some(labels), false) = (template_labels, has_labels) {
        object::meta_mut(obj).insert("labels".into(), labels);
    }
}

/// `SetDefaults_Job`.
fn default_job(obj: &mut Value) {
    labels_from_template(obj);
    let spec = obj_mut(obj, "spec");
    default(spec, "parallelism", json!(1));
    default(spec, "completions", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    default(spec, "manualSelector", json!(false));
    if let Some(tspec) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        super::pod::default_pod_spec(tspec);
    }
}

fn template_meta(template: &mut Value) -> &mut Value {
    object::meta_mut(template);
    template.get_mut("metadata").expect("made above")
}

static PRINTER: Printer = Printer::new(COLUMNS, cells);

#[rustfmt::skip]
const COLUMNS: &[Column] = &[
    NAME,
    Column::text("Status", "string", "Status of the job.", 0),
    Column::field("Completions", "string", "batch/v1.JobStatus.succeeded", 0),
    Column::text("Duration", "string", "Time required to complete the job.", 0),
    AGE,
    Column::text("Containers", "string", "Names of each container in the template.", 1),
    Column::text("Images", "string", "Images referenced by each container in the template.", 1),
    Column::field("Selector", "string", "batch/v1.JobSpec.selector", 1),
];

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    let succeeded = obj
        .pointer("/status/succeeded")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let completions = obj.pointer("/spec/completions").and_then(Value::as_i64);
    let conditions = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |t: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if obj.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let duration = match (
        str_at(obj, "/status/startTime").parse::<jiff::Timestamp>(),
        str_at(obj, "/status/completionTime").parse::<jiff::Timestamp>(),
    ) {
        (Ok(s), Ok(c)) => human_duration(c.as_second() - s.as_second()),
        (Ok(s), Err(_)) => human_duration(now - s.as_second()),
        _ => String::new(),
    };
    let containers = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let images: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["image"].as_str())
        .collect();
    vec![
        json!(status),
        json!(match completions {
            Some(c) => format!("{succeeded}/{c}"),
            None => format!(
                "{succeeded}/1 of {}",
                obj.pointer("/spec/parallelism")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            ),
        }),
        json!(duration),
        age(obj, now),
        json!(names.join(",")),
        json!(images.join(",")),
        format_labels(obj.pointer("/spec/selector/matchLabels")),
    ]
}
