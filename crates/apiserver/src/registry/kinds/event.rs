//! Event (core/v1): the fields a list selects on (`pkg/registry/core/event/strategy.go`,
//! `ToSelectableFields`).

use super::Strategy;

#[derive(Debug)]
pub(crate) struct Event;

impl Strategy for Event {
    fn field_labels(&self) -> &'static [&'static str] {
        &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ]
    }
}
