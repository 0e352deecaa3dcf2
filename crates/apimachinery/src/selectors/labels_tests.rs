use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse_err(s: &str) -> String {
    LabelSelector::parse(s).unwrap_err().to_string()
}

#[test]
fn parses_every_operator() {
    let s = LabelSelector::parse("a=b, c==d ,e!=f,g in (x,y),h notin (z),i,!j,k>1,l<10").unwrap();
    let ops: Vec<(&str, Operator)> = s.requirements().iter().map(|r| (r.key(), r.operator())).collect();
    assert_eq!(
        ops,
        vec![
            ("a", Operator::Equals),
            ("c", Operator::DoubleEquals),
            ("e", Operator::NotEquals),
            ("g", Operator::In),
            ("h", Operator::NotIn),
            ("i", Operator::Exists),
            ("j", Operator::DoesNotExist),
            ("k", Operator::GreaterThan),
            ("l", Operator::LessThan),
        ]
    );
    assert_eq!(s.requirements()[3].values(), ["x", "y"]);
}

#[test]
fn sorted_by_key_and_printed_like_kube() {
    let s = LabelSelector::parse("z notin (),y,x in (foo,,baz)").unwrap();
    assert_eq!(s.to_string(), "x in (,baz,foo),y,z notin ()");
    let s = LabelSelector::parse("b=1,!a,c in (q,p)").unwrap();
    assert_eq!(s.to_string(), "!a,b=1,c in (p,q)");
}

#[test]
fn empty_values_and_whitespace() {
    for ok in ["", "  ", "x=", "x= ", "x=,z= ", "x==", "x!=", "x in ()", "x in (,)", "x in (a,)", "\tx = a\n"]
    {
        assert!(LabelSelector::parse(ok).is_ok(), "{ok:?}");
    }
    assert!(LabelSelector::parse("").unwrap().is_empty());
    let s = LabelSelector::parse("x in (,a,,b)").unwrap();
    assert_eq!(s.requirements()[0].values(), ["", "a", "b"]);
}

#[test]
fn keywords_are_values_in_value_position() {
    let s = LabelSelector::parse("in in (in, notin)").unwrap();
    assert_eq!(s.requirements()[0].key(), "in");
    assert_eq!(s.requirements()[0].values(), ["in", "notin"]);
    let s = LabelSelector::parse("a=in").unwrap();
    assert_eq!(s.requirements()[0].values(), ["in"]);
}

#[test]
fn prefixed_keys() {
    let s = LabelSelector::parse("app.kubernetes.io/name=web,!example.com/x").unwrap();
    assert_eq!(s.requirements().len(), 2);
}

