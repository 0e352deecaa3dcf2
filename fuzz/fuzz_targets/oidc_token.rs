#![no_main]
// libFuzzer over the `oidc_token` target of crates/fuzz (src/targets); seeds in fuzz/corpus/oidc_token.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("oidc_token") {
        (t.run)(data);
    }
});
