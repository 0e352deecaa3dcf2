#![no_main]
// libFuzzer over the `bearer_header` target of crates/fuzz (src/targets); seeds in fuzz/corpus/bearer_header.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("bearer_header") {
        (t.run)(data);
    }
});
