//! Field selectors (k8s.io/apimachinery `pkg/fields`): the `fieldSelector` query
//! parameter, `k=v`, `k==v`, `k!=v` joined by commas, with `\,` `\=` `\\` escapes in values.
//!
//! Which fields a resource supports is the server's business: it inspects
//! [`FieldSelector::requirements`] (or calls [`FieldSelector::check_supported`]) and answers
//! 400 with [`SelectorError::field_label_not_supported`] for the rest, as kube does.

use std::fmt;

use super::SelectorError;

/// The operator of one field requirement. `=` and `==` are the same operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `f=v` or `f==v`
    Equals,
    /// `f!=v`
    NotEquals,
}

/// One term: a field path (as written, e.g. `metadata.name`), an operator, an unescaped value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    pub field: String,
    pub operator: FieldOperator,
    pub value: String,
}

impl FieldRequirement {
    /// Whether a field whose value is `got` (absent reads as `""`, as in kube) satisfies the term.
    pub fn matches(&self, got: Option<&str>) -> bool {
        let got = got.unwrap_or("");
        match self.operator {
            FieldOperator::Equals => got == self.value,
            FieldOperator::NotEquals => got != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: an AND of terms; no terms matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the `fieldSelector` syntax (`fields.ParseSelector`). Terms come out in kube's
    /// order (sorted by their source text); errors carry kube's message (400 BadRequest).
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((field, operator, raw)) = split_term(part) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            terms.push(FieldRequirement { field: field.to_string(), operator, value: unescape_value(raw)? });
        }
        Ok(Self { terms })
    }

    /// A selector of exactly these terms.
    pub fn from_requirements(terms: Vec<FieldRequirement>) -> Self {
        Self { terms }
    }

