//! Builds the authenticator chain from kube-apiserver's flags, in kube's order:
//! front proxy, client certificates, then bearer tokens (token file, service accounts,
//! bootstrap tokens, webhook), then the legacy basic-auth file.

use crate::config::{Config, StartError, DEFAULT_SERVICE_ACCOUNT_ISSUER};
use crate::getters::StoreGetter;
use authn::serviceaccount::{self, AuthenticatorConfig, IssuerConfig, TokenIssuer};
use authn::Authenticator;
use rustls::server::danger::ClientCertVerifier;
use std::sync::Arc;
use std::time::Duration;

/// How often credential files are checked for changes.
const FILE_POLL: Duration = Duration::from_secs(1);

pub struct Authentication {
    pub authenticators: Vec<Box<dyn Authenticator>>,
    /// `--api-audiences`, by default the first service-account issuer (kube's default): what
    /// credentials are checked for when a request names no audiences.
    pub api_audiences: Vec<String>,
    /// The TLS policy for client certificates (requested when any CA is configured).
    pub client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    /// Signs TokenRequest and legacy Secret tokens when a signing key is configured.
    pub issuer: Option<Arc<TokenIssuer>>,
    /// The first ServiceAccount issuer and the verification keys, when ServiceAccount tokens
    /// are accepted: what the issuer discovery documents publish.
    pub service_account_keys: Option<(String, Vec<serviceaccount::PublicKey>)>,
    /// OIDC revocations, fed from the cluster (`kubeward oidc revoke`), when OIDC is on.
    pub revocations: Option<Arc<authn::oidc::RevocationTable>>,
    /// Client-certificate revocations, fed from the cluster (`kubeward revoke cert`), when
    /// client certificates are accepted.
    pub cert_revocations: Option<Arc<authn::x509_revocation::CertRevocations>>,
    /// Polls the AuthenticationConfiguration file while it lives.
    pub config_watch: Option<authn::oidc::ConfigWatch>,
    /// Anonymous access: from `--anonymous-auth`, or the configuration file's `anonymous`.
    pub anonymous: authn::anonymous::Anonymous,
}

/// Where anonymous requests are accepted, by `--anonymous-auth`: unset, the health checks
/// only (kubeward's default: nothing about the server is told to a stranger); `true`,
/// everywhere, authorization deciding (kube's default); `false`, nowhere.
pub fn anonymous_policy(flag: Option<bool>) -> authn::anonymous::AnonymousPolicy {
    use authn::anonymous::AnonymousPolicy;
    match flag {
        None => AnonymousPolicy::health_checks(),
        Some(true) => AnonymousPolicy::Everywhere,
        Some(false) => AnonymousPolicy::Off,
    }
}

fn fail(what: &str, e: impl std::fmt::Display) -> StartError {
    StartError::Authentication(format!("{what}: {e}"))
}

/// The front proxy's settings: `--requestheader-allowed-names` and kubeadm's header names.
fn request_header_config(config: &Config) -> authn::request_header::RequestHeaderConfig {
    authn::request_header::RequestHeaderConfig {
        allowed_names: config.requestheader_allowed_names.clone(),
        ..Default::default()
    }
}

/// What `kube-system/extension-apiserver-authentication` publishes of this server's trust.
pub fn cluster_trust(config: &Config) -> crate::controllers::cluster_authentication::Trust {
    use crate::controllers::cluster_authentication::{RequestHeaderTrust, Trust};
    Trust {
        client_ca_file: config.client_ca_file.clone(),
        request_header: config
            .requestheader_client_ca_file
            .as_ref()
            .map(|ca| RequestHeaderTrust { ca_file: ca.clone(), config: request_header_config(config) }),
    }
}

