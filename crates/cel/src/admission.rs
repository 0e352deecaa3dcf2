//! kube's admission CEL environment (k8s.io/apiserver `pkg/admission/plugin/cel`): the
//! variables admission expressions see, and compiling an expression of each kind with
//! kube's error texts.
//!
//! - `object`, `oldObject`: the request's objects, `dyn` (typed by a resource's schema
//!   only for type checking, [`Environment::with_object`]);
//! - `request`: the AdmissionRequest without its objects and uid (kube's
//!   `BuildRequestType`, typed: `request.nope` does not compile);
//! - `namespaceObject`: the request's Namespace, cut to kube's fields
//!   (`BuildNamespaceType`; its `metadata.UID` is spelt as kube declares it);
//! - `params`: with a `paramKind` only;
//! - `authorizer`, `authorizer.requestResource`: where kube declares them (not in
//!   message expressions);
//! - `variables.<name>`: the policy's variables declared before (composition).
//!
//! Errors are kube's `Detail` of an invalid expression: `compilation failed: ERROR: ...`
//! or `must evaluate to bool but got string`.

use crate::check::ResultType;
use crate::program::Program;
use crate::shape::Shape;
use crate::types::CelType;

/// The variable names kube binds.
pub const OBJECT: &str = "object";
pub const OLD_OBJECT: &str = "oldObject";
pub const REQUEST: &str = "request";
pub const NAMESPACE_OBJECT: &str = "namespaceObject";
pub const PARAMS: &str = "params";
pub const AUTHORIZER: &str = "authorizer";
pub const REQUEST_RESOURCE: &str = "authorizer.requestResource";
pub const VARIABLES: &str = "variables";

/// What an expression is for: it decides the result types allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    /// `validations[].expression`, `matchConditions[].expression`: bool.
    Condition,
    /// `validations[].messageExpression`: string.
    Message,
    /// `auditAnnotations[].valueExpression`: string or null.
    AuditAnnotation,
    /// `variables[].expression`, type checking: anything.
    Any,
    /// A MutatingAdmissionPolicy's `applyConfiguration.expression`: `Object`.
    ApplyConfiguration,
    /// A MutatingAdmissionPolicy's `jsonPatch.expression`: `list(JSONPatch)`.
    JsonPatch,
}

impl ExpressionKind {
    /// cel-go's names of the types kube accepts (`None`: any).
    fn wanted(self) -> Option<&'static [&'static str]> {
        match self {
            ExpressionKind::Condition => Some(&["bool"]),
            ExpressionKind::Message => Some(&["string"]),
            ExpressionKind::AuditAnnotation => Some(&["string", "null_type"]),
            ExpressionKind::ApplyConfiguration => Some(&["Object"]),
            ExpressionKind::JsonPatch => Some(&["list(JSONPatch)"]),
            ExpressionKind::Any => None,
        }
    }

    fn allowed(self) -> &'static [(ResultType, &'static str)] {
        match self {
            ExpressionKind::Condition => &[(ResultType::Bool, "bool")],
            ExpressionKind::Message => &[(ResultType::String, "string")],
            ExpressionKind::AuditAnnotation => {
                &[(ResultType::String, "string"), (ResultType::Null, "null_type")]
            }
            ExpressionKind::Any | ExpressionKind::ApplyConfiguration | ExpressionKind::JsonPatch => &[],
        }
    }
}

/// The declarations one expression is compiled with.
#[derive(Debug, Clone)]
pub struct Environment {
    has_params: bool,
    has_authorizer: bool,
    /// kube's `HasPatchTypes`: `Object` and `JSONPatch` literals.
    patch_types: bool,
    /// Each variable and its static type (`None`: not known here, see [`crate::types`]).
    variables: Vec<(String, Option<CelType>)>,
    object: Shape,
    params: Shape,
}

impl Environment {
    /// kube's `OptionalVariableDeclarations`: `params` when the policy has a paramKind,
    /// `authorizer` where the expression kind has it.
    pub fn new(has_params: bool, has_authorizer: bool) -> Self {
        Self {
            has_params,
            has_authorizer,
            patch_types: false,
            variables: Vec::new(),
            object: Shape::Any,
            params: Shape::Any,
        }
    }

