use super::*;

const BASE: &str = "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n";

fn parse(jwt: &str) -> Result<Vec<JwtAuthenticatorSpec>, OidcConfigError> {
    parse_authentication_configuration(&format!("{BASE}jwt:\n{jwt}"))
}

#[test]
fn flags_validation_and_defaults() {
    let f = OidcFlags { issuer_url: "https://idp".into(), ..Default::default() };
    assert!(f.to_spec().unwrap_err().to_string().contains("must be specified together"));
    let f = OidcFlags { issuer_url: "http://idp".into(), client_id: "c".into(), ..Default::default() };
    assert!(f.to_spec().unwrap_err().to_string().contains("require 'https'"));
    let f = OidcFlags { issuer_url: "https://idp".into(), client_id: "c".into(), ..Default::default() };
    let spec = f.to_spec().unwrap();
    assert_eq!(spec.username, Mapping::Claim { claim: "sub".into(), prefix: "https://idp#".into() });
    assert_eq!(
        (spec.signing_algs, spec.groups, spec.audiences),
        (vec![SigningAlg::RS256], None, vec!["c".to_string()])
    );
    let f = OidcFlags { signing_algs: vec!["HS256".into()], ..f };
    assert!(f.to_spec().unwrap_err().to_string().contains("unsupported signing alg `HS256`"));
    let f = OidcFlags { signing_algs: vec![], ca_file: Some("/nonexistent/ca".into()), ..f };
    assert!(matches!(f.to_spec(), Err(OidcConfigError::Io { .. })));
}

#[test]
fn structured_validation_errors() {
    let cases = [
        ("- issuer: {url: 'http://a', audiences: [x]}\n  claimMappings: {username: {claim: sub, prefix: ''}}", "jwt[0].issuer.url"),
        ("- issuer: {url: 'https://a', audiences: []}\n  claimMappings: {username: {claim: sub, prefix: ''}}", "audiences"),
        ("- issuer: {url: 'https://a', audiences: [x, y]}\n  claimMappings: {username: {claim: sub, prefix: ''}}", "must be MatchAny"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {claim: sub}}", "prefix is required"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {expression: 'claims.email'}}", "claims.email_verified must be used"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {claim: sub, prefix: '', expression: 'claims.sub'}}", "cannot both"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {}", "claim or expression is required"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {expression: 'claims.sub.matches(\"x\")'}}", "must evaluate to string"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {claim: sub, prefix: ''}, extra: [{key: Tenant, valueExpression: 'claims.t'}]}", "domain-prefixed"),
        ("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {claim: sub, prefix: ''}}\n- issuer: {url: 'https://a', audiences: [y]}\n  claimMappings: {username: {claim: sub, prefix: ''}}", "duplicate value"),
    ];
    for (jwt, want) in cases {
        let e = parse(jwt).unwrap_err().to_string();
        assert!(e.contains(want), "{jwt}\n => {e}");
    }
    assert!(
        parse_authentication_configuration("apiVersion: v1\nkind: AuthenticationConfiguration\n").is_err()
    );
    let ok = parse("- issuer: {url: 'https://a', audiences: [x]}\n  claimMappings: {username: {expression: 'claims.email', }}\n  claimValidationRules: [{expression: 'claims.email_verified'}]");
    assert!(ok.is_ok(), "{ok:?}");
}
