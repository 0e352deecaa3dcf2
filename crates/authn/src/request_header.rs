//! Front-proxy authentication (kube's `request/headerrequest` behind an x509 check): an
//! authenticating proxy presents a client certificate of the front-proxy CA
//! (`--requestheader-client-ca-file`), optionally with a CN from
//! `--requestheader-allowed-names`, and names the user in headers (`X-Remote-User`,
//! `X-Remote-Uid`, `X-Remote-Group`, `X-Remote-Extra-<key>`).
//!
//! The headers are read only from such a proxy: without a certificate of that CA the
//! request is not this authenticator's and its headers are ignored.

use crate::x509::subject_identity;
use crate::{AuthOutcome, AuthRequest, Authenticator};
use apimachinery::UserInfo;
use rustls::pki_types::UnixTime;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::sync::Arc;

/// The `--requestheader-*` settings.
#[derive(Debug, Clone)]
pub struct RequestHeaderConfig {
    /// `--requestheader-allowed-names`: CNs allowed to act as proxy (empty: any).
    pub allowed_names: Vec<String>,
    /// `--requestheader-username-headers`, first non-empty wins.
    pub username_headers: Vec<String>,
    /// `--requestheader-uid-headers`, first non-empty wins.
    pub uid_headers: Vec<String>,
    /// `--requestheader-group-headers`, all values of all of them.
    pub group_headers: Vec<String>,
    /// `--requestheader-extra-headers-prefix`.
    pub extra_headers_prefixes: Vec<String>,
}

impl Default for RequestHeaderConfig {
    /// kube-apiserver's defaults (as set by kubeadm).
    fn default() -> Self {
        Self {
            allowed_names: Vec::new(),
            username_headers: vec!["X-Remote-User".into()],
            uid_headers: vec!["X-Remote-Uid".into()],
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefixes: vec!["X-Remote-Extra-".into()],
        }
    }
}

/// The front-proxy authenticator.
pub struct RequestHeaderAuthenticator {
    verifier: Arc<dyn ClientCertVerifier>,
    config: RequestHeaderConfig,
}

impl RequestHeaderAuthenticator {
    pub fn new(
        client_ca: RootCertStore,
        mut config: RequestHeaderConfig,
    ) -> Result<Self, rustls::server::VerifierBuilderError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(client_ca),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()?;
        for prefix in &mut config.extra_headers_prefixes {
            *prefix = prefix.to_ascii_lowercase();
        }
        Ok(Self { verifier, config })
    }

    fn user(&self, headers: &http::HeaderMap) -> Option<UserInfo> {
        let name = first_value(headers, &self.config.username_headers)?;
        let uid = first_value(headers, &self.config.uid_headers).unwrap_or_default();
        let mut groups = Vec::new();
        for h in &self.config.group_headers {
            for v in headers.get_all(h.as_str()) {
                if let Ok(v) = v.to_str() {
                    if !v.trim().is_empty() {
                        groups.push(v.to_string());
                    }
                }
            }
        }
        let mut user = UserInfo { name, uid, groups, ..Default::default() };
        for (header, value) in headers {
            // Header names are lower-case in `http`; prefixes were lowered at construction.
            let Some(key) = self
                .config
                .extra_headers_prefixes
                .iter()
                .find_map(|p| header.as_str().strip_prefix(p.as_str()))
            else {
                continue;
            };
            if let Ok(v) = value.to_str() {
                user.extra.entry(unescape_extra_key(key)).or_default().push(v.to_string());
            }
        }
        Some(user)
    }
}

fn first_value(headers: &http::HeaderMap, names: &[String]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| headers.get(n.as_str()).and_then(|v| v.to_str().ok()))
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// Extra keys are percent-encoded in header names (kube: `url.PathUnescape`, lower-cased);
/// a malformed escape leaves the key as it is.
pub fn unescape_extra_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return key.to_ascii_lowercase(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map(|s| s.to_lowercase()).unwrap_or_else(|_| key.to_ascii_lowercase())
}

