//! Go's `regexp` (RE2) on top of the `regex` crate: the same syntax family, with the Perl
//! classes `\d`, `\w`, `\s` and `\b` made ASCII as Go has them, and compile errors printed
//! as Go prints them (`error parsing regexp: missing closing ]: `[a``).

use regex::{Regex, RegexBuilder};

/// Compiled programs larger than this are refused, as Go refuses huge expressions.
const SIZE_LIMIT: usize = 2 << 20;

/// Rewrites the Perl classes to Go's ASCII meaning.
fn asciify(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (in_class, n) {
                    (false, 'd') => "[0-9]",
                    (false, 'D') => "[^0-9]",
                    (false, 'w') => "[0-9A-Za-z_]",
                    (false, 'W') => "[^0-9A-Za-z_]",
                    (false, 's') => "[\\t\\n\\f\\r ]",
                    (false, 'S') => "[^\\t\\n\\f\\r ]",
                    (false, 'b') => "(?-u:\\b)",
                    (false, 'B') => "(?-u:\\B)",
                    (true, 'd') => "0-9",
                    (true, 'w') => "0-9A-Za-z_",
                    (true, 's') => "\\t\\n\\f\\r ",
                    _ => {
                        out.push('\\');
                        out.push(n);
                        continue;
                    }
                };
                out.push_str(rep);
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` right after `[` or `[^` is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class => {
                // `[:alpha:]` inside a class.
                out.push('[');
                if chars.peek() == Some(&':') {
                    for c2 in chars.by_ref() {
                        out.push(c2);
                        if c2 == ']' {
                            break;
                        }
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's message for a pattern `regex` refuses.
fn go_error(pattern: &str, err: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let (code, expr) = match regex_syntax::ast::parse::Parser::new().parse(pattern) {
        Err(e) => {
            let span = e.span();
            let at = |s: usize, t: usize| pattern.get(s..t).unwrap_or(pattern).to_string();
            match e.kind() {
                K::ClassUnclosed => ("missing closing ]", at(span.start.offset, pattern.len())),
                K::GroupUnclosed => ("missing closing )", pattern.to_string()),
                K::GroupUnopened => ("unexpected )", pattern.to_string()),
                K::ClassRangeInvalid => {
                    ("invalid character class range", at(span.start.offset, span.end.offset))
                }
                K::ClassEscapeInvalid
                | K::EscapeUnrecognized
                | K::EscapeHexInvalid
                | K::EscapeHexInvalidDigit => {
                    ("invalid escape sequence", at(span.start.offset, span.end.offset))
                }
                K::EscapeUnexpectedEof => ("trailing backslash at end of expression", String::new()),
                K::RepetitionMissing => {
                    let op_len = pattern[span.start.offset..].chars().next().map_or(0, char::len_utf8);
                    (
                        "missing argument to repetition operator",
                        at(span.start.offset, span.start.offset + op_len),
                    )
                }
                K::RepetitionCountInvalid | K::RepetitionCountDecimalEmpty | K::RepetitionCountUnclosed => {
                    ("invalid repeat count", at(span.start.offset, span.end.offset))
                }
                K::GroupNameInvalid
                | K::GroupNameDuplicate { .. }
                | K::GroupNameEmpty
                | K::GroupNameUnexpectedEof => {
                    ("invalid named capture", at(span.start.offset, span.end.offset))
                }
                K::UnsupportedLookAround | K::UnsupportedBackreference => {
                    ("invalid or unsupported Perl syntax", at(span.start.offset, span.end.offset))
                }
                K::NestLimitExceeded(_) => ("expression nests too deeply", pattern.to_string()),
                _ => ("invalid or unsupported Perl syntax", at(span.start.offset, span.end.offset)),
            }
        }
        Ok(_) => match err {
            regex::Error::CompiledTooBig(_) => ("expression too large", pattern.to_string()),
            _ => ("invalid or unsupported Perl syntax", pattern.to_string()),
        },
    };
    if expr.is_empty() {
        format!("error parsing regexp: {code}")
    } else {
        format!("error parsing regexp: {code}: `{expr}`")
    }
}

/// `regexp.Compile(pattern)`: the program, or Go's error text.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&asciify(pattern))
        .size_limit(SIZE_LIMIT)
        .nest_limit(250)
        .build()
        .map_err(|e| go_error(pattern, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let re = compile(r"^\d+$").unwrap_or_else(|e| panic!("{e}"));
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        assert!(compile(r"^[\w.-]+$").is_ok_and(|r| r.is_match("a.b-c_d") && !r.is_match("é")));
        assert!(compile(r"^[]a]+$").is_ok_and(|r| r.is_match("]a")));
        assert!(compile(r"^[[:alpha:]]+$").is_ok_and(|r| r.is_match("abc")));
        assert!(compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").is_ok_and(|r| r.is_match("a-b")));
    }

    #[test]
    fn errors_print_as_go() {
        // Expected texts are Go's regexp.Compile errors for the same patterns.
        assert_eq!(compile("[a").err().as_deref(), Some("error parsing regexp: missing closing ]: `[a`"));
        assert_eq!(compile("(a").err().as_deref(), Some("error parsing regexp: missing closing ): `(a`"));
        assert_eq!(compile("a)").err().as_deref(), Some("error parsing regexp: unexpected ): `a)`"));
        assert_eq!(
            compile("*a").err().as_deref(),
            Some("error parsing regexp: missing argument to repetition operator: `*`")
        );
        assert_eq!(
            compile(r"a\").err().as_deref(),
            Some("error parsing regexp: trailing backslash at end of expression")
        );
    }
}
