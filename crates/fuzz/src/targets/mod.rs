//! The fuzz targets, one per parser of outside input, each named as its seed directory
//! (`fuzz/corpus/<name>/`) and its cargo-fuzz target (`fuzz/fuzz_targets/<name>.rs`).
//!
//! Inputs with several parts (an object and a patch, a method and a path) separate them with
//! a NUL byte: [`sections`]. Setup that needs keys or configuration is built once per process
//! from the constant files of `crates/fuzz/data` ([`fixtures`]).

use std::future::Future;

mod body;
mod credentials;
mod files;
pub mod fixtures;
mod patch;
mod query;

/// A fuzz target.
pub struct Target {
    pub name: &'static str,
    /// Runs one input; never panics by itself.
    pub run: fn(&[u8]),
    /// Tokens the mutator inserts.
    pub dict: &'static [&'static str],
    /// The longest input worth making, when shorter than the driver's default.
    pub max_len: Option<usize>,
}

const JSON_WORDS: &[&str] = &[
    "\"apiVersion\"",
    "\"kind\"",
    "\"metadata\"",
    "\"name\"",
    "\"namespace\"",
    "\"labels\"",
    "\"annotations\"",
    "\"spec\"",
    "\"status\"",
    "\"containers\"",
    "\"managedFields\"",
    "\"resourceVersion\"",
    "\"$patch\"",
    "\"$retainKeys\"",
    "\"$deleteFromPrimitiveList/finalizers\"",
    "\"$setElementOrder/containers\"",
    "\"replace\"",
    "\"delete\"",
    "\"merge\"",
    "\"op\"",
    "\"path\"",
    "\"from\"",
    "\"value\"",
    "\"add\"",
    "\"remove\"",
    "\"move\"",
    "\"copy\"",
    "\"test\"",
    "\"/-\"",
    "\"/metadata/labels/a~1b\"",
    "\"~0\"",
    "\"f:metadata\"",
    "\"k:{\\\"name\\\":\\\"a\\\"}\"",
    "\"v:1\"",
    "\"i:0\"",
    "\"1Gi\"",
    "\"100m\"",
    "null",
    "true",
    "{}",
    "[]",
    "\\u0000",
    "\\ud800",
];

/// Every target, in the order the smoke test runs them.
pub fn all() -> &'static [Target] {
    const T: &[Target] = &[
        Target { name: "json_body", run: body::json_body, dict: JSON_WORDS, max_len: None },
        Target { name: "yaml_body", run: body::yaml_body, dict: body::YAML_WORDS, max_len: None },
        Target { name: "protobuf_body", run: body::protobuf_body, dict: body::PROTOBUF_WORDS, max_len: None },
        Target { name: "json_patch", run: patch::json_patch, dict: JSON_WORDS, max_len: None },
        Target { name: "merge_patch", run: patch::merge_patch, dict: JSON_WORDS, max_len: None },
        Target {
            name: "strategic_merge_patch",
            run: patch::strategic_merge_patch,
            dict: JSON_WORDS,
            max_len: None,
        },
        Target { name: "apply", run: patch::apply, dict: JSON_WORDS, max_len: None },
        Target {
            name: "label_selector",
            run: query::label_selector,
            dict: query::SELECTOR_WORDS,
            max_len: Some(2048),
        },
        Target {
            name: "field_selector",
            run: query::field_selector,
            dict: query::SELECTOR_WORDS,
            max_len: Some(2048),
        },
        Target {
            name: "request_info",
            run: query::request_info,
            dict: query::QUERY_WORDS,
            max_len: Some(4096),
        },
        Target {
            name: "go_duration",
            run: query::go_duration,
            dict: query::DURATION_WORDS,
            max_len: Some(256),
        },
        Target {
            name: "bearer_header",
            run: credentials::bearer_header,
            dict: credentials::HEADER_WORDS,
            max_len: Some(4096),
        },
        Target {
            name: "sa_token",
            run: credentials::sa_token,
            dict: credentials::JWT_WORDS,
            max_len: Some(8192),
        },
        Target { name: "sa_claims", run: credentials::sa_claims, dict: JSON_WORDS, max_len: Some(8192) },
        Target {
            name: "oidc_token",
            run: credentials::oidc_token,
            dict: credentials::JWT_WORDS,
            max_len: Some(8192),
        },
        Target { name: "oidc_claims", run: credentials::oidc_claims, dict: JSON_WORDS, max_len: Some(8192) },
        Target { name: "x509_chain", run: credentials::x509_chain, dict: &[], max_len: Some(8192) },
        Target { name: "token_csv", run: files::token_csv, dict: files::CSV_WORDS, max_len: Some(4096) },
        Target {
            name: "basic_auth_csv",
            run: files::basic_auth_csv,
            dict: files::CSV_WORDS,
            max_len: Some(4096),
        },
        Target { name: "abac_policy", run: files::abac_policy, dict: JSON_WORDS, max_len: None },
        Target {
            name: "authentication_config",
            run: files::authentication_config,
            dict: files::AUTHN_CONFIG_WORDS,
            max_len: None,
        },
    ];
    T
}

/// The target named `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    all().iter().find(|t| t.name == name)
}

/// The NUL-separated parts of an input, at most `n` (the last keeps any further NULs).
pub(crate) fn sections(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == 0).collect()
}

/// An input as text the way a file or header reaches the parser: invalid UTF-8 is replaced,
/// as a lossy read would, so mutations that break an encoding still reach the parser.
pub(crate) fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Runs an async call to completion on this thread's runtime.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
    }
    RT.with(|rt| rt.block_on(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_each_has_seeds() {
        let mut names: Vec<&str> = all().iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().len());
        for t in all() {
            let seeds = crate::driver::load_corpus(&crate::corpus_root().join(t.name)).unwrap();
            assert!(!seeds.is_empty(), "fuzz/corpus/{} has no seeds", t.name);
        }
    }

    #[test]
    fn every_cargo_fuzz_target_names_a_target() {
        let dir = crate::corpus_root().join("../fuzz_targets");
        for t in all() {
            let file = dir.join(format!("{}.rs", t.name));
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(text.contains(&format!("\"{}\"", t.name)), "{} does not run {}", file.display(), t.name);
        }
    }

    #[test]
    fn sections_split_on_nul() {
        assert_eq!(sections(b"a\0b\0c", 2), vec![&b"a"[..], &b"b\0c"[..]]);
        assert_eq!(sections(b"abc", 3), vec![&b"abc"[..]]);
    }
}
