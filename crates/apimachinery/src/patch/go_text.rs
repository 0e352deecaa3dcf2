//! Go's `%v` rendering of decoded JSON, used where kube's patch errors print values
//! (`map: map[image:nginx] does not contain declared merge key: name`).

use serde_json::Value;

/// A JSON value as Go's `fmt` prints the `interface{}` it decodes to: maps with sorted
/// keys as `map[k:v ...]`, lists as `[a b]`, strings bare, null as `<nil>`.
pub(crate) fn go_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// A list of lists, as `fmt.Sprint` of a `[][]interface{}` prints it.
pub(crate) fn go_lists(lists: &[&[Value]]) -> String {
    let mut out = String::from("[");
    for (i, l) in lists.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_list(&mut out, l);
    }
    out.push(']');
    out
}

fn write_list(out: &mut String, items: &[Value]) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, x);
    }
    out.push(']');
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&go_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(items) => write_list(out, items),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(x) = m.get(*k) {
                    write_value(out, x);
                }
            }
            out.push(']');
        }
    }
}

/// Go's `%v` of a float64: shortest digits, exponent form when the exponent is below -4
/// or at least 6 (`1e+06`, `1.5`, `1e-05`).
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6", "-5e-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_print_like_go() {
        assert_eq!(go_value(&json!({"name": "c", "image": "nginx"})), "map[image:nginx name:c]");
        assert_eq!(go_value(&json!([1, "a", null, true])), "[1 a <nil> true]");
        assert_eq!(go_value(&json!({"a": {"b": [1, 2]}})), "map[a:map[b:[1 2]]]");
        assert_eq!(go_lists(&[&[json!(1)], &[json!("x"), json!(2)]]), "[[1] [x 2]]");
    }

    #[test]
    fn floats_print_like_go() {
        for (f, s) in [
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25, "-2.25"),
            (100.0, "100"),
        ] {
            assert_eq!(go_float(f), s, "{f}");
        }
    }
}
