//! CustomResourceDefinitions, as apiextensions-apiserver's controllers: names
//! (`NamesAccepted`, `acceptedNames`), establishing (`Established`; the catalog serves the
//! CRD's versions and discovery and OpenAPI are built again), `storedVersions`, and the
//! finalizer that deletes a CRD's objects before the CRD goes (`Terminating`).

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::custom::{versions_from_crd, CLEANUP_FINALIZER};
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often terminating CRDs are looked at again while their objects are being deleted.
pub const RESYNC: Duration = Duration::from_secs(1);

struct Crds {
    state: State,
    /// [`RESYNC`] but in tests that show what happens on events alone.
    resync: Duration,
    crds: &'static ResourceType,
    /// The CRDs known, by name.
    known: BTreeMap<String, Value>,
    /// Names listed during a (re-)list, to forget the CRDs that went meanwhile.
    listing: Option<Vec<String>>,
    /// What each served CRD was compiled from (spec and accepted names): a CRD is compiled
    /// again (schemas, CEL rules) only when that changes.
    compiled_from: BTreeMap<String, Value>,
}

#[async_trait::async_trait]
impl Controller for Crds {
    async fn handle(&mut self, event: Event) {
        match event {
            Event::Init => self.listing = Some(Vec::new()),
            Event::InitApply(o) => {
                if let Some(l) = self.listing.as_mut() {
                    l.push(name_of(&o).1.to_string());
                }
                self.known.insert(name_of(&o).1.to_string(), o);
            }
            Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                self.known.retain(|k, _| listed.contains(k));
                self.sync_all().await;
            }
            Event::Apply(o) => {
                let name = name_of(&o).1.to_string();
                self.known.insert(name.clone(), o);
                self.sync_all().await;
                // A CRD marked for deletion is cleaned up on its event, as kube's finalizer
                // controller does (one with no objects is gone within milliseconds); the
                // resync only comes back to CRDs whose objects are still going.
                let terminating = self
                    .known
                    .get(&name)
                    .filter(|c| c.pointer("/metadata/deletionTimestamp").is_some())
                    .cloned();
                if let Some(crd) = terminating {
                    self.finalize(&crd).await;
                }
            }
            Event::Delete(o) => {
                self.known.remove(name_of(&o).1);
                self.sync_all().await;
            }
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(self.resync)
    }

    async fn resync(&mut self) {
        let terminating: Vec<Value> = self
            .known
            .values()
            .filter(|c| c.pointer("/metadata/deletionTimestamp").is_some())
            .cloned()
            .collect();
        for crd in terminating {
            self.finalize(&crd).await;
        }
    }
}

fn condition(type_: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": if status { "True" } else { "False" }, "reason": reason, "message": message})
}

/// Names of a CRD as it asks for them, with kube's defaults.
fn wanted_names(crd: &Value) -> Value {
    let mut names = crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({}));
    let kind = names.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    if names.get("listKind").and_then(Value::as_str).unwrap_or_default().is_empty() {
        names["listKind"] = json!(format!("{kind}List"));
    }
    if names.get("singular").and_then(Value::as_str).unwrap_or_default().is_empty() {
        names["singular"] = json!(kind.to_lowercase());
    }
    names
}

fn name_list(names: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (what, key) in
        [("plural", "plural"), ("singular", "singular"), ("kind", "kind"), ("listKind", "listKind")]
    {
        if let Some(v) = names.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
            out.push((what, v.to_string()));
        }
    }
    for s in names.get("shortNames").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    {
        out.push(("shortNames", s.to_string()));
    }
    out
}

