//! Files an operator hands the server, which may come from elsewhere (a generated token
//! file, a policy pulled from a repository): the static token and basic-auth CSV files (and
//! `kubeward offboard`'s rewrite of them), ABAC policy lines (then an authorization against
//! them), and AuthenticationConfiguration (then the authenticator it builds, CEL compiled,
//! and its anonymous policy).

use super::text;
use apimachinery::{Attributes, UserInfo};
use authn::anonymous::Anonymous;
use authn::basic_auth::PasswordTable;
use authn::oidc::{JwksSource, OidcAuthenticator, OidcOptions};
use authn::token_file::TokenTable;
use authz::abac::AbacAuthorizer;
use authz::Authorizer;

pub(super) const CSV_WORDS: &[&str] =
    &[",", "\"", "\"\"", "\n", "\r\n", "\r", "#", "system:masters", "a,b", "\"a,b\"", " ", "\u{feff}"];

pub(super) const AUTHN_CONFIG_WORDS: &[&str] = &[
    "apiVersion: apiserver.config.k8s.io/v1\n",
    "kind: AuthenticationConfiguration\n",
    "jwt:\n",
    "- issuer:\n",
    "    url: https://idp.example.com\n",
    "discoveryURL: ",
    "certificateAuthority: ",
    "audiences: [a]\n",
    "audienceMatchPolicy: MatchAny\n",
    "claimValidationRules:\n",
    "claimMappings:\n",
    "userValidationRules:\n",
    "username:\n",
    "groups:\n",
    "uid:\n",
    "extra:\n",
    "claim: sub\n",
    "prefix: \"\"\n",
    "expression: ",
    "requiredValue: ",
    "valueExpression: ",
    "message: ",
    "anonymous:\n",
    "enabled: true\n",
    "conditions:\n",
    "- path: /healthz\n",
    "claims.sub",
    "claims.groups.map(g, g)",
    "has(claims.x)",
    "user.username",
    "'a' + ",
    "size(",
    ".all(x, ",
    "  ",
];

struct NoKeys;

#[async_trait::async_trait]
impl JwksSource for NoKeys {
    async fn fetch(&self) -> Result<Vec<authn::oidc::jwt::VerifyKey>, String> {
        Err("no network in the fuzz harness".into())
    }
}

pub(super) fn token_csv(data: &[u8]) {
    let t = text(data);
    if let Ok(table) = TokenTable::parse("tokens.csv", &t) {
        table.lookup("token");
    }
    let _ = authn::token_file::without_user(&t, "jane");
}

pub(super) fn basic_auth_csv(data: &[u8]) {
    let t = text(data);
    if let Ok(table) = PasswordTable::parse("passwords.csv", &t) {
        table.check("jane", "secret");
    }
}

pub(super) fn abac_policy(data: &[u8]) {
    let Ok(authz) = AbacAuthorizer::parse(&text(data), "policy.jsonl") else { return };
    let user = UserInfo { name: "jane".into(), groups: vec!["devs".into()], ..Default::default() };
    let resource = Attributes {
        user: user.clone(),
        verb: "get".into(),
        resource_request: true,
        path: "/api/v1/namespaces/default/pods/a".into(),
        namespace: "default".into(),
        api_group: String::new(),
        api_version: "v1".into(),
        resource: "pods".into(),
        subresource: String::new(),
        name: "a".into(),
    };
    authz.authorize(&resource);
    let path = Attributes {
        resource_request: false,
        path: "/healthz".into(),
        namespace: String::new(),
        resource: String::new(),
        name: String::new(),
        ..resource
    };
    authz.authorize(&path);
}

pub(super) fn authentication_config(data: &[u8]) {
    let Ok(doc) = authn::oidc::parse_authentication_document(&text(data)) else { return };
    if let Some(policy) = doc.anonymous {
        Anonymous::new(policy).applies("/healthz");
    }
    let options = OidcOptions { cache_ttl: std::time::Duration::ZERO, ..OidcOptions::default() };
    let _ = OidcAuthenticator::with_key_sources(doc.jwt, options, Box::new(|_| Ok(Box::new(NoKeys))));
}
