//! Go formatting helpers that kube's messages depend on: `%q` and error aggregation.

use std::fmt::Write;

/// Appends `s` as Go's `%q` (`strconv.Quote`) would print it.
///
/// ASCII control characters use Go's escapes (`\n`, `\x01`, ...); other characters are kept,
/// except the C1 controls and U+FEFF which Go also escapes.
pub(crate) fn push_go_quoted(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() || c == '\u{feff}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Go's `%q` of a string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_go_quoted(&mut out, s);
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_go_quoted(&mut out, s);
    }
    out.push(']');
    out
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several as `[a, b]`,
/// duplicates dropped.
pub(crate) fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::with_capacity(errors.len());
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen[0].to_string(),
        _ => format!("[{}]", seen.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("alice"), "\"alice\"");
        assert_eq!(go_quote(""), "\"\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("x\ny\u{1}"), "\"x\\ny\\x01\"");
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
    }

    #[test]
    fn quotes_lists_like_go() {
        assert_eq!(go_quote_list(&["a".into(), "b c".into()]), "[\"a\" \"b c\"]");
        assert_eq!(go_quote_list(&[]), "[]");
    }

    #[test]
    fn aggregates_like_kube() {
        assert_eq!(aggregate(&[]), "");
        assert_eq!(aggregate(&["x".into()]), "x");
        assert_eq!(aggregate(&["x".into(), "y".into(), "x".into()]), "[x, y]");
    }
}
