//! YAML in and out, the one place that knows the YAML crate (serde-saphyr) and its settings.
//!
//! Reading follows YAML 1.2's core schema, as serde_yaml did before: only `true`/`false`
//! (any case) are booleans, so `yes`, `on` and `n` stay strings; `0755` and `1_000` are
//! strings, `0o17` and `0x1F` numbers; a repeated mapping key is an error; exactly one
//! document. Input from clients is bounded: nesting deeper than [`MAX_DEPTH`] (serde_json's
//! own parse limit, so YAML and JSON bodies nest alike; an alias counts where it is used) and
//! alias expansion beyond [`MAX_REPLAYED_EVENTS`] (the "billion laughs" bomb) fail fast with
//! an error instead of exhausting the stack, the CPU or the memory. Errors are one line,
//! without the source snippet serde-saphyr can draw.
//!
//! serde-saphyr recurses once per level with large frames (about 20 KiB a level unoptimized,
//! 4 KiB optimized): 128 levels would overflow a 2 MiB tokio worker stack in a debug build.
//! So every parse and every write runs on a short-lived thread with a [`STACK`]-byte stack
//! (reserved, not committed, until used). YAML is the rare path (kubectl sends JSON), so a
//! thread per document costs nothing that matters.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value read together with where it stood in the document (1-based line and column), for
/// configuration files whose errors must name the line (the audit policy).
pub use serde_saphyr::Spanned;

/// The deepest nesting accepted (mappings and sequences), as serde_json's recursion limit.
pub const MAX_DEPTH: usize = 128;

/// The most parser events that aliases may replay in one document (serde-saphyr's default is
/// a million, about a second of CPU in a debug build; a real manifest replays a few dozen).
pub const MAX_REPLAYED_EVENTS: usize = 100_000;

/// The stack of the thread that parses or writes one document: room for [`MAX_DEPTH`] levels
/// in a debug build (3 MiB measured) with margin.
const STACK: usize = 16 << 20;

/// Why a YAML document could not be read or written. Its text is the parser's, one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(String);

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_depth: MAX_DEPTH },
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: MAX_REPLAYED_EVENTS },
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    }
}

/// Reads one YAML document.
pub fn from_str<T: DeserializeOwned + Send>(text: &str) -> Result<T, YamlError> {
    on_own_stack(|| serde_saphyr::from_str_with_options(text, options()).map_err(|e| read_error(&e)))?
}

/// Reads one YAML document from UTF-8 bytes.
pub fn from_slice<T: DeserializeOwned + Send>(bytes: &[u8]) -> Result<T, YamlError> {
    on_own_stack(|| serde_saphyr::from_slice_with_options(bytes, options()).map_err(|e| read_error(&e)))?
}

/// Writes a value as one YAML document (block style, no `---`): strings that would read back
/// as another type quoted, multi-line strings as literal blocks, long lines never folded.
pub fn to_string<T: Serialize + Sync>(value: &T) -> Result<String, YamlError> {
    // A single-line string longer than this is written folded (`>-`); base64 data stays plain.
    let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
    on_own_stack(|| serde_saphyr::to_string_with_options(value, options).map_err(|e| error(&e)))?
}

/// Runs `f` on a scoped thread with a [`STACK`]-byte stack and waits for it.
fn on_own_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, YamlError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("yaml".into())
            .stack_size(STACK)
            .spawn_scoped(scope, f)
            .map_err(|e| YamlError(format!("cannot start a thread for the YAML parser: {e}")))?;
        worker.join().map_err(|_| YamlError("the YAML parser failed".into()))
    })
}

/// A reading error: a repeated key in go-yaml's words (what kube's strict YAML decoding
/// says: `line 9: key "foo" already set in map`), anything else as the parser says it.
fn read_error(e: &serde_saphyr::Error) -> YamlError {
    if let serde_saphyr::Error::DuplicateMappingKey { key: Some(key), location } = e {
        return YamlError(format!(
            "yaml: unmarshal errors: line {}: key {} already set in map",
            location.line(),
            crate::status::quote(key)
        ));
    }
    error(e)
}

