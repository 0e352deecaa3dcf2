#![no_main]
// libFuzzer over the `yaml_body` target of crates/fuzz (src/targets); seeds in fuzz/corpus/yaml_body.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("yaml_body") {
        (t.run)(data);
    }
});
