//! The variables every expression of a request sees, as kube binds them: `object` and
//! `oldObject` (at the version the policy matched), `request` (kube's AdmissionRequest
//! without objects, empty fields left out as its JSON form leaves them), `namespaceObject`
//! (the request's Namespace cut to kube's fields, `null` for cluster-scoped requests),
//! `authorizer` and `authorizer.requestResource`. Built once per request and matched
//! kind, converted to CEL once, shared by every policy; with [`InputReads`], only what
//! the policies' expressions can read of `object`, `oldObject` and `request` is built
//! and converted.

use super::matching::Matched;
use crate::types::{AdmissionContext, AdmissionRequest};
use apimachinery::{GroupResource, StatusError};
use kcel::admission::{
    namespace_shape, request_shape, AUTHORIZER, NAMESPACE_OBJECT, OBJECT, OLD_OBJECT, REQUEST,
    REQUEST_RESOURCE,
};
use kcel::{Activation, Program, Reads, Shape};
use serde_json::{json, Map, Value};

/// What a set of expressions reads of `object`, `oldObject` and `request`
/// ([`kcel::reads`]), and how: compiled with each policy, united over a snapshot's
/// policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputReads {
    pub object: Reads,
    pub old_object: Reads,
    pub request: Reads,
    /// Whether some expression reads `authorizer` (or `authorizer.requestResource`).
    pub authorizer: bool,
    /// Whether every expression that reads `object`, `oldObject` or `request` on the
    /// way to a decision is evaluated directly (a message expression, evaluated only
    /// when a validation fails, does not count): then the three are bound as JSON read
    /// in place ([`kcel::Activation::bind_json`]), converted only for an evaluation
    /// the interpreter takes over.
    pub in_place: bool,
}

/// Everything read, nothing in place.
static WHOLE: InputReads = InputReads {
    object: Reads::WHOLE,
    old_object: Reads::WHOLE,
    request: Reads::WHOLE,
    authorizer: true,
    in_place: false,
};

impl InputReads {
    /// Everything read.
    pub fn whole() -> Self {
        WHOLE.clone()
    }

    /// Nothing read.
    pub fn nothing() -> Self {
        Self {
            object: Reads::nothing(),
            old_object: Reads::nothing(),
            request: Reads::nothing(),
            authorizer: false,
            in_place: true,
        }
    }

    /// What `programs` read; `decisive`: the programs evaluated on the way to a
    /// decision (all but message expressions), whose being evaluated directly decides
    /// [`in_place`](Self::in_place).
    pub fn of<'p>(
        programs: impl IntoIterator<Item = &'p Program>,
        decisive: impl IntoIterator<Item = &'p Program>,
    ) -> Self {
        let mut out = Self::nothing();
        for p in programs {
            p.reads(OBJECT, &mut out.object);
            p.reads(OLD_OBJECT, &mut out.old_object);
            p.reads(REQUEST, &mut out.request);
            out.authorizer |= p.references(AUTHORIZER);
        }
        out.in_place = decisive
            .into_iter()
            .all(|p| p.is_direct() || ![OBJECT, OLD_OBJECT, REQUEST].iter().any(|v| p.references(v)));
        out
    }

    /// Adds what `other` reads.
    pub fn merge(&mut self, other: &InputReads) {
        self.object.merge(&other.object);
        self.old_object.merge(&other.old_object);
        self.request.merge(&other.request);
        self.authorizer |= other.authorizer;
        self.in_place &= other.in_place;
    }
}

/// The JSON behind one matched kind's variables.
pub struct Values {
    /// The objects converted to the matched kind; `None`: the request's own.
    converted: Option<(Value, Value)>,
    request: Value,
    namespace: Value,
}

/// Why the variables could not be built.
pub enum InputError {
    /// The request fails with this Status (its namespace does not exist).
    Status(StatusError),
    /// A configuration error of the policy (the object cannot be converted).
    Config(String),
}

/// The Namespace of a request, read at most once.
#[derive(Default)]
pub struct NamespaceCache {
    fetched: Option<Value>,
}

