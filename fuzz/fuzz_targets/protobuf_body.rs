#![no_main]
// libFuzzer over the `protobuf_body` target of crates/fuzz (src/targets); seeds in fuzz/corpus/protobuf_body.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(t) = kubeward_fuzz::find("protobuf_body") {
        (t.run)(data);
    }
});
