//! The fuzz smoke: every target over its seeds (`fuzz/corpus/<target>/`), then over mutants
//! for a short budget, with the stable driver. Any panic fails the test, with the input
//! written to `$CARGO_TARGET_DIR/fuzz-crashes/<target>/` (replay it with
//! `cargo run -p kubeward-fuzz -- repro <target> <file>`).
//!
//! The budget per target is `KUBEWARD_FUZZ_SECONDS` (default 2: 21 targets, about 45 s of
//! one core, which nextest spreads over both); `KUBEWARD_FUZZ_SEED` repeats a run (the seed
//! is printed). One test per target, so a failure names its target.

use std::time::Duration;

fn budget() -> Duration {
    let secs = std::env::var("KUBEWARD_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok());
    Duration::from_secs_f64(secs.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(2.0))
}

fn seed() -> u64 {
    std::env::var("KUBEWARD_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    })
}

fn crash_dir() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").into());
    std::path::PathBuf::from(target).join("fuzz-crashes")
}

fn smoke(name: &str) {
    let target = kubeward_fuzz::find(name).unwrap_or_else(|| panic!("no target {name}"));
    let seeds =
        kubeward_fuzz::driver::load_corpus(&kubeward_fuzz::corpus_root().join(name)).expect("seed corpus");
    assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seeds");
    let seed = seed();
    let opts = kubeward_fuzz::Options {
        budget: budget(),
        seed,
        max_len: target.max_len.unwrap_or(16 * 1024),
        crash_dir: Some(crash_dir()),
        max_crashes: 4,
    };
    let report = kubeward_fuzz::run(target, &seeds, &opts);
    println!("seed {seed}: {}", report.summary());
    let crashes: Vec<String> = report
        .crashes
        .iter()
        .map(|c| {
            let file = c.file.as_ref().map(|f| f.display().to_string()).unwrap_or_default();
            format!("{} (input {file})", c.message)
        })
        .collect();
    assert!(crashes.is_empty(), "{name} panicked (seed {seed}):\n{}", crashes.join("\n"));
    assert!(
        report.execs as usize > seeds.len() || opts.budget.is_zero(),
        "no mutant ran: {}",
        report.summary()
    );
    // A hang-sized execution on a small input is a finding too (a request that costs seconds).
    assert!(report.slowest.0 < Duration::from_secs(10), "{name}: one input took {:?}", report.slowest);
}

macro_rules! smoke_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                smoke(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_smoke_test() {
            let mut tested = vec![$(stringify!($name)),*];
            let mut all: Vec<&str> = kubeward_fuzz::targets::all().iter().map(|t| t.name).collect();
            tested.sort_unstable();
            all.sort_unstable();
            assert_eq!(tested, all);
        }
    };
}

smoke_tests!(
    json_body,
    yaml_body,
    protobuf_body,
    json_patch,
    merge_patch,
    strategic_merge_patch,
    apply,
    label_selector,
    field_selector,
    request_info,
    go_duration,
    bearer_header,
    sa_token,
    sa_claims,
    oidc_token,
    oidc_claims,
    x509_chain,
    token_csv,
    basic_auth_csv,
    abac_policy,
    authentication_config,
);
