//! Secret: `SetDefaults_Secret` (type `Opaque`), its field label and printer columns.

use super::{Strategy, default};
use crate::object;
use crate::table::{age, age_col, col, count, doc, name_col, str_at};
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

    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some((
            vec![
                name_col(),
                col("Type", "string", doc("core/v1.Secret.type"), 0),
                col("Data", "string", doc("core/v1.Secret.data"), 0),
                age_col(),
            ],
            vec![
                name,
                json!(str_at(obj, "/type")),
                json!(count(obj.get("data"))),
                age(obj, now),
            ],
        ))
    }
}
