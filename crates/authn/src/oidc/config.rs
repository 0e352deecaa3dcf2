//! Configuration of the OIDC authenticator from its two sources, both turned into validated
//! [`JwtAuthenticatorSpec`]s:
//! - the `--oidc-*` flags of kube-apiserver ([`OidcFlags`]), with kube's defaults and
//!   rules (username claim `sub`, prefix `<issuer>#` for claims other than `email`, `-`
//!   for no prefix, RS256 only unless `--oidc-signing-algs` says otherwise);
//! - the structured `AuthenticationConfiguration` file (`--authentication-config`,
//!   `apiserver.config.k8s.io/v1`, `v1beta1` or `v1alpha1`): several issuers, claim
//!   mappings and validation rules with CEL expressions ([`super::cel`]).

mod strict;

use super::cel::{CelError, Expression, Returns, CLAIMS, USER};
use super::jwt::SigningAlg;
use crate::anonymous::AnonymousPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Errors in the OIDC configuration, reported at load (the server does not start, or a
/// reloaded file is ignored).
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The file is not a valid AuthenticationConfiguration document.
    #[error("authentication configuration: {0}")]
    Parse(String),
    /// A field is invalid; `field` is its path as kube prints it (`jwt[0].issuer.url`).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// An expression does not compile, or does not evaluate to the type the field needs.
    #[error("{field}: {source}")]
    Expression { field: String, source: CelError },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> OidcConfigError {
    OidcConfigError::Invalid { field: field.into(), reason: reason.into() }
}

/// The `--oidc-*` flags of kube-apiserver.
#[derive(Debug, Clone, Default)]
pub struct OidcFlags {
    /// `--oidc-issuer-url` (https only).
    pub issuer_url: String,
    /// `--oidc-client-id`: the audience tokens must carry.
    pub client_id: String,
    /// `--oidc-username-claim` (empty: `sub`).
    pub username_claim: String,
    /// `--oidc-username-prefix` (`None`: `<issuer>#` unless the claim is `email`; `-`: none).
    pub username_prefix: Option<String>,
    /// `--oidc-groups-claim` (empty: no groups).
    pub groups_claim: String,
    /// `--oidc-groups-prefix`.
    pub groups_prefix: String,
    /// `--oidc-ca-file` (empty: the system roots).
    pub ca_file: Option<PathBuf>,
    /// `--oidc-required-claim key=value`, repeated.
    pub required_claims: BTreeMap<String, String>,
    /// `--oidc-signing-algs` (empty: RS256).
    pub signing_algs: Vec<String>,
}

impl OidcFlags {
    /// Whether any OIDC flag is set (kube: flags and `--authentication-config` exclude each other).
    pub fn is_set(&self) -> bool {
        !self.issuer_url.is_empty() || !self.client_id.is_empty()
    }

    /// The authenticator these flags describe (kube's flag-to-structured conversion).
    pub fn to_spec(&self) -> Result<JwtAuthenticatorSpec, OidcConfigError> {
        if self.issuer_url.is_empty() || self.client_id.is_empty() {
            return Err(invalid(
                "oidc-issuer-url",
                "oidc-issuer-url and oidc-client-id must be specified together",
            ));
        }
        check_issuer_url("oidc-issuer-url", &self.issuer_url)?;
        let claim = if self.username_claim.is_empty() { "sub" } else { self.username_claim.as_str() };
        let prefix = match self.username_prefix.as_deref() {
            Some("-") => String::new(),
            Some(p) if !p.is_empty() => p.to_string(),
            _ if claim == "email" => String::new(),
            _ => format!("{}#", self.issuer_url),
        };
        let ca_pem = match &self.ca_file {
            Some(path) if !path.as_os_str().is_empty() => Some(
                std::fs::read(path)
                    .map_err(|source| OidcConfigError::Io { path: path.display().to_string(), source })?,
            ),
            _ => None,
        };
        let signing_algs = if self.signing_algs.is_empty() {
            vec![SigningAlg::RS256]
        } else {
            self.signing_algs
                .iter()
                .map(|a| {
                    SigningAlg::parse(a)
                        .ok_or_else(|| invalid("oidc-signing-algs", format!("unsupported signing alg `{a}`")))
                })
                .collect::<Result<_, _>>()?
        };
        Ok(JwtAuthenticatorSpec {
            issuer_url: self.issuer_url.clone(),
            discovery_url: None,
            ca_pem,
            audiences: vec![self.client_id.clone()],
            signing_algs,
            claim_rules: self
                .required_claims
                .iter()
                .map(|(k, v)| ClaimRule::Required { claim: k.clone(), value: v.clone() })
                .collect(),
            username: Mapping::Claim { claim: claim.to_string(), prefix },
            groups: (!self.groups_claim.is_empty()).then(|| Mapping::Claim {
                claim: self.groups_claim.clone(),
                prefix: self.groups_prefix.clone(),
            }),
            uid: None,
            extra: Vec::new(),
            user_rules: Vec::new(),
        })
    }
}

/// A claim with a prefix, or an expression: where a user attribute comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    Claim { claim: String, prefix: String },
    Expression(Expression),
}

