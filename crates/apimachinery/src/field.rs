//! Field errors as kube's `field.Error` renders them (apimachinery
//! `pkg/util/validation/field/errors.go`): `Required value`, `Invalid value: <v>`,
//! `Unsupported value: <v>: supported values: ...`, `Forbidden`, `Duplicate value`, each
//! followed by `: <detail>` when there is one. A bad value prints as Go does: strings with
//! `%q`, numbers and booleans with `%v`, maps of strings as `%#v`.

use crate::quote::go_quote;
use crate::status::{CauseType, StatusCause};
use serde_json::Value;

/// Validation errors of one object, in the order kube reports them.
pub type Errors = Vec<StatusCause>;

pub fn cause(reason: CauseType, field: &str, message: String) -> StatusCause {
    StatusCause { reason, message, field: field.into() }
}

/// `Required value`.
pub fn required(field: &str) -> StatusCause {
    cause(CauseType::FieldValueRequired, field, "Required value".into())
}

/// `Required value: <detail>`.
pub fn required_because(field: &str, detail: &str) -> StatusCause {
    cause(CauseType::FieldValueRequired, field, format!("Required value: {detail}"))
}

/// `Invalid value: "<s>": <detail>`.
pub fn invalid(field: &str, value: &str, detail: &str) -> StatusCause {
    invalid_rendered(field, &go_quote(value), detail)
}

/// `Invalid value: <n>: <detail>` for a number.
pub fn invalid_number(field: &str, value: i64, detail: &str) -> StatusCause {
    invalid_rendered(field, &value.to_string(), detail)
}

/// `Invalid value: <rendered>: <detail>`, the value already printed as Go would.
pub fn invalid_rendered(field: &str, rendered: &str, detail: &str) -> StatusCause {
    let message = if detail.is_empty() {
        format!("Invalid value: {rendered}")
    } else {
        format!("Invalid value: {rendered}: {detail}")
    };
    cause(CauseType::FieldValueInvalid, field, message)
}

/// `Unsupported value: "<v>": supported values: "a", "b"`.
pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> StatusCause {
    let list = supported.iter().map(|s| go_quote(s)).collect::<Vec<_>>().join(", ");
    cause(
        CauseType::FieldValueNotSupported,
        field,
        format!("Unsupported value: {}: supported values: {list}", go_quote(value)),
    )
}

/// `Forbidden: <detail>`.
pub fn forbidden(field: &str, detail: &str) -> StatusCause {
    cause(CauseType::FieldValueForbidden, field, format!("Forbidden: {detail}"))
}

/// `Unsupported value: <rendered>: supported values: "a", "b"`, the value already printed
/// as Go would (`NotSupported` with a non-string value, e.g. a number against an enum).
pub fn not_supported_rendered<S: AsRef<str>>(field: &str, rendered: &str, supported: &[S]) -> StatusCause {
    let message = if supported.is_empty() {
        format!("Unsupported value: {rendered}")
    } else {
        let list = supported.iter().map(|s| go_quote(s.as_ref())).collect::<Vec<_>>().join(", ");
        format!("Unsupported value: {rendered}: supported values: {list}")
    };
    cause(CauseType::FieldValueNotSupported, field, message)
}

/// `Duplicate value: <rendered>`, the value already printed as Go would.
pub fn duplicate_rendered(field: &str, rendered: &str) -> StatusCause {
    cause(CauseType::FieldValueDuplicate, field, format!("Duplicate value: {rendered}"))
}

/// `TooLong`: `Too long: may not be more than <n> bytes` (`value is too long` when the
/// maximum is unknown, i.e. negative).
pub fn too_long(field: &str, max: i64) -> StatusCause {
    let detail = match max {
        m if m < 0 => "value is too long".to_string(),
        1 => "may not be more than 1 byte".to_string(),
        m => format!("may not be more than {m} bytes"),
    };
    cause(CauseType::FieldValueTooLong, field, format!("Too long: {detail}"))
}

/// `TooMany`: `Too many: <actual>: must have at most <max> items` (the actual count left
/// out when negative, `has too many items` when the maximum is).
pub fn too_many(field: &str, actual: i64, max: i64) -> StatusCause {
    let detail = match max {
        m if m < 0 => "has too many items".to_string(),
        1 => "must have at most 1 item".to_string(),
        m => format!("must have at most {m} items"),
    };
    let message =
        if actual < 0 { format!("Too many: {detail}") } else { format!("Too many: {actual}: {detail}") };
    cause(CauseType::FieldValueTooMany, field, message)
}

/// `TypeInvalid`: `Invalid value: <rendered>: <detail>` with kube's `FieldValueTypeInvalid`.
pub fn type_invalid(field: &str, rendered: &str, detail: &str) -> StatusCause {
    cause(CauseType::FieldValueTypeInvalid, field, format!("Invalid value: {rendered}: {detail}"))
}

/// `InternalError`: `Internal error: <detail>`.
pub fn internal_error(field: &str, detail: &str) -> StatusCause {
    cause(CauseType::InternalError, field, format!("Internal error: {detail}"))
}

/// `Duplicate value: "<v>"`.
pub fn duplicate(field: &str, value: &str) -> StatusCause {
    cause(CauseType::FieldValueDuplicate, field, format!("Duplicate value: {}", go_quote(value)))
}

/// kube's `ValidateNonnegativeField`: `Invalid value: -1: must be greater than or equal to 0`.
pub fn nonnegative(obj: &Value, pointer: &str, field: &str, errs: &mut Errors) {
    if let Some(n) = obj.pointer(pointer).and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(invalid_number(field, n, "must be greater than or equal to 0"));
    }
}

/// `ValidateImmutableField`: `Invalid value: <new>: field is immutable` when the value changed.
pub fn immutable(new: &Value, old: &Value, pointer: &str, field: &str, errs: &mut Errors) {
    let (n, o) = (new.pointer(pointer), old.pointer(pointer));
    if n.unwrap_or(&Value::Null) != o.unwrap_or(&Value::Null) {
        errs.push(invalid_rendered(field, &go_value(n), "field is immutable"));
    }
}

/// A JSON value printed as kube prints a bad value: strings quoted, numbers and booleans
/// bare, `null` for an absent pointer, a string map as Go's `%#v`, anything else as JSON.
pub fn go_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => go_quote(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => go_string_map(v),
        Some(other) => other.to_string(),
    }
}

/// A `map[string]string` as kube 1.34's field errors print a composite value (Go's
/// `json.Marshal`): `{"a":"b","c":"d"}` (keys sorted), `null` when absent.
pub fn go_string_map(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else { return "null".into() };
    let mut pairs: Vec<(&String, &str)> =
        m.iter().map(|(k, v)| (k, v.as_str().unwrap_or_default())).collect();
    pairs.sort();
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    format!("{{{}}}", body.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_as_go_does() {
        assert_eq!(
            go_string_map(Some(&json!({"tier":"web","app":"nginx"}))),
            r#"{"app":"nginx","tier":"web"}"#
        );
        assert_eq!(go_string_map(None), "null");
        assert_eq!(go_value(Some(&json!("x"))), r#""x""#);
        assert_eq!(go_value(Some(&json!(-1))), "-1");
        let c = not_supported("spec.template.spec.restartPolicy", "Always", &["OnFailure", "Never"]);
        assert_eq!(c.message, r#"Unsupported value: "Always": supported values: "OnFailure", "Never""#);
        assert_eq!(
            invalid_number("spec.replicas", -1, "must be greater than or equal to 0").message,
            "Invalid value: -1: must be greater than or equal to 0"
        );
    }
}
