//! What kubeward needs to call other servers: the webhooks of authentication, authorization
//! and admission, and OIDC providers.
//!
//! - [`kubeconfig`]: client-go's kubeconfig format read into a [`RestConfig`] (server, CA,
//!   client certificate, bearer token), as `--authentication-token-webhook-config-file` and
//!   `--authorization-webhook-config-file` are read.
//!
//! Nothing here knows the API server; authn, authz and admission build on it.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod kubeconfig;

pub use kubeconfig::{KubeconfigError, RestConfig};
