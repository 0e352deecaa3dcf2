//! The repeated keys of a JSON document, named as kube's strict decoder (sigs.k8s.io/json)
//! names them: `duplicate field "spec.replicas"`, with `[i]` for list items. serde_json keeps
//! the last of a repeated key silently; kube's `fieldValidation=Strict` refuses the request and
//! `Warn` warns, so the server scans the body's text for them.
//!
//! One pass over the bytes with an explicit stack (no recursion), bounded by [`MAX_DEPTH`]
//! (serde_json's own nesting limit: a deeper document never parses). Meant for documents
//! that parsed as JSON; on malformed input it stops and reports what it found.

use std::collections::HashSet;

/// Nesting beyond serde_json's limit is not scanned.
pub const MAX_DEPTH: usize = 128;

enum Frame {
    Object { path: String, keys: HashSet<String>, key: Option<String> },
    Array { path: String, index: usize },
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of the value that starts now, in the innermost container.
fn value_path(stack: &[Frame]) -> String {
    match stack.last() {
        Some(Frame::Object { path, key: Some(k), .. }) => child(path, k),
        Some(Frame::Array { path, index }) => format!("{path}[{index}]"),
        _ => String::new(),
    }
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

/// The paths of the repeated keys of `bytes`, in document order (each repeat once per repeat).
pub fn duplicate_fields(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    break;
                }
                let path = value_path(&stack);
                stack.push(if bytes[i] == b'{' {
                    Frame::Object { path, keys: HashSet::new(), key: None }
                } else {
                    Frame::Array { path, index: 0 }
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array { index, .. }) => *index += 1,
                    Some(Frame::Object { key, .. }) => *key = None,
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let Some(end) = string_end(bytes, i) else { break };
                if let Some(Frame::Object { path, keys, key }) = stack.last_mut() {
                    if key.is_none() {
                        // A key: decoded, so `"a"` and `"\u0061"` are the same key.
                        let name: String =
                            serde_json::from_slice(&bytes[i..end]).unwrap_or_else(|_| String::new());
                        if !keys.insert(name.clone()) {
                            found.push(child(path, &name));
                        }
                        *key = Some(name);
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
    fn deep_or_broken_documents_end_the_scan() {
        let deep = "[".repeat(10_000);
        assert!(duplicate_fields(deep.as_bytes()).is_empty());
        assert!(duplicate_fields(br#"{"a": "unterminated"#).is_empty());
        assert!(duplicate_fields(br#"{"a\"#).is_empty());
    }
}
