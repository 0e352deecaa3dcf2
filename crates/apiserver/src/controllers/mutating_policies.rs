//! MutatingAdmissionPolicies and their bindings, fed to the MutatingAdmissionPolicy
//! admission plugin when it is enabled (a re-list replaces them all; a policy is compiled
//! again only when its generation changes). The policies have no status to keep.

use super::Controller;
use crate::informer::{Event, Informer, InitBuffer};
use crate::state::State;
use admission::policy::mutating::MutatingPolicySet;
use std::sync::Arc;

const GROUP: &str = "admissionregistration.k8s.io";
/// The stored version (v1alpha1 objects are the same, under the same keys).
const VERSION: &str = "v1beta1";
const RESOURCES: &[&str] = &["mutatingadmissionpolicies", "mutatingadmissionpolicybindings"];

struct MutatingPolicies {
    set: Arc<MutatingPolicySet>,
    init: InitBuffer,
}

#[async_trait::async_trait]
impl Controller for MutatingPolicies {
    async fn handle(&mut self, event: Event) {
        if let Some(listed) = self.init.feed(&event) {
            self.set.replace_all(listed.iter());
            return;
        }
        match event {
            Event::Apply(obj) => self.set.apply(&obj),
            Event::Delete(obj) => self.set.remove(&obj),
            _ => {}
        }
    }
}

/// Feeds the plugin from the first list on; nothing to do when it is disabled.
pub async fn start(state: &State) -> Result<(), String> {
    let Some(set) = state.admission.mutating_policies() else { return Ok(()) };
    let types: Vec<_> = RESOURCES.iter().filter_map(|r| state.catalog.lookup(GROUP, VERSION, r)).collect();
    if types.len() != RESOURCES.len() {
        return Err("the catalog serves no MutatingAdmissionPolicies".into());
    }
    let informer = Informer::new(state.objects.clone(), "mutating-admission-policies", types);
    super::run(informer, MutatingPolicies { set, init: InitBuffer::default() }).await;
    Ok(())
}
