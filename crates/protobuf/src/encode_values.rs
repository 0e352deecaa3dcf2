//! The inverse of [`crate::values`] and [`crate::apiextensions`]: the messages of the Go types
//! that read their own JSON (`UnmarshalJSON`) and marshal their own protobuf, built from that
//! JSON as Go builds them (`metav1.Time`, `MicroTime`, `Duration`, `FieldsV1`,
//! `runtime.RawExtension`, `intstr.IntOrString`, `resource.Quantity`, and apiextensions' `JSON`
//! and `JSONSchemaProps*` wrappers).

use chrono::DateTime;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    Json, JsonSchemaProps, JsonSchemaPropsOrArray, JsonSchemaPropsOrBool, JsonSchemaPropsOrStringArray,
};
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{Duration, FieldsV1, MicroTime, Time};
use k8s_pb::apimachinery::pkg::runtime::RawExtension;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::encode::{wrong_type, FromJson};
use crate::ProtobufError;

/// An RFC 3339 instant as (seconds, nanos); `null` is Go's zero time, which marshals as the
/// empty message.
fn instant(v: &Value, what: &str) -> Result<Option<(i64, u32)>, ProtobufError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map_err(|e| ProtobufError::Encode(format!("{what} `{s}` is not RFC 3339: {e}")))?;
            Ok(Some((t.timestamp(), t.timestamp_subsec_nanos())))
        }
        other => Err(wrong_type(what, other)),
    }
}

impl FromJson for Time {
    /// Seconds and nanos (zero: the JSON has whole seconds); the zero time is empty.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        Ok(match instant(v, "Time")? {
            None => Time::default(),
            Some((seconds, nanos)) => Time { seconds: Some(seconds), nanos: Some(nanos as i32) },
        })
    }
}

impl FromJson for MicroTime {
    /// Seconds and nanos (whole microseconds); the zero time is empty.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        Ok(match instant(v, "MicroTime")? {
            None => MicroTime::default(),
            Some((seconds, nanos)) => MicroTime { seconds: Some(seconds), nanos: Some(nanos as i32) },
        })
    }
}

impl FromJson for Duration {
    /// Go's `time.ParseDuration` of the string, in nanoseconds.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::String(s) => Ok(Duration { duration: Some(parse_go_duration(s)?) }),
            other => Err(wrong_type("Duration", other)),
        }
    }
}

/// `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a unit
/// (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone needs no unit.
pub(crate) fn parse_go_duration(s: &str) -> Result<i64, ProtobufError> {
    let invalid = || ProtobufError::Encode(format!("time: invalid duration \"{s}\""));
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') || int.len() > 20 {
            return Err(invalid());
        }
        let whole: i128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| invalid())? };
        let mut part = whole.checked_mul(scale).ok_or_else(invalid)?;
        // The fraction's digits, as far as they change the nanoseconds.
        let mut place = scale;
        for digit in frac.bytes() {
            place /= 10;
            if place == 0 {
                break;
            }
            part += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = tail;
    }
    let total = if negative { -total } else { total };
    i64::try_from(total).map_err(|_| invalid())
}

impl FromJson for IntOrString {
    /// A number is `type` 0 with `intVal`, a string `type` 1 with `strVal`; all three fields
    /// are written, as gogo-protobuf writes them.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::String(s) => {
                Ok(IntOrString { r#type: Some(1), int_val: Some(0), str_val: Some(s.clone()) })
            }
            Value::Null => {
                Ok(IntOrString { r#type: Some(0), int_val: Some(0), str_val: Some(String::new()) })
            }
            number => Ok(IntOrString {
                r#type: Some(0),
                int_val: Some(i32::from_json(number).map_err(|_| wrong_type("IntOrString", number))?),
                str_val: Some(String::new()),
            }),
        }
    }
}

impl FromJson for Quantity {
    /// Its string as the JSON has it (the server writes the canonical form); a JSON number is
    /// its decimal text.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::String(s) => Ok(Quantity { string: Some(s.clone()) }),
            Value::Number(n) => Ok(Quantity { string: Some(n.to_string()) }),
            Value::Null => Ok(Quantity { string: Some("0".into()) }),
            other => Err(wrong_type("Quantity", other)),
        }
    }
}

/// A JSON value's bytes, as embedded in a message; `null` is nil.
fn raw_bytes(v: &Value) -> Option<Vec<u8>> {
    (!v.is_null()).then(|| v.to_string().into_bytes())
}

impl FromJson for RawExtension {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        Ok(RawExtension { raw: raw_bytes(v) })
    }
}

impl FromJson for FieldsV1 {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        Ok(FieldsV1 { raw: raw_bytes(v) })
    }
}

impl FromJson for Json {
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        Ok(Json { raw: raw_bytes(v) })
    }
}

