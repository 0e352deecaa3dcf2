//! Go formatting that kube's messages are made of: `%q` of a string (`strconv.Quote`), `%q`
//! of a `[]string`, and `utilerrors.NewAggregate(errs).Error()`. The one place kubeward
//! quotes the way Go does.

use std::fmt::Write;

/// Whether Go's `strconv.IsPrint` holds: letters, marks, numbers, punctuation, symbols and
/// the ASCII space. Rust's `escape_debug` keeps exactly those characters (its printable table
/// is generated from the same Unicode categories), except that it also escapes grapheme
/// extenders when they come first; behind a leading `a` nothing comes first.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let mut buf = [0u8; 5];
    buf[0] = b'a';
    let len = 1 + c.encode_utf8(&mut buf[1..]).len();
    std::str::from_utf8(&buf[..len]).is_ok_and(|s| s.escape_debug().nth(1) == Some(c))
}

/// Appends `s` as Go's `strconv.Quote` (and so `%q`) writes it: `"` and `\` escaped, the
/// C escapes `\a \b \f \n \r \t \v`, other ASCII controls and DEL as `\xHH`, any other
/// character Go does not print as `\uHHHH` or `\UHHHHHHHH`; everything printable kept.
pub fn push_go_quoted(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_printable(c) => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
}

/// Go's `%q` of a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_go_quoted(&mut out, s);
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_go_quoted(&mut out, s.as_ref());
    }
    out.push(']');
    out
}

/// `utilerrors.NewAggregate(errs).Error()`: nothing for none, one message alone, several as
/// `[a, b]`, duplicates dropped (first occurrence kept).
pub fn aggregate<S: AsRef<str>>(errors: &[S]) -> String {
    let mut seen: Vec<&str> = Vec::with_capacity(errors.len());
    for e in errors {
        if !seen.contains(&e.as_ref()) {
            seen.push(e.as_ref());
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        _ => format!("[{}]", seen.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        // Expected values are Go's `strconv.Quote` of the same input.
        assert_eq!(go_quote("alice"), "\"alice\"");
        assert_eq!(go_quote(""), "\"\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("x\ny\u{1}"), "\"x\\ny\\x01\"");
        assert_eq!(go_quote("\x07\x08\x0c\r\t\x0b\x1b\x7f"), "\"\\a\\b\\f\\r\\t\\v\\x1b\\x7f\"");
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(go_quote("日本語"), "\"日本語\"");
        // C1 controls, format characters, non-ASCII spaces and line separators are escaped.
        assert_eq!(go_quote("\u{85}"), "\"\\u0085\"");
        assert_eq!(go_quote("\u{feff}"), "\"\\ufeff\"");
        assert_eq!(go_quote("a\u{a0}b"), "\"a\\u00a0b\"");
        assert_eq!(go_quote("\u{200b}\u{2028}"), "\"\\u200b\\u2028\"");
        assert_eq!(go_quote("\u{e000}"), "\"\\ue000\"");
        assert_eq!(go_quote("\u{e0001}"), "\"\\U000e0001\"");
        // Combining marks print, even first; so do symbols outside the BMP.
        assert_eq!(go_quote("\u{301}e"), "\"\u{301}e\"");
        assert_eq!(go_quote("\u{1f600}"), "\"\u{1f600}\"");
        // Characters JSON escapes but Go does not.
        assert_eq!(go_quote("<a&b>"), "\"<a&b>\"");
    }

    #[test]
    fn quotes_lists_like_go() {
        assert_eq!(go_quote_list(&["a", "b c"]), "[\"a\" \"b c\"]");
        assert_eq!(go_quote_list::<String>(&[]), "[]");
        assert_eq!(go_quote_list(&["api".to_string()]), "[\"api\"]");
    }

    #[test]
    fn aggregates_like_kube() {
        assert_eq!(aggregate::<&str>(&[]), "");
        assert_eq!(aggregate(&["x"]), "x");
        assert_eq!(aggregate(&["x", "y", "x"]), "[x, y]");
        assert_eq!(aggregate(&["x", "x"]), "x");
    }
}
