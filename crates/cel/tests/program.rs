//! Programs: kube's environment, results, errors with cel-go's texts.
#![allow(clippy::unwrap_used)] // test helpers: a failure is a failed test

use kcel::limits::PER_CALL_LIMIT;
use kcel::{Activation, CompileError, EvalError, Program, ResultType, Shape};
use serde_json::{json, Value};

fn eval_with(src: &str, self_value: Value, shape: &Shape) -> Result<Value, String> {
    let p = Program::compile(src, &[("self", shape)]).map_err(|e| e.to_string())?;
    let mut vars = Activation::new();
    vars.bind("self", &self_value, shape).map_err(|e| e.to_string())?;
    let out = p.evaluate(&vars, PER_CALL_LIMIT).map_err(|e| e.to_string())?;
    out.to_json().map_err(|e| e.to_string())
}

fn eval(src: &str, self_value: Value) -> Result<Value, String> {
    eval_with(src, self_value, &Shape::Any)
}

#[test]
fn kube_rule_examples() {
    let obj =
        json!({"minReplicas": 1, "replicas": 3, "q": "512Mi", "u": "https://example.com:8443/path?x=1"});
    assert_eq!(eval("self.minReplicas <= self.replicas", obj.clone()), Ok(json!(true)));
    assert_eq!(eval("self.all(x, x.size() < 10)", json!(["a", "bb"])), Ok(json!(true)));
    assert_eq!(eval("self.all(x, x.size() < 10)", json!(["a", "bbbbbbbbbbbb"])), Ok(json!(false)));
    assert_eq!(eval("self.matches('^[a-z]+$')", json!("abc")), Ok(json!(true)));
    assert_eq!(eval("self.matches('^[a-z]+$')", json!("aBc")), Ok(json!(false)));
    assert_eq!(eval("quantity(self.q).isLessThan(quantity('1Gi'))", obj.clone()), Ok(json!(true)));
    assert_eq!(eval("url(self.u).getHost()", obj.clone()), Ok(json!("example.com:8443")));
    assert_eq!(eval("url(self.u).getHostname()", obj.clone()), Ok(json!("example.com")));
    assert_eq!(eval("self.?foo.orValue(1)", obj.clone()), Ok(json!(1)));
    assert_eq!(eval("self.?replicas.orValue(1)", obj), Ok(json!(3)));
}

#[test]
fn standard_library_and_macros() {
    let obj = json!({"names": ["a", "bb", "ccc"], "labels": {"app": "web"}});
    for (src, want) in [
        ("self.names.exists(n, n == 'bb')", json!(true)),
        ("self.names.exists_one(n, n.size() > 1)", json!(false)),
        ("self.names.map(n, n + '!')", json!(["a!", "bb!", "ccc!"])),
        ("self.names.filter(n, n.size() >= 2)", json!(["bb", "ccc"])),
        ("self.names.map(n, n.size() > 1, n.upperAscii())", json!(["BB", "CCC"])),
        ("has(self.labels.app) && !has(self.labels.tier)", json!(true)),
        ("'app' in self.labels && 'bb' in self.names", json!(true)),
        ("self.labels.all(k, k.startsWith('a'))", json!(true)),
        ("[1, 2, 3].map(x, x * 2)", json!([2, 4, 6])),
        ("{'a': 1}.a", json!(1)),
        ("size(self.names) + self.names.size()", json!(6)),
        ("self.names[1]", json!("bb")),
        ("1u + 2u", json!(3)),
        ("double(1) / 4.0", json!(0.25)),
        ("7 / 2", json!(3)),
        ("-7 % 3", json!(-1)),
        ("type(self.names) == list", json!(true)),
        ("string(12) + string(1.5)", json!("121.5")),
        ("int('42') + 1", json!(43)),
        ("optional.of(1).hasValue() && !optional.none().hasValue()", json!(true)),
        ("self.names[?5].orValue('none')", json!("none")),
        (
            "timestamp('2024-01-01T00:00:00Z') + duration('1h30m') == timestamp('2024-01-01T01:30:00Z')",
            json!(true),
        ),
        ("duration('90m') > duration('1h')", json!(true)),
        ("timestamp('2024-03-05T10:00:00Z').getDayOfMonth()", json!(4)),
    ] {
        assert_eq!(eval(src, obj.clone()), Ok(want), "{src}");
    }
}

