//! [`FieldManager`]: kube's field manager as the API server calls it, the same pipeline of
//! managers around the updater (k8s.io/apimachinery `util/managedfields/internal`):
//!
//! - the managed fields come from the request's object when it sends valid ones (`[]` or
//!   `[{}]` resets them), else from the live object; a subresource always uses the live
//!   object's;
//! - an existing object that has no managed fields is not tracked by updates; an apply to
//!   it first records everything it holds as `before-first-apply`;
//! - update and apply entries are keyed by manager, operation, version (updates) and
//!   subresource, timestamped when they change something;
//! - server-owned metadata (name, uid, resourceVersion, ...) is never owned;
//! - past 10 update managers the oldest are folded into `ancient-changes`;
//! - an apply by `kubectl` whose conflicts are all with fields its client-side
//!   `last-applied-configuration` annotation holds unchanged is forced (client-side apply's
//!   upgrade path), and the annotation follows what `kubectl` applies.

use crate::managed::{Managed, ManagedFields, ManagerId, Operation, VersionedSet};
use crate::path::{path_string, PathElement};
use crate::schema::builtin::Builtin;
use crate::schema::{Deduced, Node, Schema};
use crate::set::Set;
use crate::typed::compare::compare;
use crate::typed::to_set::to_field_set;
use crate::typed::validate::{join_errors, validate};
use crate::updater::{Conflict, UpdateError, Updater};
use apimachinery::status::{CauseType, StatusCause, StatusDetails, StatusReason};
use apimachinery::Meta;
use apimachinery::StatusError;
use serde_json::{Map, Value};

/// Update managers kept before the oldest are merged into `ancient-changes`.
pub const MAX_UPDATE_MANAGERS: usize = 10;
/// The longest `fieldManager` kube accepts.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// kubectl's client-side apply annotation.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// kube's limit on the total size of an object's annotations.
const MAX_ANNOTATIONS_SIZE: usize = 256 * 1024;

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Fields other managers own would change (409 with one cause per field).
    Conflicts(Vec<Conflict>),
    /// The request is wrong (400).
    BadRequest(String),
    /// kube reports these as plain errors (500 without a reason): a configuration that does
    /// not fit the schema, a merge that fails.
    Failed(String),
}

impl ApplyError {
    /// The Status a client sees, with kube's texts.
    pub fn to_status(&self) -> StatusError {
        match self {
            Self::BadRequest(m) => StatusError::bad_request(m.clone()),
            Self::Failed(m) => StatusError {
                code: 500,
                reason: StatusReason::Unknown,
                message: m.clone(),
                details: None,
                continue_token: None,
            },
            Self::Conflicts(c) => conflict_status(c),
        }
    }
}

/// kube's `NewApplyConflict`: one `FieldManagerConflict` cause per field, and the message
/// grouping the fields by manager.
fn conflict_status(conflicts: &[Conflict]) -> StatusError {
    let causes = conflicts
        .iter()
        .map(|c| StatusCause {
            reason: CauseType::FieldManagerConflict,
            message: format!("conflict with {}", c.manager.describe()),
            field: path_string(&c.path),
        })
        .collect();
    let message = if let [one] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager.describe(),
            path_string(&one.path)
        )
    } else {
        let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
        for c in conflicts {
            let m = c.manager.describe();
            match by_manager.iter_mut().find(|(name, _)| *name == m) {
                Some((_, paths)) => paths.push(path_string(&c.path)),
                None => by_manager.push((m, vec![path_string(&c.path)])),
            }
        }
        by_manager.sort_by(|a, b| a.0.cmp(&b.0));
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
    };
    StatusError {
        code: 409,
        reason: StatusReason::Conflict,
        message,
        details: Some(Box::new(StatusDetails { causes, ..Default::default() })),
        continue_token: None,
    }
}

/// The field manager of one resource endpoint (kind, version, subresource).
pub struct FieldManager<'s> {
    schema: &'s dyn Schema,
    root: Node,
    group: String,
    version: String,
    kind: String,
    subresource: String,
    reset: Option<Set>,
}