#[test]
fn syntax_errors_have_kube_text() {
    assert_eq!(parse_err("=a"), "found '=', expected: !, identifier, or 'end of string'");
    assert_eq!(parse_err("x=a,"), "found '', expected: identifier after ','");
    assert_eq!(parse_err("x=a,,y"), "found ',', expected: identifier after ','");
    assert_eq!(parse_err("x=a y"), "found 'y', expected: ',' or 'end of string'");
    assert_eq!(parse_err("x==a==b"), "found '==', expected: ',' or 'end of string'");
    assert_eq!(parse_err("!x=a"), "found '=', expected: ',' or 'end of string'");
    assert_eq!(
        parse_err("x y"),
        "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert_eq!(parse_err("x in a"), "unable to parse requirement: found 'a' expected: '('");
    assert_eq!(parse_err("x in (a"), "unable to parse requirement: found '', expected: ',' or ')'");
    assert_eq!(parse_err("x in (a b)"), "unable to parse requirement: found 'b', expected: ',' or ')'");
    assert_eq!(
        parse_err("x in (="),
        "unable to parse requirement: found '=', expected: ',', ')' or identifier"
    );
    assert_eq!(
        parse_err("x in (a,=)"),
        "unable to parse requirement: found '=', expected: ',', or identifier"
    );
    assert_eq!(parse_err("x=("), "unable to parse requirement: found '(', expected: identifier");
    assert_eq!(parse_err("!"), "unable to parse requirement: found '', expected: identifier");
    assert_eq!(parse_err("!!a"), "unable to parse requirement: found '!', expected: identifier");
}

#[test]
fn validation_errors_have_kube_text() {
    assert_eq!(
        parse_err("-a=b"),
        "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    );
    assert_eq!(
        parse_err("a=-b"),
        "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    );
    assert_eq!(
        parse_err("x>a"),
        "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
    );
    // Two failing values aggregate in brackets.
    let e = parse_err("a in (-x,-y)");
    assert!(e.starts_with("unable to parse requirement: [values[0][a]: Invalid value: \"-x\""), "{e}");
    assert!(e.contains(", values[1][a]: Invalid value: \"-y\""), "{e}");
    assert!(e.ends_with(']'));
    let long = "v".repeat(64);
    assert!(parse_err(&format!("a={long}")).contains("must be no more than 63 characters"));
}

#[test]
fn matching_follows_kube() {
    let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
    let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
    assert!(m(""));
    assert!(m("app=web"));
    assert!(m("app==web,tier=front"));
    assert!(!m("app=db"));
    assert!(m("app!=db"));
    assert!(m("missing!=x"), "!= matches a missing key");
    assert!(!m("app!=web"));
    assert!(m("app in (db,web)"));
    assert!(!m("app in (db)"));
    assert!(!m("missing in (x)"));
    assert!(m("app notin (db)"));
    assert!(m("missing notin (x)"));
    assert!(!m("app notin (web)"));
    assert!(m("app"));
    assert!(!m("missing"));
    assert!(m("!missing"));
    assert!(!m("!app"));
    assert!(m("n>4"));
    assert!(!m("n>5"));
    assert!(m("n<6"));
    assert!(!m("app>1"), "non-numeric label never matches gt");
    assert!(!m("missing<1"));
    assert!(m("tier=front,app in (web),!gone"));
    assert!(!m("tier=front,app in (db)"));
    // Empty value: `x=` requires the label to be present and empty.
    let e = labels(&[("x", "")]);
    assert!(LabelSelector::parse("x=").unwrap().matches(&e));
    assert!(!LabelSelector::parse("x=").unwrap().matches(&l));
}

#[test]
fn matches_json_labels() {
    let s = LabelSelector::parse("app=web").unwrap();
    assert!(s.matches_json(Some(&json!({"app": "web", "x": "y"}))));
    assert!(!s.matches_json(Some(&json!({"app": "db"}))));
    assert!(!s.matches_json(None));
    assert!(!s.matches_json(Some(&json!(null))));
    assert!(LabelSelector::parse("!app").unwrap().matches_json(None));
}

#[test]
fn exact_match_introspection() {
    let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5").unwrap();
    assert_eq!(s.requires_exact_match("a"), Some("1"));
    assert_eq!(s.requires_exact_match("b"), Some("2"));
    assert_eq!(s.requires_exact_match("c"), None);
    assert_eq!(s.requires_exact_match("d"), None);
    assert_eq!(s.requires_exact_match("e"), None);
}

#[test]
fn from_metav1_label_selector() {
    let sel = LabelSelector::from_label_selector(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    assert_eq!(sel.to_string(), "app=web,env notin (prod),!legacy,owner,tier in (edge,front)");
    let ok = labels(&[("app", "web"), ("tier", "edge"), ("owner", "me")]);
    assert!(sel.matches(&ok));
    let mut bad = ok.clone();
    bad.insert("legacy".into(), "1".into());
    assert!(!sel.matches(&bad));
    let mut bad = ok.clone();
    bad.insert("env".into(), "prod".into());
    assert!(!sel.matches(&bad));
    bad.remove("env");
    bad.remove("owner");
    assert!(!sel.matches(&bad));
}

#[test]
fn metav1_empty_and_null() {
    let any = labels(&[("a", "b")]);
    let none = LabelSelector::from_label_selector(&json!(null)).unwrap();
    assert_eq!(none, LabelSelector::Nothing);
    assert!(!none.matches(&any));
    assert!(!none.matches(&labels(&[])));
    let all = LabelSelector::from_label_selector(&json!({})).unwrap();
    assert!(all.is_empty());
    assert!(all.matches(&any));
    let all =
        LabelSelector::from_label_selector(&json!({"matchLabels": {}, "matchExpressions": []})).unwrap();
    assert!(all.matches(&labels(&[])));
}

#[test]
fn metav1_errors() {
    let e = |v: serde_json::Value| LabelSelector::from_label_selector(&v).unwrap_err().to_string();
    assert_eq!(
        e(json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]})),
        "\"Foo\" is not a valid label selector operator"
    );
    assert_eq!(
        e(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})),
        "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        e(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})),
        "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"
    );
    assert!(e(json!({"matchLabels": {"-bad": "x"}})).starts_with("key: Invalid value: \"-bad\": name part"));
    assert!(e(json!({"matchLabels": {"a": "-x"}})).starts_with("values[0][a]: Invalid value: \"-x\""));
    assert!(e(json!({"matchLabels": {"a": 1}})).contains("must be a string"));
    assert!(e(json!("app=web")).contains("must be an object"));
}

#[test]
fn requirement_new_checks_arity() {
    assert!(Requirement::new("a", Operator::Equals, vec![]).is_err());
    assert!(Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()]).is_err());
    assert!(Requirement::new("a", Operator::GreaterThan, vec!["1".into()]).is_ok());
    assert!(Requirement::new("a", Operator::DoesNotExist, vec![]).is_ok());
    let e = SelectorError("x".into()).to_status();
    assert_eq!((e.code, e.reason), (400, crate::StatusReason::BadRequest));
}
