//! kube's escaping of property names into CEL identifiers (an object's declared
//! properties are fields in CEL; a name such as `foo-bar` is read as
//! `self.foo__dash__bar`): `__` is `__underscores__`, `.` `__dot__`, `-` `__dash__`,
//! `/` `__slash__`, and a name that is a CEL reserved word `w` is `__w__`. A name that
//! starts with a digit or holds any other character has no identifier.

/// CEL's reserved words (kube's list).
const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The CEL identifier of a property name, if it has one.
pub fn escape(name: &str) -> Option<String> {
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// The CEL identifier of a property name when it differs from the name (None when the
/// name is its own identifier, or has none); the common plain name costs no allocation.
pub fn escape_if_changed(name: &str) -> Option<String> {
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.contains("__");
    if plain && !RESERVED.contains(&name) {
        return None;
    }
    escape(name).filter(|ident| ident != name)
}

/// The property name a CEL identifier escapes, if it is a valid escape.
pub fn unescape(ident: &str) -> Option<String> {
    let mut out = String::with_capacity(ident.len());
    let mut rest = ident;
    while let Some(start) = rest.find("__") {
        // `__<word>__` where the word has no underscore.
        let after = rest.get(start + 2..).unwrap_or_default();
        let word_len = after.find('_').unwrap_or(after.len());
        let closes = word_len > 0 && after.get(word_len..).is_some_and(|t| t.starts_with("__"));
        if !closes {
            out.push_str(rest.get(..start + 1).unwrap_or_default());
            rest = rest.get(start + 1..).unwrap_or_default();
            continue;
        }
        let word = after.get(..word_len).unwrap_or_default();
        out.push_str(rest.get(..start).unwrap_or_default());
        match word {
            "underscores" => out.push_str("__"),
            "dot" => out.push('.'),
            "dash" => out.push('-'),
            "slash" => out.push('/'),
            w if RESERVED.contains(&w) && ident.len() == w.len() + 4 => out.push_str(w),
            _ => return None,
        }
        rest = after.get(word_len + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_escapes() {
        for (name, ident) in [
            ("foo", "foo"),
            ("foo-bar", "foo__dash__bar"),
            ("a.b/c", "a__dot__b__slash__c"),
            ("x__y", "x__underscores__y"),
            ("namespace", "__namespace__"),
            ("_x", "_x"),
        ] {
            assert_eq!(escape(name).as_deref(), Some(ident), "{name}");
            assert_eq!(unescape(ident).as_deref(), Some(name), "{ident}");
        }
        assert_eq!(escape("1x"), None);
        assert_eq!(escape("a b"), None);
        assert_eq!(escape(""), None);
        assert_eq!(unescape("a__bogus__b"), None);
        assert_eq!(unescape("a__namespace__b"), None);
    }

    #[test]
    fn escape_if_changed_agrees_with_escape() {
        for name in ["foo", "_x", "foo-bar", "a.b/c", "x__y", "namespace", "in", "1x", "a b", "", "x_", "__"]
        {
            let want = escape(name).filter(|i| i != name);
            assert_eq!(escape_if_changed(name), want, "{name:?}");
        }
    }
}