/// A check on the claims before mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimRule {
    /// The claim must be a string equal to `value`.
    Required { claim: String, value: String },
    /// The expression must be true; `message` is logged when not.
    Expression { expr: Expression, message: String },
}

/// One issuer's validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtAuthenticatorSpec {
    pub issuer_url: String,
    pub discovery_url: Option<String>,
    /// PEM CA bundle for discovery and JWKS (`None`: system roots).
    pub ca_pem: Option<Vec<u8>>,
    /// Accepted audiences (any one must be in `aud`).
    pub audiences: Vec<String>,
    pub signing_algs: Vec<SigningAlg>,
    pub claim_rules: Vec<ClaimRule>,
    pub username: Mapping,
    pub groups: Option<Mapping>,
    pub uid: Option<Mapping>,
    /// `user.extra` keys and their value expressions.
    pub extra: Vec<(String, Expression)>,
    /// Checks on the mapped user: expression on `user`, message.
    pub user_rules: Vec<(Expression, String)>,
}

// ---- The AuthenticationConfiguration document, as kube spells it ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationConfiguration {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    jwt: Vec<JwtAuthenticator>,
    #[serde(default)]
    anonymous: Option<AnonymousAuthConfig>,
}

/// kube's `AnonymousAuthConfig`.
#[derive(Debug, Deserialize)]
struct AnonymousAuthConfig {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    conditions: Vec<AnonymousAuthCondition>,
}

