//! Go's printing of decoded JSON values, as kube's messages show them: `%v` of a float64
//! (`strconv.FormatFloat(f, 'g', -1, 64)`: `1.5`, `1e+06`), `encoding/json.Marshal` of a
//! value (map keys sorted, `<`, `>` and `&` escaped, floats as `'f'` unless tiny or huge),
//! and the `BadValue` of a `field.Error` holding an unstructured value (strings `%q`,
//! numbers and booleans `%v`, anything else as JSON).

use crate::quote::go_quote;
use serde_json::{Number, Value};
use std::fmt::Write;

/// The decimal digits and exponent of the shortest representation of `f`: `(digits, exp)`
/// with `f = 0.d1d2d3... * 10^(exp+1)`, i.e. `exp` is the exponent of `%e`.
fn shortest(f: f64) -> (String, i32) {
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// `%e` with the shortest digits: `1.5e+07`, `1e-05`.
fn exp_form(f: f64) -> String {
    let (digits, exp) = shortest(f);
    let mut out = String::new();
    if f.is_sign_negative() && f != 0.0 {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    out
}

/// Go's `%v` of a float64: `%g` with the shortest digits, `%e` when the exponent is below
/// -4 or at least 6 (`1e+06`, `1.5e-05`), plain otherwise (`123456`, `0.5`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let (_, exp) = shortest(f);
    if !(-4..6).contains(&exp) {
        exp_form(f)
    } else {
        format!("{f}")
    }
}

/// A float as `encoding/json` writes it: `'f'` format, `'e'` below 1e-6 or from 1e21 on,
/// with `e-07` shortened to `e-7`.
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = exp_form(f);
        match s.split_once("e-0") {
            Some((m, d)) => format!("{m}e-{d}"),
            None => s,
        }
    } else {
        format!("{f}")
    }
}

/// A JSON number as Go holds it after kube's unstructured decoding: an int64 when it is
/// an integer literal in range, a float64 otherwise.
pub fn go_number(n: &Number) -> String {
    match n.as_i64() {
        Some(i) => i.to_string(),
        None => go_float(n.as_f64().unwrap_or(0.0)),
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_json(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::Number(n) => out.push_str(&json_float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => push_json_string(out, s),
        Value::Array(items) if depth > MAX_DEPTH => {
            out.push_str(if items.is_empty() { "[]" } else { "[...]" })
        }
        Value::Object(map) if depth > MAX_DEPTH => out.push_str(if map.is_empty() { "{}" } else { "{...}" }),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k);
                out.push(':');
                push_json(out, &map[k], depth + 1);
            }
            out.push('}');
        }
    }
}

/// Nesting past which `go_json` abbreviates (a bound on recursion, far beyond real values).
const MAX_DEPTH: usize = 200;

/// `encoding/json.Marshal` of a decoded JSON value: keys sorted, HTML characters escaped,
/// numbers as Go prints them.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    push_json(&mut out, v, 0);
    out
}

/// The `BadValue` of a `field.Error` holding an unstructured value, as `ErrorBody` prints
/// it: a string with `%q`, an int64, float64 or bool with `%v`, anything else (null, maps,
/// slices) as JSON.
pub fn go_bad_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) => go_number(n),
        Value::Bool(b) => b.to_string(),
        other => go_json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_go_v() {
        // Expected values are Go's fmt.Sprintf("%v", f).
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(10.0), "10");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.0), "0");
    }

    #[test]
    fn json_prints_as_go_marshal() {
        assert_eq!(
            go_json(&json!({"b": 1, "a": [true, null, "x<y"]})),
            r#"{"a":[true,null,"x\u003cy"],"b":1}"#
        );
        assert_eq!(go_json(&json!(1.5)), "1.5");
        assert_eq!(go_json(&json!(1e21)), "1e+21");
        assert_eq!(go_json(&json!(1e-7)), "1e-7");
        assert_eq!(go_json(&json!(1234567.0)), "1234567");
        assert_eq!(go_json(&json!("a\nb\u{1}")), r#""a\nb\u0001""#);
    }

    #[test]
    fn bad_values_print_as_field_errors_do() {
        assert_eq!(go_bad_value(&json!("pink")), r#""pink""#);
        assert_eq!(go_bad_value(&json!(15)), "15");
        assert_eq!(go_bad_value(&json!(1.2)), "1.2");
        assert_eq!(go_bad_value(&json!(true)), "true");
        assert_eq!(go_bad_value(&json!(null)), "null");
        assert_eq!(go_bad_value(&json!({"name": "a"})), r#"{"name":"a"}"#);
    }
}
