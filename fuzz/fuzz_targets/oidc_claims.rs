#![no_main]
// libFuzzer over the `oidc_claims` target of crates/fuzz (src/targets); seeds in fuzz/corpus/oidc_claims.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("oidc_claims") {
        (t.run)(data);
    }
});
