//! resource.k8s.io/v1 (dynamic resource allocation) after kube's
//! `pkg/apis/resource/validation`: DeviceClasses, ResourceClaims and their templates,
//! ResourceSlices. The texts were checked against kube-apiserver 1.34.
//!
//! kubeward stores these objects and runs no scheduler or driver that allocates them.

use super::common::{array, is_label, is_subdomain, str_at, DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG};
use apimachinery::field::{
    duplicate, immutable, invalid, invalid_number, invalid_rendered, not_supported, required,
    required_because, too_many, Errors,
};
use serde_json::{json, Map, Value};

/// kube's limits (`resource.DeviceRequestsMax`, `ResourceSliceMaxDevices`, ...).
const MAX_REQUESTS: usize = 32;
const MAX_SUBREQUESTS: usize = 8;
const MAX_SELECTORS: usize = 32;
const MAX_CONFIGS: usize = 32;
const MAX_DEVICES_PER_SLICE: usize = 128;
const ALLOCATION_MODES: [&str; 2] = ["All", "ExactCount"];

/// Field errors of a resource.k8s.io object.
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) {
    match kind {
        "DeviceClass" => validate_class(obj, errs),
        "ResourceClaim" => validate_claim_spec(obj.get("spec"), "spec", errs),
        "ResourceClaimTemplate" => validate_claim_spec(obj.pointer("/spec/spec"), "spec.spec", errs),
        "ResourceSlice" => validate_slice(obj, errs),
        _ => {}
    }
}

/// Field errors of an update beyond those of the new object alone.
pub(super) fn validate_update(kind: &str, new: &Value, old: &Value, errs: &mut Errors) {
    match kind {
        "ResourceClaim" | "ResourceClaimTemplate" => immutable(new, old, "/spec", "spec", errs),
        "ResourceSlice" => {
            immutable(new, old, "/spec/driver", "spec.driver", errs);
            immutable(new, old, "/spec/nodeName", "spec.nodeName", errs);
        }
        _ => {}
    }
}

/// kube's defaults (`SetDefaults_ExactDeviceRequest`, `SetDefaults_DeviceSubRequest`): the
/// allocation mode ExactCount, and a count of one for it.
pub(super) fn apply_defaults(kind: &str, o: &mut Map<String, Value>) {
    let spec = match kind {
        "ResourceClaim" => o.get_mut("spec"),
        "ResourceClaimTemplate" => {
            if let Some(t) = o.get_mut("spec").and_then(Value::as_object_mut) {
                // The template's ObjectMeta is not omitempty: kube writes `{}`.
                t.entry("metadata").or_insert_with(|| json!({}));
            }
            o.get_mut("spec").and_then(|s| s.get_mut("spec"))
        }
        "ResourceSlice" => {
            // `devices` has no omitempty: kube writes null when unset.
            if let Some(s) = o.get_mut("spec").and_then(Value::as_object_mut) {
                s.entry("devices").or_insert(Value::Null);
            }
            return;
        }
        _ => return,
    };
    let requests = spec.and_then(|s| s.pointer_mut("/devices/requests")).and_then(Value::as_array_mut);
    for request in requests.into_iter().flatten() {
        if let Some(exactly) = request.get_mut("exactly").and_then(Value::as_object_mut) {
            default_count(exactly);
        }
        let subs = request.get_mut("firstAvailable").and_then(Value::as_array_mut);
        for sub in subs.into_iter().flatten().filter_map(Value::as_object_mut) {
            default_count(sub);
        }
    }
}

fn default_count(request: &mut Map<String, Value>) {
    if request.get("allocationMode").is_none_or(|m| m.is_null() || m == "") {
        request.insert("allocationMode".into(), json!("ExactCount"));
    }
    let exact = request.get("allocationMode").and_then(Value::as_str) == Some("ExactCount");
    if exact && request.get("count").is_none_or(|c| c.is_null() || c == 0) {
        request.insert("count".into(), json!(1));
    }
}

fn validate_class(obj: &Value, errs: &mut Errors) {
    let selectors = array(obj, "/spec/selectors");
    if selectors.len() > MAX_SELECTORS {
        errs.push(too_many("spec.selectors", selectors.len() as i64, MAX_SELECTORS as i64));
    }
    validate_selectors(selectors, "spec.selectors", errs);
    validate_configs(array(obj, "/spec/config"), "spec.config", errs);
}

