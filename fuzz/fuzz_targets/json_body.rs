#![no_main]
// libFuzzer over the `json_body` target of crates/fuzz (src/targets); seeds in fuzz/corpus/json_body.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("json_body") {
        (t.run)(data);
    }
});
