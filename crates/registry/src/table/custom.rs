//! Table output of custom resources, as apiextensions-apiserver's `tableconvertor`: Name,
//! then the version's `additionalPrinterColumns` (an Age column when it has none), cells
//! read by JSONPath, `date` cells printed as the age of the timestamp (see
//! `apiextensions::printer`).

use crate::custom::CustomVersion;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub(super) fn column_definitions(v: &CustomVersion) -> Value {
    Value::Array(v.structural.table_columns())
}

pub(super) fn cells(v: &CustomVersion, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    v.structural.table_cells(obj, now)
}