/// The metadata kube never records as owned (`stripMeta`).
fn strip_set() -> &'static Set {
    static STRIP: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    STRIP.get_or_init(build_strip_set)
}

fn build_strip_set() -> Set {
    let mut s = Set::new();
    for p in [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ] {
        let path: Vec<PathElement> = p.iter().map(|f| PathElement::field(f)).collect();
        s.insert(&path);
    }
    s
}

impl FieldManager<'static> {
    /// The field manager of a kind: the built-in schema when kube has the kind, else the
    /// deduced schema (every map granular, every list atomic).
    pub fn for_kind(group: &str, version: &str, kind: &str, subresource: &str) -> Self {
        static BUILTIN: Builtin = Builtin;
        static DEDUCED: Deduced = Deduced;
        match Builtin::root(group, version, kind) {
            Some(root) => Self::new(&BUILTIN, root, group, version, kind, subresource),
            None => Self::new(&DEDUCED, Deduced::ROOT, group, version, kind, subresource),
        }
    }
}

impl<'s> FieldManager<'s> {
    pub fn new(
        schema: &'s dyn Schema,
        root: Node,
        group: &str,
        version: &str,
        kind: &str,
        subresource: &str,
    ) -> Self {
        Self {
            schema,
            root,
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            subresource: subresource.into(),
            reset: None,
        }
    }

    /// Fields this endpoint resets (kube's `GetResetFields`): changes to them are not
    /// recorded, e.g. `status` through the main resource, `spec` through `/status`.
    pub fn with_reset_fields(mut self, paths: &[&[&str]]) -> Self {
        let mut s = Set::new();
        for p in paths {
            let path: Vec<PathElement> = p.iter().map(|f| PathElement::field(f)).collect();
            s.insert(&path);
        }
        self.reset = Some(s);
        self
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn updater(&self) -> Updater<'_> {
        Updater { schema: self.schema, root: self.root, ignored: self.reset.as_ref() }
    }

