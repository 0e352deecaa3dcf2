//! kube's `cel.ValidFieldPath`: a JSON path of dot-separated names and `['quoted']`
//! subscripts (`.spec.foo`, `.spec['a.b']`) resolved against a structural schema, as
//! `x-kubernetes-validations[].fieldPath` and `selectableFields[].jsonPath` use it.

use crate::path::{child, key};
use crate::props::Props;

/// A resolved path: the field path kube prints (`spec.foo`, `spec.labels[a.b]`), its first
/// element, and the schema found there.
pub struct Resolved<'a> {
    pub path: String,
    pub root: String,
    pub schema: &'a Props,
}

/// Splits into `.`, `[`, `]` and the text between, a `'...'` string kept whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let bytes = rest.as_bytes();
        if bytes[0] == b'\'' {
            let mut end = None;
            for i in 1..bytes.len() {
                if bytes[i] == b'\'' && bytes[i - 1] != b'\\' {
                    end = Some(i);
                    break;
                }
            }
            let cut = end.map(|e| e + 1).unwrap_or(bytes.len());
            out.push(rest[..cut].to_string());
            rest = &rest[cut..];
            continue;
        }
        let cut = match rest.find(['.', '[', ']']) {
            Some(0) => 1,
            Some(i) => i,
            None => rest.len(),
        };
        out.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    out
}

fn unescape_single_quote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\x0b'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some(o) => return Err(format!("invalid escape char \\{o}")),
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// Resolves `json_path` in `schema`; the error is kube's text.
pub fn valid_field_path<'a>(
    json_path: &str,
    schema: &'a Props,
    allow_array_notation: bool,
) -> Result<Resolved<'a>, String> {
    let toks = tokens(json_path);
    let mut it = toks.iter();
    let mut path = String::new();
    let mut root = String::new();
    let mut s = schema;
    let step = |s: &'a Props, path: &mut String, name: &str| -> Result<&'a Props, String> {
        if !s.properties.is_empty() {
            *path = child(path, name);
            s.properties.get(name).ok_or_else(|| "does not refer to a valid field".to_string())
        } else if s.additional_properties.is_some() {
            *path = key(path, name);
            s.additional_schema().ok_or_else(|| "does not refer to a valid field".to_string())
        } else {
            Err("does not refer to a valid field".into())
        }
    };
    while let Some(tok) = it.next() {
        match tok.as_str() {
            "[" => {
                if !allow_array_notation {
                    return Err("array notation is not allowed".into());
                }
                let tok = it.next().ok_or("unexpected end of JSON path")?;
                if tok.len() < 2 || !tok.starts_with('\'') || !tok.ends_with('\'') {
                    return Err(format!("expected single quoted string but got {tok}"));
                }
                let name = unescape_single_quote(&tok[1..tok.len() - 1])
                    .map_err(|e| format!("invalid string literal: {e}"))?;
                s = step(s, &mut path, &name)?;
                let close = it.next().ok_or("unexpected end of JSON path")?;
                if close != "]" {
                    return Err(format!("expected ] but got {close}"));
                }
            }
            "." => {
                let name = it.next().ok_or("unexpected end of JSON path")?;
                s = step(s, &mut path, name)?;
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
        if root.is_empty() {
            root = path.clone();
        }
    }
    Ok(Resolved { path, root, schema: s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_like_kube() {
        let mut errs = Vec::new();
        let s = Props::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "a.b": {"type": "string"},
                "m": {"type": "object", "additionalProperties": {"type": "integer"}}
            }}}}),
            "",
            &mut errs,
        );
        let r = valid_field_path(".spec['a.b']", &s, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.path.as_str(), r.root.as_str(), r.schema.type_.as_str()),
            ("spec.a.b", "spec", "string")
        );
        let r = valid_field_path(".spec.m.x", &s, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.path.as_str(), r.schema.type_.as_str()), ("spec.m[x]", "integer"));
        assert_eq!(
            valid_field_path(".spec.c", &s, true).err().as_deref(),
            Some("does not refer to a valid field")
        );
        assert_eq!(
            valid_field_path("spec", &s, true).err().as_deref(),
            Some("expected [ or . but got: spec")
        );
        assert_eq!(
            valid_field_path(".spec['a.b']", &s, false).err().as_deref(),
            Some("array notation is not allowed")
        );
        assert_eq!(
            valid_field_path(".spec.", &s, false).err().as_deref(),
            Some("unexpected end of JSON path")
        );
    }
}
