use super::*;
use serde_json::json;

fn run(src: &str, claims: Value) -> Result<Value, String> {
    Expression::parse(src, &["claims"]).unwrap().eval("claims", &claims)
}

#[test]
fn evaluates_the_documented_subset() {
    let c = json!({"sub": "alice", "groups": ["devs", "ops"], "hd": "example.com", "n": 3,
                   "kubernetes.io": {"ns": "a"}, "roles": "a,b"});
    assert_eq!(run("claims.sub", c.clone()), Ok(json!("alice")));
    assert_eq!(run("'oidc:' + claims.sub", c.clone()), Ok(json!("oidc:alice")));
    assert_eq!(run("claims.hd == 'example.com' && 'devs' in claims.groups", c.clone()), Ok(json!(true)));
    assert_eq!(run("!has(claims.email) || claims.email_verified", c.clone()), Ok(json!(true)));
    assert_eq!(run("has(claims.email)", c.clone()), Ok(json!(false)));
    assert_eq!(run("claims['kubernetes.io'].ns", c.clone()), Ok(json!("a")));
    assert_eq!(run("claims.groups.map(g, 'oidc:' + g)", c.clone()), Ok(json!(["oidc:devs", "oidc:ops"])));
    assert_eq!(run("claims.groups.filter(g, g.startsWith('d'))", c.clone()), Ok(json!(["devs"])));
    assert_eq!(run("claims.groups.all(g, !g.startsWith('system:'))", c.clone()), Ok(json!(true)));
    assert_eq!(run("claims.groups.exists(g, g == 'ops')", c.clone()), Ok(json!(true)));
    assert_eq!(run("claims.roles.split(',')", c.clone()), Ok(json!(["a", "b"])));
    assert_eq!(run("size(claims.groups) == 2 && claims.n + 1 >= 4", c.clone()), Ok(json!(true)));
    assert_eq!(run("claims.n > 3 ? 'big' : \"small\"", c.clone()), Ok(json!("small")));
    assert_eq!(run("claims.groups[0].upperAscii()", c.clone()), Ok(json!("DEVS")));
    assert_eq!(run("claims.groups + ['x']", c.clone()), Ok(json!(["devs", "ops", "x"])));
    // Errors: a missing claim, absorbed by a deciding side of && / ||.
    assert_eq!(run("claims.nope", c.clone()), Err("no such key: nope".into()));
    assert_eq!(run("false && claims.nope", c.clone()), Ok(json!(false)));
    assert_eq!(run("claims.nope || true", c.clone()), Ok(json!(true)));
    assert!(run("claims.sub + 1", c).is_err());
}

#[test]
fn rejects_what_is_outside_the_subset() {
    for (src, why) in [
        ("claims.?email.orValue('')", "`.?` is not supported"),
        ("claims.sub.matches('a.*')", "unsupported function `matches`"),
        ("request.user", "undeclared reference to `request`"),
        ("has(claims)", "`has` needs a field selection"),
        ("claims.sub ==", "unexpected end of expression"),
        ("'open", "unterminated string"),
        ("claims.sub claims", "unexpected trailing input"),
        ("timestamp(claims.iat)", "undeclared reference to `timestamp`"),
    ] {
        let e = Expression::parse(src, &["claims"]).unwrap_err();
        assert!(e.reason.contains(why), "{src}: {e}");
    }
    assert!(Expression::parse("user.username", &["claims"]).is_err());
    assert!(Expression::parse("user.username", &["user"]).is_ok());
}

#[test]
fn references_finds_fields() {
    let e = Expression::parse("claims.email_verified ? claims.email : claims.sub", &["claims"]).unwrap();
    assert!(e.references("claims", "email") && e.references("claims", "email_verified"));
    assert!(!e.references("claims", "groups"));
}
