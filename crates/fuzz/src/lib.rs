//! Fuzz targets for every parser of kubeward that takes outside input, and the driver that
//! runs them without a nightly toolchain.
//!
//! Owns:
//! - [`targets`]: one function per target, `fn(&[u8])`, calling the parser the way the server
//!   calls it (the request body path, the patch and apply paths, selectors, credentials,
//!   certificates, credential files, policy and configuration files, query parameters). A
//!   target never panics by itself: a panic is a finding in the code it calls.
//! - [`mutate`]: a coverage-less mutator (byte edits, dictionary tokens, interesting numbers,
//!   structural edits of JSON and YAML sections).
//! - [`driver`]: runs a target over its seed corpus (`fuzz/corpus/<target>/`) and then over
//!   mutants for a time budget, catching panics and saving the inputs that caused them.
//!
//! Two ways to run them (CONTRIBUTING.md, "Fuzzing"): the stable driver (the smoke test of
//! `tests/smoke.rs`, and `cargo run -p kubeward-fuzz --release -- run` for longer runs), and
//! libFuzzer through cargo-fuzz on a nightly toolchain (`fuzz/`, coverage-guided), both over
//! the same target functions and corpus.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod driver;
pub mod mutate;
pub mod targets;

pub use driver::{run, Options, Report};
pub use targets::{all, find, Target};

/// The directory holding one seed directory per target: `<workspace>/fuzz/corpus`.
pub fn corpus_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}
