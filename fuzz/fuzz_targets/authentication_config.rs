#![no_main]
// libFuzzer over the `authentication_config` target of crates/fuzz (src/targets); seeds in fuzz/corpus/authentication_config.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("authentication_config") {
        (t.run)(data);
    }
});
