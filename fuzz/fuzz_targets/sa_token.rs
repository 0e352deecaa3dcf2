#![no_main]
// libFuzzer over the `sa_token` target of crates/fuzz (src/targets); seeds in fuzz/corpus/sa_token.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("sa_token") {
        (t.run)(data);
    }
});
