//! Printers of the other API groups: RBAC, coordination, admission registration, events,
//! networking, storage, scheduling, node, discovery (kube's printers.go) and APIServices
//! (kube-aggregator's `pkg/registry/apiservice/etcd/etcd.go`).

use super::{col, created, format_label_selector, int, len, or_none, s, Cells, Column, Printer, AGE, NAME};
use crate::ResourceType;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// kube's `extractCSRStatus`: Denied before Approved before Pending, then Failed and Issued.
fn csr_condition(o: &Value) -> String {
    let types: Vec<&str> = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| s(c, "/type"))
        .collect();
    let mut status = if types.contains(&"Denied") {
        "Denied"
    } else if types.contains(&"Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if types.contains(&"Failed") {
        status.push_str(",Failed");
    }
    if !s(o, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

/// kube's ParamRef column: `namespace/name`, `*/name` without a namespace, or the
/// selector.
fn param_ref(o: &Value) -> String {
    let Some(pr) = o.pointer("/spec/paramRef").filter(|p| !p.is_null()) else {
        return "<unset>".to_string();
    };
    let name = s(pr, "/name");
    if !name.is_empty() {
        return match s(pr, "/namespace") {
            "" => format!("*/{name}"),
            ns => format!("{ns}/{name}"),
        };
    }
    match pr.get("selector").filter(|s| !s.is_null()) {
        Some(sel) => label_selector_go_string(sel),
        None => "<unset>".to_string(),
    }
}

/// The generated `String()` of a `metav1.LabelSelector`, which kube prints there.
fn label_selector_go_string(sel: &Value) -> String {
    let mut labels: Vec<(&String, &Value)> =
        sel.get("matchLabels").and_then(Value::as_object).into_iter().flatten().collect();
    labels.sort_by(|a, b| a.0.cmp(b.0));
    let labels: String =
        labels.iter().map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or_default())).collect();
    let expressions: String = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                s(e, "/key"),
                s(e, "/operator"),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