#[test]
fn kube_libraries() {
    for (src, want) in [
        ("'a,b,c'.split(',')", json!(["a", "b", "c"])),
        ("['a', 'b'].join('-')", json!("a-b")),
        ("'  x '.trim()", json!("x")),
        ("'hello'.indexOf('l')", json!(2)),
        ("'Hello'.lowerAscii()", json!("hello")),
        ("'abc'.replace('b', 'x')", json!("axc")),
        ("'%s=%d'.format(['a', 1])", json!("a=1")),
        ("[3, 1, 2].sort()", json!([1, 2, 3])),
        ("[1, 2, 3].sum()", json!(6)),
        ("[1, 2, 2].isSorted()", json!(true)),
        ("sets.contains([1, 2, 3], [2])", json!(true)),
        ("sets.intersects([1], [2])", json!(false)),
        ("'abc123'.find('[0-9]+')", json!("123")),
        ("ip('10.0.0.1').family()", json!(4)),
        ("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", json!(true)),
        ("string(ip('10.0.0.1'))", json!("10.0.0.1")),
        ("isSemver('1.2.3') && semver('1.2.3').major() == 1", json!(true)),
        ("quantity('1Gi').compareTo(quantity('1024Mi'))", json!(0)),
        ("isQuantity('1.5')", json!(true)),
        ("isURL('https://x.io') && !isURL('::')", json!(true)),
        ("base64.encode(b'hi')", json!("aGk=")),
    ] {
        assert_eq!(eval(src, json!(null)), Ok(want), "{src}");
    }
}

#[test]
fn values_are_typed_by_their_shape() {
    let schema = json!({"type": "object", "properties": {
        "count": {"type": "integer"}, "ratio": {"type": "number"},
        "at": {"type": "string", "format": "date-time"}, "port": {"x-kubernetes-int-or-string": true}}});
    let shape = Shape::from_openapi_schema(&schema);
    let obj = json!({"count": 2.0, "ratio": 1, "at": "2024-01-01T00:00:00Z", "port": "http"});
    assert_eq!(
        eval_with("type(self.count) == int && type(self.ratio) == double", obj.clone(), &shape),
        Ok(json!(true))
    );
    assert_eq!(
        eval_with("self.at < timestamp('2025-01-01T00:00:00Z')", obj.clone(), &shape),
        Ok(json!(true))
    );
    assert_eq!(eval_with("type(self.port) == string", obj, &shape), Ok(json!(true)));
}

#[test]
fn runtime_errors_have_cel_go_texts() {
    let obj = json!({"a": 1, "l": [1], "s": "x"});
    assert_eq!(eval("self.nope", obj.clone()), Err("no such key: nope".into()));
    assert_eq!(eval("self.l[3]", obj.clone()), Err("index out of bounds: 3".into()));
    assert_eq!(eval("self.a / 0", obj.clone()), Err("division by zero".into()));
    assert_eq!(eval("self.a % 0", obj.clone()), Err("modulus by zero".into()));
    assert_eq!(eval("9223372036854775807 + self.a", obj.clone()), Err("integer overflow".into()));
    assert!(eval("self.s > 1", obj.clone()).is_err_and(|e| e.starts_with("no such overload")));
    // CEL's error absorption: a deciding operand wins over an error.
    assert_eq!(eval("self.nope || true", obj.clone()), Ok(json!(true)));
    assert_eq!(eval("false && self.nope", obj.clone()), Ok(json!(false)));
    assert_eq!(eval("[0, 1].exists(x, 1 / x == 1)", obj), Ok(json!(true)));
}

#[test]
fn compile_errors_have_cel_go_texts() {
    let err = |src: &str| Program::compile(src, &[("self", &Shape::Any)]).unwrap_err().to_string();
    assert_eq!(
        err("self.a =="),
        "compilation failed: ERROR: <input>:1:10: Syntax error: mismatched input '<EOF>' expecting \
         {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | self.a ==\n | .........^"
    );
    assert_eq!(
        err("self.a && foo.b"),
        "compilation failed: ERROR: <input>:1:11: undeclared reference to 'foo' (in container '')\n | self.a && foo.b\n | ..........^"
    );
    assert_eq!(
        err("self.frob(1)"),
        "compilation failed: ERROR: <input>:1:10: undeclared reference to 'frob' (in container '')\n | self.frob(1)\n | .........^"
    );
    assert!(err("self.all(x, y)").contains("undeclared reference to 'y'"));
    // Comprehension variables are in scope in their macro only.
    assert!(Program::compile("self.all(x, x > 0) && x", &[("self", &Shape::Any)]).is_err());
    assert!(Program::compile("self.all(x, self.exists(y, x == y))", &[("self", &Shape::Any)]).is_ok());
    // Type names are values.
    assert!(Program::compile(
        "type(self) == map || type(self) == google.protobuf.Timestamp",
        &[("self", &Shape::Any)]
    )
    .is_ok());
    let long = "1 + ".repeat(30_000) + "1";
    assert!(matches!(Program::compile(&long, &[]), Err(CompileError::TooLong { .. })));
}