#[async_trait::async_trait]
impl Authenticator for RequestHeaderAuthenticator {
    async fn authenticate(&self, req: &AuthRequest<'_>) -> AuthOutcome {
        let Some((leaf, intermediates)) = req.peer_certificates.and_then(|c| c.split_first()) else {
            return AuthOutcome::NotApplicable;
        };
        if self.verifier.verify_client_cert(leaf, intermediates, UnixTime::now()).is_err() {
            // Not the front proxy: its headers mean nothing.
            return AuthOutcome::NotApplicable;
        }
        if !self.config.allowed_names.is_empty() {
            let cn = subject_identity(leaf).map(|(cn, _)| cn).unwrap_or_default();
            if !self.config.allowed_names.contains(&cn) {
                return AuthOutcome::Failed(format!("x509: subject with cn={cn} is not in the allowed list"));
            }
        }
        match self.user(req.headers) {
            Some(user) => AuthOutcome::Authenticated(user),
            None => AuthOutcome::NotApplicable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;

    fn der(pem: &str) -> CertificateDer<'static> {
        rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    async fn auth(a: &RequestHeaderAuthenticator, cert: Option<&str>, h: &http::HeaderMap) -> AuthOutcome {
        let chain = cert.map(|c| vec![der(c)]);
        a.authenticate(&AuthRequest::new(h, chain.as_deref(), "/api")).await
    }

    fn authenticator(ca: &pki::Ca, allowed: &[&str]) -> RequestHeaderAuthenticator {
        let mut roots = RootCertStore::empty();
        roots.add(der(&ca.cert_pem)).unwrap();
        let config = RequestHeaderConfig {
            allowed_names: allowed.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        RequestHeaderAuthenticator::new(roots, config).unwrap()
    }

    #[tokio::test]
    async fn trusts_headers_only_from_the_front_proxy() {
        let fp = pki::Ca::generate("front-proxy-ca").unwrap();
        let cluster = pki::Ca::generate("cluster-ca").unwrap();
        let a = authenticator(&fp, &["front-proxy-client"]);
        let proxy = fp.issue_client("front-proxy-client", &[]).unwrap();
        let h = headers(&[
            ("X-Remote-User", "jane"),
            ("X-Remote-Uid", "u-1"),
            ("X-Remote-Group", "devs"),
            ("X-Remote-Group", "ops"),
            ("X-Remote-Group", " "),
            ("X-Remote-Extra-Scopes", "read"),
            ("X-Remote-Extra-Scopes", "write"),
            ("X-Remote-Extra-Example.com%2Fteam", "blue"),
        ]);
        let AuthOutcome::Authenticated(u) = auth(&a, Some(&proxy.cert_pem), &h).await else { panic!() };
        assert_eq!((u.name.as_str(), u.uid.as_str()), ("jane", "u-1"));
        assert_eq!(u.groups, vec!["devs", "ops"]);
        assert_eq!(u.extra["scopes"], vec!["read", "write"]);
        assert_eq!(u.extra["example.com/team"], vec!["blue"]);

        let client = cluster.issue_client("mallory", &[]).unwrap();
        assert_eq!(auth(&a, Some(&client.cert_pem), &h).await, AuthOutcome::NotApplicable, "other CA");
        assert_eq!(auth(&a, None, &h).await, AuthOutcome::NotApplicable, "no certificate");
        let other_name = fp.issue_client("someone-else", &[]).unwrap();
        assert_eq!(
            auth(&a, Some(&other_name.cert_pem), &h).await,
            AuthOutcome::Failed("x509: subject with cn=someone-else is not in the allowed list".into())
        );
        let no_user = headers(&[("X-Remote-Group", "devs")]);
        assert_eq!(auth(&a, Some(&proxy.cert_pem), &no_user).await, AuthOutcome::NotApplicable);

        let any_name = authenticator(&fp, &[]);
        assert!(matches!(
            auth(&any_name, Some(&other_name.cert_pem), &h).await,
            AuthOutcome::Authenticated(_)
        ));
    }

    #[test]
    fn extra_keys_unescape() {
        assert_eq!(unescape_extra_key("example.com%2fa"), "example.com/a");
        assert_eq!(unescape_extra_key("bad%zz"), "bad%zz");
        assert_eq!(unescape_extra_key("Plain"), "plain");
    }
}