impl FromJson for JsonSchemaPropsOrBool {
    /// A boolean is `allows`; a schema allows and is kept.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::Bool(b) => Ok(JsonSchemaPropsOrBool { allows: Some(*b), schema: None }),
            other => Ok(JsonSchemaPropsOrBool {
                allows: Some(true),
                schema: Some(Box::new(JsonSchemaProps::from_json(other)?)),
            }),
        }
    }
}

impl FromJson for JsonSchemaPropsOrArray {
    /// A list is the schemas, anything else the one schema.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::Array(items) => Ok(JsonSchemaPropsOrArray {
                schema: None,
                j_son_schemas: items.iter().map(JsonSchemaProps::from_json).collect::<Result<_, _>>()?,
            }),
            other => Ok(JsonSchemaPropsOrArray {
                schema: Some(Box::new(JsonSchemaProps::from_json(other)?)),
                j_son_schemas: Vec::new(),
            }),
        }
    }
}

impl FromJson for JsonSchemaPropsOrStringArray {
    /// A list is the property names, anything else the schema.
    fn from_json(v: &Value) -> Result<Self, ProtobufError> {
        match v {
            Value::Array(items) => Ok(JsonSchemaPropsOrStringArray {
                schema: None,
                property: items.iter().map(String::from_json).collect::<Result<_, _>>()?,
            }),
            other => Ok(JsonSchemaPropsOrStringArray {
                schema: Some(JsonSchemaProps::from_json(other)?),
                property: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::ToJson;
    use crate::values::go_duration;
    use serde_json::json;

    #[test]
    fn times_round_trip_and_null_is_empty() {
        for s in ["1970-01-01T00:00:00Z", "2023-11-14T22:13:20Z"] {
            assert_eq!(Time::from_json(&json!(s)).unwrap().to_json().unwrap(), json!(s));
        }
        assert_eq!(Time::from_json(&Value::Null).unwrap(), Time::default());
        let t = Time::from_json(&json!("2023-11-14T23:13:20+01:00")).unwrap();
        assert_eq!((t.seconds, t.nanos), (Some(1_700_000_000), Some(0)));
        let m = MicroTime::from_json(&json!("2023-11-14T22:13:20.123456Z")).unwrap();
        assert_eq!((m.seconds, m.nanos), (Some(1_700_000_000), Some(123_456_000)));
        assert_eq!(m.to_json().unwrap(), json!("2023-11-14T22:13:20.123456Z"));
        assert!(Time::from_json(&json!("yesterday")).is_err());
        assert!(Time::from_json(&json!(5)).is_err());
    }

    #[test]
    fn durations_parse_as_go_does() {
        for d in [0, 1, 1_500, 150_000_000, 1_000_000_000, 90_000_000_000, 3_723_500_000_000, -2_000_000_000]
        {
            assert_eq!(parse_go_duration(&go_duration(d)).unwrap(), d, "{d}");
        }
        assert_eq!(parse_go_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("2us").unwrap(), 2_000);
        for bad in ["", "1", "h", "1x", "1..2s", "-", "99999999999999999999h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn int_or_string_and_quantity() {
        let port = IntOrString::from_json(&json!(8080)).unwrap();
        assert_eq!((port.r#type, port.int_val), (Some(0), Some(8080)));
        assert_eq!(port.to_json().unwrap(), json!(8080));
        let pct = IntOrString::from_json(&json!("25%")).unwrap();
        assert_eq!(pct.to_json().unwrap(), json!("25%"));
        assert!(IntOrString::from_json(&json!(1.5)).is_err());
        assert_eq!(Quantity::from_json(&json!("128Mi")).unwrap().string.as_deref(), Some("128Mi"));
        assert_eq!(Quantity::from_json(&json!(2)).unwrap().string.as_deref(), Some("2"));
    }

    #[test]
    fn embedded_json_is_kept_as_bytes() {
        let v = json!({"f:metadata": {"f:labels": {}}});
        let f = FieldsV1::from_json(&v).unwrap();
        assert_eq!(f.to_json().unwrap(), v);
        assert_eq!(RawExtension::from_json(&Value::Null).unwrap().raw, None);
        assert_eq!(Json::from_json(&json!([1, "a"])).unwrap().to_json().unwrap(), json!([1, "a"]));
    }

    #[test]
    fn schema_wrappers_round_trip() {
        for v in [json!(false), json!({"type": "string"})] {
            assert_eq!(JsonSchemaPropsOrBool::from_json(&v).unwrap().to_json().unwrap(), v);
        }
        for v in [json!([{"type": "string"}]), json!({"type": "integer"})] {
            assert_eq!(JsonSchemaPropsOrArray::from_json(&v).unwrap().to_json().unwrap(), v);
        }
        for v in [json!(["a", "b"]), json!({"type": "object"})] {
            assert_eq!(JsonSchemaPropsOrStringArray::from_json(&v).unwrap().to_json().unwrap(), v);
        }
    }
}