#[test]
fn result_types_where_plain() {
    let t = |src: &str| Program::compile(src, &[("self", &Shape::Any)]).unwrap().result_type();
    assert_eq!(t("self.a == 1"), ResultType::Bool);
    assert_eq!(t("self.a.all(x, x)"), ResultType::Bool);
    assert_eq!(t("'a' + self.b"), ResultType::String);
    assert_eq!(t("self.l.map(x, x)"), ResultType::List);
    assert_eq!(t("self.a"), ResultType::Dyn);
    let e =
        Program::compile_returning("self.s.matches('x')", &[("self", &Shape::Any)], &[ResultType::String]);
    assert_eq!(e.unwrap_err().to_string(), "must evaluate to string");
    let e = Program::compile_returning("1", &[], &[ResultType::String, ResultType::List]);
    assert_eq!(e.unwrap_err().to_string(), "must evaluate to one of [string list(string)]");
}

#[test]
fn optional_variables() {
    let p = Program::compile("old.hasValue() ? old.value() + 1 : 0", &[("old", &Shape::Int)]).unwrap();
    let mut vars = Activation::new();
    vars.bind_optional("old", None, &Shape::Int).unwrap();
    assert_eq!(p.evaluate(&vars, PER_CALL_LIMIT).unwrap().to_json(), Ok(json!(0)));
    vars.bind_optional("old", Some(&json!(4)), &Shape::Int).unwrap();
    assert_eq!(p.evaluate(&vars, PER_CALL_LIMIT).unwrap().to_json(), Ok(json!(5)));
}

#[test]
fn references() {
    let p = Program::compile(
        "self.a == oldSelf.a || has(self.email_verified)",
        &[("self", &Shape::Any), ("oldSelf", &Shape::Any)],
    )
    .unwrap();
    assert!(p.references("oldSelf") && p.references("self") && !p.references("other"));
    assert!(p.references_field("self", "email_verified") && p.references_field("self", "a"));
    assert!(!p.references_field("self", "email"));
}

#[test]
fn unbound_variable_is_a_runtime_error() {
    let p = Program::compile("self.a", &[("self", &Shape::Any)]).unwrap();
    let e = p.evaluate(&Activation::new(), PER_CALL_LIMIT).unwrap_err();
    assert_eq!(e, EvalError::Runtime("no such attribute(s): self".into()));
}

#[test]
fn regular_expressions() {
    let v = json!({"p": "^a+$", "s": "aaa", "bad": "("});
    assert_eq!(
        eval("self.s.matches(self.p) && matches(self.s, 'a') && !self.s.matches('b')", v.clone()),
        Ok(json!(true))
    );
    let e = eval("self.s.matches(self.bad)", v.clone()).unwrap_err();
    assert!(e.starts_with("invalid regex: "), "{e}");
    // Many distinct patterns: each compiled once per evaluation at most, all charged.
    let patterns: Vec<String> = (0..600).map(|i| format!("^x{i}$")).collect();
    assert_eq!(eval("self.all(p, !'y'.matches(p))", json!(patterns)), Ok(json!(true)));
}

#[test]
fn bindings() {
    let v = json!({"a": 2, "b": 3, "names": ["x", "yy"]});
    assert_eq!(eval("cel.bind(t, self.a + self.b, t > 4 ? t : 0)", v.clone()), Ok(json!(5)));
    assert_eq!(
        eval("cel.bind(n, self.names, n.size() == 2 && n.exists(x, x == 'yy'))", v.clone()),
        Ok(json!(true))
    );
    assert_eq!(eval("cel.bind(a, 1, cel.bind(b, a + 1, [a, b]))", v), Ok(json!([1, 2])));
    let t = |src: &str| Program::compile(src, &[("self", &Shape::Any)]).map(|p| p.result_type());
    assert_eq!(t("cel.bind(l, [1], l.size() > 0)"), Ok(ResultType::Bool));
    let e = Program::compile("cel.bind(self.a, 1, 2)", &[("self", &Shape::Any)]).unwrap_err().to_string();
    assert!(e.contains("cel.bind() variable names must be simple identifiers"), "{e}");
    assert!(Program::compile("x", &[]).is_err() && Program::compile("cel.bind(x, 1, x)", &[]).is_ok());
}

