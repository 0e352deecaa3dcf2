#![no_main]
// libFuzzer over the `apply` target of crates/fuzz (src/targets); seeds in fuzz/corpus/apply.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("apply") {
        (t.run)(data);
    }
});