pub(super) fn printer(rt: &ResourceType) -> Option<Printer> {
    let (columns, cells): (Vec<Column>, Cells) = match (rt.group, rt.kind) {
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole")
        | ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            (vec![NAME, col("Created At", "date", 0)], |o, _| {
                vec![json!(s(o, "/metadata/name")), json!(s(o, "/metadata/creationTimestamp"))]
            })
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => (
            vec![
                NAME,
                col("Role", "string", 0),
                AGE,
                col("Users", "string", 1),
                col("Groups", "string", 1),
                col("ServiceAccounts", "string", 1),
            ],
            |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format!("{}/{}", s(o, "/roleRef/kind"), s(o, "/roleRef/name"))),
                    json!(created(o, now)),
                    json!(subjects(o, "User")),
                    json!(subjects(o, "Group")),
                    json!(subjects(o, "ServiceAccount")),
                ]
            },
        ),
        ("certificates.k8s.io", "CertificateSigningRequest") => (
            vec![
                NAME,
                AGE,
                col("SignerName", "string", 0),
                col("Requestor", "string", 0),
                col("RequestedDuration", "string", 0),
                col("Condition", "string", 0),
            ],
            |o, now| {
                let duration = o
                    .pointer("/spec/expirationSeconds")
                    .and_then(Value::as_i64)
                    .map_or("<none>".to_string(), super::human_duration);
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(created(o, now)),
                    json!(or_none(s(o, "/spec/signerName").to_string())),
                    json!(s(o, "/spec/username")),
                    json!(duration),
                    json!(csr_condition(o)),
                ]
            },
        ),
        // kube's ClusterTrustBundle printer: no Age column.
        ("certificates.k8s.io", "ClusterTrustBundle") => {
            (vec![NAME, col("SignerName", "string", 0)], |o, _| {
                vec![json!(s(o, "/metadata/name")), json!(or_none(s(o, "/spec/signerName").to_string()))]
            })
        }
        ("coordination.k8s.io", "Lease") => (vec![NAME, col("Holder", "string", 0), AGE], |o, now| {
            vec![
                json!(s(o, "/metadata/name")),
                json!(or_none(s(o, "/spec/holderIdentity").to_string())),
                json!(created(o, now)),
            ]
        }),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            (vec![NAME, col("Validations", "integer", 0), col("ParamKind", "string", 0), AGE], |o, now| {
                let param_kind = match o.pointer("/spec/paramKind").filter(|p| !p.is_null()) {
                    Some(p) => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")),
                    None => "<unset>".to_string(),
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(len(o, "/spec/validations")),
                    json!(param_kind),
                    json!(created(o, now)),
                ]
            })
        }
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => {
            (vec![NAME, col("Mutations", "integer", 0), col("ParamKind", "string", 0), AGE], |o, now| {
                let param_kind = match o.pointer("/spec/paramKind").filter(|p| !p.is_null()) {
                    Some(p) => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")),
                    None => "<unset>".to_string(),
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(len(o, "/spec/mutations")),
                    json!(param_kind),
                    json!(created(o, now)),
                ]
            })
        }
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicyBinding",
        ) => (vec![NAME, col("PolicyName", "string", 0), col("ParamRef", "string", 0), AGE], |o, now| {
            vec![
                json!(s(o, "/metadata/name")),
                json!(s(o, "/spec/policyName")),
                json!(param_ref(o)),
                json!(created(o, now)),
            ]
        }),
        ("admissionregistration.k8s.io", _) => (vec![NAME, col("Webhooks", "integer", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(len(o, "/webhooks")), json!(created(o, now))]
        }),
        // kube prints events.k8s.io Events through the core Event printer.
        ("events.k8s.io", "Event") => (super::core::event_columns(), |o, now| {
            super::core::event_cells(&crate::convert::event_to_core(o.clone()), now)
        }),
        ("networking.k8s.io", "NetworkPolicy") => {
            (vec![NAME, col("Pod-Selector", "string", 0), AGE], |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(format_label_selector(o, "/spec/podSelector")),
                    json!(created(o, now)),
                ]
            })
        }
        ("networking.k8s.io", "Ingress") => (
            vec![
                NAME,
                col("Class", "string", 0),
                col("Hosts", "string", 0),
                col("Address", "string", 0),
                col("Ports", "string", 0),
                AGE,
            ],
            ingress_cells,
        ),
        ("networking.k8s.io", "IngressClass") => {
            (vec![NAME, col("Controller", "string", 0), col("Parameters", "string", 0), AGE], |o, now| {
                let parameters = match o.pointer("/spec/parameters").filter(|p| !p.is_null()) {
                    None => "<none>".to_string(),
                    Some(p) => match p.get("apiGroup").and_then(Value::as_str) {
                        Some(g) => format!("{}.{g}/{}", s(p, "/kind"), s(p, "/name")),
                        None => format!("{}/{}", s(p, "/kind"), s(p, "/name")),
                    },
                };
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/spec/controller")),
                    json!(parameters),
                    json!(created(o, now)),
                ]
            })
        }
        ("storage.k8s.io", "StorageClass") => (
            vec![
                NAME,
                col("Provisioner", "string", 0),
                col("ReclaimPolicy", "string", 0),
                col("VolumeBindingMode", "string", 0),
                col("AllowVolumeExpansion", "string", 0),
                AGE,
            ],
            storage_class_cells,
        ),
        ("storage.k8s.io", "CSIDriver") => (
            vec![
                NAME,
                col("AttachRequired", "boolean", 0),
                col("PodInfoOnMount", "boolean", 0),
                col("StorageCapacity", "boolean", 0),
                col("TokenRequests", "string", 0),
                col("RequiresRepublish", "boolean", 0),
                col("Modes", "string", 0),
                AGE,
            ],
            csi_driver_cells,
        ),
        ("storage.k8s.io", "CSINode") => (vec![NAME, col("Drivers", "integer", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(len(o, "/spec/drivers")), json!(created(o, now))]
        }),
        ("storage.k8s.io", "VolumeAttachment") => (
            vec![
                NAME,
                Column { format: "name", ..col("Attacher", "string", 0) },
                col("PV", "string", 0),
                col("Node", "string", 0),
                col("Attached", "boolean", 0),
                AGE,
            ],
            |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/spec/attacher")),
                    json!(s(o, "/spec/source/persistentVolumeName")),
                    json!(s(o, "/spec/nodeName")),
                    json!(o.pointer("/status/attached") == Some(&Value::Bool(true))),
                    json!(created(o, now)),
                ]
            },
        ),
        ("scheduling.k8s.io", "PriorityClass") => (
            vec![
                NAME,
                col("Value", "integer", 0),
                col("Global-Default", "boolean", 0),
                AGE,
                col("PreemptionPolicy", "string", 0),
            ],
            |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(int(o, "/value")),
                    json!(o.get("globalDefault") == Some(&Value::Bool(true))),
                    json!(created(o, now)),
                    json!(s(o, "/preemptionPolicy")),
                ]
            },
        ),
        ("node.k8s.io", "RuntimeClass") => (vec![NAME, col("Handler", "string", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(s(o, "/handler")), json!(created(o, now))]
        }),
        ("discovery.k8s.io", "EndpointSlice") => (
            vec![
                NAME,
                col("AddressType", "string", 0),
                col("Ports", "string", 0),
                col("Endpoints", "string", 0),
                AGE,
            ],
            endpoint_slice_cells,
        ),
        // kube's IPAddress printer declares no Age column but still fills its cell.
        ("networking.k8s.io", "IPAddress") => (vec![NAME, col("ParentRef", "string", 0)], |o, now| {
            let parent = match o.pointer("/spec/parentRef").filter(|r| !r.is_null()) {
                None => String::new(),
                Some(r) => {
                    let (group, resource) = (s(r, "/group"), s(r, "/resource"));
                    let gr =
                        if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
                    format!("{}/{}/{}", gr.to_lowercase(), s(r, "/namespace"), s(r, "/name"))
                }
            };
            vec![json!(s(o, "/metadata/name")), json!(parent), json!(created(o, now))]
        }),
        ("networking.k8s.io", "ServiceCIDR") => (vec![NAME, col("CIDRs", "string", 0), AGE], |o, now| {
            let cidrs: Vec<&str> = o
                .pointer("/spec/cidrs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            vec![json!(s(o, "/metadata/name")), json!(cidrs.join(",")), json!(created(o, now))]
        }),
        ("storage.k8s.io", "CSIStorageCapacity") => (vec![NAME, col("Created At", "date", 0)], |o, _| {
            vec![json!(s(o, "/metadata/name")), json!(s(o, "/metadata/creationTimestamp"))]
        }),
        ("storage.k8s.io", "VolumeAttributesClass") => {
            (vec![NAME, col("DriverName", "string", 0), AGE], |o, now| {
                vec![json!(s(o, "/metadata/name")), json!(s(o, "/driverName")), json!(created(o, now))]
            })
        }
        ("resource.k8s.io", "DeviceClass" | "ResourceClaimTemplate") => {
            (vec![NAME, AGE], |o, now| vec![json!(s(o, "/metadata/name")), json!(created(o, now))])
        }
        ("resource.k8s.io", "ResourceClaim") => (vec![NAME, col("State", "string", 0), AGE], |o, now| {
            vec![json!(s(o, "/metadata/name")), json!(claim_state(o)), json!(created(o, now))]
        }),
        ("resource.k8s.io", "ResourceSlice") => (
            vec![NAME, col("Node", "string", 0), col("Driver", "string", 0), col("Pool", "string", 0), AGE],
            |o, now| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(s(o, "/spec/nodeName")),
                    json!(s(o, "/spec/driver")),
                    json!(s(o, "/spec/pool/name")),
                    json!(created(o, now)),
                ]
            },
        ),
        ("apiregistration.k8s.io", "APIService") => {
            (vec![NAME, col("Service", "string", 0), col("Available", "string", 0), AGE], api_service_cells)
        }
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// kube's `resourceClaimState`: deleted, then pending or allocated (and reserved).
fn claim_state(o: &Value) -> String {
    let deleting = o.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null());
    let mut states = Vec::new();
    if deleting {
        states.push("deleted");
    }
    if o.pointer("/status/allocation").is_none_or(Value::is_null) {
        if !deleting {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if o.pointer("/status/reservedFor").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) {
            states.push("reserved");
        }
    }
    states.join(",")
}

