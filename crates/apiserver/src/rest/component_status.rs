//! ComponentStatus (core v1, deprecated since v1.19): a read-only view of the control
//! plane's components, computed on each request as kube's `pkg/registry/core/componentstatus`
//! probes them: `controller-manager` and `scheduler` by an HTTPS GET of `/healthz` on their
//! default secure ports on loopback (kube's fixed addresses; kubeward runs neither, so they
//! show what answers there, usually `connection refused`), and the store, named `etcd-0` as
//! kube names its etcd member (whether the backend is the embedded store or etcd). Every
//! answer carries kube's deprecation warning.

use super::read::Filter;
use crate::context::Ctx;
use crate::negotiate::Output;
use crate::response::{self, Body};
use apimachinery::StatusError;
use http::{HeaderValue, Response};
use registry::ResourceType;
use serde_json::{json, Value};

const WARNING: &str = "299 - \"v1 ComponentStatus is deprecated in v1.19+\"";
const STORE: &str = "etcd-0";
/// The components kube probes over HTTPS, at kube's addresses: kube-controller-manager's
/// and kube-scheduler's default secure ports on loopback.
const PROBED: [(&str, u16); 2] = [("controller-manager", 10257), ("scheduler", 10259)];

async fn components(ctx: &Ctx, only: Option<&str>) -> Vec<Value> {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    let probes = PROBED.iter().filter(|(name, _)| wanted(name)).map(|&(name, port)| async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        (name, super::component_probe::healthy_condition(addr, super::component_probe::PROBE_TIMEOUT).await)
    });
    let mut out: Vec<(&str, Value)> = futures::future::join_all(probes).await;
    if wanted(STORE) {
        let condition = match ctx.state.objects.current_revision().await {
            Ok(_) => json!({"type": "Healthy", "status": "True", "message": "ok"}),
            Err(e) => json!({"type": "Healthy", "status": "False", "error": e.message}),
        };
        out.push((STORE, condition));
    }
    // kube lists them in no particular order; by name here.
    out.sort_by_key(|(name, _)| *name);
    out.into_iter()
        .map(|(name, condition)| {
            json!({
                "kind": "ComponentStatus",
                "apiVersion": "v1",
                "metadata": {"name": name},
                "conditions": [condition],
            })
        })
        .collect()
}

/// get and list of `componentstatuses`.
pub async fn read(ctx: &Ctx, rt: &ResourceType) -> Result<Response<Body>, StatusError> {
    let get = ctx.info.verb == "get";
    let all = components(ctx, get.then_some(ctx.info.name.as_str())).await;
    let mut resp = if get {
        let obj = all
            .into_iter()
            .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(ctx.info.name.as_str()))
            .ok_or_else(|| StatusError::not_found(&rt.group_resource(), &ctx.info.name))?;
        response::object_response(200, rt, &obj, ctx.output)
    } else {
        let filter = Filter::from_query(&ctx.info, rt)?;
        let items: Vec<Value> = all.into_iter().filter(|c| filter.matches(c)).collect();
        match ctx.output {
            Output::Table(v) => {
                let mut t = registry::table::table_with(rt, &items, json!({}), chrono::Utc::now(), v.include);
                t["apiVersion"] = json!(format!("meta.k8s.io/{}", v.version));
                response::object(200, &t, Output::Json)
            }
            Output::Metadata(m) if !m.list => {
                response::status_error(&crate::partial::mismatch(rt, m), ctx.output)
            }
            Output::Metadata(m) => {
                response::object(200, &crate::partial::list_value(&items, json!({}), m), ctx.output)
            }
            out => {
                let list = json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": {}, "items": items});
                response::object(200, &list, out)
            }
        }
    };
    resp.headers_mut().append("Warning", HeaderValue::from_static(WARNING));
    Ok(resp)
}
