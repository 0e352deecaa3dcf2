//! kube-openapi's `numberValidator`: `multipleOf`, `maximum`, `minimum` (exclusive or not)
//! compared natively for integers and as floats otherwise, with the range check of the
//! value and of each bound against the schema's type and format.

use super::{bound, is_json_integer, other, plain, Res, IN};
use crate::path::Path;
use crate::props::Props;
use apimachinery::gofmt::go_float;
use serde_json::Value;

/// `IsValueValidAgainstRange`: whether `v` (an int64 when `int`) fits the type and format.
fn range_error(
    v: f64,
    is_int: bool,
    type_name: &str,
    format: &str,
    prefix: &str,
    path: &Path<'_>,
) -> Option<String> {
    let fits = match type_name {
        "integer" => {
            if !is_int && v.fract() != 0.0 {
                false
            } else {
                match format {
                    "int32" => (i32::MIN as f64..=i32::MAX as f64).contains(&v),
                    _ => (i64::MIN as f64..=i64::MAX as f64).contains(&v),
                }
            }
        }
        _ => match format {
            "float" => v.abs() <= f32::MAX as f64,
            _ => true,
        },
    };
    if fits {
        return None;
    }
    Some(if format.is_empty() {
        format!("{prefix} value must be of type {type_name} (default format) in {path}")
    } else {
        format!("{prefix} value must be of type {type_name} with format {format} in {path}")
    })
}

pub(super) fn check(s: &Props, types: &[&str], format: &str, data: &Value, path: &Path<'_>) -> Res {
    let mut res = Res::default();
    let (type_name, fmt) = match types {
        ["integer"] => ("integer", if format == "int32" || format == "int64" { format } else { "" }),
        ["number"] => ("number", if format == "float" || format == "double" { format } else { "" }),
        _ => ("", ""),
    };
    let int_val = data.as_i64().filter(|_| data.is_i64());
    let f = data.as_f64().unwrap_or(0.0);
    if let Some(e) = range_error(f, int_val.is_some(), type_name, fmt, "Checked", path) {
        res.add(plain(e));
    }
    let value = Some(data.clone());
    let mut multiple = Res::default();
    if let Some(m) = s.multiple_of {
        let native = range_error(m, false, type_name, fmt, "MultipleOf", path).is_none();
        let err = match (native, int_val) {
            (true, Some(i)) => {
                let factor = m as i64;
                if factor <= 0 {
                    Some(plain_positive(path, Value::from(factor)))
                } else if i % factor != 0 {
                    Some(other(
                        path,
                        value.clone(),
                        format!("{path} in {IN} should be a multiple of {factor}"),
                    ))
                } else {
                    None
                }
            }
            _ => float_multiple(path, f, m, &value),
        };
        if let Some(e) = err {
            multiple.add(e);
        }
    }
    let mut maximum = Res::default();
    if let Some(max) = s.maximum {
        let native = range_error(max, false, type_name, fmt, "Maximum boundary", path).is_none();
        let as_int = native && int_val.is_some();
        let over = match (as_int, int_val) {
            (true, Some(i)) => {
                let m = max as i64;
                (!s.exclusive_maximum && i > m) || (s.exclusive_maximum && i >= m)
            }
            _ => (!s.exclusive_maximum && f > max) || (s.exclusive_maximum && f >= max),
        };
        if over {
            let word = if s.exclusive_maximum { "less than" } else { "less than or equal to" };
            maximum.add(other(
                path,
                value.clone(),
                format!("{path} in {IN} should be {word} {}", bound(max, as_int)),
            ));
        }
    }
    let mut minimum = Res::default();
    if let Some(min) = s.minimum {
        let native = range_error(min, false, type_name, fmt, "Minimum boundary", path).is_none();
        let as_int = native && int_val.is_some();
        let under = match (as_int, int_val) {
            (true, Some(i)) => {
                let m = min as i64;
                (!s.exclusive_minimum && i < m) || (s.exclusive_minimum && i <= m)
            }
            _ => (!s.exclusive_minimum && f < min) || (s.exclusive_minimum && f <= min),
        };
        if under {
            let word = if s.exclusive_minimum { "greater than" } else { "greater than or equal to" };
            minimum.add(other(
                path,
                value.clone(),
                format!("{path} in {IN} should be {word} {}", bound(min, as_int)),
            ));
        }
    }
    res.merge(multiple);
    res.merge(minimum);
    res.merge(maximum);
    res.match_count += 1;
    res
}

fn plain_positive(path: &Path<'_>, factor: Value) -> super::OErr {
    let shown = match &factor {
        Value::Number(n) => apimachinery::gofmt::go_number(n),
        v => v.to_string(),
    };
    other(path, Some(factor), format!("factor MultipleOf declared for {path} must be positive: {shown}"))
}

fn float_multiple(path: &Path<'_>, data: f64, factor: f64, value: &Option<Value>) -> Option<super::OErr> {
    if factor <= 0.0 {
        let v = serde_json::Number::from_f64(factor).map(Value::Number).unwrap_or(Value::Null);
        return Some(plain_positive(path, v));
    }
    let mult = if factor < 1.0 { 1.0 / factor * data } else { data / factor };
    if is_json_integer(mult) {
        None
    } else {
        Some(other(
            path,
            value.clone(),
            format!("{path} in {IN} should be a multiple of {}", go_float(factor)),
        ))
    }
}