    /// With kube's patch types (`HasPatchTypes`, a MutatingAdmissionPolicy's
    /// expressions): `Object{...}`, `Object.<field>{...}` and `JSONPatch{...}`.
    pub fn with_patch_types(mut self) -> Self {
        self.patch_types = true;
        self
    }

    /// Declares the composited variables `variables.<name>`, in order, of types not
    /// known here.
    pub fn with_variables(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.variables = names.into_iter().map(|n| (n, None)).collect();
        self
    }

    /// Adds one more variable of a type not known here (the next ones may read it).
    pub fn push_variable(&mut self, name: &str) {
        self.variables.push((name.to_string(), None));
    }

    /// Compiles a variable's expression and declares it for the next expressions with
    /// the expression's type, as kube's composited compiler does (a variable that does
    /// not compile is still declared, of a type not known).
    pub fn compile_variable(&mut self, name: &str, expression: &str) -> Result<Program, String> {
        let compiled = self.compile(expression, ExpressionKind::Any);
        let ty = compiled.as_ref().ok().and_then(|p| self.static_type(p));
        self.variables.push((name.to_string(), ty));
        compiled
    }

    /// The declared variables with their static types.
    fn declared_types(&self) -> Vec<(String, Option<CelType>)> {
        let mut out = vec![
            (OBJECT.to_string(), Some(CelType::of_shape(&self.object))),
            (OLD_OBJECT.to_string(), Some(CelType::of_shape(&self.object))),
            (REQUEST.to_string(), Some(CelType::of_shape(request_shape()))),
            (NAMESPACE_OBJECT.to_string(), Some(CelType::of_shape(namespace_shape()))),
        ];
        out.extend(self.variables.iter().map(|(n, t)| (format!("{VARIABLES}.{n}"), t.clone())));
        if self.has_params {
            out.push((PARAMS.to_string(), Some(CelType::of_shape(&self.params))));
        }
        out
    }

    /// The static type of a program compiled in this environment, where cel-go's is
    /// plain ([`crate::types`]).
    pub fn static_type(&self, program: &Program) -> Option<CelType> {
        let declared = self.declared_types();
        program.static_type(&declared)
    }

    /// Types `object` and `oldObject` (type checking against a resource's schema).
    pub fn with_object(mut self, shape: Shape) -> Self {
        self.object = shape;
        self
    }

    /// Types `params`.
    pub fn with_params(mut self, shape: Shape) -> Self {
        self.params = shape;
        self
    }

    /// Whether `authorizer` is declared.
    pub fn has_authorizer(&self) -> bool {
        self.has_authorizer
    }

    /// Whether `params` is declared.
    pub fn has_params(&self) -> bool {
        self.has_params
    }

    /// The same declarations without `authorizer` (message expressions).
    pub fn without_authorizer(&self) -> Self {
        Self { has_authorizer: false, ..self.clone() }
    }

