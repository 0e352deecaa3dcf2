//! API Priority and Fairness configuration, as kube-apiserver's APF config controller follows
//! it: FlowSchemas and PriorityLevelConfigurations feed the request classification
//! ([`crate::limits::flowcontrol`], replaced whole on every change), and each FlowSchema's
//! status says whether its priority level exists (the `Dangling` condition: `False`/`Found`,
//! or `True`/`NotFound`), written when it changes.

use super::Controller;
use crate::informer::{name_of, Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::HashSet;

/// kube's APF config consumer's field manager (`ConfigConsumerAsFieldManager`).
const CONSUMER: &str = "api-priority-and-fairness-config-consumer-v1";

struct FlowControlConfig {
    state: State,
    objects: Objects,
    flow_schemas: &'static ResourceType,
    priority_levels: &'static ResourceType,
}

/// The Dangling condition a FlowSchema should have, given the priority levels that exist.
pub(crate) fn dangling(fs: &Value, levels: &HashSet<String>) -> (&'static str, &'static str, String) {
    let level =
        fs.pointer("/spec/priorityLevelConfiguration/name").and_then(Value::as_str).unwrap_or_default();
    if levels.contains(level) {
        (
            "False",
            "Found",
            format!("This FlowSchema references the PriorityLevelConfiguration object named {level:?} and it exists"),
        )
    } else {
        (
            "True",
            "NotFound",
            format!(
                "This FlowSchema references the PriorityLevelConfiguration object named {level:?} but there is no such object"
            ),
        )
    }
}

#[async_trait::async_trait]
impl Controller for FlowControlConfig {
    async fn handle(&mut self, event: Event) {
        // Every change is rare and small: read both kinds whole and start over.
        if matches!(event, Event::Apply(_) | Event::Delete(_) | Event::InitDone) {
            self.sync().await;
        }
    }
}

impl FlowControlConfig {
    async fn sync(&self) {
        let (Ok((schemas, _)), Ok((levels, _))) = (
            self.objects.list_all(self.flow_schemas, "").await,
            self.objects.list_all(self.priority_levels, "").await,
        ) else {
            return;
        };
        self.state.flowcontrol.replace(&schemas, &levels);
        let names: HashSet<String> = levels.iter().map(|l| name_of(l).1.to_string()).collect();
        for fs in &schemas {
            let (status, reason, message) = dangling(fs, &names);
            let current = fs
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find(|c| c["type"] == "Dangling"));
            if current
                .is_some_and(|c| c["status"] == status && c["reason"] == reason && c["message"] == message)
            {
                continue;
            }
            let condition = json!({"type": "Dangling", "status": status, "lastTransitionTime": now_rfc3339(),
                "reason": reason, "message": message});
            let (_, name) = name_of(fs);
            // kube's config consumer applies the condition to the status, forcing.
            let applied = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
                "metadata": {"name": name}, "status": {"conditions": [condition.clone()]}});
            let rt = self.flow_schemas;
            let mut updated =
                crate::rest::field_manager::record_internal_apply(rt, fs, &applied, CONSUMER, "status")
                    .unwrap_or_else(|| {
                        let mut updated = fs.clone();
                        let mut conditions: Vec<Value> = fs
                            .pointer("/status/conditions")
                            .and_then(Value::as_array)
                            .map(|c| c.iter().filter(|c| c["type"] != "Dangling").cloned().collect())
                            .unwrap_or_default();
                        conditions.push(condition);
                        updated["status"] = json!({ "conditions": conditions });
                        updated
                    });
            if let Some(m) = updated.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            let expected =
                fs.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
            if let Err(e) = self.objects.update(self.flow_schemas, "", name, &updated, expected).await {
                tracing::debug!(flow_schema = name, error = %e.message, "FlowSchema status not written; its event retries");
            }
        }
    }
}

/// Starts the controller where FlowSchemas are served.
pub async fn start(state: &State) {
    let (Some(flow_schemas), Some(priority_levels)) = (
        state.catalog.lookup("flowcontrol.apiserver.k8s.io", "v1", "flowschemas"),
        state.catalog.lookup("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations"),
    ) else {
        return;
    };
    let informer = Informer::new(state.objects.clone(), "flowcontrol", vec![flow_schemas, priority_levels]);
    let controller = FlowControlConfig {
        state: state.clone(),
        objects: state.objects.clone(),
        flow_schemas,
        priority_levels,
    };
    super::run(informer, controller).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangling_says_whether_the_level_exists() {
        let fs = json!({"spec": {"priorityLevelConfiguration": {"name": "e2e"}}});
        let levels: HashSet<String> = ["e2e".to_string()].into();
        assert_eq!(
            dangling(&fs, &levels),
            ("False", "Found", "This FlowSchema references the PriorityLevelConfiguration object named \"e2e\" and it exists".into())
        );
        assert_eq!(dangling(&fs, &HashSet::new()).1, "NotFound");
    }
}
