//! OpenID Connect ID tokens as bearer credentials (kube's `--oidc-*` flags and the JWT
//! authenticators of `--authentication-config`), plus a revocation list.
//!
//! - [`config`]: the flags ([`OidcFlags`]) and the AuthenticationConfiguration file, both
//!   validated into [`JwtAuthenticatorSpec`]s;
//! - [`cel`]: CEL in claim rules, mappings and user rules (on `kubeward-cel`);
//! - [`jwt`]: compact JWS decoding, algorithms, JWK keys;
//! - [`keyset`]: discovery and JWKS fetched over TLS, cached, refetched on unknown key IDs;
//! - [`http`]: the small HTTPS client shared with `kubeward-login`;
//! - [`authenticator`]: [`OidcAuthenticator`], the verification itself, the verified-token
//!   cache and the [`RevocationList`] hook;
//! - [`reload`]: polling the configuration file;
//! - [`revocations`]: the cluster-stored revocation table (ConfigMap) behind [`RevocationList`].

pub mod authenticator;
pub mod cel;
pub mod config;
pub mod http;
pub mod jwt;
pub mod keyset;
pub mod reload;
pub mod revocations;

pub use authenticator::{
    discovery_key_source, KeySourceFactory, OidcAuthenticator, OidcOptions, OidcTokenError, RevocationList,
    SharedOidcAuthenticator, StaticRevocations,
};
pub use config::{
    parse_authentication_configuration, parse_authentication_document, AuthenticationDocument, ClaimRule,
    JwtAuthenticatorSpec, Mapping, OidcConfigError, OidcFlags,
};
pub use jwt::SigningAlg;
pub use keyset::{JwksSource, RemoteKeySet};
pub use reload::{
    load_authentication_config, load_authentication_document, AnonymousBinding, ConfigWatch,
    DEFAULT_RELOAD_INTERVAL,
};
pub use revocations::{
    parse_revocations, revocation_key, RevocationTable, REVOCATION_CONFIGMAP, REVOCATION_NAMESPACE,
};