impl Crds {
    /// Brings every known CRD's status and the catalog in line with the CRDs.
    async fn sync_all(&mut self) {
        let mut served = false;
        let names: Vec<String> = self.known.keys().cloned().collect();
        // CRDs with accepted names first (oldest wins a conflict, as kube's naming controller).
        let mut order: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                let c = &self.known[n];
                let ts = c.pointer("/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or_default();
                (ts.to_string(), n.clone())
            })
            .collect();
        order.sort();
        let mut taken: Vec<(String, &'static str, String)> = Vec::new();
        let mut statuses: Vec<(String, Value)> = Vec::new();
        for (_, name) in &order {
            let crd = &self.known[name];
            let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default().to_string();
            let wanted = wanted_names(crd);
            let mut conflict = None;
            for (what, value) in name_list(&wanted) {
                let builtin = self.state.catalog.all().into_iter().any(|r| {
                    !r.custom
                        && r.group == group
                        && match what {
                            "plural" => r.plural == value,
                            "kind" => r.kind == value,
                            "shortNames" => r.short_names.contains(&value.as_str()),
                            _ => false,
                        }
                });
                let other = taken.iter().any(|(g, w, v)| {
                    *g == group && *v == value && (*w == what || what == "kind" || what == "listKind")
                });
                if builtin || other {
                    conflict = Some((what, value));
                    break;
                }
            }
            let mut status = crd.get("status").cloned().unwrap_or_else(|| json!({}));
            if !status.is_object() {
                status = json!({});
            }
            match &conflict {
                None => {
                    for (what, value) in name_list(&wanted) {
                        taken.push((group.clone(), what, value));
                    }
                    status["acceptedNames"] = wanted.clone();
                    set_condition(
                        &mut status,
                        condition("NamesAccepted", true, "NoConflicts", "no conflicts found"),
                    );
                    set_condition(
                        &mut status,
                        condition(
                            "Established",
                            true,
                            "InitialNamesAccepted",
                            "the initial names have been accepted",
                        ),
                    );
                }
                Some((what, value)) => {
                    let reason = match *what {
                        "plural" => "PluralConflict",
                        "singular" => "SingularConflict",
                        "kind" => "KindConflict",
                        "listKind" => "ListKindConflict",
                        _ => "ShortNamesConflict",
                    };
                    let message = format!("{} is already in use", apimachinery::quote::go_quote(value));
                    set_condition(&mut status, condition("NamesAccepted", false, reason, &message));
                    if !has_condition(&status, "Established", "True") {
                        set_condition(
                            &mut status,
                            condition("Established", false, "NotAccepted", "not all names are accepted"),
                        );
                    }
                }
            }
            if let Some(storage) = crd
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .and_then(|v| v.get("name").cloned())
            {
                if !status["storedVersions"].is_array() {
                    status["storedVersions"] = json!([]);
                }
                if let Some(sv) = status["storedVersions"].as_array_mut() {
                    if !sv.contains(&storage) {
                        sv.push(storage);
                    }
                }
            }
            if crd.pointer("/metadata/deletionTimestamp").is_some() {
                set_condition(
                    &mut status,
                    condition(
                        "Terminating",
                        true,
                        "InstanceDeletionInProgress",
                        "CustomResource deletion is in progress",
                    ),
                );
            }
            statuses.push((name.clone(), status));
        }
        // Serve what is established.
        let mut wanted_crds = Vec::new();
        for (name, status) in &statuses {
            if !has_condition(status, "Established", "True") {
                continue;
            }
            let mut crd = self.known[name].clone();
            crd["status"] = status.clone();
            match versions_from_crd(&crd) {
                Ok(versions) => {
                    wanted_crds.push(name.clone());
                    let changed = self.state.catalog.custom().set_if_changed(name, versions);
                    served |= changed;
                }
                Err(e) => {
                    tracing::warn!(crd = %name, error = %e, "cannot serve the CustomResourceDefinition")
                }
            }
        }
        for gone in self.state.catalog.custom().crd_names() {
            if !wanted_crds.contains(&gone) {
                self.state.catalog.custom().remove(&gone);
                self.compiled_from.remove(&gone);
                served = true;
            }
        }
        // Discovery at once and the conditions next, as kube's handlers serve a CRD and its
        // discovery as soon as it is established; the OpenAPI documents are built again on a
        // blocking thread, which the conditions do not wait for.
        if served {
            crate::state::refresh_documents(&self.state);
        }
        for (name, status) in statuses {
            self.write_status(&name, status).await;
        }
    }

    /// Writes a CRD's status when it changed (the informer brings the result back).
    async fn write_status(&mut self, name: &str, mut status: Value) {
        let Some(crd) = self.known.get(name) else { return };
        let old = crd.get("status").cloned().unwrap_or_else(|| json!({}));
        stamp_transitions(&mut status, &old);
        if status == old {
            return;
        }
        let mut updated = crd.clone();
        updated["status"] = status;
        // kube's apiextensions controllers write the status as kube-apiserver.
        crate::rest::field_manager::record_internal_update(
            self.crds,
            crd,
            &mut updated,
            "kube-apiserver",
            "status",
        );
        let expected =
            crd.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        match self.state.objects.update(self.crds, "", name, &updated, expected).await {
            Ok(stored) => {
                self.known.insert(name.to_string(), stored);
            }
            Err(e) => {
                tracing::debug!(crd = name, error = %e.message, "CRD changed meanwhile; retried on its event")
            }
        }
    }

