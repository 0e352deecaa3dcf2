#![no_main]
// libFuzzer over the `go_duration` target of crates/fuzz (src/targets); seeds in fuzz/corpus/go_duration.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("go_duration") {
        (t.run)(data);
    }
});
