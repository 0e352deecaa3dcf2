#![no_main]
// libFuzzer over the `sa_claims` target of crates/fuzz (src/targets); seeds in fuzz/corpus/sa_claims.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("sa_claims") {
        (t.run)(data);
    }
});
