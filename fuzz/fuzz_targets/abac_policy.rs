#![no_main]
// libFuzzer over the `abac_policy` target of crates/fuzz (src/targets); seeds in fuzz/corpus/abac_policy.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("abac_policy") {
        (t.run)(data);
    }
});