    fn zero(&self) -> Value {
        self.schema.zero(self.root).unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// Records the fields a create (`live` `None`), update or non-apply patch sets in
    /// `new`'s `metadata.managedFields` for `manager` at time `now` (RFC 3339), as kube's
    /// `UpdateNoErrors`: never fails, managed fields are reset if they cannot be computed.
    pub fn update(&self, live: Option<&Value>, new: &mut Value, manager: &str, now: &str) {
        if live.is_none() && self.create(new, manager, now) {
            return;
        }
        let live_managed = || decode_of(live).unwrap_or_default();
        let managed = if !self.subresource.is_empty() {
            live_managed()
        } else {
            let sent = new.meta("managedFields");
            if is_reset(sent) {
                Managed::default()
            } else {
                match sent.and_then(Value::as_array).map(|a| Managed::decode(a)) {
                    Some(Ok(m)) if !m.fields.is_empty() => m,
                    _ => live_managed(),
                }
            }
        };
        set_managed_fields(new, None);
        // An existing object nobody tracks stays untracked.
        if managed.fields.is_empty() && live.is_some_and(has_uid) {
            return;
        }
        let zero;
        let live = match live {
            Some(l) => l,
            None => {
                zero = self.zero();
                &zero
            }
        };
        let managed = self.record_update(live, new, managed, manager, now);
        set_managed_fields(new, managed.into_entries());
    }

    /// A create by a client that sent no managed fields, recorded as [`Self::update`] would
    /// from the type's zero value, in one walk: the one entry of `manager` owns every field
    /// the object sets (no comparison with the empty zero value, no managers to take fields
    /// from). `false` when that does not hold (a subresource, managed fields sent, a
    /// non-empty zero value): the caller takes the general path.
    fn create(&self, new: &mut Value, manager: &str, now: &str) -> bool {
        if !self.subresource.is_empty() {
            return false;
        }
        let sent = new.meta("managedFields");
        if !(sent.is_none() || sent.is_some_and(Value::is_null) || is_reset(sent)) {
            return false;
        }
        if !self.zero().as_object().is_some_and(Map::is_empty) {
            return false;
        }
        let Some(fields) = crate::typed::created::created_fields_v1(
            self.schema,
            self.root,
            new,
            self.reset.as_ref(),
            strip_set(),
        ) else {
            return false;
        };
        let mut managed = Managed::default();
        if !fields.is_empty() {
            let id = ManagerId::new(manager, Operation::Update, &self.api_version(), &self.subresource);
            // Written as `fieldsV1` directly: the entry goes out at once, its set is never read.
            let mut vs = VersionedSet::new(crate::set::Set::new(), &self.api_version(), false);
            vs.raw = Some(Value::Object(fields));
            managed.fields.insert(id.clone(), vs);
            managed.times.insert(id, Some(now.to_string()));
        }
        set_managed_fields(new, managed.into_entries());
        true
    }

    /// The update managers' path: the change's fields go to `manager`'s update entry.
    fn record_update(
        &self,
        live: &Value,
        new: &Value,
        mut managed: Managed,
        manager: &str,
        now: &str,
    ) -> Managed {
        let id = ManagerId::new(manager, Operation::Update, &self.api_version(), &self.subresource);
        let set = self.updater().update(live, new, &mut managed.fields);
        let set = set.difference(strip_set());
        if !set.is_empty() {
            let set = match managed.fields.get(&id) {
                Some(prev) => set.union(&prev.set),
                None => set,
            };
            managed.fields.insert(id.clone(), VersionedSet::new(set, &self.api_version(), false));
            // kube's scale subresource carries its entries over from the Scale object it
            // converts, where they have no time (so they sort first).
            let time = (self.subresource != "scale").then(|| now.to_string());
            managed.times.insert(id, time);
        }
        managed.times.retain(|id, _| managed.fields.contains_key(id));
        cap_update_managers(&mut managed);
        managed
    }

    /// Applies the configuration `applied` for `manager` over `live` (`None`: the object
    /// does not exist yet); returns the object to store, its managed fields set.
    pub fn apply(
        &self,
        live: Option<Value>,
        applied: &Value,
        manager: &str,
        force: bool,
        now: &str,
    ) -> Result<Value, ApplyError> {
        // versionCheckManager
        let api_version = applied.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = applied.get("kind").and_then(Value::as_str).unwrap_or_default();
        if api_version != self.api_version() || kind != self.kind {
            let (g, v) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            return Err(ApplyError::BadRequest(format!("invalid object type: {g}/{v}, Kind={kind}")));
        }
        let mut live = live.unwrap_or_else(|| self.zero());
        // The managed fields come out of the object for the walk and are written back after.
        let entries =
            live.get_mut("metadata").and_then(Value::as_object_mut).and_then(|m| m.remove("managedFields"));
        let decode = |entries: Option<Value>| match entries {
            None | Some(Value::Null) => Ok(Managed::default()),
            Some(Value::Array(a)) => Managed::decode_owned(a),
            Some(_) => Err("managedFields is not a list".to_string()),
        };
        // Only kubectl's apply may need them a second time (the last-applied upgrade).
        let retry_entries = if manager == "kubectl" { entries.clone() } else { None };
        let managed = decode(entries)
            .map_err(|e| ApplyError::Failed(format!("failed to decode managed fields: {e}")))?;
        let id = ManagerId::new(manager, Operation::Apply, &self.api_version(), &self.subresource);
        // lastAppliedManager: kubectl's conflicts with what its client-side apply set are
        // not conflicts.
        let (object, managed) = match self.apply_tracked(&live, applied, managed, &id, force, now) {
            Err(ApplyError::Conflicts(conflicts)) if manager == "kubectl" => {
                let allowed = self.allowed_from_last_applied(&live);
                let rest: Vec<Conflict> = match &allowed {
                    Some(a) => conflicts.iter().filter(|c| !a.has(&c.path)).cloned().collect(),
                    None => conflicts,
                };
                if !rest.is_empty() {
                    return Err(ApplyError::Conflicts(rest));
                }
                let managed = decode(retry_entries).map_err(ApplyError::Failed)?;
                self.apply_tracked(&live, applied, managed, &id, true, now)?
            }
            other => other?,
        };
        let mut object = object.unwrap_or(live);
        // lastAppliedUpdater: kubectl's server-side apply keeps the annotation in step.
        if manager == "kubectl" && has_last_applied(&object) {
            set_last_applied(&mut object, applied);
        }
        set_managed_fields(&mut object, managed.into_entries());
        Ok(object)
    }

    /// skipNonApplied + the apply path through the updater; `None`: nothing changes.
    fn apply_tracked(
        &self,
        live: &Value,
        applied: &Value,
        mut managed: Managed,
        id: &ManagerId,
        force: bool,
        now: &str,
    ) -> Result<(Option<Value>, Managed), ApplyError> {
        if managed.fields.is_empty() {
            // Everything the object holds is owned by a manager for what came before.
            let zero = self.zero();
            managed = self.record_update(&zero, live, managed, "before-first-apply", now);
        }
        // structuredMergeManager
        if applied.meta("managedFields").is_some_and(|v| !v.is_null()) {
            return Err(ApplyError::BadRequest("metadata.managedFields must be nil".into()));
        }
        let errors = validate(self.schema, self.root, applied);
        if !errors.is_empty() {
            return Err(ApplyError::Failed(format!(
                "failed to create typed patch object ({}): {}",
                self.describe(applied),
                join_errors(&errors)
            )));
        }
        let out = self.updater().apply(live, applied, &self.api_version(), &mut managed.fields, id, force);
        let object = match out {
            Err(UpdateError::Conflicts(c)) => return Err(ApplyError::Conflicts(c)),
            Err(UpdateError::Merge(e)) => {
                return Err(ApplyError::Failed(format!("failed to merge config: {e}")))
            }
            Ok(Some(object)) => {
                managed.times.insert(id.clone(), Some(now.to_string()));
                Some(object)
            }
            Ok(None) => None,
        };
        if let Some(vs) = managed.fields.get_mut(id) {
            vs.set_fields(vs.set.difference(strip_set()));
            if vs.set.is_empty() {
                managed.fields.remove(id);
            }
        }
        managed.times.retain(|id, _| managed.fields.contains_key(id));
        Ok((object, managed))
    }

    /// `namespace/name; group/version, Kind=kind`, kube's `objectGVKNN`.
    fn describe(&self, obj: &Value) -> String {
        let meta = |k: &str| obj.meta(k).and_then(Value::as_str).unwrap_or_default();
        format!("{}/{}; {}/{}, Kind={}", meta("namespace"), meta("name"), self.group, self.version, self.kind)
    }

    /// The fields of the client-side apply annotation the live object still holds as
    /// written (kube's `allowedConflictsFromLastApplied`).
    fn allowed_from_last_applied(&self, live: &Value) -> Option<Set> {
        let text = live.meta("annotations")?.get(LAST_APPLIED)?.as_str().filter(|s| !s.is_empty())?;
        let last: Value = serde_json::from_str(text).ok()?;
        if last.get("apiVersion").and_then(Value::as_str) != Some(self.api_version().as_str()) {
            return None;
        }
        if !validate(self.schema, self.root, &last).is_empty() {
            return None;
        }
        let set = to_field_set(self.schema, self.root, &last);
        let cmp = compare(self.schema, self.root, &last, live);
        Some(set.difference(&cmp.modified).difference(&cmp.added).difference(&cmp.removed))
    }
}

fn decode_of(obj: Option<&Value>) -> Result<Managed, String> {
    match obj.and_then(|o| o.meta("managedFields")) {
        None | Some(Value::Null) => Ok(Managed::default()),
        Some(Value::Array(a)) => Managed::decode(a),
        Some(_) => Err("managedFields is not a list".into()),
    }
}

/// `[]` and `[{}]` reset the managed fields (kube's `isResetManagedFields`).
fn is_reset(sent: Option<&Value>) -> bool {
    match sent.and_then(Value::as_array).map(Vec::as_slice) {
        Some([]) => true,
        Some([Value::Object(e)]) => e.values().all(|v| v.is_null() || v == ""),
        _ => false,
    }
}

fn has_uid(obj: &Value) -> bool {
    obj.meta("uid").and_then(Value::as_str).is_some_and(|u| !u.is_empty())
}

fn set_managed_fields(obj: &mut Value, entries: Option<Value>) {
    let Some(o) = obj.as_object_mut() else { return };
    match entries {
        Some(e) => {
            let meta = o.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
            if let Some(m) = meta.as_object_mut() {
                m.insert("managedFields".into(), e);
            }
        }
        None => {
            if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
        }
    }
}

fn has_last_applied(obj: &Value) -> bool {
    obj.meta("annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Sets the annotation to the applied configuration (without the annotation itself), or
/// drops it when the annotations would grow past kube's limit.
fn set_last_applied(obj: &mut Value, applied: &Value) {
    let mut config = applied.clone();
    if let Some(a) = config.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        a.remove(LAST_APPLIED);
    }
    // As Go's JSON encoder writes an unstructured object: keys sorted, a newline at the end.
    let text = format!("{}\n", apimachinery::status::go_json(&sorted(&config)));
    let Some(annotations) = obj.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) else {
        return;
    };
    annotations.insert(LAST_APPLIED.into(), Value::String(text));
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if size > MAX_ANNOTATIONS_SIZE {
        annotations.remove(LAST_APPLIED);
    }
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// kube's `capManagersManager`: past the limit, the oldest update managers of a version
/// are merged into one `ancient-changes` entry per version.
fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<ManagerId> =
        managed.fields.iter().filter(|(_, vs)| !vs.applied).map(|(id, _)| id.clone()).collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    let secs = |id: &ManagerId| crate::managed::unix_seconds(managed.times.get(id).and_then(Option::as_ref));
    updaters.sort_by(|a, b| secs(a).cmp(&secs(b)).then_with(|| a.cmp(b)));
    let mut first_of_version: Vec<(String, ManagerId)> = Vec::new();
    let mut length = updaters.len();
    for id in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(vs) = managed.fields.get(&id).cloned() else { continue };
        let time = managed.times.get(&id).cloned().flatten();
        let bucket = ManagerId::new("ancient-changes", Operation::Update, &vs.api_version, "");
        match first_of_version.iter().find(|(v, _)| *v == vs.api_version).map(|(_, f)| f.clone()) {
            Some(first) => {
                if !managed.fields.contains_key(&bucket) {
                    if let Some(s) = managed.fields.remove(&first) {
                        managed.fields.insert(bucket.clone(), s);
                    }
                    managed.times.remove(&first);
                }
                let merged = match managed.fields.get(&bucket) {
                    Some(b) => vs.set.union(&b.set),
                    None => vs.set.clone(),
                };
                managed.fields.insert(bucket.clone(), VersionedSet::new(merged, &vs.api_version, false));
                managed.fields.remove(&id);
                managed.times.remove(&id);
                managed.times.insert(bucket, time);
                length -= 1;
            }
            None => first_of_version.push((vs.api_version.clone(), id)),
        }
    }
}

