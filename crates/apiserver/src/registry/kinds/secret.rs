//! Secret: `SetDefaults_Secret` (type `Opaque`), its field label and printer columns.

use super::{Strategy, default};
use crate::table::{AGE, Column, NAME, Printer, age, count, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Secret;

impl Strategy for Secret {
    fn defaults(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            default(m, "type", json!("Opaque"));
        }
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &["type"]
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::field("Type", "string", "core/v1.Secret.type", 0),
        Column::field("Data", "string", "core/v1.Secret.data", 0),
        AGE,
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        json!(str_at(obj, "/type")),
        json!(count(obj.get("data"))),
        age(obj, now),
    ]
}