impl NamespaceCache {
    async fn get(
        &mut self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<Value, StatusError> {
        // kube leaves namespaceObject unset for a Namespace itself (it is its own namespace).
        let own = req.group.is_empty() && req.kind == "Namespace" && req.version == "v1";
        if req.namespace.is_empty() || own {
            return Ok(Value::Null);
        }
        if let Some(ns) = &self.fetched {
            return Ok(ns.clone());
        }
        let ns = match ctx.get("", "namespaces", "", &req.namespace).await? {
            Some(ns) => namespace_object(&ns),
            None => {
                return Err(StatusError::not_found(&GroupResource::new("", "namespaces"), &req.namespace))
            }
        };
        self.fetched = Some(ns.clone());
        Ok(ns)
    }
}

/// kube's `CreateNamespaceObject`: status, spec and some of the metadata.
fn namespace_object(ns: &Value) -> Value {
    let mut meta = Map::new();
    if let Some(m) = ns.get("metadata").and_then(Value::as_object) {
        for key in [
            "name",
            "generateName",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "finalizers",
        ] {
            if let Some(v) = m.get(key) {
                meta.insert(key.to_string(), v.clone());
            }
        }
    }
    let mut out = Map::new();
    out.insert("metadata".into(), Value::Object(meta));
    for key in ["spec", "status"] {
        out.insert(key.into(), ns.get(key).cloned().unwrap_or_else(|| json!({})));
    }
    Value::Object(out)
}

/// kube's `CreateAdmissionRequest` as JSON, at the matched resource and kind: the
/// members `reads` names, each built only then.
fn request_json(req: &AdmissionRequest, matched: &Matched, reads: &Reads) -> Value {
    let mut r = Map::new();
    let mut put = |key: &str, value: &dyn Fn() -> Value| {
        if reads.reads_field(key) {
            r.insert(key.into(), value());
        }
    };
    let gvk = |g: &str, v: &str, k: &str| json!({"group": g, "version": v, "kind": k});
    let gvr = |g: &str, v: &str, res: &str| json!({"group": g, "version": v, "resource": res});
    put("uid", &|| json!(""));
    let (group, version, resource, kind) = matched.gvrk(req);
    put("kind", &|| gvk(group, version, kind));
    put("resource", &|| gvr(group, version, resource));
    put("requestKind", &|| gvk(&req.kind_group, &req.kind_version, &req.kind));
    put("requestResource", &|| gvr(&req.group, &req.version, &req.resource));
    for (key, v) in [
        ("subResource", &req.subresource),
        ("requestSubResource", &req.subresource),
        ("name", &req.name),
        ("namespace", &req.namespace),
    ] {
        if !v.is_empty() {
            put(key, &|| json!(v));
        }
    }
    put("operation", &|| json!(req.operation.as_str()));
    put("userInfo", &|| user_info(&req.user, reads.field("userInfo").unwrap_or(&Reads::WHOLE)));
    put("dryRun", &|| json!(req.dry_run));
    if !req.options.is_null() {
        put("options", &|| req.options.clone());
    }
    Value::Object(r)
}

/// The AdmissionRequest's `userInfo` (as an admission review carries it, empty members
/// left out) with the members `reads` names.
fn user_info(user: &apimachinery::UserInfo, reads: &Reads) -> Value {
    let strings = |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    let mut out = Map::new();
    if !user.name.is_empty() && reads.reads_field("username") {
        out.insert("username".into(), Value::String(user.name.clone()));
    }
    if !user.uid.is_empty() && reads.reads_field("uid") {
        out.insert("uid".into(), Value::String(user.uid.clone()));
    }
    if !user.groups.is_empty() && reads.reads_field("groups") {
        out.insert("groups".into(), strings(&user.groups));
    }
    if !user.extra.is_empty() && reads.reads_field("extra") {
        let extra = user.extra.iter().map(|(k, v)| (k.clone(), strings(v))).collect();
        out.insert("extra".into(), Value::Object(extra));
    }
    Value::Object(out)
}

impl Values {
    /// The object converted to the matched kind, when it is not the request's own.
    pub fn converted_object(&self) -> Option<&Value> {
        self.converted.as_ref().map(|(o, _)| o)
    }

