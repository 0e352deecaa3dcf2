#![no_main]
// libFuzzer over the `field_selector` target of crates/fuzz (src/targets); seeds in fuzz/corpus/field_selector.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("field_selector") {
        (t.run)(data);
    }
});
