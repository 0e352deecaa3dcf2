#![no_main]
// libFuzzer over the `merge_patch` target of crates/fuzz (src/targets); seeds in fuzz/corpus/merge_patch.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("merge_patch") {
        (t.run)(data);
    }
});
