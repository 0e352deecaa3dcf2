//! The checked-in code in `src/generated/` is what tonic-prost-build and protoc (from the
//! protoc-bin-vendored crate, so no system protoc is involved) generate from `proto/` today.
//! `KUBEWARD_REGENERATE=1` rewrites the files instead of comparing.

use std::path::Path;

/// The packages kubeward uses; the annotation packages that rpc.proto imports
/// (`google.api`, `grpc.gateway...`, `versionpb`) only carry options and are not kept.
const KEPT: &[&str] = &["etcdserverpb.rs", "mvccpb.rs", "authpb.rs"];

fn generate(out: &Path) {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proto = crate_dir.join("proto");
    let mut config = tonic_prost_build::Config::new();
    config
        .protoc_executable(protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc"));
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .emit_rerun_if_changed(false)
        .out_dir(out)
        .compile_with_config(
            config,
            &[proto.join("etcd/api/etcdserverpb/rpc.proto")],
            &[proto.clone(), protoc_bin_vendored::include_path().expect("protoc includes")],
        )
        .expect("generate the etcd gRPC code");
}

#[test]
fn the_checked_in_code_is_what_protoc_generates() {
    let out = tempfile::tempdir().expect("temporary directory");
    generate(out.path());
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated");
    let regenerate = std::env::var("KUBEWARD_REGENERATE").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for name in KEPT {
        let fresh = std::fs::read_to_string(out.path().join(name)).expect("generated file");
        let path = checked_in.join(name);
        if regenerate {
            std::fs::write(&path, &fresh).expect("write the generated file");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the checked-in generated code differs from what protoc generates now: {stale:?}; \
         run `KUBEWARD_REGENERATE=1 cargo test -p etcd-proto` and commit the result"
    );
}
