#![no_main]
// libFuzzer over the `x509_chain` target of crates/fuzz (src/targets); seeds in fuzz/corpus/x509_chain.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("x509_chain") {
        (t.run)(data);
    }
});
