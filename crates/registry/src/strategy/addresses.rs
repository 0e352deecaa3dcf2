//! networking.k8s.io/v1 IPAddress and ServiceCIDR after kube's
//! `pkg/apis/networking/validation` (`ValidateIPAddress`, `ValidateServiceCIDR`); the texts
//! were checked against kube-apiserver 1.34.

use super::common::{is_subdomain, str_at, DNS1123_SUBDOMAIN_MSG};
use apimachinery::field::{immutable, invalid, invalid_rendered, required, required_because, Errors};
use apimachinery::status::go_json;
use serde_json::{json, Value};
use std::net::IpAddr;

/// Field errors of an IPAddress or a ServiceCIDR.
pub(super) fn validate(kind: &str, obj: &Value, errs: &mut Errors) {
    match kind {
        "IPAddress" => validate_ip_address(obj, errs),
        "ServiceCIDR" => validate_cidrs(obj, errs),
        _ => {}
    }
}

/// Field errors of an update beyond those of the new object alone.
pub(super) fn validate_update(kind: &str, new: &Value, old: &Value, errs: &mut Errors) {
    match kind {
        "IPAddress" if new.pointer("/spec/parentRef") != old.pointer("/spec/parentRef") => {
            let r = new.pointer("/spec/parentRef").cloned().unwrap_or(Value::Null);
            // kube renders its internal ParentReference (Go field names, no tags).
            let rendered = go_json(&json!({
                "Group": str_at(&r, "/group"), "Resource": str_at(&r, "/resource"),
                "Namespace": str_at(&r, "/namespace"), "Name": str_at(&r, "/name"),
            }));
            errs.push(invalid_rendered("spec.parentRef", &rendered, "field is immutable"));
        }
        "ServiceCIDR" => {
            let cidrs = |o: &Value| o.pointer("/spec/cidrs").cloned().unwrap_or(json!([]));
            let (n, o) = (cidrs(new), cidrs(old));
            let (nl, ol) = (n.as_array().map_or(0, Vec::len), o.as_array().map_or(0, Vec::len));
            if ol == 1 && nl == 2 {
                // Single stack to dual stack: the first CIDR stays.
                immutable(new, old, "/spec/cidrs/0", "spec.cidrs[0]", errs);
            } else if n != o {
                errs.push(invalid_rendered("spec.cidrs", &go_json(&n), "field is immutable"));
            }
        }
        _ => {}
    }
}

/// `ValidateIPAddressName`: the name is an IP address in its canonical form.
fn ip_name_error(name: &str) -> Option<String> {
    match name.parse::<IpAddr>() {
        Err(_) if leading_zeros(name) => Some("must not have leading 0s".into()),
        Err(_) => Some("must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into()),
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            Some("must not be an IPv4-mapped IPv6 address".into())
        }
        Ok(ip) if ip.to_string() != name => Some(format!("must be in canonical form (\"{ip}\")")),
        Ok(_) => None,
    }
}

/// A dotted quad whose parts parse but one has a leading zero (`010.1.2.3`).
fn leading_zeros(ip: &str) -> bool {
    let parts: Vec<&str> = ip.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.iter().any(|p| p.len() > 1 && p.starts_with('0'))
}

fn validate_ip_address(obj: &Value, errs: &mut Errors) {
    let name = str_at(obj, "/metadata/name");
    if let Some(why) = ip_name_error(name) {
        errs.push(invalid("metadata.name", name, &why));
    }
    // The typed round trip writes an absent reference as an empty one (k8s-openapi's
    // ParentReference is not optional): both are kube's missing pointer.
    let empty = |r: &Value| r.as_object().is_none_or(|m| m.values().all(|v| v.is_null() || v == ""));
    let Some(r) = obj.pointer("/spec/parentRef").filter(|r| !empty(r)) else {
        errs.push(required("spec.parentRef"));
        return;
    };
    let group = str_at(r, "/group");
    if !group.is_empty() && !is_subdomain(group) {
        errs.push(invalid("spec.parentRef.group", group, DNS1123_SUBDOMAIN_MSG));
    }
    if str_at(r, "/resource").is_empty() {
        errs.push(required("spec.parentRef.resource"));
    }
    if str_at(r, "/name").is_empty() {
        errs.push(required("spec.parentRef.name"));
    }
}

/// One CIDR's error, as kube's `IsValidCIDR` (strict: canonical network address).
fn cidr_error(cidr: &str) -> Option<&'static str> {
    const BAD: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
    let Some((ip, bits)) = cidr.split_once('/') else { return Some(BAD) };
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return Some(if leading_zeros(ip) { "must not have leading 0s in IP or prefix length" } else { BAD });
    };
    if bits.len() > 1 && bits.starts_with('0') {
        return Some("must not have leading 0s in IP or prefix length");
    }
    let Ok(prefix) = bits.parse::<u32>() else { return Some(BAD) };
    let beyond = match addr {
        IpAddr::V4(v4) if prefix <= 32 => prefix < 32 && u32::from(v4) & (u32::MAX >> prefix) != 0,
        IpAddr::V6(v6) if prefix <= 128 => prefix < 128 && u128::from(v6) & (u128::MAX >> prefix) != 0,
        _ => return Some(BAD),
    };
    beyond.then_some("must not have bits set beyond the prefix length")
}