fn validate_selectors(selectors: &[Value], path: &str, errs: &mut Errors) {
    for (i, s) in selectors.iter().enumerate() {
        let at = format!("{path}[{i}].cel");
        let Some(cel) = s.get("cel").filter(|c| !c.is_null()) else {
            errs.push(required(&at));
            continue;
        };
        let expression = str_at(cel, "/expression");
        if expression.is_empty() {
            errs.push(required(&format!("{at}.expression")));
            continue;
        }
        // The expression's syntax and its use of the variables; `device`'s attributes are
        // the driver's, so its shape is open.
        let device = kcel::Shape::Any;
        if let Err(e) = kcel::Program::compile(expression, &[("device", &device)]) {
            // The error text starts with cel-go's own "compilation failed: ".
            errs.push(invalid(&format!("{at}.expression"), expression, &e.to_string()));
        }
    }
}

fn validate_configs(configs: &[Value], path: &str, errs: &mut Errors) {
    if configs.len() > MAX_CONFIGS {
        errs.push(too_many(path, configs.len() as i64, MAX_CONFIGS as i64));
    }
    for (i, c) in configs.iter().enumerate() {
        let at = format!("{path}[{i}].opaque");
        let Some(opaque) = c.get("opaque").filter(|o| !o.is_null()) else {
            errs.push(required(&at));
            continue;
        };
        validate_driver(str_at(opaque, "/driver"), &format!("{at}.driver"), errs);
        if opaque.get("parameters").is_none_or(Value::is_null) {
            errs.push(required(&format!("{at}.parameters")));
        }
    }
}

/// A driver name: required, a DNS subdomain of at most 63 characters.
fn validate_driver(driver: &str, path: &str, errs: &mut Errors) {
    if driver.is_empty() {
        errs.push(required(path));
    }
    if !is_subdomain(driver) {
        errs.push(invalid(path, driver, DNS1123_SUBDOMAIN_MSG));
    } else if driver.len() > 63 {
        errs.push(apimachinery::field::too_long(path, 63));
    }
}

fn validate_claim_spec(spec: Option<&Value>, path: &str, errs: &mut Errors) {
    let Some(spec) = spec else { return };
    let requests = array(spec, "/devices/requests");
    let at = format!("{path}.devices.requests");
    if requests.len() > MAX_REQUESTS {
        errs.push(too_many(&at, requests.len() as i64, MAX_REQUESTS as i64));
    }
    let mut names = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = str_at(request, "/name");
        validate_label(name, &format!("{here}.name"), errs);
        if !names.insert(name) {
            duplicates.push(duplicate(&format!("{here}.name"), name));
        }
        let exactly = request.get("exactly").filter(|v| !v.is_null());
        let first = request.get("firstAvailable").filter(|v| !v.is_null());
        match (exactly, first) {
            (None, None) => {
                errs.push(required_because(&here, "exactly one of `exactly` or `firstAvailable` is required"))
            }
            (Some(_), Some(_)) => errs.push(invalid_rendered(
                &here,
                "null",
                "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set",
            )),
            (Some(e), None) => validate_request(e, &format!("{here}.exactly"), errs),
            (None, Some(f)) => {
                let subs = f.as_array().map(Vec::as_slice).unwrap_or_default();
                let at = format!("{here}.firstAvailable");
                if subs.len() > MAX_SUBREQUESTS {
                    errs.push(too_many(&at, subs.len() as i64, MAX_SUBREQUESTS as i64));
                }
                let mut sub_names = std::collections::HashSet::new();
                for (j, sub) in subs.iter().enumerate() {
                    let sub_at = format!("{at}[{j}]");
                    let sub_name = str_at(sub, "/name");
                    validate_label(sub_name, &format!("{sub_at}.name"), errs);
                    if !sub_names.insert(sub_name) {
                        duplicates.push(duplicate(&format!("{sub_at}.name"), sub_name));
                    }
                    validate_request(sub, &sub_at, errs);
                }
            }
        }
    }
    // kube reports the duplicate names after the requests' own errors.
    errs.extend(duplicates);
    // A claim's configs name the requests they apply to; their opaque part is the class's.
    validate_configs(array(spec, "/devices/config"), &format!("{path}.devices.config"), errs);
}