    /// Compiles `expression` as an expression of `kind`; the error is kube's detail.
    pub fn compile(&self, expression: &str, kind: ExpressionKind) -> Result<Program, String> {
        let request = request_shape();
        let namespace = namespace_shape();
        let variables = Shape::Object {
            fields: self.variables.iter().map(|(v, _)| (v.clone(), Shape::Any)).collect(),
            additional: None,
            max_properties: None,
            escaped: false,
        };
        let dotted: Vec<String> = self.variables.iter().map(|(v, _)| format!("{VARIABLES}.{v}")).collect();
        let mut vars: Vec<(&str, &Shape)> = vec![
            (OBJECT, &self.object),
            (OLD_OBJECT, &self.object),
            (REQUEST, request),
            (NAMESPACE_OBJECT, namespace),
            (VARIABLES, &variables),
        ];
        vars.extend(dotted.iter().map(|d| (d.as_str(), &Shape::Any)));
        if self.has_params {
            vars.push((PARAMS, &self.params));
        }
        if self.has_authorizer {
            vars.push((AUTHORIZER, &Shape::Any));
            vars.push((REQUEST_RESOURCE, &Shape::Any));
        }
        let declared = self.declared_types();
        let program = Program::compile_in_base_env(expression, &vars, self.patch_types, &declared)
            .map_err(|e| e.to_string())?;
        // kube wants the exact type: where cel-go's type is plain here, it decides.
        if let Some(got) = self.static_type(&program).and_then(|t| t.name()) {
            return match kind.wanted() {
                Some(wanted) if !wanted.contains(&got.as_str()) => Err(match wanted {
                    [one] => format!("must evaluate to {one} but got {got}"),
                    many => format!("must evaluate to one of [{}] but got {got}", many.join(" ")),
                }),
                _ => Ok(program),
            };
        }
        if matches!(kind, ExpressionKind::ApplyConfiguration | ExpressionKind::JsonPatch) {
            let dyn_roots: &[&str] =
                if self.has_params { &[OBJECT, OLD_OBJECT, PARAMS] } else { &[OBJECT, OLD_OBJECT] };
            patch_result(&program, kind, dyn_roots)?;
            return Ok(program);
        }
        let allowed = kind.allowed();
        // A field of a `dyn` variable is `dyn` to kube's checker, which wants the exact type.
        let dyn_roots: &[&str] = match (&self.object, self.has_params) {
            (Shape::Any, true) => &[OBJECT, OLD_OBJECT, PARAMS],
            (Shape::Any, false) => &[OBJECT, OLD_OBJECT],
            (_, true) => &[PARAMS],
            (_, false) => &[],
        };
        if !allowed.is_empty() && program.is_selection_of(dyn_roots) {
            return Err(match allowed {
                [(_, one)] => format!("must evaluate to {one} but got dyn"),
                many => format!(
                    "must evaluate to one of [{}] but got dyn",
                    many.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(" ")
                ),
            });
        }
        let got = program.result_type();
        if !allowed.is_empty() && got != ResultType::Dyn && !allowed.iter().any(|(t, _)| *t == got) {
            return Err(match allowed {
                [(_, one)] => format!("must evaluate to {one} but got {}", got.name()),
                many => format!(
                    "must evaluate to one of [{}] but got {}",
                    many.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(" "),
                    got.name()
                ),
            });
        }
        Ok(program)
    }

    /// The issues of `expression` under these declarations, as kube's type checker
    /// reports them (cel-go's issues without the `compilation failed: ` prefix), or
    /// `None` when it compiles.
    pub fn type_check(&self, expression: &str) -> Option<String> {
        match self.compile(expression, ExpressionKind::Any) {
            Ok(_) => None,
            Err(detail) => Some(detail.strip_prefix("compilation failed: ").unwrap_or(&detail).to_string()),
        }
    }
}

/// kube's result type check of a mutation (`must evaluate to Object but got ...`,
/// `must evaluate to list(JSONPatch) but got ...`) where the expression's form makes
/// its type plain; other results are checked when evaluated.
fn patch_result(program: &Program, kind: ExpressionKind, dyn_roots: &[&str]) -> Result<(), String> {
    let (want, ok) = match kind {
        ExpressionKind::ApplyConfiguration => ("Object", ResultType::Object),
        _ => ("list(JSONPatch)", ResultType::List),
    };
    let got = program.result_type();
    let wrong = |got: &str| Err(format!("must evaluate to {want} but got {got}"));
    if got == ok {
        if ok == ResultType::List {
            if let Some(other) =
                program.list_struct_elements().into_iter().find(|n| *n != crate::mutation::JSON_PATCH_TYPE)
            {
                return wrong(&format!("list({other})"));
            }
        }
        return Ok(());
    }
    if got != ResultType::Dyn {
        return wrong(got.name());
    }
    if let Some(name) = program.struct_result() {
        return wrong(name);
    }
    if program.is_selection_of(dyn_roots) {
        return wrong("dyn");
    }
    Ok(())
}

/// Whether an error text is a compile error (not a result type one).
pub fn is_compilation_error(detail: &str) -> bool {
    detail.starts_with("compilation failed: ")
}

fn string() -> Shape {
    Shape::String { max_len: None }
}

fn strings() -> Shape {
    Shape::list_of(string())
}

fn object(fields: Vec<(&'static str, Shape)>) -> Shape {
    Shape::object(fields)
}

/// kube's `BuildRequestType`.
/// [`build_request_shape`], built once.
pub fn request_shape() -> &'static Shape {
    static SHAPE: std::sync::LazyLock<Shape> = std::sync::LazyLock::new(build_request_shape);
    &SHAPE
}

