//! DenyServiceExternalIPs (plugin/pkg/admission/denyserviceexternalips): a Service may not
//! gain `spec.externalIPs` (CVE-2020-8554); on update, every address must already have been
//! there, so existing Services keep working and can drop addresses.

use crate::types::{array_at, AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::StatusError;
use async_trait::async_trait;
use serde_json::Value;

pub const NAME: &str = "DenyServiceExternalIPs";

#[derive(Debug, Default)]
pub struct DenyServiceExternalIPs;

fn external_ips(svc: Option<&Value>) -> &[Value] {
    svc.map(|s| array_at(s, &["spec", "externalIPs"])).unwrap_or(&[])
}

#[async_trait]
impl ValidatingPlugin for DenyServiceExternalIPs {
    fn name(&self) -> &'static str {
        NAME
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn validate(&self, req: &AdmissionRequest, _: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !req.is("", "services") {
            return Ok(());
        }
        let new = external_ips(req.object.as_ref());
        // `isSubset`: none is fine; some are fine only if the old Service had each of them.
        let subset = new.is_empty()
            || req.old_object.is_some()
                && new.iter().all(|ip| external_ips(req.old_object.as_ref()).contains(ip));
        if subset {
            return Ok(());
        }
        Err(req.forbidden("Use of external IPs is denied by admission control"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;
    use serde_json::json;

    fn svc(ips: &[&str]) -> Value {
        json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": {"externalIPs": ips}})
    }

    fn req(op: Operation, new: Value, old: Option<Value>) -> AdmissionRequest {
        let r =
            AdmissionRequest::new(op, ("", "v1", "Service"), "services", "ns", "web", UserInfo::default())
                .with_object(new);
        match old {
            Some(o) => r.with_old_object(o),
            None => r,
        }
    }

    #[tokio::test]
    async fn new_external_ips_are_denied_old_ones_kept() {
        let p = DenyServiceExternalIPs;
        let ctx = MemoryContext::new();
        let e = p.validate(&req(Operation::Create, svc(&["1.2.3.4"]), None), &ctx).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (403, "services \"web\" is forbidden: Use of external IPs is denied by admission control")
        );
        p.validate(&req(Operation::Create, svc(&[]), None), &ctx).await.unwrap();
        let old = svc(&["1.2.3.4", "5.6.7.8"]);
        p.validate(&req(Operation::Update, svc(&["5.6.7.8"]), Some(old.clone())), &ctx).await.unwrap();
        let grown = req(Operation::Update, svc(&["5.6.7.8", "9.9.9.9"]), Some(old));
        assert_eq!(p.validate(&grown, &ctx).await.unwrap_err().code, 403);
    }
}