/// One exact request or subrequest: its class, selectors, allocation mode and count.
fn validate_request(request: &Value, path: &str, errs: &mut Errors) {
    let class = str_at(request, "/deviceClassName");
    if class.is_empty() {
        errs.push(required(&format!("{path}.deviceClassName")));
    } else if !is_subdomain(class) {
        errs.push(invalid(&format!("{path}.deviceClassName"), class, DNS1123_SUBDOMAIN_MSG));
    }
    validate_selectors(array(request, "/selectors"), &format!("{path}.selectors"), errs);
    let mode = str_at(request, "/allocationMode");
    let count = request.get("count").and_then(Value::as_i64);
    match mode {
        "All" => {
            if let Some(c) = count.filter(|c| *c != 0) {
                errs.push(invalid_number(
                    &format!("{path}.count"),
                    c,
                    "must not be specified when allocationMode is 'All'",
                ));
            }
        }
        "ExactCount" => {
            if let Some(c) = count.filter(|c| *c <= 0) {
                errs.push(invalid_number(&format!("{path}.count"), c, "must be greater than zero"));
            }
        }
        other => errs.push(not_supported(&format!("{path}.allocationMode"), other, &ALLOCATION_MODES)),
    }
}

fn validate_label(name: &str, path: &str, errs: &mut Errors) {
    if name.is_empty() {
        errs.push(required(path));
    } else if !is_label(name) {
        errs.push(invalid(path, name, DNS1123_LABEL_MSG));
    }
}

