//! The admission interfaces (k8s.io/apiserver `pkg/admission/interfaces.go`): the operation, the
//! request attributes a plugin sees, the mutating and validating plugin traits, and the store
//! lookups plugins may make (`AdmissionContext`).

use apimachinery::status::StatusCause;
use apimachinery::{GroupResource, StatusError, StatusReason, UserInfo};
use async_trait::async_trait;
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The kind of write being admitted (`admission.Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    /// The upper-case name kube prints and sends in an AdmissionReview (`CREATE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a plugin knows about one request (`admission.Attributes`).
///
/// The request owns its objects: the server builds it after decoding and defaulting, runs the
/// chain, then takes `object` back (mutated by the mutating phase) and stores it.
#[derive(Debug)]
pub struct AdmissionRequest {
    pub operation: Operation,
    /// API group of the resource (`""` for core, `apps`).
    pub group: String,
    /// API version of the resource.
    pub version: String,
    /// The object's Kind (`Pod`), or the subresource's kind (`Eviction`, `TokenRequest`).
    pub kind: String,
    /// Group and version of `kind` (differ from the resource's for some subresources:
    /// `policy/v1` Eviction on `pods/eviction`).
    pub kind_group: String,
    pub kind_version: String,
    /// Plural resource name (`pods`).
    pub resource: String,
    pub subresource: String,
    /// Empty for cluster-scoped resources.
    pub namespace: String,
    /// Request name; may be empty on create (then taken from the object, see `object_name`).
    pub name: String,
    /// The new object (create, update, connect options); `None` on delete.
    pub object: Option<Value>,
    /// The stored object on update and delete.
    pub old_object: Option<Value>,
    pub user: UserInfo,
    pub dry_run: bool,
    /// `CreateOptions` / `UpdateOptions` / `DeleteOptions` as sent to webhooks (may be `Null`).
    pub options: Value,
    warnings: Mutex<Vec<String>>,
    annotations: Mutex<Vec<(String, String)>>,
    /// kube's reinvocation context: the mutating phase's second round.
    pub reinvocation: Reinvocation,
}

/// What the mutating phase records for its second round (kube's `ReinvocationContext`
/// with the webhook plugin's `webhookReinvokeContext`): the chain runs the mutating plugins
/// again when a webhook changed the object, and in that round the webhook plugin calls only
/// the `reinvocationPolicy: IfNeeded` webhooks that ran before a change.
#[derive(Debug, Default)]
pub struct Reinvocation {
    /// A webhook changed the object: the mutating plugins run once more.
    pub should_reinvoke: bool,
    /// This is the second round.
    pub is_reinvoke: bool,
    /// The object as the webhook plugin left it, while `IfNeeded` webhooks were called.
    pub last_webhook_output: Option<Value>,
    /// Webhooks (configuration/name) with `IfNeeded` called since the last change.
    pub previously_invoked: Vec<String>,
    /// Webhooks to call in the second round.
    pub reinvoke: Vec<String>,
    /// The MutatingAdmissionPolicy plugin's part.
    pub policies: PolicyReinvocation,
}

/// kube's `policyReinvokeContext`: what the MutatingAdmissionPolicy plugin remembers
/// between the two rounds, by invocation key (policy, binding and param).
#[derive(Debug, Default)]
pub struct PolicyReinvocation {
    /// The object as the plugin last left it (`None` before it first ran).
    pub last_output: Option<Option<Value>>,
    /// Invocations with `reinvocationPolicy: IfNeeded` made since the last change.
    pub previously_invoked: Vec<String>,
    /// Invocations to make in the second round.
    pub reinvoke: Vec<String>,
}

impl PolicyReinvocation {
    /// The object changed: every `IfNeeded` invocation made before is to be made again.
    pub fn require_reinvoking_previously_invoked(&mut self) {
        for key in self.previously_invoked.drain(..) {
            if !self.reinvoke.contains(&key) {
                self.reinvoke.push(key);
            }
        }
    }
}

impl Reinvocation {
    /// The object changed: every `IfNeeded` webhook called before is to be called again.
    pub fn require_reinvoking_previously_invoked(&mut self) {
        for id in self.previously_invoked.drain(..) {
            if !self.reinvoke.contains(&id) {
                self.reinvoke.push(id);
            }
        }
    }
}

impl AdmissionRequest {
    /// A request with no object, no subresource and no warnings; fill the rest with the setters.
    /// `gvk` gives the resource's group and version and the object's kind.
    pub fn new(
        operation: Operation,
        gvk: (&str, &str, &str),
        resource: &str,
        namespace: &str,
        name: &str,
        user: UserInfo,
    ) -> Self {
        Self {
            operation,
            group: gvk.0.to_string(),
            version: gvk.1.to_string(),
            kind: gvk.2.to_string(),
            kind_group: gvk.0.to_string(),
            kind_version: gvk.1.to_string(),
            resource: resource.to_string(),
            subresource: String::new(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            object: None,
            old_object: None,
            user,
            dry_run: false,
            options: Value::Null,
            warnings: Mutex::new(Vec::new()),
            annotations: Mutex::new(Vec::new()),
            reinvocation: Reinvocation::default(),
        }
    }

    pub fn with_object(mut self, object: Value) -> Self {
        self.object = Some(object);
        self
    }

    pub fn with_old_object(mut self, old: Value) -> Self {
        self.old_object = Some(old);
        self
    }

    /// Sets the kind when its group/version differ from the resource's.
    pub fn with_kind(mut self, group: &str, version: &str, kind: &str) -> Self {
        self.kind_group = group.to_string();
        self.kind_version = version.to_string();
        self.kind = kind.to_string();
        self
    }

    pub fn with_subresource(mut self, subresource: &str) -> Self {
        self.subresource = subresource.to_string();
        self
    }

    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The resource as kube qualifies it in messages (`pods`, `deployments.apps`).
    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(self.group.clone(), self.resource.clone())
    }

    /// Whether this request is for `group`/`resource` with no subresource.
    pub fn is(&self, group: &str, resource: &str) -> bool {
        self.group == group && self.resource == resource && self.subresource.is_empty()
    }

    /// The name `admission.NewForbidden` uses: the request name, else the object's
    /// `metadata.name`, else its `generateName`, else `Unknown`.
    pub fn object_name(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        let meta = self.object.as_ref().and_then(|o| o.get("metadata"));
        for key in ["name", "generateName"] {
            if let Some(n) = meta.and_then(|m| m.get(key)).and_then(Value::as_str) {
                if !n.is_empty() {
                    return n.to_string();
                }
            }
        }
        "Unknown".to_string()
    }

    /// `admission.NewForbidden(a, err)`: 403 on this request's resource and name. An error that
    /// is already a Forbidden Status should be returned as is instead (kube does the same).
    pub fn forbidden(&self, err: impl fmt::Display) -> StatusError {
        StatusError::forbidden(&self.group_resource(), &self.object_name(), &err.to_string())
    }

    /// `forbidden` for an error that may already be a Status: a Forbidden one passes unchanged,
    /// any other becomes the inner text of a new Forbidden.
    pub fn forbidden_from(&self, err: StatusError) -> StatusError {
        if err.is_forbidden() {
            err
        } else {
            self.forbidden(err.message)
        }
    }

    /// A forbidden error carrying one cause, as kube's NamespaceLifecycle does.
    pub fn forbidden_with_cause(&self, err: &str, cause: StatusCause) -> StatusError {
        let mut e = self.forbidden(err);
        if let Some(d) = e.details.as_mut() {
            d.causes.push(cause);
        }
        e
    }

    /// Adds a warning for the `Warning` response header (kube's `warning.AddWarning`).
    pub fn add_warning(&self, text: impl Into<String>) {
        if let Ok(mut w) = self.warnings.lock() {
            let text = text.into();
            if !w.contains(&text) {
                w.push(text);
            }
        }
    }

    /// Warnings added so far, in order, without duplicates.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Adds an annotation for the request's audit event (kube's `AddAnnotation`): a key
    /// already set keeps its value, and setting it to another value is an error.
    pub fn add_annotation(&self, key: &str, value: impl Into<String>) -> Result<(), String> {
        let value = value.into();
        let Ok(mut a) = self.annotations.lock() else { return Ok(()) };
        match a.iter().find(|(k, _)| k == key) {
            Some((_, v)) if *v == value => Ok(()),
            Some((_, v)) => Err(format!(
                "admission annotations are not allowd to be overwritten, key:{key:?}, old value: {v:?}, new value:{value:?}"
            )),
            None => {
                a.push((key.to_string(), value));
                Ok(())
            }
        }
    }

    /// The audit annotations added so far, in order.
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.annotations.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The object's `metadata.labels` (new object, else old).
    pub fn labels(&self) -> Option<&Value> {
        self.object.as_ref().or(self.old_object.as_ref())?.get("metadata")?.get("labels")
    }
}

/// Store lookups and writes that plugins need. The server implements it over its storage; the
/// `testing` module has an in-memory one. `namespace` is empty for cluster-scoped resources (and
/// for `list`, empty means every namespace).
#[async_trait]
pub trait AdmissionContext: Send + Sync {
    /// One object, or `None` when it does not exist.
    async fn get(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, StatusError>;

    /// Every object of a resource in a namespace (or all namespaces when `namespace` is empty).
    async fn list(&self, group: &str, resource: &str, namespace: &str) -> Result<Vec<Value>, StatusError>;

    /// Replaces the `status` of an object (the `/status` subresource), only if the object's
    /// `metadata.resourceVersion` still equals the one in `object` (compare-and-swap): otherwise
    /// a 409 Conflict. Returns the stored object with its new resourceVersion.
    async fn update_status(
        &self,
        group: &str,
        resource: &str,
        namespace: &str,
        object: Value,
    ) -> Result<Value, StatusError>;

    /// Whether the server's authorizer allows `attrs` (the certificate plugins ask it, as
    /// kube's plugins ask the server's authorizer).
    async fn authorize(&self, attrs: &apimachinery::Attributes) -> bool;

    /// The resources (plural names) a kind is served as in a group and version: kube's
    /// RESTMapper, which OwnerReferencesPermissionEnforcement asks about an owner's kind.
    /// Empty when the kind is not served.
    fn resources_for_kind(&self, _group: &str, _version: &str, _kind: &str) -> Vec<String> {
        Vec::new()
    }
    /// The server authorizer's full answer: allowed, its reason and any error (the CEL
    /// authorizer library reports all three).
    async fn authorize_verdict(&self, attrs: &apimachinery::Attributes) -> AuthzVerdict {
        AuthzVerdict { allowed: self.authorize(attrs).await, reason: String::new(), error: None }
    }

    /// The resource serving `kind` in `group`/`version` (a policy's `paramKind`), if any.
    fn resource_for_kind(&self, _group: &str, _version: &str, _kind: &str) -> Option<KindResource> {
        None
    }

    /// The other resources whose objects are the same as those of `group`/`resource`
    /// (kube's equivalent resource mapper: another version of a custom resource, events
    /// of either group), for rules with `matchPolicy: Equivalent`.
    fn equivalent_resources(&self, _group: &str, _resource: &str) -> Vec<KindResource> {
        Vec::new()
    }

    /// `object` as an object of `to` (its version or group differs); `None` when it
    /// cannot be converted.
    fn convert(&self, _object: &Value, _to: &KindResource) -> Option<Value> {
        None
    }

    /// The structured-merge-diff type of objects of a kind (kube's type converter, which
    /// MutatingAdmissionPolicy's ApplyConfiguration merges along): the built-in kinds'
    /// here; the server adds custom resources'. `None` when the kind has none.
    fn object_schema(&self, group: &str, version: &str, kind: &str) -> Option<ObjectSchema> {
        let root = fieldmanager::schema::builtin::Builtin::root(group, version, kind)?;
        Some(ObjectSchema { schema: Arc::new(fieldmanager::schema::builtin::Builtin), root })
    }

    /// An object a mutating admission policy changed, as kube takes it back: decoded into
    /// its kind (with `strict`, an unknown field is an error: kube's 500 `strict decoding
    /// error`) and defaulted.
    fn admit_mutated(
        &self,
        _kind: &KindResource,
        object: Value,
        _strict: bool,
    ) -> Result<Value, StatusError> {
        Ok(object)
    }
}

/// A kind's type tree for structured merges.
#[derive(Clone)]
pub struct ObjectSchema {
    pub schema: Arc<dyn fieldmanager::Schema>,
    pub root: fieldmanager::Node,
}

impl fmt::Debug for ObjectSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectSchema").field("root", &self.root).finish()
    }
}