    /// The parsed terms, for the server to check which fields are supported.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.terms
    }

    /// Whether this selector places no restriction.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an object matches; `get` reads a field by its selector name
    /// (e.g. `metadata.name`); `None` reads as the empty string, as in kube.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| t.matches(get(&t.field).as_deref()))
    }

    /// If the selector requires `field` to equal one value, that value.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.operator == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    /// Fails with kube's `field label not supported: <f>` for the first term whose field
    /// is not in `supported` (the message of the per-kind field label conversions).
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), SelectorError> {
        match self.terms.iter().find(|t| !supported.contains(&t.field.as_str())) {
            Some(t) => Err(SelectorError::field_label_not_supported(&t.field)),
            None => Ok(()),
        }
    }

    /// As [`FieldSelector::check_supported`] for a built-in kind with no field label
    /// conversion of its own: apimachinery's default conversion's text.
    pub fn check_default_fields(&self) -> Result<(), SelectorError> {
        match self.terms.iter().find(|t| !matches!(t.field.as_str(), "metadata.name" | "metadata.namespace"))
        {
            Some(t) => Err(SelectorError::not_a_known_field_selector(&t.field)),
            None => Ok(()),
        }
    }

    /// kube's `Selector.Transform`: rewrites every term through `f`, dropping terms whose
    /// field and value both come back empty; the first error is returned.
    pub fn transform(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(String, String), SelectorError>,
    ) -> Result<Self, SelectorError> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let (field, value) = f(&t.field, &t.value)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            terms.push(FieldRequirement { field, operator: t.operator, value });
        }
        Ok(Self { terms })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Escapes `\`, `,` and `=` in a value (`fields.EscapeValue`).
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Undoes [`escape_value`]; unknown escapes and bare `,` `=` are errors (`fields.UnescapeValue`).
pub fn unescape_value(s: &str) -> Result<String, SelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError(format!("invalid field selector: invalid escape sequence: \\{c}")));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v, i.e. as its number.
            ',' | '=' => {
                return Err(SelectorError(format!(
                    "invalid field selector: unescaped character in value: {}",
                    u32::from(c)
                )))
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err(SelectorError("invalid field selector: invalid escape sequence: \\".into()));
    }
    Ok(out)
}

/// Splits on commas that are not escaped; escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits a term at the first operator (`!=`, `==`, `=`; the field has no escapes).
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in
            [("!=", FieldOperator::NotEquals), ("==", FieldOperator::Equals), ("=", FieldOperator::Equals)]
        {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, value));
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn get<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |f| pairs.iter().find(|(k, _)| *k == f).map(|(_, v)| v.to_string())
    }

    #[test]
    fn parses_operators_and_sorts_terms() {
        let s = FieldSelector::parse("spec.nodeName!=n1,metadata.name==web,status.phase=Running").unwrap();
        let t = s.requirements();
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[0],
            FieldRequirement {
                field: "metadata.name".into(),
                operator: FieldOperator::Equals,
                value: "web".into()
            }
        );
        assert_eq!(t[1].field, "spec.nodeName");
        assert_eq!(t[1].operator, FieldOperator::NotEquals);
        assert_eq!(t[2].value, "Running");
        assert_eq!(s.to_string(), "metadata.name=web,spec.nodeName!=n1,status.phase=Running");
    }

    #[test]
    fn empty_and_blank_terms() {
        assert!(FieldSelector::parse("").unwrap().is_empty());
        assert!(FieldSelector::parse(",,").unwrap().is_empty());
        let s = FieldSelector::parse("a=").unwrap();
        assert_eq!(s.requirements()[0].value, "");
    }

    #[test]
    fn matching() {
        let s = FieldSelector::parse("metadata.name=web,spec.nodeName!=n1").unwrap();
        assert!(s.matches(get(&[("metadata.name", "web"), ("spec.nodeName", "n2")])));
        assert!(s.matches(get(&[("metadata.name", "web")])), "absent field reads as empty");
        assert!(!s.matches(get(&[("metadata.name", "web"), ("spec.nodeName", "n1")])));
        assert!(!s.matches(get(&[("metadata.name", "db")])));
        // `f=` matches a missing field, as kube's Fields.Get returns "".
        assert!(FieldSelector::parse("spec.nodeName=").unwrap().matches(get(&[])));
        assert!(FieldSelector::everything().matches(get(&[])));
        assert_eq!(s.requires_exact_match("metadata.name"), Some("web"));
        assert_eq!(s.requires_exact_match("spec.nodeName"), None);
    }

    #[test]
    fn escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b\=c\\d,x=y").unwrap();
        assert_eq!(s.requirements()[0].value, r"a,b=c\d");
        assert_eq!(s.requirements()[1].field, "x");
        assert_eq!(s.to_string(), r"metadata.name=a\,b\=c\\d,x=y");
        assert_eq!(escape_value(r"a,b=c\d"), r"a\,b\=c\\d");
        assert_eq!(unescape_value(&escape_value("p,q=r\\")).unwrap(), "p,q=r\\");
    }

    #[test]
    fn errors_have_kube_text() {
        assert_eq!(
            FieldSelector::parse("foo").unwrap_err().to_string(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
        assert_eq!(
            FieldSelector::parse("b=1,a").unwrap_err().to_string(),
            "invalid selector: 'b=1,a'; can't understand 'a'"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\c").unwrap_err().to_string(),
            r"invalid field selector: invalid escape sequence: \c"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\").unwrap_err().to_string(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            FieldSelector::parse("a=b=c").unwrap_err().to_string(),
            "invalid field selector: unescaped character in value: 61"
        );
    }

    #[test]
    fn first_operator_wins() {
        // "a!=b=c": the split is at "!=", then "b=c" has an unescaped '='.
        assert!(FieldSelector::parse("a!=b=c").is_err());
        let s = FieldSelector::parse("a==b").unwrap();
        assert_eq!(s.requirements()[0].value, "b");
        let s = FieldSelector::parse("a=!b").unwrap();
        assert_eq!(s.requirements()[0].value, "!b");
    }

    #[test]
    fn supported_fields_and_transform() {
        let s = FieldSelector::parse("metadata.name=web,spec.foo=bar").unwrap();
        let e = s.check_supported(&["metadata.name", "metadata.namespace"]).unwrap_err();
        assert_eq!(e.to_string(), "field label not supported: spec.foo");
        assert_eq!(e.to_status().code, 400);
        assert!(e.to_status().is_bad_request());
        assert!(s.check_supported(&["metadata.name", "spec.foo"]).is_ok());
        let t = s
            .transform(|f, v| {
                if f == "spec.foo" {
                    Ok((String::new(), String::new()))
                } else {
                    Ok((f.to_string(), v.to_uppercase()))
                }
            })
            .unwrap();
        assert_eq!(t.to_string(), "metadata.name=WEB");
        let e = s.transform(|f, _| Err(SelectorError::not_a_known_field_selector(f))).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#""metadata.name" is not a known field selector: only "metadata.name", "metadata.namespace""#
        );
    }
}
