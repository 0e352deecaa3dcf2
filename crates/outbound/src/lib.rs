//! Every call kubeward makes to another server: the webhooks of authentication,
//! authorization and admission, and OIDC providers. kube-apiserver has one webhook client
//! behind all of them (`k8s.io/apiserver/pkg/util/webhook`); this crate is that client.
//!
//! - [`kubeconfig`]: client-go's kubeconfig format read into a [`RestConfig`] (server, CA,
//!   client certificate, bearer token), as `--authentication-token-webhook-config-file` and
//!   `--authorization-webhook-config-file` are read.
//! - [`Target`]: one endpoint built once (URL, one rustls configuration with its CA bundle or
//!   the system roots read once per process, client certificate, bearer token re-read from
//!   its file) whose calls are retried with kube's policy ([`retry`]).
//! - [`Client`]: the pooled HTTP/1.1 and HTTP/2 (ALPN) client under it, also used alone for
//!   URLs not known in advance (OIDC discovery and JWKS); each call has a timeout and a limit
//!   on the response size.
//!
//! Nothing here knows the API server; authn, authz and admission build on it.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod client;
mod error;
pub mod kubeconfig;
pub mod retry;
mod target;
pub mod tls;

pub use client::{Client, Options, Response, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT};
pub use error::{ConfigError, Error, ErrorKind};
pub use kubeconfig::{KubeconfigError, RestConfig};
pub use retry::Backoff;
pub use target::Target;

#[cfg(test)]
mod tests;