/// An authorizer's answer as the admission plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzVerdict {
    pub allowed: bool,
    pub reason: String,
    pub error: Option<String>,
}

/// A served resource with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindResource {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
    pub namespaced: bool,
}

/// A plugin that may change the object (`admission.MutationInterface`).
#[async_trait]
pub trait MutatingPlugin: Send + Sync {
    /// The plugin's registered name (`LimitRanger`).
    fn name(&self) -> &'static str;
    /// Whether the plugin acts on this operation at all.
    fn handles(&self, op: Operation) -> bool;
    async fn admit(&self, req: &mut AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError>;
}

/// A plugin that may only accept or reject (`admission.ValidationInterface`).
#[async_trait]
pub trait ValidatingPlugin: Send + Sync {
    fn name(&self) -> &'static str;
    fn handles(&self, op: Operation) -> bool;
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError>;
}

/// An error a kube plugin returns without making it a Status (a bare `fmt.Errorf`), as
/// kube-apiserver answers it (`ErrorToAPIStatus`, k8s.io/apiserver `pkg/endpoints/handlers/
/// responsewriters/status.go`): 500, no reason, the error's text as the message.
pub(crate) fn plain_error(message: impl Into<String>) -> StatusError {
    StatusError {
        code: 500,
        reason: StatusReason::Unknown,
        message: message.into(),
        details: None,
        continue_token: None,
    }
}

/// Reads a string at a JSON path of object keys.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

/// The value at a JSON path of object keys.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    if cur.is_null() {
        None
    } else {
        Some(cur)
    }
}

/// The array at a JSON path, or an empty slice.
pub(crate) fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_name_falls_back_like_kube() {
        let u = UserInfo::new("u", vec![]);
        let r = AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", u.clone())
            .with_object(json!({"metadata": {"generateName": "web-"}}));
        assert_eq!(r.object_name(), "web-");
        let r = AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", u);
        assert_eq!(r.object_name(), "Unknown");
        assert_eq!(r.forbidden("nope").message, "pods \"Unknown\" is forbidden: nope");
    }

    #[test]
    fn warnings_are_deduplicated() {
        let r = AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "Pod"),
            "pods",
            "ns",
            "p",
            UserInfo::default(),
        );
        r.add_warning("a");
        r.add_warning("a");
        r.add_warning("b");
        assert_eq!(r.warnings(), vec!["a", "b"]);
    }
}