#[test]
fn numeric_comparisons_across_types() {
    // kube's environment compares numbers across int, uint and double.
    for src in ["1 < 1.5", "2u > 1", "1 == 1.0", "1u == 1", "3.0 >= 3"] {
        assert_eq!(eval(src, json!(null)), Ok(json!(true)), "{src}");
    }
}

/// Odd corners of cel-rust and kube-cel (opaque values as keys, in comparisons and
/// results, out-of-range arguments, overflow, invalid patterns, ...): each compiles to
/// an error or evaluates to a value or an error, and none reaches one of the
/// interpreter's panics (which `evaluate` would report as an internal error).
#[test]
fn odd_expressions_never_reach_a_panic() {
    let v = json!({"a": 1, "s": "x", "l": [1, 2], "m": {"k": "v"}});
    for src in [
        "type(ip('1.2.3.4'))",
        "type(quantity('1'))",
        "type(url('http://a'))",
        "type(optional.of(1))",
        "[ip('1.2.3.4')] == [ip('1.2.3.4')]",
        "{ip('1.1.1.1'): 1}",
        "ip('1.2.3.4') in [ip('1.2.3.4')]",
        "ip('::1') < ip('::2')",
        "[quantity('1'), quantity('2')].sort()",
        "string(optional.none())",
        "dyn(ip('1.2.3.4'))",
        "ip('1.2.3.4')",
        "type(type)",
        "type(null)",
        "null == optional.none()",
        "optional.none() == optional.none()",
        "self.?l[?5]",
        "self.m.?k",
        "{'a': 1}[?'b']",
        "[1][?0]",
        "Foo{a: 1}",
        "google.protobuf.Int64Value{value: 1}",
        "type(self) == map",
        "size(self)",
        "self.l + self.m",
        "[[1]].flatten()",
        "lists.range(5)",
        "math.greatest([1,2])",
        "strings.quote('a')",
        "base64.decode('!!')",
        "semver('1.2.3') == semver('1.2.3')",
        "[semver('1.0.0'), semver('2.0.0')].sort()",
        "quantity('1') == quantity('1')",
        "url('http://a') == url('http://a')",
        "cidr('1.0.0.0/8') == cidr('1.0.0.0/8')",
        "format.dns1123Label().validate('a')",
        "jsonpatch.escapeKey('a/b')",
        "'%v'.format([ip('1.2.3.4')])",
        "'%s'.format([self.m])",
        "self.l.sum()",
        "[1, 'a'].sum()",
        "[1.0, 2].max()",
        "[].min()",
        "duration('1h').getHours()",
        "timestamp('2024-01-01T00:00:00Z').getHours('America/New_York')",
        "int(timestamp('2024-01-01T00:00:00Z'))",
        "timestamp(0)",
        "duration('999999999999h')",
        "1 / 0.0",
        "-9223372036854775808 / -1",
        "-9223372036854775808 % -1",
        "uint(-1)",
        "int(1e100)",
        "double('nan') == double('nan')",
        "'abc'.substring(5)",
        "'abc'.charAt(-1)",
        "'x'.indexOf('', 10)",
        "bytes('a')[0]",
        "b'abc'.size()",
        "self.l.all(x, y, x > y)",
        "self.m.all(k, v, k == v)",
        "self.m.map(k, v, v)",
        "self.l.transformList(i, v, v * 2)",
        "has(self.l)",
        "has(self.s.x)",
        "self.s.x",
        "1.0.x",
        "optional.of(1).value().x",
        "dyn(self).a",
        "type(self.a) == int",
        "self.l[1u]",
        "self.l[1.0]",
        "self.l[-1]",
        "self.m[1]",
        "{1: 'a', 1u: 'b'}",
        "{'a': 1, 'a': 2}",
        "[1,2,3].map(x, x).sort().reverse()",
        "'a'.reverse()",
        "sets.equivalent([1], [1.0])",
        "self.l.distinct()",
        "[[1],[1]].distinct()",
        "ip.isCanonical('1.2.3.4')",
        "isCIDR('1.0.0.0/33')",
        "url('::').getHost()",
        "quantity('1e1000')",
        "quantity('1').add(quantity('9223372036854775807'))",
        "quantity('1').asInteger()",
        "quantity('1.5').asInteger()",
        "semver('a')",
        "'%d'.format(['x'])",
        "'%.2f'.format([1])",
        "'%e'.format([1.5])",
        "'%x'.format([b'ab'])",
        "'%o'.format([8])",
        "'%b'.format([true])",
        "'%s'.format([[1, [2]]])",
        "math.ceil(1.2)",
        "math.bitShiftLeft(1, 200)",
        "math.bitShiftLeft(1, -1)",
        "math.sqrt(-1)",
        "math.abs(-9223372036854775808)",
        "math.sign(-0.0)",
        "'x'.matches('(')",
        "'x'.find('(')",
        "'aaa'.findAll('a', -1)",
        "'aaa'.findAll('a', 9223372036854775807)",
        "'a,b'.split(',', -1)",
        "'a,b'.split(',', 0)",
        "'abc'.replace('', 'x', -1)",
        "['a'].join(1)",
        "'abc'.lastIndexOf('c', 100)",
        "'αβγ'.substring(1, 2)",
        "'abc'.substring(2, 1)",
    ] {
        if let Ok(p) = Program::compile(src, &[("self", &Shape::Any)]) {
            let mut vars = Activation::new();
            vars.bind("self", &v, &Shape::Any).unwrap();
            if let Err(e) = p.evaluate(&vars, PER_CALL_LIMIT) {
                assert!(!e.to_string().contains("internal error"), "{src}: {e}");
            }
        }
    }
}

