# kubeward: the commands a newcomer needs. `just --list` shows them.

default:
    @just --list

# Run a local cluster: PKI and admin kubeconfig in .kubeward/, HTTPS on 127.0.0.1:6443.
up:
    cargo run --release -p kubeward -- up

# Install what the tests need, lint, build and run every test (what CI runs).
test:
    scripts/test

# cargo fmt --check and clippy with warnings as errors.
lint:
    scripts/lint

# Only the end-to-end tests of the kubeward binary (real kubectl, curl, Python client).
e2e:
    cargo nextest run -p kubeward --no-fail-fast

# Build (once, cached) and run the real kube-apiserver 1.34 on loopback beside kubeward.
reference *ARGS:
    scripts/reference start {{ARGS}}

# Compare kubeward with kube-apiserver over the differential corpus; writes COMPATIBILITY.md.
differential *ARGS:
    scripts/differential {{ARGS}}

# Kubernetes' own e2e tests (sig-api-machinery, sig-auth) against kube-apiserver and kubeward;
# writes the conformance section of COMPATIBILITY.md.
conformance *ARGS:
    scripts/conformance {{ARGS}}

# Criterion benchmarks.
bench:
    cargo bench --workspace

# Every fuzz target for SECONDS each with the stable driver (release build); crashes go to fuzz/artifacts.
fuzz SECONDS="60" TARGET="all":
    cargo run -p kubeward-fuzz --release -- run {{TARGET}} --seconds {{SECONDS}}

# One target under libFuzzer (coverage-guided; nightly and `cargo install cargo-fuzz`).
fuzz-libfuzzer TARGET SECONDS="600":
    cd fuzz && cargo +nightly fuzz run {{TARGET}} -- -max_total_time={{SECONDS}}
