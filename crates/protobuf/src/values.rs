//! The messages whose Go types write their own JSON (a `MarshalJSON` method) rather than an
//! object of fields: `metav1.Time`, `MicroTime`, `Duration`, `FieldsV1`, `runtime.RawExtension`,
//! `intstr.IntOrString` and `resource.Quantity`. The generated code calls these like any other
//! message. Each follows its Go type's protobuf `Unmarshal` and `MarshalJSON` in
//! k8s.io/apimachinery (`pkg/apis/meta/v1/time_proto.go`, `micro_time_proto.go`, `duration.go`,
//! `helpers.go`; `pkg/runtime/extension.go`; `pkg/util/intstr/intstr.go`;
//! `pkg/api/resource/quantity_proto.go`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{Duration, FieldsV1, MicroTime, Time};
use k8s_pb::apimachinery::pkg::runtime::RawExtension;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::json::ToJson;
use crate::ProtobufError;

/// Go's zero `time.Time` (January 1, year 1, UTC) in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

impl ToJson for Time {
    /// An empty message is the zero time, `null`; otherwise the seconds (Go drops the nanos
    /// on decode) in RFC 3339, UTC.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let Time { seconds, nanos } = self;
        if seconds.is_none() && nanos.is_none() {
            return Ok(Value::Null);
        }
        let seconds = seconds.unwrap_or(0);
        if seconds == GO_ZERO_TIME {
            return Ok(Value::Null);
        }
        Ok(Value::from(format_time(seconds, 0, false)?))
    }
}

impl ToJson for MicroTime {
    /// As [`Time`], keeping the nanos truncated to microseconds, with six fraction digits.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let MicroTime { seconds, nanos } = self;
        if seconds.is_none() && nanos.is_none() {
            return Ok(Value::Null);
        }
        // time.Unix normalizes nanos outside [0, 1e9) into the seconds.
        let micros = i64::from(nanos.unwrap_or(0)) / 1_000;
        let total = i128::from(seconds.unwrap_or(0)) * 1_000_000 + i128::from(micros);
        let seconds = i64::try_from(total.div_euclid(1_000_000)).map_err(|_| time_range())?;
        let micros = u32::try_from(total.rem_euclid(1_000_000)).map_err(|_| time_range())?;
        if seconds == GO_ZERO_TIME && micros == 0 {
            return Ok(Value::Null);
        }
        Ok(Value::from(format_time(seconds, micros, true)?))
    }
}

fn time_range() -> ProtobufError {
    ProtobufError::Json("Time.MarshalJSON: time out of range".into())
}

/// Go's `time.RFC3339` (or apimachinery's `RFC3339Micro`) of a UTC instant.
fn format_time(seconds: i64, micros: u32, with_micros: bool) -> Result<String, ProtobufError> {
    let t: DateTime<Utc> = DateTime::from_timestamp(seconds, 0).ok_or_else(time_range)?;
    // Go pads the year to four digits and writes a sign only when negative.
    let year = t.year();
    let year = if year < 0 { format!("-{:04}", -i64::from(year)) } else { format!("{year:04}") };
    let mut out =
        format!("{year}-{:02}-{:02}T{:02}:{:02}:{:02}", t.month(), t.day(), t.hour(), t.minute(), t.second());
    if with_micros {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push('Z');
    Ok(out)
}

impl ToJson for Duration {
    /// Go's `time.Duration.String()`: `1h2m3.5s`, `150ms`, `0s`.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let Duration { duration } = self;
        Ok(Value::from(go_duration(duration.unwrap_or(0))))
    }
}

/// `time.Duration.String()`: hours, minutes and seconds with a fraction; below a second, the
/// largest of ms, µs and ns that keeps an integer part.
pub(crate) fn go_duration(d: i64) -> String {
    let u = d.unsigned_abs();
    let body = if u == 0 {
        return "0s".into();
    } else if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", fraction(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", fraction(u, 6))
    } else {
        let whole = u / 1_000_000_000;
        let seconds = fraction(u % 60_000_000_000, 9);
        let (minutes, hours) = ((whole / 60) % 60, whole / 3600);
        if hours > 0 {
            format!("{hours}h{minutes}m{seconds}s")
        } else if minutes > 0 {
            format!("{minutes}m{seconds}s")
        } else {
            format!("{seconds}s")
        }
    };
    if d < 0 {
        format!("-{body}")
    } else {
        body
    }
}

/// `v / 10^digits` with its fraction, trailing zeros (and a bare point) left out.
fn fraction(v: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{int}.{}", frac.trim_end_matches('0'))
}

impl ToJson for IntOrString {
    /// `type` 0 is `intVal` as a number, `type` 1 `strVal` as a string; Go refuses any other.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let IntOrString { r#type, int_val, str_val } = self;
        match r#type.unwrap_or(0) {
            0 => Ok(Value::from(int_val.unwrap_or(0))),
            1 => Ok(Value::from(str_val.clone().unwrap_or_default())),
            _ => Err(ProtobufError::Json("impossible IntOrString.Type".into())),
        }
    }
}