#[test]
fn declared_properties_are_read_by_their_escaped_names() {
    let schema = json!({"type": "object", "properties": {
        "foo-bar": {"type": "integer"}, "namespace": {"type": "string"}, "a.b": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "since": {"type": "string", "format": "date"}}});
    let shape = Shape::from_openapi_schema(&schema);
    let v = json!({"foo-bar": 3, "namespace": "ns", "a.b": "x", "labels": {"app-name": "web"}, "since": "2024-02-01"});
    for src in [
        "self.foo__dash__bar == 3",
        "self.__namespace__ == 'ns'",
        "has(self.a__dot__b)",
        "self.labels['app-name'] == 'web'",
        "self.since < timestamp('2024-02-02T00:00:00Z')",
    ] {
        assert_eq!(eval_with(src, v.clone(), &shape), Ok(json!(true)), "{src}");
    }
    assert_eq!(eval_with("type(self.foo__dash__bar) == int", v, &shape), Ok(json!(true)));
}

/// Qualified names (`object.metadata.name`) read the same through the resolver's
/// shortcut: fields of maps, a comprehension variable shadowing the variable, missing
/// fields and non-map values along the way failing as cel-rust's selection does.
#[test]
fn qualified_names_select_the_same_fields() {
    let object = json!({"metadata": {"name": "n", "labels": {"app": "a"}}, "items": [1], "s": "x"});
    let shape = Shape::Any;
    let eval = |src: &str| {
        let p = Program::compile(src, &[("object", &shape)]).unwrap();
        let mut vars = Activation::new();
        vars.bind("object", &object, &shape).unwrap();
        p.evaluate(&vars, PER_CALL_LIMIT).map(|e| e.to_json().unwrap()).map_err(|e| e.to_string())
    };
    assert_eq!(eval("object.metadata.name"), Ok(json!("n")));
    assert_eq!(eval("object.metadata.labels.app == 'a'"), Ok(json!(true)));
    assert_eq!(eval("has(object.metadata.labels.app) && !has(object.metadata.labels.x)"), Ok(json!(true)));
    assert_eq!(
        eval("[{'metadata': {'name': 'inner'}}].all(object, object.metadata.name == 'inner')"),
        Ok(json!(true))
    );
    assert_eq!(eval("object.metadata.?labels.app.orValue('') == 'a'"), Ok(json!(true)));
    let missing = eval("object.metadata.missing.x");
    assert!(missing.as_ref().is_err_and(|e| e.contains("missing")), "{missing:?}");
    assert!(eval("object.items.x").is_err());
    assert!(eval("object.s.x").is_err());
}