fn validate_slice(obj: &Value, errs: &mut Errors) {
    let driver = str_at(obj, "/spec/driver");
    validate_driver(driver, "spec.driver", errs);
    let pool = str_at(obj, "/spec/pool/name");
    if pool.is_empty() {
        errs.push(required("spec.pool.name"));
    } else if pool.len() > 253 || pool.split('/').any(|part| !is_subdomain(part)) {
        // kube's `validatePoolName`: DNS subdomains joined by slashes; the message names
        // the part that fails.
        let bad = pool.split('/').find(|part| !is_subdomain(part)).unwrap_or(pool);
        errs.push(invalid("spec.pool.name", bad, DNS1123_SUBDOMAIN_MSG));
    }
    if let Some(n) = obj.pointer("/spec/pool/resourceSliceCount").and_then(Value::as_i64).filter(|n| *n <= 0)
    {
        errs.push(invalid_number("spec.pool.resourceSliceCount", n, "must be greater than zero"));
    } else if obj.pointer("/spec/pool/resourceSliceCount").is_none_or(Value::is_null) {
        errs.push(invalid_number("spec.pool.resourceSliceCount", 0, "must be greater than zero"));
    }
    if let Some(n) = obj.pointer("/spec/pool/generation").and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(invalid_number("spec.pool.generation", n, "must be greater than or equal to zero"));
    }
    let set: Vec<&str> = [
        ("nodeName", !str_at(obj, "/spec/nodeName").is_empty()),
        ("nodeSelector", obj.pointer("/spec/nodeSelector").is_some_and(|v| !v.is_null())),
        ("allNodes", obj.pointer("/spec/allNodes") == Some(&Value::Bool(true))),
        ("perDeviceNodeSelection", obj.pointer("/spec/perDeviceNodeSelection") == Some(&Value::Bool(true))),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    const WHICH: &str =
        "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required";
    match set.len() {
        0 => errs.push(required_because("spec", WHICH)),
        1 => {}
        _ => {
            let listed = set.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
            errs.push(invalid(
                "spec",
                &format!("{{{listed}}}"),
                &format!("{WHICH}, but multiple fields are set"),
            ));
        }
    }
    let devices = array(obj, "/spec/devices");
    if devices.len() > MAX_DEVICES_PER_SLICE {
        errs.push(too_many("spec.devices", devices.len() as i64, MAX_DEVICES_PER_SLICE as i64));
    }
    let mut names = std::collections::HashSet::new();
    for (i, d) in devices.iter().enumerate() {
        let name = str_at(d, "/name");
        let at = format!("spec.devices[{i}].name");
        validate_label(name, &at, errs);
        if !names.insert(name) {
            errs.push(duplicate(&at, name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(kind: &str, obj: Value) -> Vec<String> {
        let mut errs = Errors::new();
        validate(kind, &obj, &mut errs);
        errs.iter().map(|c| format!("{}: {}", c.field, c.message)).collect()
    }

    #[test]
    fn claims_are_checked_as_kube_does() {
        let got = messages(
            "ResourceClaim",
            json!({"spec": {"devices": {"requests": [
                {"name": "R_1", "exactly": {"deviceClassName": "", "allocationMode": "Foo", "count": -1}},
                {"name": "R_1"},
                {"name": "x", "exactly": {"deviceClassName": "a"}, "firstAvailable": [{"name": "s", "deviceClassName": "b"}]},
                {"name": "y", "exactly": {"deviceClassName": "a", "allocationMode": "All", "count": 3}},
            ]}}}),
        );
        // kube-apiserver 1.34's answer to the same claim, cause by cause.
        let want = [
            format!("spec.devices.requests[0].name: Invalid value: \"R_1\": {DNS1123_LABEL_MSG}"),
            "spec.devices.requests[0].exactly.deviceClassName: Required value".to_string(),
            "spec.devices.requests[0].exactly.allocationMode: Unsupported value: \"Foo\": supported values: \"All\", \"ExactCount\"".to_string(),
            format!("spec.devices.requests[1].name: Invalid value: \"R_1\": {DNS1123_LABEL_MSG}"),
            "spec.devices.requests[1]: Required value: exactly one of `exactly` or `firstAvailable` is required".to_string(),
            "spec.devices.requests[2]: Invalid value: null: exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set".to_string(),
            "spec.devices.requests[3].exactly.count: Invalid value: 3: must not be specified when allocationMode is 'All'".to_string(),
            "spec.devices.requests[1].name: Duplicate value: \"R_1\"".to_string(),
        ];
        assert_eq!(got, want);
        assert!(messages("ResourceClaim", json!({"spec": {}})).is_empty());
    }

    #[test]
    fn slices_need_one_node_choice_and_a_pool() {
        let got = messages(
            "ResourceSlice",
            json!({"spec": {"driver": "Bad_Driver", "pool": {"name": "", "generation": -1, "resourceSliceCount": 0},
                "devices": [{"name": "D0"}, {"name": "d1"}, {"name": "d1"}]}}),
        );
        let want = [
            format!("spec.driver: Invalid value: \"Bad_Driver\": {DNS1123_SUBDOMAIN_MSG}"),
            "spec.pool.name: Required value".to_string(),
            "spec.pool.resourceSliceCount: Invalid value: 0: must be greater than zero".to_string(),
            "spec.pool.generation: Invalid value: -1: must be greater than or equal to zero".to_string(),
            "spec: Required value: exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required".to_string(),
            format!("spec.devices[0].name: Invalid value: \"D0\": {DNS1123_LABEL_MSG}"),
            "spec.devices[2].name: Duplicate value: \"d1\"".to_string(),
        ];
        assert_eq!(got, want);
        let two = messages(
            "ResourceSlice",
            json!({"spec": {"driver": "x.example.com", "nodeName": "n1", "allNodes": true,
                "pool": {"name": "p", "generation": 1, "resourceSliceCount": 1}}}),
        );
        assert_eq!(two, ["spec: Invalid value: \"{`nodeName`, `allNodes`}\": exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set"]);
    }

    #[test]
    fn defaults_give_exact_requests_a_count_of_one() {
        let mut o = json!({"spec": {"devices": {"requests": [
            {"name": "r", "exactly": {"deviceClassName": "dc"}},
            {"name": "s", "firstAvailable": [{"name": "a", "deviceClassName": "dc"},
                {"name": "b", "deviceClassName": "dc", "allocationMode": "All"}]},
        ]}}});
        apply_defaults("ResourceClaim", o.as_object_mut().unwrap());
        assert_eq!(
            o["spec"]["devices"]["requests"],
            json!([
                {"name": "r", "exactly": {"deviceClassName": "dc", "allocationMode": "ExactCount", "count": 1}},
                {"name": "s", "firstAvailable": [
                    {"name": "a", "deviceClassName": "dc", "allocationMode": "ExactCount", "count": 1},
                    {"name": "b", "deviceClassName": "dc", "allocationMode": "All"}]},
            ])
        );
    }

    #[test]
    fn class_selectors_must_compile() {
        let got = messages(
            "DeviceClass",
            json!({"spec": {"selectors": [{"cel": {"expression": "device.driver =="}}, {}]}}),
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with(
                "spec.selectors[0].cel.expression: Invalid value: \"device.driver ==\": compilation failed: "
            ),
            "{got:?}"
        );
        assert_eq!(got[1], "spec.selectors[1].cel: Required value");
        assert!(messages(
            "DeviceClass",
            json!({"spec": {"selectors": [{"cel": {"expression": "device.driver == \"x\""}}]}})
        )
        .is_empty());
    }
}
