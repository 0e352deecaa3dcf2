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

/// A JSON document parsed as serde_json parses it (the last of a repeated key wins, in the
/// place of the first), together with [`duplicate_fields`] of the same bytes, found while
/// parsing: one pass over the body instead of a parse and a scan. Errors are serde_json's.
pub fn from_slice_with_duplicates(
    bytes: &[u8],
) -> Result<(serde_json::Value, Vec<String>), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut found = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed { at: None, found: &mut found }.deserialize(&mut de)?;
    de.end()?;
    Ok((value, found))
}

/// Where a value being parsed sits: a key or list index below its parent's place.
struct Place<'p> {
    parent: Option<&'p Place<'p>>,
    key: Option<&'p str>,
    index: usize,
}

impl Place<'_> {
    /// kube's name of `key` below this place: `a.b`, `a[1].c`.
    fn render(place: Option<&Place<'_>>, key: &str) -> String {
        let mut parts = Vec::new();
        let mut at = place;
        while let Some(p) = at {
            parts.push(p);
            at = p.parent;
        }
        let mut path = String::new();
        for p in parts.iter().rev() {
            match p.key {
                Some(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                None => {
                    path.push('[');
                    path.push_str(&p.index.to_string());
                    path.push(']');
                }
            }
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        path
    }
}

/// Builds a `serde_json::Value` as its own `Deserialize` does, noting repeated keys.
struct Seed<'p, 'f> {
    at: Option<&'p Place<'p>>,
    found: &'f mut Vec<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Seed<'_, '_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        loop {
            let place = Place { parent: self.at, key: None, index: items.len() };
            match seq.next_element_seed(Seed { at: Some(&place), found: &mut *self.found })? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut m = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let before = self.found.len();
            let place = Place { parent: self.at, key: Some(&key), index: 0 };
            let v = map.next_value_seed(Seed { at: Some(&place), found: &mut *self.found })?;
            // One lookup per key: a repeat is named where the scan names it, when its key is
            // read (before its value's own repeats), and its value replaces the first's in
            // the first's place, as serde_json's map does.
            match m.entry(key) {
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(v);
                }
                serde_json::map::Entry::Occupied(mut e) => {
                    self.found.insert(before, Place::render(self.at, e.key()));
                    e.insert(v);
                }
            }
        }
        Ok(serde_json::Value::Object(m))
    }
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

    /// The one-pass parse finds what the scan finds, and parses as serde_json does.
    #[test]
    fn parsing_with_duplicates_agrees_with_the_scan_and_serde_json() {
        let docs: [&[u8]; 8] = [
            br#"{"spec": {"unknownField": "foo", "replicas": 2, "replicas": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "name": "c"}]}}},
            "metadata": {"labels": {"a": "1", "\u0061": "2"}}, "data": "{\"x\":1,\"x\":2}"}"#,
            br#"[{"a": 1}, {"a": {"q\"x": 1, "q\u0022x": 2}, "a": [0, {"k": 1, "k": 2}]}]"#,
            br#"{"a": 1, "a": {"k": 1, "k": 2}, "a": 3, "b": [1.5, -2, 18446744073709551615, null, true]}"#,
            br#"{"a": {"k": 1, "k": 2}, "a": 3}"#,
            br#"{"": 1, "": 2, "x": {"": {"": 0, "": 1}}}"#,
            br#"[[[{"z": 1, "z": 1}]], {"y": [{}, {"w": 0, "w": 1}]}]"#,
            br#""text""#,
            br#"{"a": 1, "b": 2, "a": 3}"#,
        ];
        for doc in docs {
            let (v, dups) = from_slice_with_duplicates(doc).unwrap();
            let plain: serde_json::Value = serde_json::from_slice(doc).unwrap();
            assert_eq!(v, plain, "{}", String::from_utf8_lossy(doc));
            assert_eq!(v.to_string(), plain.to_string(), "key order of {}", String::from_utf8_lossy(doc));
            assert_eq!(dups, duplicate_fields(doc), "{}", String::from_utf8_lossy(doc));
        }
        for bad in [
            &br#"{"a": 1,}"#[..],
            br#"{"a" 1}"#,
            br#"{"a": 1} x"#,
            b"",
            br#"{"a": "\ud800"}"#,
            br#"  {"n": 1e400 }"#,
        ] {
            let ours = from_slice_with_duplicates(bad).unwrap_err().to_string();
            let theirs = serde_json::from_slice::<serde_json::Value>(bad).unwrap_err().to_string();
            assert_eq!(ours, theirs);
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(
            from_slice_with_duplicates(deep.as_bytes()).unwrap_err().to_string(),
            serde_json::from_slice::<serde_json::Value>(deep.as_bytes()).unwrap_err().to_string()
        );
    }

    #[test]
    fn deep_or_broken_documents_end_the_scan() {
        let deep = "[".repeat(10_000);
        assert!(duplicate_fields(deep.as_bytes()).is_empty());
        assert!(duplicate_fields(br#"{"a": "unterminated"#).is_empty());
        assert!(duplicate_fields(br#"{"a\"#).is_empty());
    }
}
