use super::*;
use serde_json::json;

fn run(src: &str, claims: Value) -> Result<Value, String> {
    let e = Expression::parse(src, CLAIMS, Returns::StringOrList)
        .or_else(|_| Expression::parse(src, CLAIMS, Returns::Bool))
        .map_err(|e| e.reason)?;
    e.eval(&Vars::claims(&claims)?)
}

#[test]
fn evaluates_claim_expressions() {
    let c = json!({"sub": "alice", "groups": ["devs", "ops"], "hd": "example.com", "n": 3,
                   "kubernetes.io": {"ns": "a"}, "roles": "a,b"});
    assert_eq!(run("claims.sub", c.clone()), Ok(json!("alice")));
    assert_eq!(run("'oidc:' + claims.sub", c.clone()), Ok(json!("oidc:alice")));
    assert_eq!(run("claims.hd == 'example.com' && 'devs' in claims.groups", c.clone()), Ok(json!(true)));
    assert_eq!(run("!has(claims.email) || claims.email_verified", c.clone()), Ok(json!(true)));
    assert_eq!(run("claims['kubernetes.io'].ns", c.clone()), Ok(json!("a")));
    assert_eq!(run("claims.groups.map(g, 'oidc:' + g)", c.clone()), Ok(json!(["oidc:devs", "oidc:ops"])));
    assert_eq!(run("claims.roles.split(',')", c.clone()), Ok(json!(["a", "b"])));
    // What the former subset refused: optional syntax, regular expressions, kube's libraries.
    assert_eq!(run("claims.?email.orValue('none')", c.clone()), Ok(json!("none")));
    assert_eq!(run("claims.sub.matches('^a')", c.clone()), Ok(json!(true)));
    assert_eq!(run("claims.groups.sort().join(',')", c.clone()), Ok(json!("devs,ops")));
    // Errors: a missing claim, absorbed by a deciding side of && / ||.
    assert_eq!(run("claims.nope", c.clone()), Err("no such key: nope".into()));
    assert_eq!(run("false && claims.nope", c.clone()), Ok(json!(false)));
    assert!(run("claims.sub + 1", c).is_err());
}

#[test]
fn load_errors_are_kube_texts() {
    let e = Expression::parse("request.user", CLAIMS, Returns::String).unwrap_err();
    assert!(
        e.reason.starts_with("compilation failed: ERROR: <input>:1:1: undeclared reference to 'request'"),
        "{}",
        e.reason
    );
    let e = Expression::parse("claims.sub ==", CLAIMS, Returns::Bool).unwrap_err();
    assert!(e.reason.contains("Syntax error"), "{}", e.reason);
    let e = Expression::parse("claims.sub.startsWith('a')", CLAIMS, Returns::String).unwrap_err();
    assert_eq!(e.reason, "must evaluate to string");
    let e = Expression::parse("1", CLAIMS, Returns::StringOrList).unwrap_err();
    assert_eq!(e.reason, "must evaluate to one of [string list(string)]");
    assert!(Expression::parse("user.username", CLAIMS, Returns::String).is_err());
    assert!(Expression::parse("user.username", USER, Returns::String).is_ok());
}

#[test]
fn user_variable() {
    let e = Expression::parse(
        "user.groups.all(g, !g.startsWith('system:')) && user.extra.size() == 0",
        USER,
        Returns::Bool,
    )
    .unwrap();
    let u = json!({"username": "a", "uid": "", "groups": ["x"], "extra": {}});
    assert_eq!(e.eval(&Vars::user(&u).unwrap()), Ok(json!(true)));
}

#[test]
fn references_finds_fields() {
    let e = Expression::parse("claims.email_verified ? claims.email : claims.sub", CLAIMS, Returns::String)
        .unwrap();
    assert!(e.references("claims", "email") && e.references("claims", "email_verified"));
    assert!(!e.references("claims", "groups"));
}

#[test]
fn runaway_expressions_are_cancelled() {
    let e = Expression::parse("claims.l.all(a, claims.l.all(b, a != b || a == b))", CLAIMS, Returns::Bool)
        .unwrap();
    let claims = json!({"l": (0..3000).collect::<Vec<_>>()});
    assert_eq!(
        e.eval(&Vars::claims(&claims).unwrap()),
        Err("operation cancelled: actual cost limit exceeded".into())
    );
}

#[test]
fn user_fields_are_checked_at_load() {
    let e = Expression::parse("user.name == 'x'", USER, Returns::Bool).unwrap_err();
    assert!(e.reason.contains("undefined field 'name'"), "{}", e.reason);
}
