#![no_main]
// libFuzzer over the `label_selector` target of crates/fuzz (src/targets); seeds in fuzz/corpus/label_selector.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("label_selector") {
        (t.run)(data);
    }
});
