//! Server-side printing: lists answered as `meta.k8s.io/v1` `Table` when the client asks
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), as `kubectl get` does.
//!
//! Each kind's columns and cells live with its strategy (`registry::kinds`), mirroring
//! `kubernetes/kubernetes:pkg/printers/internalversion/printers.go`; the others get the
//! apiserver's default table convertor (`apiserver pkg/registry/rest/table.go`: Name,
//! Created At). This module holds the `Table` itself and the cell helpers.

use crate::discovery::ApiResource;
use crate::object;
use crate::schema::SCHEMA;
use serde_json::{Value, json};

/// `duration.HumanDuration` from apimachinery `pkg/util/duration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

pub(crate) fn age(obj: &Value, now: i64) -> Value {
    let ts = object::meta_str(obj, "creationTimestamp");
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => json!(human_duration(now - t.as_second())),
        Err(_) => json!("<unknown>"),
    }
}

/// Where a column's description comes from: the API's documentation of a field (as
/// upstream's printers take it from the Go types) or a fixed text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Describe {
    Field(&'static str),
    Text(&'static str),
}

/// One printer column (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub ty: &'static str,
    pub describe: Describe,
    pub priority: i32,
}

impl Column {
    /// A column described by a field's documentation (`schema/types.txt`).
    pub(crate) const fn field(
        name: &'static str,
        ty: &'static str,
        key: &'static str,
        priority: i32,
    ) -> Column {
        Column {
            name,
            ty,
            describe: Describe::Field(key),
            priority,
        }
    }

    /// A column described by a fixed text.
    pub(crate) const fn text(
        name: &'static str,
        ty: &'static str,
        text: &'static str,
        priority: i32,
    ) -> Column {
        Column {
            name,
            ty,
            describe: Describe::Text(text),
            priority,
        }
    }

    /// The column's definition in a `Table`.
    pub(crate) fn definition(&self) -> Value {
        let description = match self.describe {
            Describe::Field(key) => doc(key),
            Describe::Text(text) => text,
        };
        json!({"name": self.name, "type": self.ty, "format": if self.name == "Name" { "name" } else { "" }, "description": description, "priority": self.priority})
    }
}

/// Every table's first column.
pub(crate) const NAME: Column = Column::field("Name", "string", "meta/v1.ObjectMeta.name", 0);
/// The age column most printers have.
pub(crate) const AGE: Column =
    Column::field("Age", "string", "meta/v1.ObjectMeta.creationTimestamp", 0);

/// A kind's printer: its columns, and the cells of one object's row after its name.
#[derive(Debug)]
pub(crate) struct Printer {
    pub columns: &'static [Column],
    pub cells: fn(&Value, i64) -> Vec<Value>,
}

impl Printer {
    pub(crate) const fn new(
        columns: &'static [Column],
        cells: fn(&Value, i64) -> Vec<Value>,
    ) -> Printer {
        Printer { columns, cells }
    }

    /// The column definitions and `obj`'s row.
    pub(crate) fn row(&self, obj: &Value, now: i64) -> (Vec<Value>, Vec<Value>) {
        let mut cells = vec![json!(object::name(obj))];
        cells.extend((self.cells)(obj, now));
        (self.columns.iter().map(Column::definition).collect(), cells)
    }
}

pub(crate) fn doc(key: &str) -> &'static str {
    SCHEMA.doc(key)
}

/// A label map as `k=v,k=v` (`labels.FormatLabels`), `<none>` when empty or missing.
pub(crate) fn format_labels(labels: Option<&Value>) -> Value {
    let pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    none_if_empty(&pairs.join(","))
}

pub(crate) fn none_if_empty(s: &str) -> Value {
    json!(if s.is_empty() { "<none>" } else { s })
}

pub(crate) fn count(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

pub(crate) fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// The kind's columns and `obj`'s cells, or the default table convertor's
/// (`apiserver pkg/registry/rest/table.go`: Name, Created At).
fn columns_and_cells(res: &ApiResource, obj: &Value, now: i64) -> (Vec<Value>, Vec<Value>) {
    static DEFAULT: Printer = Printer {
        columns: &[
            NAME,
            Column::field(
                "Created At",
                "date",
                "meta/v1.ObjectMeta.creationTimestamp",
                0,
            ),
        ],
        cells: |obj, _| vec![json!(object::meta_str(obj, "creationTimestamp"))],
    };
    crate::registry::kinds::strategy(res)
        .table_row(obj, now)
        .unwrap_or_else(|| DEFAULT.row(obj, now))
}

/// A `Table` of `items`; `include` is the `includeObject` parameter (`None`, `Metadata`
/// (the default) or `Object`).
pub fn table(res: &ApiResource, items: &[Value], rv: Option<u64>, include: Option<&str>) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let mut columns = None;
    let mut rows = Vec::new();
    for item in items {
        let (cols, cells) = columns_and_cells(res, item, now);
        columns.get_or_insert(cols);
        let object = match include.unwrap_or("Metadata") {
            "None" => Value::Null,
            "Object" => {
                let mut o = item.clone();
                object::normalize(&mut o, res.kind, &res.api_version());
                o
            }
            _ => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item.get("metadata").cloned().unwrap_or(json!({}))})
            }
        };
        rows.push(json!({"cells": cells, "object": object}));
    }
    let columns = columns.unwrap_or_else(|| columns_and_cells(res, &json!({}), now).0);
    let mut meta = serde_json::Map::new();
    if let Some(rv) = rv {
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
    }
    let t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    });
    match SCHEMA.named("meta/v1.Table") {
        Some(ty) => crate::schema::json::encode(&ty, &t),
        None => t,
    }
}

/// The client asked for a Table (`as=Table;g=meta.k8s.io;v=v1` in its first choice).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        let params: Vec<&str> = first.split(';').map(str::trim).collect();
        params.contains(&"as=Table")
            && params.contains(&"g=meta.k8s.io")
            && params.contains(&"v=v1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        for (s, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
            (3 * 365 * 86400, "3y"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn accept_header() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
