//! A webhook authorizer's CEL `matchConditions` (k8s.io/apiserver
//! `pkg/authorization/cel`): each expression sees `request`, the authorization.k8s.io/v1
//! SubjectAccessReview spec of the question (typed as kube declares it), and must be a
//! bool. The webhook is asked only when every condition holds; a false one skips it
//! (no opinion); errors are kube's `cel evaluation error: ...`, aggregated.

use crate::quote;
use apimachinery::Attributes;
use kcel::limits::PER_CALL_LIMIT;
use kcel::{Activation, Program, ResultType, Shape};
use serde_json::{json, Map, Value};

/// The variable the expressions read.
pub const REQUEST: &str = "request";

fn string() -> Shape {
    Shape::String { max_len: None }
}

fn strings() -> Shape {
    Shape::list_of(string())
}

/// kube's `kubernetes.SubjectAccessReviewSpec` declaration.
/// [`build_request_shape`], built once.
pub fn request_shape() -> &'static Shape {
    static SHAPE: std::sync::LazyLock<Shape> = std::sync::LazyLock::new(build_request_shape);
    &SHAPE
}

fn build_request_shape() -> Shape {
    let requirement = Shape::object([("key", string()), ("operator", string()), ("values", strings())]);
    let selector =
        || Shape::object([("rawSelector", string()), ("requirements", Shape::list_of(requirement.clone()))]);
    let resource = Shape::object([
        ("namespace", string()),
        ("verb", string()),
        ("group", string()),
        ("version", string()),
        ("resource", string()),
        ("subresource", string()),
        ("name", string()),
        ("fieldSelector", selector()),
        ("labelSelector", selector()),
    ]);
    let non_resource = Shape::object([("path", string()), ("verb", string())]);
    Shape::object([
        ("resourceAttributes", resource),
        ("nonResourceAttributes", non_resource),
        ("user", string()),
        ("groups", strings()),
        ("extra", Shape::map_of(strings())),
        ("uid", string()),
    ])
}

/// Compiles one condition: the program, or kube's detail (`compilation failed: ...`,
/// `must evaluate to bool but got string`).
pub fn compile_one(expression: &str) -> Result<Program, String> {
    let shape = request_shape();
    let program = Program::compile(expression, &[(REQUEST, shape)]).map_err(|e| e.to_string())?;
    match program.declared_result_type() {
        ResultType::Bool | ResultType::Dyn => Ok(program),
        other => Err(format!("must evaluate to bool but got {}", other.name())),
    }
}

/// The compiled conditions of one webhook.
#[derive(Debug)]
pub struct Matcher {
    conditions: Vec<Program>,
}

/// kube's `convertObjectToUnstructured` of the v1 SubjectAccessReview spec of `attrs`:
/// every attribute present (empty strings included), `resourceAttributes` or
/// `nonResourceAttributes` as the question is.
pub fn request_json(attrs: &Attributes) -> Value {
    let user = &attrs.user;
    let mut r = Map::new();
    r.insert("user".into(), json!(user.name));
    r.insert("groups".into(), json!(user.groups));
    r.insert("uid".into(), json!(user.uid));
    r.insert("extra".into(), json!(user.extra));
    if attrs.resource_request {
        r.insert(
            "resourceAttributes".into(),
            json!({
                "namespace": attrs.namespace,
                "verb": attrs.verb,
                "group": attrs.api_group,
                "version": attrs.api_version,
                "resource": attrs.resource,
                "subresource": attrs.subresource,
                "name": attrs.name,
            }),
        );
    } else {
        r.insert("nonResourceAttributes".into(), json!({"verb": attrs.verb, "path": attrs.path}));
    }
    Value::Object(r)
}

impl Matcher {
    /// The conditions compiled (validation has compiled them once already: an error here
    /// is kube's detail of the first that fails).
    pub fn compile(expressions: &[String]) -> Result<Self, String> {
        let conditions = expressions.iter().map(|e| compile_one(e)).collect::<Result<_, _>>()?;
        Ok(Self { conditions })
    }

    /// Whether the webhook is to be asked about `attrs`: false as soon as a condition is
    /// false; the errors of the others (none false) aggregated.
    pub fn matches(&self, attrs: &Attributes) -> Result<bool, String> {
        let request = request_json(attrs);
        let shape = request_shape();
        let mut vars = Activation::new();
        vars.bind(REQUEST, &request, shape).map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        for program in &self.conditions {
            let source = program.source();
            match program.evaluate(&vars, PER_CALL_LIMIT) {
                Ok(v) => match v.as_bool() {
                    Some(false) => return Ok(false),
                    Some(true) => {}
                    None => errors.push(format!(
                        "cel evaluation error: expression '{source}' eval result type should be bool but got {}",
                        v.type_name()
                    )),
                },
                Err(e) => errors.push(format!("cel evaluation error: expression '{source}' resulted in error: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(true)
        } else {
            Err(quote::aggregate(&errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apimachinery::UserInfo;

    fn pods(user: &str, groups: &[&str]) -> Attributes {
        Attributes {
            user: UserInfo::new(user, groups.iter().map(|g| g.to_string()).collect()),
            verb: "get".into(),
            resource_request: true,
            namespace: "prod".into(),
            api_version: "v1".into(),
            resource: "pods".into(),
            ..Default::default()
        }
    }

    #[test]
    fn conditions_see_the_subject_access_review() {
        let m = Matcher::compile(&[
            "has(request.resourceAttributes)".into(),
            "request.resourceAttributes.namespace == 'prod' && !('system:masters' in request.groups)".into(),
        ])
        .unwrap();
        assert_eq!(m.matches(&pods("alice", &["dev"])), Ok(true));
        assert_eq!(m.matches(&pods("alice", &["system:masters"])), Ok(false));
        let healthz = Attributes { verb: "get".into(), path: "/healthz".into(), ..Default::default() };
        assert_eq!(m.matches(&healthz), Ok(false));
        let paths =
            Matcher::compile(&["request.nonResourceAttributes.path.startsWith('/metrics')".into()]).unwrap();
        let e = paths.matches(&pods("alice", &[])).unwrap_err();
        assert!(
            e.starts_with("cel evaluation error: expression 'request.nonResourceAttributes.path.startsWith('/metrics')' resulted in error: "),
            "{e}"
        );
    }

    #[test]
    fn kube_compile_errors() {
        assert_eq!(compile_one("request.user").unwrap_err(), "must evaluate to bool but got string");
        let e = compile_one("request.nope == 'x'").unwrap_err();
        assert!(e.starts_with("compilation failed: ERROR: <input>:1:8: undefined field 'nope'"), "{e}");
        let e = compile_one("object.x == 1").unwrap_err();
        assert!(e.contains("undeclared reference to 'object'"), "{e}");
    }
}