fn validate_cidrs(obj: &Value, errs: &mut Errors) {
    let cidrs = obj.pointer("/spec/cidrs").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    match cidrs.len() {
        0 => errs.push(required_because("spec.cidrs", "at least one CIDR required")),
        n if n > 2 => {
            // kube renders its internal ServiceCIDRSpec.
            let rendered = go_json(&json!({"CIDRs": cidrs}));
            errs.push(invalid_rendered("spec.cidrs", &rendered, "may only hold up to 2 values"));
        }
        _ => {
            let mut valid = true;
            for (i, c) in cidrs.iter().enumerate() {
                let text = c.as_str().unwrap_or_default();
                if let Some(why) = cidr_error(text) {
                    errs.push(invalid(&format!("spec.cidrs[{i}]"), text, why));
                    valid = false;
                }
            }
            let v4 = |c: &Value| c.as_str().is_some_and(|s| !s.contains(':'));
            if valid && cidrs.len() == 2 && v4(&cidrs[0]) == v4(&cidrs[1]) {
                errs.push(invalid_rendered(
                    "spec.cidrs",
                    &go_json(&json!(cidrs)),
                    "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
                ));
            }
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
    fn ip_address_names_are_canonical_ips() {
        let parent = json!({"parentRef": {"resource": "services", "name": "x"}});
        let name_error =
            |name: &str| messages("IPAddress", json!({"metadata": {"name": name}, "spec": parent}));
        assert_eq!(
            name_error("010.1.2.3"),
            ["metadata.name: Invalid value: \"010.1.2.3\": must not have leading 0s"]
        );
        assert_eq!(
            name_error("10.1.2.300"),
            ["metadata.name: Invalid value: \"10.1.2.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
        );
        assert_eq!(
            name_error("2001:DB8::1"),
            ["metadata.name: Invalid value: \"2001:DB8::1\": must be in canonical form (\"2001:db8::1\")"]
        );
        assert_eq!(
            name_error("::ffff:1.2.3.4"),
            ["metadata.name: Invalid value: \"::ffff:1.2.3.4\": must not be an IPv4-mapped IPv6 address"]
        );
        assert!(name_error("10.96.0.1").is_empty() && name_error("2001:db8::1").is_empty());
        assert_eq!(
            messages("IPAddress", json!({"metadata": {"name": "10.0.0.1"}, "spec": {}})),
            ["spec.parentRef: Required value"]
        );
    }

    #[test]
    fn service_cidrs_hold_one_canonical_cidr_per_family() {
        let cidrs = |c: Value| messages("ServiceCIDR", json!({"spec": {"cidrs": c}}));
        assert_eq!(cidrs(json!([])), ["spec.cidrs: Required value: at least one CIDR required"]);
        assert_eq!(
            cidrs(json!(["10.0.0.1/24"])),
            ["spec.cidrs[0]: Invalid value: \"10.0.0.1/24\": must not have bits set beyond the prefix length"]
        );
        assert_eq!(
            cidrs(json!(["010.0.0.0/24"])),
            ["spec.cidrs[0]: Invalid value: \"010.0.0.0/24\": must not have leading 0s in IP or prefix length"]
        );
        assert_eq!(
            cidrs(json!(["10.0.0.0/24", "10.2.0.0/16"])),
            ["spec.cidrs: Invalid value: [\"10.0.0.0/24\",\"10.2.0.0/16\"]: may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"]
        );
        assert_eq!(
            cidrs(json!(["10.0.0.1/24", "10.1.0.0/16", "fd00::/64"])),
            ["spec.cidrs: Invalid value: {\"CIDRs\":[\"10.0.0.1/24\",\"10.1.0.0/16\",\"fd00::/64\"]}: may only hold up to 2 values"]
        );
        assert!(cidrs(json!(["10.100.0.0/24", "fd00::/108"])).is_empty());
    }

    #[test]
    fn a_service_cidr_may_only_gain_a_second_family() {
        let update = |new: Value, old: Value| {
            let mut errs = Errors::new();
            validate_update(
                "ServiceCIDR",
                &json!({"spec": {"cidrs": new}}),
                &json!({"spec": {"cidrs": old}}),
                &mut errs,
            );
            errs.iter().map(|c| format!("{}: {}", c.field, c.message)).collect::<Vec<_>>()
        };
        assert!(update(json!(["10.1.0.0/24", "fd00::/108"]), json!(["10.1.0.0/24"])).is_empty());
        assert_eq!(
            update(json!(["fd00::/108", "10.1.0.0/24"]), json!(["10.1.0.0/24"])),
            ["spec.cidrs[0]: Invalid value: \"fd00::/108\": field is immutable"]
        );
        assert_eq!(
            update(json!(["10.1.0.0/24"]), json!(["10.1.0.0/24", "fd00::/108"])),
            ["spec.cidrs: Invalid value: [\"10.1.0.0/24\"]: field is immutable"]
        );
    }
}