fn build_request_shape() -> Shape {
    let gvk = || object(vec![("group", string()), ("version", string()), ("kind", string())]);
    let gvr = || object(vec![("group", string()), ("version", string()), ("resource", string())]);
    let user = object(vec![
        ("username", string()),
        ("uid", string()),
        ("groups", strings()),
        ("extra", Shape::map_of(strings())),
    ]);
    object(vec![
        ("kind", gvk()),
        ("resource", gvr()),
        ("subResource", string()),
        ("requestKind", gvk()),
        ("requestResource", gvr()),
        ("requestSubResource", string()),
        ("name", string()),
        ("namespace", string()),
        ("operation", string()),
        ("userInfo", user),
        ("dryRun", Shape::Bool),
        ("options", Shape::Any),
    ])
}

/// kube's `BuildNamespaceType`.
/// [`build_namespace_shape`], built once.
pub fn namespace_shape() -> &'static Shape {
    static SHAPE: std::sync::LazyLock<Shape> = std::sync::LazyLock::new(build_namespace_shape);
    &SHAPE
}

fn build_namespace_shape() -> Shape {
    let condition = object(vec![
        ("status", string()),
        ("type", string()),
        ("lastTransitionTime", Shape::Timestamp),
        ("message", string()),
        ("reason", string()),
    ]);
    let metadata = object(vec![
        ("name", string()),
        ("generateName", string()),
        ("namespace", string()),
        ("labels", Shape::map_of(string())),
        ("annotations", Shape::map_of(string())),
        ("UID", string()),
        ("creationTimestamp", Shape::Timestamp),
        ("deletionGracePeriodSeconds", Shape::Int),
        ("deletionTimestamp", Shape::Timestamp),
        ("generation", Shape::Int),
        ("resourceVersion", string()),
        ("finalizers", strings()),
    ]);
    object(vec![
        ("metadata", metadata),
        ("spec", object(vec![("finalizers", strings())])),
        ("status", object(vec![("conditions", Shape::list_of(condition)), ("phase", string())])),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::authz::{Authorizations, AuthzAnswer, CheckTarget};
    use crate::EvalError;
    use serde_json::json;

    fn env() -> Environment {
        Environment::new(false, true)
    }

    #[test]
    fn kube_texts_of_bad_expressions() {
        let e = env().compile("object.spec.replicas > ", ExpressionKind::Condition).unwrap_err();
        assert!(e.starts_with("compilation failed: ERROR: <input>:1:"), "{e}");
        let e = env().compile("nope == 1", ExpressionKind::Condition).unwrap_err();
        assert!(e.contains("undeclared reference to 'nope'"), "{e}");
        assert_eq!(
            env().compile("'x'", ExpressionKind::Condition).unwrap_err(),
            "must evaluate to bool but got string"
        );
        assert_eq!(
            env().compile("1", ExpressionKind::Message).unwrap_err(),
            "must evaluate to string but got int"
        );
        assert_eq!(
            env().compile("true", ExpressionKind::AuditAnnotation).unwrap_err(),
            "must evaluate to one of [string null_type] but got bool"
        );
        env().compile("null", ExpressionKind::AuditAnnotation).unwrap();
        // A field of `object` is `dyn`: kube wants the exact type.
        assert_eq!(
            env().compile("object.spec.paused", ExpressionKind::Condition).unwrap_err(),
            "must evaluate to bool but got dyn"
        );
        env().compile("object.spec.paused == true", ExpressionKind::Condition).unwrap();
        // request is typed, params only with a paramKind.
        let e = env().compile("request.nope == 'x'", ExpressionKind::Condition).unwrap_err();
        assert!(e.contains("undefined field 'nope'"), "{e}");
        let e = env().compile("params.x == 1", ExpressionKind::Condition).unwrap_err();
        assert!(e.contains("undeclared reference to 'params'"), "{e}");
        Environment::new(true, true).compile("params.x == 1", ExpressionKind::Condition).unwrap();
        // No authorizer in message expressions.
        let e = env()
            .without_authorizer()
            .compile("authorizer.path('/').check('get').reason()", ExpressionKind::Message);
        let e = e.unwrap_err();
        assert!(e.contains("undeclared reference to 'authorizer'"), "{e}");
    }

    /// kube's base environment has no bindings extension and wants literals of one type
    /// (cel-go's checker texts, every issue in source order).
    #[test]
    fn no_cel_bind_and_homogeneous_literals() {
        let e = env().compile("cel.bind(x, 1, x) == 1", ExpressionKind::Condition).unwrap_err();
        assert_eq!(
            e,
            "compilation failed: ERROR: <input>:1:1: undeclared reference to 'cel' (in container '')\n | cel.bind(x, 1, x) == 1\n | ^\n\
             ERROR: <input>:1:9: undeclared reference to 'bind' (in container '')\n | cel.bind(x, 1, x) == 1\n | ........^\n\
             ERROR: <input>:1:10: undeclared reference to 'x' (in container '')\n | cel.bind(x, 1, x) == 1\n | .........^\n\
             ERROR: <input>:1:16: undeclared reference to 'x' (in container '')\n | cel.bind(x, 1, x) == 1\n | ...............^"
        );
        let e = env().compile("[1, 'a'].size() == 2", ExpressionKind::Condition).unwrap_err();
        assert_eq!(
            e,
            "compilation failed: ERROR: <input>:1:5: expected type 'int' but found 'string'\n | [1, 'a'].size() == 2\n | ....^"
        );
        let e =
            env().compile("{'a': 1, 'b': request.name}.size() > 0", ExpressionKind::Condition).unwrap_err();
        // (A selection is where its `.` is, as cel-go places it.)
        assert!(e.ends_with("1:22: expected type 'int' but found 'string'\n | {'a': 1, 'b': request.name}.size() > 0\n | .....................^"), "{e}");
        // A variable's static type counts; `dyn` joins anything.
        let mut env = env();
        env.compile_variable("n", "'name'").unwrap();
        let e = env.compile("[1, variables.n].size() == 2", ExpressionKind::Condition).unwrap_err();
        assert!(e.contains("expected type 'int' but found 'string'"), "{e}");
        env.compile("[1, object.spec.x, 'a'].size() == 3", ExpressionKind::Condition).unwrap();
        env.compile("[[], [1]].size() == 2 && {'a': [1], 'b': []}.size() == 2", ExpressionKind::Condition)
            .unwrap();
    }

    #[test]
    fn variables_are_read_by_name_and_failures_surface_where_read() {
        let env = env().with_variables(["a".to_string(), "b".to_string()]);
        let e = env.compile("variables.c == 1", ExpressionKind::Condition).unwrap_err();
        assert!(e.contains("undefined field 'c'"), "{e}");
        let p =
            env.compile("variables.a + 1 == 3 && (true || variables.b)", ExpressionKind::Condition).unwrap();
        let two = Environment::new(false, false).compile("1 + 1", ExpressionKind::Any).unwrap();
        let two = two.evaluate(&Activation::new(), 1000).unwrap();
        let mut vars = Activation::new();
        vars.bind_evaluated("variables.a", &two).unwrap();
        vars.bind_failure("variables.b", "no such key: x").unwrap();
        assert_eq!(p.evaluate(&vars, 1000).unwrap().as_bool(), Some(true));
        let p = env.compile("variables.b", ExpressionKind::Condition).unwrap();
        assert_eq!(p.evaluate(&vars, 1000).unwrap_err(), EvalError::Runtime("no such key: x".into()));
    }

    #[test]
    fn lazy_variables_are_evaluated_when_read_and_once() {
        let env = env().with_variables(["n".to_string(), "bad".to_string(), "twice".to_string()]);
        let n = env.compile("object.items.map(i, i * 2)", ExpressionKind::Any).unwrap();
        let bad = env.compile("object.nope == 1", ExpressionKind::Any).unwrap();
        let twice = env.compile("variables.n + variables.n", ExpressionKind::Any).unwrap();
        let obj = json!({"items": [1, 2, 3]});
        let mut base = Activation::new();
        base.bind(OBJECT, &obj, &Shape::Any).unwrap();
        let mut vars = Activation::new();
        vars.bind_lazy("variables.n", "n", Ok(&n));
        vars.bind_lazy("variables.bad", "bad", Ok(&bad));
        vars.bind_lazy("variables.twice", "twice", Ok(&twice));
        // A failing variable nobody reads fails nothing and costs nothing.
        let ok = env.compile("size(object.items) == 3", ExpressionKind::Condition).unwrap();
        assert_eq!(ok.evaluate_layered(&[&base, &vars], 1000, None).unwrap().as_bool(), Some(true));
        assert_eq!(vars.take_lazy_cost(), 0);
        // Read twice, evaluated once: its cost is counted once.
        let read =
            env.compile("size(variables.n) == 3 && variables.n[2] == 6", ExpressionKind::Condition).unwrap();
        assert_eq!(read.evaluate_layered(&[&base, &vars], 1000, None).unwrap().as_bool(), Some(true));
        let once = vars.take_lazy_cost();
        assert!(once > 0);
        assert_eq!(read.evaluate_layered(&[&base, &vars], 1000, None).unwrap().as_bool(), Some(true));
        assert_eq!(vars.take_lazy_cost(), 0, "remembered");
        // A variable reading another: the other is not evaluated again.
        let p = env.compile("size(variables.twice) == 6", ExpressionKind::Condition).unwrap();
        assert_eq!(p.evaluate_layered(&[&base, &vars], 1000, None).unwrap().as_bool(), Some(true));
        assert!(vars.take_lazy_cost() > 0);
        // A failure is kube's text where the variable is read.
        let p = env.compile("variables.bad", ExpressionKind::Any).unwrap();
        assert_eq!(
            p.evaluate_layered(&[&base, &vars], 1000, None).unwrap_err(),
            EvalError::Runtime("composited variable \"bad\" fails to evaluate: no such key: nope".into())
        );
        // Each variable has its own per-call limit, apart from the reader's.
        let mut fresh = Activation::new();
        fresh.bind_lazy("variables.n", "n", Ok(&n));
        let cheap = env.compile("variables.n[0] == 2", ExpressionKind::Condition).unwrap();
        let out = cheap.evaluate_layered(&[&base, &fresh], 1000, None).unwrap();
        assert!(out.cost < once, "{} vs {once}", out.cost);
        let mut broken = Activation::new();
        broken.bind_lazy("variables.n", "n", Err("compilation failed: x".into()));
        assert_eq!(
            cheap.evaluate_layered(&[&base, &broken], 1000, None).unwrap_err(),
            EvalError::Runtime("composited variable \"n\" fails to compile: compilation failed: x".into())
        );
    }

    #[test]
    fn authorizer_checks_are_answered_by_the_caller() {
        let p = env()
            .compile(
                "authorizer.group('apps').resource('deployments').namespace(object.metadata.namespace).check('create').allowed() \
                 && authorizer.requestResource.check('update').reason() == 'ok'",
                ExpressionKind::Condition,
            )
            .unwrap();
        let obj = json!({"metadata": {"namespace": "team-a"}});
        let mut vars = Activation::new();
        vars.bind(OBJECT, &obj, &Shape::Any).unwrap();
        vars.bind_cel(AUTHORIZER, crate::authz::authorizer()).unwrap();
        vars.bind_cel(REQUEST_RESOURCE, crate::authz::request_resource("", "pods", "", "team-a", "web"))
            .unwrap();
        let mut authz = Authorizations::new();
        let mut rounds = 0;
        let out = loop {
            match p.evaluate_layered(&[&vars], crate::limits::PER_CALL_LIMIT, Some(&mut authz)) {
                Err(EvalError::AuthorizationPending) => {
                    for check in authz.take_pending() {
                        let allowed = matches!(&check.target, CheckTarget::Resource { namespace, .. } if namespace == "team-a");
                        authz.answer(check, AuthzAnswer { allowed, reason: "ok".into(), error: None });
                    }
                    rounds += 1;
                }
                other => break other,
            }
        };
        assert_eq!(out.unwrap().as_bool(), Some(true));
        // cel evaluates both sides of `&&` past an error: both checks pend in one round.
        assert_eq!((rounds, authz.answered()), (1, 2));
        // Two checks fit the per-call limit; a third does not.
        let three = env()
            .compile(
                "authorizer.path('/a').check('get').allowed() || authorizer.path('/b').check('get').allowed() || authorizer.path('/c').check('get').allowed()",
                ExpressionKind::Condition,
            )
            .unwrap();
        let mut authz = Authorizations::new();
        let mut last = None;
        for _ in 0..4 {
            match three.evaluate_layered(&[&vars], crate::limits::PER_CALL_LIMIT, Some(&mut authz)) {
                Err(EvalError::AuthorizationPending) => {
                    for check in authz.take_pending() {
                        authz.answer(
                            check,
                            AuthzAnswer { allowed: false, reason: String::new(), error: None },
                        );
                    }
                }
                other => {
                    last = Some(other);
                    break;
                }
            }
        }
        assert_eq!(last, Some(Err(EvalError::CostLimitExceeded)));
    }
}
