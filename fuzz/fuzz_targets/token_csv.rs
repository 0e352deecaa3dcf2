#![no_main]
// libFuzzer over the `token_csv` target of crates/fuzz (src/targets); seeds in fuzz/corpus/token_csv.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("token_csv") {
        (t.run)(data);
    }
});
