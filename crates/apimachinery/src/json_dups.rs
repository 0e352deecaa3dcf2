//! The repeated keys of a JSON document, named as kube's strict decoder (sigs.k8s.io/json)
//! names them: `duplicate field "spec.replicas"`, with `[i]` for list items. serde_json keeps
//! the last of a repeated key silently; kube's `fieldValidation=Strict` refuses the request and
//! `Warn` warns, so the server scans the body's text for them.
//!
//! One pass over the bytes with an explicit stack (no recursion), bounded by [`MAX_DEPTH`]
//! (serde_json's own nesting limit: a deeper document never parses). Meant for documents
//! that parsed as JSON; on malformed input it stops and reports what it found.

use std::borrow::Cow;
use std::collections::HashSet;

/// Nesting beyond serde_json's limit is not scanned.
pub const MAX_DEPTH: usize = 128;

/// An open container. Keys are borrowed from the document unless escaped; paths are only
/// rendered for a repeated key (a scan of a valid document allocates per object, not per
/// key or value).
enum Frame<'a> {
    Object { keys: HashSet<Cow<'a, str>>, key: Option<Cow<'a, str>> },
    Array { index: usize },
}

/// The path of a value inside the innermost of `outer`, as kube names it: `a.b`, `a[1].c`.
fn render(outer: &[Frame<'_>]) -> String {
    let mut path = String::new();
    for frame in outer {
        match frame {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Array { index } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
            // A value where a key belongs: only in a malformed document.
            Frame::Object { key: None, .. } => path.clear(),
        }
    }
    path
}

/// The end (exclusive) of the string literal starting at `start` (its opening quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The text of a key's literal (quotes included): borrowed when it has no escape, decoded
/// otherwise, so `"a"` and `"\u0061"` are the same key; empty when it is not a string.
fn key_text(literal: &[u8]) -> Cow<'_, str> {
    let inner = literal.get(1..literal.len().saturating_sub(1)).unwrap_or_default();
    if !inner.iter().any(|&b| b == b'\\' || b < 0x20) {
        if let Ok(text) = std::str::from_utf8(inner) {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(serde_json::from_slice(literal).unwrap_or_default())
}

/// The paths of the repeated keys of `bytes`, in document order (each repeat once per repeat).
pub fn duplicate_fields(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    break;
                }
                stack.push(if bytes[i] == b'{' {
                    Frame::Object { keys: HashSet::new(), key: None }
                } else {
                    Frame::Array { index: 0 }
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array { index }) => *index += 1,
                    Some(Frame::Object { key, .. }) => *key = None,
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let Some(end) = string_end(bytes, i) else { break };
                let depth = stack.len();
                if let Some(Frame::Object { keys, key }) = stack.last_mut() {
                    if key.is_none() {
                        let name = key_text(bytes.get(i..end).unwrap_or_default());
                        let repeated = !keys.insert(name.clone());
                        *key = Some(name);
                        if repeated {
                            let outer = stack.get(..depth - 1).unwrap_or_default();
                            let mut path = render(outer);
                            if let Some(Frame::Object { key: Some(name), .. }) = stack.last() {
                                if !path.is_empty() {
                                    path.push('.');
                                }
                                path.push_str(name);
                            }
                            found.push(path);
                        }
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_named_by_path() {
        let doc = br#"{"spec": {"unknownField": "foo", "replicas": 2, "replicas": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "name": "c"}]}}},
            "metadata": {"labels": {"a": "1", "\u0061": "2"}}, "data": "{\"x\":1,\"x\":2}"}"#;
        assert_eq!(
            duplicate_fields(doc),
            ["spec.replicas", "spec.template.spec.containers[1].name", "metadata.labels.a"]
        );
        assert!(duplicate_fields(br#"{"a": [1, {"a": 1}], "b": {"a": 2}}"#).is_empty());
        assert!(duplicate_fields(b"[1, 2, 3]").is_empty());
    }

    #[test]
    fn paths_through_lists_and_escaped_keys() {
        let doc = br#"[{"a": 1}, {"a": {"q\"x": 1, "q\u0022x": 2}, "a": [0, {"k": 1, "k": 2}]}]"#;
        assert_eq!(duplicate_fields(doc), [r#"[1].a.q"x"#, "[1].a", "[1].a[1].k"]);
    }

    #[test]
    fn deep_or_broken_documents_end_the_scan() {
        let deep = "[".repeat(10_000);
        assert!(duplicate_fields(deep.as_bytes()).is_empty());
        assert!(duplicate_fields(br#"{"a": "unterminated"#).is_empty());
        assert!(duplicate_fields(br#"{"a\"#).is_empty());
    }
}
