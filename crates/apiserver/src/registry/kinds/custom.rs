//! Custom resources of the CRDs k3s installs, as apiextensions serves them
//! (`apiextensions-apiserver pkg/registry/customresource/strategy.go`: a generation always;
//! `tableconvertor`: the CRD's printer columns, `Age` when it has none).

use super::Strategy;
use crate::crds::Crd;
use crate::object;
use crate::table::{NAME, doc, human_duration};
use serde_json::{Value, json};

impl Strategy for Crd {
    fn has_generation(&self) -> bool {
        true
    }

    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let mut cells = vec![json!(object::name(obj))];
        cells.extend(self.cells(obj, |ts| match ts.parse::<jiff::Timestamp>() {
            Ok(t) => human_duration(now - t.as_second()),
            Err(_) => "<unknown>".into(),
        }));
        Some((
            self.table_columns(
                NAME.definition(),
                doc("meta/v1.ObjectMeta.creationTimestamp"),
            ),
            cells,
        ))
    }
}