/// The error's text on one line.
fn error(e: &dyn std::fmt::Display) -> YamlError {
    YamlError(e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn reads_the_core_schema() {
        let v: Value = from_str(
            "a: yes\nb: on\nc: true\nd: False\ne: 0755\nf: 1.5\ng: ~\nh: null\ni: '12'\nj: 0x1F\nk: -3\nl:\n  - x\n\
             m: 0o17\nn: 1_000\no: 0\np: 1e3\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": "yes", "b": "on", "c": true, "d": false, "e": "0755", "f": 1.5, "g": null,
                   "h": null, "i": "12", "j": 31, "k": -3, "l": ["x"], "m": 15, "n": "1_000", "o": 0,
                   "p": 1000.0})
        );
        // JSON has no infinities.
        assert!(from_str::<Value>("q: .inf\n").is_err());
    }

    #[test]
    fn keeps_key_order_and_block_scalars() {
        let v: Value = from_str("z: 1\na: |\n  line one\n  line two\nm: >-\n  folded\n  text\n").unwrap();
        assert_eq!(v, json!({"z": 1, "a": "line one\nline two\n", "m": "folded text"}));
        assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    #[test]
    fn rejects_duplicate_keys_and_several_documents() {
        let e = from_str::<Value>("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err().to_string();
        assert_eq!(e, r#"yaml: unmarshal errors: line 4: key "c" already set in map"#);
        assert!(!e.contains('\n'), "{e}");
        assert!(from_str::<Value>("a: 1\n---\nb: 2\n").is_err());
        assert!(from_slice::<Value>(b"a: \xff\n").is_err());
    }

    #[test]
    fn an_alias_bomb_fails_fast() {
        // "Billion laughs": ten levels of ten aliases each would expand to 10^10 strings.
        let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let started = Instant::now();
        let e = from_str::<Value>(&bomb).unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(e.contains("alias replay limit exceeded"), "{e}");
        // A few aliases are fine.
        let v: Value = from_str("base: &b {x: 1}\ncopy: *b\n").unwrap();
        assert_eq!(v["copy"], json!({"x": 1}));
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let v: Value = from_str(&nested(MAX_DEPTH)).unwrap();
        assert!(v.is_array());
        assert!(from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err());
        // Block style too, and far deeper input fails without exhausting the stack.
        let block: String = (0..MAX_DEPTH + 1).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(from_str::<Value>(&block).is_err());
        assert!(from_str::<Value>(&nested(1_000_000)).is_err());
        // Aliases count where they are used: 40 levels, used 40 levels deep, and so on.
        let mut chain = format!("a0: &a0 {}1{}\n", "[".repeat(40), "]".repeat(40));
        for i in 1..6 {
            chain.push_str(&format!("a{i}: &a{i} {}*a{}{}\n", "[".repeat(40), i - 1, "]".repeat(40)));
        }
        let e = from_str::<Value>(&chain).unwrap_err().to_string();
        assert!(e.contains("Depth"), "{e}");
        // Writing a value that deep works too.
        let deep: Value = from_str(&nested(MAX_DEPTH)).unwrap();
        assert_eq!(from_str::<Value>(&to_string(&deep).unwrap()).unwrap(), deep);
    }

    #[test]
    fn writes_what_reads_back() {
        let v = json!({"s": "yes", "t": "true", "n": "123", "e": "", "null": "null", "multi": "a\nb\n",
                       "num": 7, "f": 0.5, "b": false, "z": null, "list": [{"k": "v"}], "empty": {}});
        let text = to_string(&v).unwrap();
        assert!(!text.starts_with("---"), "{text}");
        assert!(text.contains("multi: |\n  a\n  b\n"), "{text}");
        assert_eq!(from_str::<Value>(&text).unwrap(), v, "{text}");
        let long = json!({"data": "x".repeat(500), "words": "word ".repeat(100)});
        let text = to_string(&long).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(from_str::<Value>(&text).unwrap(), long);
    }
}