pub fn build(config: &Config, objects: &crate::objects::Objects) -> Result<Authentication, StartError> {
    let mut authenticators: Vec<Box<dyn Authenticator>> = Vec::new();
    let mut client_verifier = None;
    let mut roots = rustls::RootCertStore::empty();

    if let Some(ca) = &config.requestheader_client_ca_file {
        let proxy_roots = authn::x509::load_ca_file(ca)?;
        let rh = authn::request_header::RequestHeaderAuthenticator::new(
            proxy_roots,
            request_header_config(config),
        )
        .map_err(|e| fail("--requestheader-client-ca-file", e))?;
        authenticators.push(Box::new(rh));
        // The front proxy's certificates must be requested at the TLS layer too.
        let pem = std::fs::read(ca).map_err(|e| fail(ca, e))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            let _ = roots.add(cert);
        }
    }
    let mut cert_revocations = None;
    if let Some(ca) = &config.client_ca_file {
        let table = Arc::new(authn::x509_revocation::CertRevocations::default());
        let x509 =
            Arc::new(authn::x509::X509Authenticator::from_ca_file(ca)?.with_revocations(table.clone()));
        // kube-apiserver's dynamic client CA: a changed bundle verifies the next request.
        authn::x509::X509Authenticator::watch_ca_file(&x509, ca, FILE_POLL);
        cert_revocations = Some(table);
        let pem = std::fs::read(ca).map_err(|e| fail(ca, e))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            let _ = roots.add(cert);
        }
        authenticators.push(Box::new(authn::x509::SharedX509Authenticator(x509)));
    }
    if !roots.is_empty() {
        let hints = authn::x509::X509Authenticator::new(roots).map_err(|e| fail("client CA", e))?;
        client_verifier = Some(hints.tls_verifier());
    }

    if let Some(path) = &config.token_auth_file {
        let a = authn::token_file::TokenFileAuthenticator::load_and_watch(path, FILE_POLL)
            .map_err(|e| fail("--token-auth-file", e))?;
        authenticators.push(Box::new(a));
    }

    let getter = Arc::new(StoreGetter { objects: objects.clone(), catalog: registry::Catalog::global() });
    let mut issuer = None;
    let mut service_account_keys = None;
    let mut api_audiences = config.api_audiences.clone();
    let signing_key = match &config.service_account_signing_key_file {
        Some(p) => Some(
            serviceaccount::keys::load_private_key(p)
                .map_err(|e| fail("--service-account-signing-key-file", e))?,
        ),
        None => None,
    };
    let mut keys = if config.service_account_key_files.is_empty() {
        Vec::new()
    } else {
        serviceaccount::keys::load_public_keys(&config.service_account_key_files)
            .map_err(|e| fail("--service-account-key-file", e))?
    };
    if let (Some(path), true) = (&config.service_account_signing_key_file, keys.is_empty()) {
        // A private key file also yields its public key (kube accepts either form).
        keys = serviceaccount::keys::load_public_keys(std::slice::from_ref(path))
            .map_err(|e| fail("--service-account-signing-key-file", e))?;
    }
    if !keys.is_empty() {
        let issuers = if config.service_account_issuers.is_empty() {
            vec![DEFAULT_SERVICE_ACCOUNT_ISSUER.to_string()]
        } else {
            config.service_account_issuers.clone()
        };
        if api_audiences.is_empty() {
            api_audiences = vec![issuers[0].clone()];
        }
        service_account_keys = Some((issuers[0].clone(), keys.clone()));
        let mut cfg = AuthenticatorConfig::new(issuers.clone(), keys);
        cfg.api_audiences = api_audiences.clone();
        authenticators.push(Box::new(serviceaccount::ServiceAccountAuthenticator::new(cfg, getter.clone())));
        if let Some(key) = signing_key {
            let icfg = IssuerConfig {
                issuer: issuers[0].clone(),
                api_audiences: api_audiences.clone(),
                ..Default::default()
            };
            issuer = Some(Arc::new(TokenIssuer::new(key, icfg)));
        }
    }
    let mut revocations = None;
    let mut config_watch = None;
    let anonymous = authn::anonymous::Anonymous::new(anonymous_policy(config.anonymous_auth));
    let oidc = match (&config.authentication_config, config.oidc.is_set()) {
        (Some(_), true) => {
            return Err(fail(
                "--authentication-config",
                "authentication-config file and oidc-* flags are mutually exclusive",
            ))
        }
        (Some(path), false) => {
            let (a, section) = authn::oidc::load_authentication_document(path, Default::default())
                .map_err(|e| fail("--authentication-config", e))?;
            if let Some(policy) = section {
                if config.anonymous_auth.is_some() {
                    return Err(fail(
                        "--authentication-config",
                        "anonymous is configured in the authentication configuration file and by --anonymous-auth; only one may be",
                    ));
                }
                anonymous.set_policy(policy);
            }
            let binding = authn::oidc::AnonymousBinding {
                target: anonymous.clone(),
                fallback: anonymous_policy(config.anonymous_auth),
                flag_set: config.anonymous_auth.is_some(),
            };
            config_watch = Some(
                a.watch_config_file_with(path, authn::oidc::DEFAULT_RELOAD_INTERVAL, Some(binding))
                    .map_err(|e| fail("--authentication-config", e))?,
            );
            Some(a)
        }
        (None, true) => {
            let spec = config.oidc.to_spec().map_err(|e| fail("--oidc-*", e))?;
            Some(
                authn::oidc::OidcAuthenticator::new(vec![spec], Default::default())
                    .map_err(|e| fail("--oidc-*", e))?,
            )
        }
        (None, false) => None,
    };
    if let Some(oidc) = oidc {
        let table = Arc::new(authn::oidc::RevocationTable::default());
        oidc.set_revocation_list(table.clone());
        revocations = Some(table);
        authenticators.push(Box::new(authn::oidc::SharedOidcAuthenticator(oidc)));
    }
    if config.enable_bootstrap_token_auth {
        authenticators.push(Box::new(authn::bootstrap_token::BootstrapTokenAuthenticator::new(getter)));
    }
    if let Some(path) = &config.authentication_token_webhook_config_file {
        let a = authn::webhook::WebhookTokenAuthenticator::from_config_file(
            path,
            config.authentication_token_webhook_cache_ttl,
            api_audiences.clone(),
        )
        .map_err(|e| fail("--authentication-token-webhook-config-file", e))?;
        authenticators.push(Box::new(a));
    }
    if let Some(path) = &config.basic_auth_file {
        let a = authn::basic_auth::BasicAuthAuthenticator::load_and_watch(path, FILE_POLL)
            .map_err(|e| fail("--basic-auth-file", e))?;
        authenticators.push(Box::new(a));
    }
    Ok(Authentication {
        authenticators,
        api_audiences,
        client_verifier,
        issuer,
        service_account_keys,
        revocations,
        cert_revocations,
        config_watch,
        anonymous,
    })
}
