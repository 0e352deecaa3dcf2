#![no_main]
// libFuzzer over the `strategic_merge_patch` target of crates/fuzz (src/targets); seeds in fuzz/corpus/strategic_merge_patch.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("strategic_merge_patch") {
        (t.run)(data);
    }
});