/// kube's `ValidateFieldManager`: at most 128 bytes, printable characters only. Returns the
/// causes of a 422 on `fieldManager`.
pub fn validate_field_manager(manager: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        causes.push(StatusCause {
            reason: CauseType::FieldValueTooLong,
            message: format!("Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"),
            field: "fieldManager".into(),
        });
    }
    for (i, c) in manager.char_indices() {
        if !is_print(c) {
            causes.push(StatusCause {
                reason: CauseType::FieldValueInvalid,
                message: format!(
                    "Invalid value: {}: invalid character U+{:04X} (at position {i})",
                    apimachinery::status::quote(manager),
                    c as u32
                ),
                field: "fieldManager".into(),
            });
        }
    }
    causes
}

/// The manager of a request without `fieldManager`: the User-Agent up to its first `/`,
/// without unprintable characters, at most 128 bytes (kube's `prefixFromUserAgent`).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or_default();
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_print(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint`, near enough: no control characters, the ASCII space allowed.
fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace())
}

/// Every member of the managed fields, for tests and diagnostics: `manager: paths`.
pub fn describe_managed(fields: &ManagedFields) -> Vec<String> {
    fields
        .iter()
        .map(|(id, vs)| {
            let paths: Vec<String> = vs.set.paths().iter().map(|p| path_string(p)).collect();
            format!("{}: {}", id.manager, paths.join(" "))
        })
        .collect()
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