fn subjects(obj: &Value, kind: &str) -> String {
    let mut out = Vec::new();
    for sub in obj.get("subjects").and_then(Value::as_array).into_iter().flatten() {
        if sub.get("kind").and_then(Value::as_str) == Some(kind) {
            let name = s(sub, "/name");
            if kind == "ServiceAccount" {
                out.push(format!("{}/{name}", s(sub, "/namespace")));
            } else {
                out.push(name.to_string());
            }
        }
    }
    out.join(", ")
}

/// kube's `listWithMoreString`: the first three, `+ N more...`, `<unset>` when empty.
fn list_with_more(items: Vec<String>) -> String {
    match items.len() {
        0 => "<unset>".into(),
        n if n > 3 => format!("{} + {} more...", items[..3].join(","), n - 3),
        _ => items.join(","),
    }
}

fn ingress_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let rules = obj.pointer("/spec/rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let hosts: Vec<&str> = rules.iter().map(|r| s(r, "/host")).filter(|h| !h.is_empty()).collect();
    let hosts = match hosts.len() {
        0 => "*".to_string(),
        _ if rules.len() > 3 => format!(
            "{} + {} more...",
            hosts.iter().take(3).copied().collect::<Vec<_>>().join(","),
            rules.len() - 3
        ),
        _ => hosts.join(","),
    };
    let mut addresses: Vec<&str> = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname") } else { s(i, "/ip") })
        .filter(|a| !a.is_empty())
        .collect();
    addresses.sort();
    addresses.dedup();
    let ports = if len(obj, "/spec/tls") > 0 { "80, 443" } else { "80" };
    let class = obj.pointer("/spec/ingressClassName").and_then(Value::as_str).unwrap_or("<none>");
    vec![
        json!(s(obj, "/metadata/name")),
        json!(class),
        json!(hosts),
        json!(addresses.join(",")),
        json!(ports),
        json!(created(obj, now)),
    ]
}