#[derive(Debug, Deserialize)]
struct AnonymousAuthCondition {
    #[serde(default)]
    path: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JwtAuthenticator {
    issuer: Issuer,
    #[serde(default)]
    claim_validation_rules: Vec<ClaimValidationRule>,
    #[serde(default)]
    claim_mappings: ClaimMappings,
    #[serde(default)]
    user_validation_rules: Vec<UserValidationRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Issuer {
    #[serde(default)]
    url: String,
    #[serde(default, rename = "discoveryURL")]
    discovery_url: String,
    #[serde(default)]
    certificate_authority: String,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    audience_match_policy: String,
    #[serde(default)]
    egress_selector_type: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimValidationRule {
    #[serde(default)]
    claim: String,
    #[serde(default)]
    required_value: String,
    #[serde(default)]
    expression: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimMappings {
    #[serde(default)]
    username: PrefixedClaimOrExpression,
    #[serde(default)]
    groups: PrefixedClaimOrExpression,
    #[serde(default)]
    uid: ClaimOrExpression,
    #[serde(default)]
    extra: Vec<ExtraMapping>,
}

#[derive(Debug, Default, Deserialize)]
struct PrefixedClaimOrExpression {
    #[serde(default)]
    claim: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    expression: String,
}

#[derive(Debug, Default, Deserialize)]
struct ClaimOrExpression {
    #[serde(default)]
    claim: String,
    #[serde(default)]
    expression: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExtraMapping {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value_expression: String,
}

#[derive(Debug, Deserialize)]
struct UserValidationRule {
    #[serde(default)]
    expression: String,
    #[serde(default)]
    message: String,
}

const API_VERSIONS: &[&str] =
    &["apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1beta1", "apiserver.config.k8s.io/v1alpha1"];

/// A validated AuthenticationConfiguration: its JWT authenticators and, when the document
/// has an `anonymous` section, where anonymous requests are accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticationDocument {
    pub jwt: Vec<JwtAuthenticatorSpec>,
    pub anonymous: Option<AnonymousPolicy>,
}

/// Parses and validates an AuthenticationConfiguration (YAML or JSON) into its JWT
/// authenticators.
pub fn parse_authentication_configuration(text: &str) -> Result<Vec<JwtAuthenticatorSpec>, OidcConfigError> {
    parse_authentication_document(text).map(|d| d.jwt)
}

/// Parses and validates a whole AuthenticationConfiguration, strictly as kube decodes it:
/// a field kube does not define is an error (a misspelled one would otherwise be ignored).
pub fn parse_authentication_document(text: &str) -> Result<AuthenticationDocument, OidcConfigError> {
    let raw: serde_json::Value =
        apimachinery::yaml::from_str(text).map_err(|e| OidcConfigError::Parse(e.to_string()))?;
    if let Some(e) = strict::unknown_fields(&raw) {
        return Err(OidcConfigError::Parse(e));
    }
    let doc: AuthenticationConfiguration =
        serde_json::from_value(raw).map_err(|e| OidcConfigError::Parse(e.to_string()))?;
    if !API_VERSIONS.contains(&doc.api_version.as_str()) {
        return Err(invalid("apiVersion", format!("unsupported `{}`", doc.api_version)));
    }
    if doc.kind != "AuthenticationConfiguration" {
        return Err(invalid("kind", format!("expected AuthenticationConfiguration, got `{}`", doc.kind)));
    }
    let mut seen = Vec::<String>::new();
    let mut specs = Vec::new();
    for (i, jwt) in doc.jwt.into_iter().enumerate() {
        let spec = jwt_spec(&format!("jwt[{i}]"), jwt)?;
        if seen.contains(&spec.issuer_url) {
            return Err(invalid(
                format!("jwt[{i}].issuer.url"),
                format!("duplicate value `{}`", spec.issuer_url),
            ));
        }
        seen.push(spec.issuer_url.clone());
        specs.push(spec);
    }
    let anonymous = doc.anonymous.map(anonymous_policy).transpose()?;
    Ok(AuthenticationDocument { jwt: specs, anonymous })
}

/// kube's validation of the `anonymous` section, and the policy it sets.
fn anonymous_policy(a: AnonymousAuthConfig) -> Result<AnonymousPolicy, OidcConfigError> {
    if !a.enabled {
        if !a.conditions.is_empty() {
            return Err(invalid(
                "anonymous.conditions",
                "enabled should be set to true when conditions are defined",
            ));
        }
        return Ok(AnonymousPolicy::Off);
    }
    if a.conditions.is_empty() {
        return Ok(AnonymousPolicy::Everywhere);
    }
    let mut paths: Vec<String> = Vec::new();
    for (i, c) in a.conditions.into_iter().enumerate() {
        let field = format!("anonymous.conditions[{i}].path");
        if c.path.is_empty() {
            return Err(invalid(field, "Required value"));
        }
        if paths.contains(&c.path) {
            return Err(invalid(
                field,
                format!("Duplicate value: {}", apimachinery::quote::go_quote(&c.path)),
            ));
        }
        paths.push(c.path);
    }
    Ok(AnonymousPolicy::Paths(paths))
}

fn check_issuer_url(field: &str, url: &str) -> Result<(), OidcConfigError> {
    let uri: http::Uri = url.parse().map_err(|_| invalid(field, format!("`{url}` is not a URL")))?;
    if uri.scheme_str() != Some("https") {
        return Err(invalid(field, format!("`{url}` has invalid scheme, require 'https'")));
    }
    if uri.query().is_some() || url.contains('#') || uri.authority().is_some_and(|a| a.as_str().contains('@'))
    {
        return Err(invalid(field, "must not contain a query, fragment or user info"));
    }
    Ok(())
}

fn expr(field: &str, src: &str, root: &str, returns: Returns) -> Result<Expression, OidcConfigError> {
    Expression::parse(src, root, returns)
        .map_err(|source| OidcConfigError::Expression { field: field.into(), source })
}

fn mapping(
    field: &str,
    claim: &str,
    expression: &str,
    prefix: Option<&Option<String>>,
    returns: Returns,
) -> Result<Option<Mapping>, OidcConfigError> {
    match (claim.is_empty(), expression.is_empty()) {
        (false, false) => Err(invalid(field, "claim and expression cannot both be set")),
        (true, true) => Ok(None),
        (false, true) => {
            let prefix = match prefix {
                None => String::new(),
                Some(Some(p)) => p.clone(),
                Some(None) => {
                    return Err(invalid(
                        format!("{field}.prefix"),
                        "prefix is required when claim is set. It can be set to an empty string to disable prefixing",
                    ))
                }
            };
            Ok(Some(Mapping::Claim { claim: claim.to_string(), prefix }))
        }
        (true, false) => {
            if prefix.is_some_and(|p| p.as_deref().is_some_and(|p| !p.is_empty())) {
                return Err(invalid(
                    format!("{field}.prefix"),
                    "may not be specified when expression is set",
                ));
            }
            Ok(Some(Mapping::Expression(expr(&format!("{field}.expression"), expression, CLAIMS, returns)?)))
        }
    }
}

fn jwt_spec(f: &str, jwt: JwtAuthenticator) -> Result<JwtAuthenticatorSpec, OidcConfigError> {
    let iss = jwt.issuer;
    if !iss.egress_selector_type.is_empty() {
        // Configuration honesty: kubeward has no egress selector to send discovery through.
        return Err(invalid(
            format!("{f}.issuer.egressSelectorType"),
            format!("`{}` is not supported: kubeward has no egress selector", iss.egress_selector_type),
        ));
    }
    check_issuer_url(&format!("{f}.issuer.url"), &iss.url)?;
    if !iss.discovery_url.is_empty() {
        check_issuer_url(&format!("{f}.issuer.discoveryURL"), &iss.discovery_url)?;
    }
    if iss.audiences.is_empty() || iss.audiences.iter().any(String::is_empty) {
        return Err(invalid(format!("{f}.issuer.audiences"), "at least one non-empty audience is required"));
    }
    match (iss.audiences.len(), iss.audience_match_policy.as_str()) {
        (1, "" | "MatchAny") | (_, "MatchAny") => {}
        (_, "") => {
            return Err(invalid(
                format!("{f}.issuer.audienceMatchPolicy"),
                "audienceMatchPolicy must be MatchAny for multiple audiences",
            ))
        }
        (_, other) => {
            return Err(invalid(format!("{f}.issuer.audienceMatchPolicy"), format!("unsupported `{other}`")))
        }
    }
    let cm = jwt.claim_mappings;
    let username = mapping(
        &format!("{f}.claimMappings.username"),
        &cm.username.claim,
        &cm.username.expression,
        Some(&cm.username.prefix),
        Returns::String,
    )?
    .ok_or_else(|| invalid(format!("{f}.claimMappings.username"), "claim or expression is required"))?;
    let groups = mapping(
        &format!("{f}.claimMappings.groups"),
        &cm.groups.claim,
        &cm.groups.expression,
        Some(&cm.groups.prefix),
        Returns::StringOrList,
    )?;
    let uid =
        mapping(&format!("{f}.claimMappings.uid"), &cm.uid.claim, &cm.uid.expression, None, Returns::String)?;
    let mut extra = Vec::new();
    for (i, e) in cm.extra.into_iter().enumerate() {
        let field = format!("{f}.claimMappings.extra[{i}]");
        if !e.key.contains('/') || e.key != e.key.to_lowercase() {
            return Err(invalid(
                format!("{field}.key"),
                "must be a lower-case domain-prefixed path (example.com/x)",
            ));
        }
        extra.push((
            e.key,
            expr(&format!("{field}.valueExpression"), &e.value_expression, CLAIMS, Returns::StringOrList)?,
        ));
    }
    let mut claim_rules = Vec::new();
    for (i, r) in jwt.claim_validation_rules.into_iter().enumerate() {
        let field = format!("{f}.claimValidationRules[{i}]");
        claim_rules.push(match (r.claim.is_empty(), r.expression.is_empty()) {
            (false, true) => ClaimRule::Required { claim: r.claim, value: r.required_value },
            (true, false) => ClaimRule::Expression {
                expr: expr(&format!("{field}.expression"), &r.expression, CLAIMS, Returns::Bool)?,
                message: r.message,
            },
            _ => return Err(invalid(field, "exactly one of claim or expression is required")),
        });
    }
    let mut user_rules = Vec::new();
    for (i, r) in jwt.user_validation_rules.into_iter().enumerate() {
        user_rules.push((
            expr(&format!("{f}.userValidationRules[{i}].expression"), &r.expression, USER, Returns::Bool)?,
            r.message,
        ));
    }
    // kube: an email-based username must be backed by a check of email_verified.
    if let Mapping::Expression(e) = &username {
        let checked = |x: &Expression| x.references("claims", "email_verified");
        let rules_check =
            claim_rules.iter().any(|r| matches!(r, ClaimRule::Expression { expr, .. } if checked(expr)));
        let extra_check = extra.iter().any(|(_, x)| checked(x));
        if e.references("claims", "email") && !checked(e) && !rules_check && !extra_check {
            return Err(invalid(
                format!("{f}.claimMappings.username.expression"),
                "claims.email_verified must be used in claimMappings.username.expression or \
                 claimMappings.extra[*].valueExpression or claimValidationRules[*].expression when \
                 claims.email is used in claimMappings.username.expression",
            ));
        }
    }
    Ok(JwtAuthenticatorSpec {
        issuer_url: iss.url,
        discovery_url: (!iss.discovery_url.is_empty()).then_some(iss.discovery_url),
        ca_pem: (!iss.certificate_authority.is_empty()).then(|| iss.certificate_authority.into_bytes()),
        audiences: iss.audiences,
        signing_algs: SigningAlg::ALL.to_vec(),
        claim_rules,
        username,
        groups,
        uid,
        extra,
        user_rules,
    })
}

#[cfg(test)]
mod tests;
