#![no_main]
// libFuzzer over the `json_patch` target of crates/fuzz (src/targets); seeds in fuzz/corpus/json_patch.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("json_patch") {
        (t.run)(data);
    }
});
