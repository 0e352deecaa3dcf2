//! etcd's v3 gRPC API: the messages and the tonic clients of `etcdserverpb` (KV, Watch, Lease,
//! Cluster, Maintenance, Auth) with `mvccpb` and `authpb`, as the Go packages are named.
//!
//! The code in `src/generated/` is generated from the `.proto` files in `proto/` (etcd's, as
//! vendored by the etcd-client crate 0.21.1) by tonic-prost-build with the protoc of the
//! protoc-bin-vendored crate, and checked in, so building needs no `protoc` and no build
//! script. `tests/generated.rs` regenerates it and fails when the checked-in files differ;
//! `KUBEWARD_REGENERATE=1 cargo test -p etcd-proto` rewrites them (after a `.proto` or
//! tonic/prost upgrade). Clients only, no servers, no transport helpers: the caller builds the
//! `tonic::transport::Channel`.

/// Generated code: neither reviewed nor linted.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod mvccpb {
    include!("generated/mvccpb.rs");
}

/// Generated code: neither reviewed nor linted.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod authpb {
    include!("generated/authpb.rs");
}

/// Generated code: neither reviewed nor linted.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod etcdserverpb {
    include!("generated/etcdserverpb.rs");
}