impl ToJson for Quantity {
    /// Its string; absent, the zero quantity `"0"`. Go parses the string on decode, so a string
    /// that is not a quantity is refused; it is kept as sent (Go's clients send the canonical
    /// form, which is what Go would write back).
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let Quantity { string } = self;
        match string {
            None => Ok(Value::from("0")),
            Some(s) => {
                check_quantity(s)?;
                Ok(Value::from(s.as_str()))
            }
        }
    }
}

/// The syntax `resource.ParseQuantity` accepts: a signed decimal number, then a binary SI
/// suffix, a decimal SI suffix or a decimal exponent.
fn check_quantity(s: &str) -> Result<(), ProtobufError> {
    const FORMAT: &str =
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let number_len = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_len);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return Err(ProtobufError::Json(FORMAT.into()));
    }
    let known = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"];
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()));
    if known.contains(&suffix) || exponent {
        Ok(())
    } else if suffix.chars().all(|c| "eEinumkKMGTP+-0123456789".contains(c)) {
        Err(ProtobufError::Json("unable to parse quantity's suffix".into()))
    } else {
        Err(ProtobufError::Json(FORMAT.into()))
    }
}

impl ToJson for RawExtension {
    /// The raw bytes, which must be JSON; absent, `null`.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let RawExtension { raw } = self;
        raw_json(raw.as_deref(), "RawExtension")
    }
}

impl ToJson for FieldsV1 {
    /// The raw bytes, which must be JSON; absent, `null`.
    fn to_json(&self) -> Result<Value, ProtobufError> {
        let FieldsV1 { raw } = self;
        raw_json(raw.as_deref(), "FieldsV1")
    }
}

/// Embedded JSON bytes as a value. Go writes them verbatim when they look like JSON and fails
/// otherwise (CBOR is not accepted in a protobuf body here).
pub(crate) fn raw_json(raw: Option<&[u8]>, what: &str) -> Result<Value, ProtobufError> {
    let Some(raw) = raw else { return Ok(Value::Null) };
    let looks_like_json = raw.first().is_some_and(|b| b"\t\r\n {[ntf\"-0123456789".contains(b));
    if !looks_like_json {
        return Err(ProtobufError::Json(format!(
            "cannot convert {what} with unrecognized content type to unstructured"
        )));
    }
    serde_json::from_slice(raw).map_err(|e| ProtobufError::Json(format!("{what} is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn time(seconds: Option<i64>, nanos: Option<i32>) -> Value {
        Time { seconds, nanos }.to_json().expect("formats")
    }

    #[test]
    fn times_are_rfc3339_in_utc_and_empty_is_null() {
        assert_eq!(time(None, None), Value::Null);
        assert_eq!(time(Some(GO_ZERO_TIME), Some(0)), Value::Null);
        assert_eq!(time(Some(0), Some(0)), json!("1970-01-01T00:00:00Z"));
        assert_eq!(time(Some(1_700_000_000), Some(999)), json!("2023-11-14T22:13:20Z"));
        let micro = |s, n| MicroTime { seconds: s, nanos: n }.to_json().expect("formats");
        assert_eq!(micro(Some(1_700_000_000), Some(123_456_789)), json!("2023-11-14T22:13:20.123456Z"));
        assert_eq!(micro(Some(1_700_000_000), Some(0)), json!("2023-11-14T22:13:20.000000Z"));
        assert_eq!(micro(None, None), Value::Null);
    }

    #[test]
    fn durations_print_as_go_does() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (150_000_000, "150ms"),
            (1_000_000_000, "1s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-2_000_000_000, "-2s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d}");
        }
    }

    #[test]
    fn int_or_string_follows_its_type() {
        let v = |t, i, s: &str| IntOrString { r#type: t, int_val: i, str_val: Some(s.into()) }.to_json();
        assert_eq!(v(Some(0), Some(8080), "").unwrap(), json!(8080));
        assert_eq!(v(Some(1), Some(0), "25%").unwrap(), json!("25%"));
        assert_eq!(v(None, None, "").unwrap(), json!(0));
        assert!(v(Some(2), None, "").is_err());
    }

    #[test]
    fn quantities_are_checked_and_kept() {
        let q = |s: Option<&str>| Quantity { string: s.map(str::to_owned) }.to_json();
        assert_eq!(q(None).unwrap(), json!("0"));
        for ok in ["100m", "128Mi", "1", "1.5", "1e3", "-2Gi", "+5k", "0.5E-2"] {
            assert_eq!(q(Some(ok)).unwrap(), json!(ok));
        }
        for bad in ["", "Mi", "1..2", "1Xi", "1 Gi", "abc"] {
            assert!(q(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn raw_extensions_must_be_json() {
        let raw = |b: Option<&[u8]>| RawExtension { raw: b.map(<[u8]>::to_vec) }.to_json();
        assert_eq!(raw(None).unwrap(), Value::Null);
        assert_eq!(raw(Some(br#"{"a":[1]}"#)).unwrap(), json!({"a": [1]}));
        assert!(raw(Some(b"")).is_err());
        assert!(raw(Some(b"k8s\0rest")).is_err());
        assert!(raw(Some(b"{broken")).is_err());
    }
}
