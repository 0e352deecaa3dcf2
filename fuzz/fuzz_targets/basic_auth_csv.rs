#![no_main]
// libFuzzer over the `basic_auth_csv` target of crates/fuzz (src/targets); seeds in fuzz/corpus/basic_auth_csv.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("basic_auth_csv") {
        (t.run)(data);
    }
});
