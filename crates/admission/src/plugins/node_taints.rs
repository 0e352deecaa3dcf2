//! TaintNodesByCondition (new Nodes start tainted `node.kubernetes.io/not-ready:NoSchedule`) and
//! DefaultTolerationSeconds (pods tolerate not-ready / unreachable NoExecute taints for 300s).

use crate::types::{array_at, str_at, AdmissionContext, AdmissionRequest, MutatingPlugin, Operation};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

#[derive(Debug, Default)]
pub struct TaintNodesByCondition;

/// Adds default tolerations with these seconds (kube's flags default both to 300).
#[derive(Debug)]
pub struct DefaultTolerationSeconds {
    pub not_ready_seconds: i64,
    pub unreachable_seconds: i64,
}

impl Default for DefaultTolerationSeconds {
    fn default() -> Self {
        Self { not_ready_seconds: 300, unreachable_seconds: 300 }
    }
}

/// The array at `obj.spec.<field>`, created if missing.
fn spec_array<'a>(obj: &'a mut Value, field: &str) -> Option<&'a mut Vec<Value>> {
    let spec = obj.as_object_mut()?.entry("spec").or_insert_with(|| json!({}));
    let list = spec.as_object_mut()?.entry(field).or_insert_with(|| json!([]));
    if list.is_null() {
        *list = json!([]);
    }
    list.as_array_mut()
}

#[async_trait]
impl MutatingPlugin for TaintNodesByCondition {
    fn name(&self) -> &'static str {
        "TaintNodesByCondition"
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }
    async fn admit(
        &self,
        req: &mut AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        if !req.is("", "nodes") {
            return Ok(());
        }
        let Some(node) = req.object.as_mut() else { return Ok(()) };
        let present = array_at(node, &["spec", "taints"])
            .iter()
            .any(|t| str_at(t, &["key"]) == Some(NOT_READY) && str_at(t, &["effect"]) == Some("NoSchedule"));
        if !present {
            if let Some(taints) = spec_array(node, "taints") {
                taints.push(json!({"key": NOT_READY, "effect": "NoSchedule"}));
            }
        }
        Ok(())
    }
}

fn tolerates(tolerations: &[Value], key: &str) -> bool {
    tolerations.iter().any(|t| {
        let k = str_at(t, &["key"]).unwrap_or("");
        let e = str_at(t, &["effect"]).unwrap_or("");
        (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
    })
}

#[async_trait]
impl MutatingPlugin for DefaultTolerationSeconds {
    fn name(&self) -> &'static str {
        "DefaultTolerationSeconds"
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }
    async fn admit(
        &self,
        req: &mut AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        if !req.is("", "pods") {
            return Ok(());
        }
        let Some(pod) = req.object.as_mut() else { return Ok(()) };
        let existing = array_at(pod, &["spec", "tolerations"]);
        let add: Vec<Value> = [(NOT_READY, self.not_ready_seconds), (UNREACHABLE, self.unreachable_seconds)]
            .iter()
            .filter(|(k, _)| !tolerates(existing, k))
            .map(|(k, s)| json!({"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": s}))
            .collect();
        if !add.is_empty() {
            if let Some(list) = spec_array(pod, "tolerations") {
                list.extend(add);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;

    #[tokio::test]
    async fn nodes_get_the_not_ready_taint_once() {
        let ctx = MemoryContext::new();
        let mut req = AdmissionRequest::new(
            Operation::Create,
            ("", "v1", "Node"),
            "nodes",
            "",
            "n1",
            UserInfo::default(),
        )
        .with_object(json!({"metadata": {"name": "n1"}}));
        TaintNodesByCondition.admit(&mut req, &ctx).await.unwrap();
        TaintNodesByCondition.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(
            req.object.unwrap()["spec"]["taints"],
            json!([{"key": NOT_READY, "effect": "NoSchedule"}])
        );
    }

    #[tokio::test]
    async fn pods_get_default_tolerations_unless_present() {
        let ctx = MemoryContext::new();
        let mut req = AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "p", UserInfo::default())
            .with_object(json!({"metadata": {"name": "p"}, "spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists"}]}}));
        DefaultTolerationSeconds::default().admit(&mut req, &ctx).await.unwrap();
        assert_eq!(
            req.object.unwrap()["spec"]["tolerations"],
            json!([{"key": UNREACHABLE, "operator": "Exists"},
                   {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
        );
    }
}
