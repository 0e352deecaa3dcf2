#![no_main]
// libFuzzer over the `request_info` target of crates/fuzz (src/targets); seeds in fuzz/corpus/request_info.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("request_info") {
        (t.run)(data);
    }
});