    /// The variables' JSON for `matched` (of `request`, the members `request_reads`
    /// names).
    pub async fn build(
        req: &AdmissionRequest,
        matched: &Matched,
        namespaces: Option<&mut NamespaceCache>,
        ctx: &dyn AdmissionContext,
        request_reads: &Reads,
    ) -> Result<Self, InputError> {
        let converted = if matched.is_own() {
            None
        } else {
            let to = matched.kind_resource(req);
            let convert = |o: &Option<Value>| -> Result<Value, InputError> {
                match o {
                    None => Ok(Value::Null),
                    Some(o) => ctx.convert(o, &to).ok_or_else(|| {
                        InputError::Config(format!(
                            "failed to convert object version: no conversion to {}/{}, Kind={}",
                            to.group, to.version, to.kind
                        ))
                    }),
                }
            };
            Some((convert(&req.object)?, convert(&req.old_object)?))
        };
        // Webhooks' match conditions see no namespaceObject (kube binds none there).
        let namespace = match namespaces {
            Some(n) => n.get(req, ctx).await.map_err(InputError::Status)?,
            None => Value::Null,
        };
        Ok(Self { converted, request: request_json(req, matched, request_reads), namespace })
    }

    /// The variables as CEL values, borrowing the JSON.
    pub fn activation<'a>(&'a self, req: &'a AdmissionRequest) -> Result<Activation<'a>, String> {
        self.activation_reading(req, &WHOLE)
    }

    /// The variables as CEL values with only what `reads` says is read of them (what
    /// the expressions evaluated with them read, [`InputReads::of`]).
    pub fn activation_reading<'a>(
        &'a self,
        req: &'a AdmissionRequest,
        reads: &'a InputReads,
    ) -> Result<Activation<'a>, String> {
        const NULL: &Value = &Value::Null;
        let object = match &self.converted {
            Some((o, _)) => o,
            None => req.object.as_ref().unwrap_or(NULL),
        };
        self.activation_with(req, object, reads)
    }

    /// The variables with `object` bound in place of the request's (the object as the
    /// mutations before have left it).
    pub fn activation_for<'a>(
        &'a self,
        req: &'a AdmissionRequest,
        object: &'a Value,
    ) -> Result<Activation<'a>, String> {
        self.activation_with(req, object, &WHOLE)
    }

    fn activation_with<'a>(
        &'a self,
        req: &'a AdmissionRequest,
        object: &'a Value,
        reads: &'a InputReads,
    ) -> Result<Activation<'a>, String> {
        const NULL: &Value = &Value::Null;
        let old = match &self.converted {
            Some((_, old)) => old,
            None => req.old_object.as_ref().unwrap_or(NULL),
        };
        let mut a = Activation::new();
        let e = |e: kcel::EvalError| e.to_string();
        if reads.in_place {
            // request_shape() converts as Shape::Any does (strings, lists, maps, a bool).
            a.bind_json(OBJECT, object, &reads.object);
            a.bind_json(OLD_OBJECT, old, &reads.old_object);
            a.bind_json(REQUEST, &self.request, &reads.request);
        } else {
            a.bind_reads(OBJECT, object, &Shape::Any, &reads.object).map_err(e)?;
            a.bind_reads(OLD_OBJECT, old, &Shape::Any, &reads.old_object).map_err(e)?;
            a.bind_reads(REQUEST, &self.request, request_shape(), &reads.request).map_err(e)?;
        }
        a.bind(NAMESPACE_OBJECT, &self.namespace, namespace_shape()).map_err(e)?;
        if !reads.authorizer {
            return Ok(a);
        }
        a.bind_cel(AUTHORIZER, kcel::authz::authorizer()).map_err(e)?;
        let requested = kcel::authz::request_resource(
            &req.group,
            &req.resource,
            &req.subresource,
            &req.namespace,
            &req.name,
        );
        a.bind_cel(REQUEST_RESOURCE, requested).map_err(e)?;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request.userInfo` is the admission review's, cut to what is read.
    #[test]
    fn user_info_is_the_reviews_with_what_is_read() {
        let mut user = apimachinery::UserInfo::new("jane", vec!["dev".to_string(), "ops".to_string()]);
        user.uid = "u-1".into();
        user.extra.insert("scopes".into(), vec!["a".into(), "b".into()]);
        let review = crate::webhook::review::user_info(&user, false);
        assert_eq!(user_info(&user, &Reads::WHOLE), review);
        let mut reads = Reads::nothing();
        reads.insert_path(&["username"]);
        assert_eq!(user_info(&user, &reads), json!({"username": "jane"}));
        let anonymous = apimachinery::UserInfo::new("", Vec::<String>::new());
        let review = crate::webhook::review::user_info(&anonymous, false);
        assert_eq!(user_info(&anonymous, &Reads::WHOLE), review);
    }
}
