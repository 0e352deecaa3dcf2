//! For tests only: what a check does when something it needs is missing.
//!
//! A check whose tool (kubectl 1.27, curl, openssl, node, etcd, the Python client, ...) is not
//! installed fails, saying what provides it: `scripts/test` installs all of them, so a missing
//! tool is a broken setup, not a reason to pass. [`ALLOW_SKIP`] opts out: `1` (or `all`) lets
//! every such check skip, a comma-separated list only those of the tools named (`kubectl`
//! covers every `kubectl 1.x`).
//!
//! Every skipped check prints `SKIPPED: ...` and appends one line to the file named by
//! [`SKIP_LOG`], if set: `scripts/test` empties that file before the tests and ends with the
//! count and the list, so a skip is never silent.

// Test support: a panic is how a missing tool fails the calling test.
#![allow(clippy::panic)]

use std::io::Write;

/// Which missing tools may skip their checks instead of failing them: `1`/`all`, or names.
pub const ALLOW_SKIP: &str = "KUBEWARD_ALLOW_SKIP";

/// A file each skipped check appends a line to (`scripts/test` sets it).
pub const SKIP_LOG: &str = "KUBEWARD_SKIP_LOG";

/// Whether [`ALLOW_SKIP`] lets checks that need `tool` skip when it is missing.
pub fn skip_allowed(tool: &str) -> bool {
    let Ok(value) = std::env::var(ALLOW_SKIP) else { return false };
    value.split(',').map(str::trim).filter(|name| !name.is_empty()).any(|name| {
        matches!(name, "1" | "all" | "true")
            || name == tool
            || tool.strip_prefix(name).is_some_and(|rest| rest.starts_with(' '))
    })
}

/// `tool` is not installed (`provides` says what installs it): fails the calling test, unless
/// [`ALLOW_SKIP`] allows the skip, which is then printed and recorded. The caller returns
/// right after.
#[track_caller]
pub fn missing(tool: &str, provides: &str) {
    if !skip_allowed(tool) {
        panic!(
            "{tool} is not installed, and this check needs it ({provides}). scripts/test installs \
             what the tests need; to skip such checks instead, set {ALLOW_SKIP}=1 (every tool) or \
             {ALLOW_SKIP}={name} (this one)",
            name = tool.split(' ').next().unwrap_or(tool),
        );
    }
    skip(&format!("{tool} is not installed ({provides})"));
}

/// Notes that a check was skipped and why: on stderr, and as one line of the [`SKIP_LOG`] file.
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
    let Some(path) = std::env::var_os(SKIP_LOG) else { return };
    let line = format!("{}: {why}\n", check_name());
    // One write of one line with O_APPEND: lines of tests running in parallel do not interleave.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(err) = written {
        eprintln!("note: cannot record the skip in {}: {err}", std::path::Path::new(&path).display());
    }
}

/// `binary::test` for the running test: the test binary's name without cargo's hash, and the
/// thread's name, which libtest and nextest set to the test's.
fn check_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => stem,
        })
        .unwrap_or_else(|| "?".into());
    match std::thread::current().name() {
        Some(test) if test != "main" => format!("{binary}::{test}"),
        _ => binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tests in one process share the environment: only this test touches these variables.
    #[test]
    fn skips_are_allowed_by_name_or_wholesale_and_recorded() {
        let dir = std::env::temp_dir().join(format!("testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("skipped.txt");
        // Edition 2021: set_var is safe; no other thread of this binary reads these variables.
        std::env::set_var(SKIP_LOG, &log);
        std::env::remove_var(ALLOW_SKIP);
        assert!(!skip_allowed("curl"));
        std::env::set_var(ALLOW_SKIP, "node, kubectl");
        assert!(skip_allowed("kubectl 1.27") && skip_allowed("kubectl") && skip_allowed("node"));
        assert!(!skip_allowed("curl") && !skip_allowed("kubectlx"));
        std::env::set_var(ALLOW_SKIP, "1");
        assert!(skip_allowed("curl"));
        missing("curl", "apt-get install curl");
        skip("golden file absent");
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with(": curl is not installed (apt-get install curl)"), "{text}");
        assert!(lines[0].starts_with("testkit::tests::skips_are_allowed"), "{text}");
        std::env::remove_var(ALLOW_SKIP);
        let refused = std::panic::catch_unwind(|| missing("openssl", "apt-get install openssl"));
        let message = refused.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("openssl is not installed") && message.contains("KUBEWARD_ALLOW_SKIP=openssl")
        );
        std::env::remove_var(SKIP_LOG);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