    /// Deletes a terminating CRD's objects, then drops the cleanup finalizer.
    async fn finalize(&mut self, crd: &Value) {
        let name = name_of(crd).1.to_string();
        let has_finalizer = crd
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| x == CLEANUP_FINALIZER));
        if !has_finalizer {
            return;
        }
        let rt = self.state.catalog.custom().owner_type(&name);
        if let Some(rt) = rt {
            match self.delete_objects(rt).await {
                Ok(0) => {}
                Ok(left) => {
                    tracing::debug!(crd = %name, left, "waiting for custom resources to go");
                    return;
                }
                Err(e) => {
                    tracing::warn!(crd = %name, error = %e, "cannot delete the custom resources");
                    return;
                }
            }
        }
        let mut updated = crd.clone();
        if let Some(f) = updated.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) {
            f.retain(|x| x != CLEANUP_FINALIZER);
        }
        let expected =
            crd.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
        let last =
            updated.pointer("/metadata/finalizers").and_then(Value::as_array).is_none_or(|f| f.is_empty());
        let result = if last {
            self.state.objects.delete(self.crds, "", &name, expected).await.map(|_| ())
        } else {
            self.state.objects.update(self.crds, "", &name, &updated, expected).await.map(|_| ())
        };
        match result {
            Ok(()) => tracing::info!(crd = %name, "custom resources deleted; cleanup finalizer removed"),
            Err(e) => tracing::debug!(crd = %name, error = %e.message, "CRD changed meanwhile; retried"),
        }
    }

    /// Deletes (or marks for deletion, when they have finalizers) every object of `rt`;
    /// returns how many are left.
    async fn delete_objects(&self, rt: &'static ResourceType) -> Result<usize, String> {
        let objects: &Objects = &self.state.objects;
        let (items, _) = objects.list_all(rt, "").await.map_err(|e| e.message)?;
        let mut left = 0;
        for obj in &items {
            let (ns, name) = name_of(obj);
            let expected =
                obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
            let finalizers =
                obj.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
            if !finalizers {
                if let Err(e) = objects.delete(rt, ns, name, expected).await {
                    if !e.is_not_found() {
                        left += 1;
                    }
                }
                continue;
            }
            left += 1;
            if obj.pointer("/metadata/deletionTimestamp").is_none() {
                let mut marked = obj.clone();
                marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                let _ = objects.update(rt, ns, name, &marked, expected).await;
            }
        }
        Ok(left)
    }
}

fn has_condition(status: &Value, type_: &str, value: &str) -> bool {
    status.get("conditions").and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some(type_)
            && c.get("status").and_then(Value::as_str) == Some(value)
    })
}

fn set_condition(status: &mut Value, cond: Value) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let Some(list) = status["conditions"].as_array_mut() else { return };
    match list.iter_mut().find(|c| c.get("type") == cond.get("type")) {
        Some(existing) => {
            for k in ["status", "reason", "message"] {
                existing[k] = cond[k].clone();
            }
        }
        None => list.push(cond),
    }
}

/// Keeps `lastTransitionTime` of conditions whose status did not change; stamps the others.
fn stamp_transitions(status: &mut Value, old: &Value) {
    let now = now_rfc3339();
    let Some(list) = status.get_mut("conditions").and_then(Value::as_array_mut) else { return };
    for c in list {
        let before = old
            .get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("type") == c.get("type"));
        match before {
            Some(b) if b.get("status") == c.get("status") && b.get("lastTransitionTime").is_some() => {
                c["lastTransitionTime"] = b["lastTransitionTime"].clone();
            }
            _ => c["lastTransitionTime"] = json!(now),
        }
    }
}

/// Starts the CRD controller; the CRDs stored at start are served before this returns.
pub async fn start(state: &State, resync: Duration) -> Result<(), String> {
    let crds = state
        .catalog
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or("the catalog serves no CustomResourceDefinitions")?;
    let informer = Informer::new(state.objects.clone(), "crds", vec![crds]);
    let controller = Crds {
        state: state.clone(),
        resync,
        crds,
        known: BTreeMap::new(),
        listing: None,
        compiled_from: BTreeMap::new(),
    };
    super::run(informer, controller).await;
    Ok(())
}