fn storage_class_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let annotation =
        |k: &str| obj.pointer(&format!("/metadata/annotations/{k}")).and_then(Value::as_str) == Some("true");
    let mut name = s(obj, "/metadata/name").to_string();
    if annotation("storageclass.kubernetes.io~1is-default-class")
        || annotation("storageclass.beta.kubernetes.io~1is-default-class")
    {
        name.push_str(" (default)");
    }
    let or = |p: &str, d: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or(d).to_string();
    vec![
        json!(name),
        json!(s(obj, "/provisioner")),
        json!(or("/reclaimPolicy", "Delete")),
        json!(or("/volumeBindingMode", "Immediate")),
        json!(obj.get("allowVolumeExpansion") == Some(&Value::Bool(true))),
        json!(created(obj, now)),
    ]
}

fn csi_driver_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let flag = |p: &str, d: bool| obj.pointer(p).and_then(Value::as_bool).unwrap_or(d);
    let tokens = match obj.pointer("/spec/tokenRequests").and_then(Value::as_array) {
        Some(t) => t.iter().map(|r| s(r, "/audience")).collect::<Vec<_>>().join(","),
        None => "<unset>".into(),
    };
    let modes: Vec<&str> = obj
        .pointer("/spec/volumeLifecycleModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    vec![
        json!(s(obj, "/metadata/name")),
        json!(flag("/spec/attachRequired", true)),
        json!(flag("/spec/podInfoOnMount", false)),
        json!(flag("/spec/storageCapacity", false)),
        json!(tokens),
        json!(flag("/spec/requiresRepublish", false)),
        json!(or_none(modes.join(","))),
        json!(created(obj, now)),
    ]
}

fn endpoint_slice_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports: Vec<String> = obj
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| match (p.get("port").and_then(Value::as_i64), p.get("name").and_then(Value::as_str)) {
            (Some(n), _) => n.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "*".into(),
        })
        .collect();
    let addresses: Vec<String> = obj
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|e| e.get("addresses").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    vec![
        json!(s(obj, "/metadata/name")),
        json!(s(obj, "/addressType")),
        json!(list_with_more(ports)),
        json!(list_with_more(addresses)),
        json!(created(obj, now)),
    ]
}

fn api_service_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let service = match obj.pointer("/spec/service").filter(|v| !v.is_null()) {
        Some(svc) => format!("{}/{}", s(svc, "/namespace"), s(svc, "/name")),
        None => "Local".into(),
    };
    let available = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| s(c, "/type") == "Available");
    let status = match available {
        None => "Unknown".to_string(),
        Some(c) if s(c, "/status") == "True" || s(c, "/reason").is_empty() => s(c, "/status").to_string(),
        Some(c) => format!("{} ({})", s(c, "/status"), s(c, "/reason")),
    };
    vec![json!(s(obj, "/metadata/name")), json!(service), json!(status), json!(created(obj, now))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_ingresses_and_api_services() {
        let now = Utc::now();
        let slice = json!({"metadata": {"name": "s"}, "addressType": "IPv4", "ports": [{"port": 80}, {"name": "x"}],
            "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}, {"addresses": ["10.0.0.3", "10.0.0.4"]}]});
        let row = endpoint_slice_cells(&slice, now);
        assert_eq!(row[2..4], [json!("80,x"), json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...")]);
        let ing = json!({"metadata": {"name": "i"}, "spec": {"rules": [{"host": "a.example"}], "tls": [{}]}});
        assert_eq!(
            ingress_cells(&ing, now)[1..5],
            [json!("<none>"), json!("a.example"), json!(""), json!("80, 443")]
        );
        let api = json!({"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {"service": {"namespace": "kube-system", "name": "m"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "NotProxied"}]}});
        assert_eq!(api_service_cells(&api, now)[1..3], [json!("kube-system/m"), json!("False (NotProxied)")]);
    }
}
