//! The kinds kube serves since 1.33/1.34 through kubectl 1.33: networking.k8s.io/v1
//! IPAddress and ServiceCIDR, storage.k8s.io/v1 CSIStorageCapacity and
//! VolumeAttributesClass, resource.k8s.io/v1 DeviceClass, ResourceClaim(Template) and
//! ResourceSlice. One valid object of each (tests/manifests/dra_kinds.yaml) with kube's
//! defaults and printer columns; the 422s of tests/manifests/dra_kinds_invalid.yaml compared
//! whole with kube-apiserver 1.34's answers (dra_kinds_invalid.kube-1.34.txt, recorded from
//! `scripts/reference` with the same kubectl); the default ServiceCIDR; an IPAddress per
//! Service cluster IP; and the VolumeAttributesClass protection finalizer.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{eventually, get_json, words, Server};

const VERSION: &str = "1.33";
const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/manifests");

#[test]
fn new_kinds_are_served_validated_and_printed_as_kube() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    let valid = format!("{MANIFESTS}/dra_kinds.yaml");
    assert_eq!(k.ok(&["create", "-f", &valid]).stdout.lines().count(), 6);

    // Defaults: an exact request gets ExactCount and a count of one, a template `metadata: {}`.
    let claim = get_json(&k, &["resourceclaim", "g1", "-n", "default"]);
    assert_eq!(
        claim.pointer("/spec/devices/requests/0/exactly"),
        Some(&serde_json::json!({"allocationMode": "ExactCount", "count": 1, "deviceClassName": "dc"}))
    );
    assert_eq!(claim.pointer("/spec/devices/requests/1/firstAvailable/1/count"), None, "All has no count");
    assert_eq!(claim.get("status"), Some(&serde_json::json!({})));
    let slice = get_json(&k, &["resourceslice", "g2"]);
    assert_eq!(slice.pointer("/metadata/generation"), Some(&Value::from(1)));
    assert_eq!(slice.pointer("/spec/devices"), Some(&Value::Null), "kube writes devices: null");

    // kube's printer columns (IPAddress has no AGE column in kube's printer).
    let header = |resource: &str| words(&k.ok(&["get", resource, "-A"]).stdout)[0].clone();
    assert_eq!(header("ipaddresses"), "NAME PARENTREF");
    assert_eq!(header("servicecidrs"), "NAME CIDRS AGE");
    assert_eq!(header("volumeattributesclasses"), "NAME DRIVERNAME AGE");
    assert_eq!(header("resourceclaims"), "NAMESPACE NAME STATE AGE");
    assert_eq!(header("resourceslices"), "NAME NODE DRIVER POOL AGE");
    assert_eq!(header("deviceclasses"), "NAME AGE");
    let rows = words(&k.ok(&["get", "resourceclaims", "-n", "default", "--no-headers"]).stdout);
    assert!(rows[0].starts_with("g1 pending "), "{rows:?}");
    let rows = words(&k.ok(&["get", "ipaddresses", "10.96.100.100", "--no-headers"]).stdout);
    assert!(rows[0].starts_with("10.96.100.100 services/default/x"), "{rows:?}");

    // Updates kube refuses.
    let refused = k.run(&[
        "patch",
        "resourceslice",
        "g2",
        "--type=merge",
        "-p",
        r#"{"spec":{"driver":"y.example.com"}}"#,
    ]);
    assert!(
        refused.stderr.contains(r#"spec.driver: Invalid value: "y.example.com": field is immutable"#),
        "{refused}"
    );
    let refused = k.run(&[
        "patch",
        "servicecidr",
        "g3",
        "--type=merge",
        "-p",
        r#"{"spec":{"cidrs":["10.101.0.0/24"]}}"#,
    ]);
    assert!(
        refused.stderr.contains(r#"spec.cidrs: Invalid value: ["10.101.0.0/24"]: field is immutable"#),
        "{refused}"
    );
    k.ok(&[
        "patch",
        "servicecidr",
        "g3",
        "--type=merge",
        "-p",
        r#"{"spec":{"cidrs":["10.100.0.0/24","fd00::/108"]}}"#,
    ]);
    let refused =
        k.run(&["patch", "volumeattributesclass", "g4", "--type=merge", "-p", r#"{"parameters":{"a":"c"}}"#]);
    assert!(
        refused.stderr.contains("parameters: Forbidden: updates to parameters are forbidden."),
        "{refused}"
    );
    let generation = k.ok(&[
        "patch",
        "deviceclass",
        "g5",
        "--type=merge",
        "-p",
        r#"{"spec":{"selectors":[]}}"#,
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation.stdout, "2");

    // The invalid objects get kube's 422s, cause for cause.
    let invalid = format!("{MANIFESTS}/dra_kinds_invalid.yaml");
    let out = k.run(&["create", "-f", &invalid]);
    assert!(!out.ok());
    let got = out.stderr.replace(&format!("error when creating \"{invalid}\": "), "");
    let want = std::fs::read_to_string(format!("{MANIFESTS}/dra_kinds_invalid.kube-1.34.txt")).unwrap();
    assert_eq!(got, want);
}

#[test]
fn services_hold_ip_addresses_and_the_default_cidr_is_ready() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    // Created by kube-apiserver, its Ready condition applied by kube's ServiceCIDR controller.
    let cidr = eventually(Duration::from_secs(10), || {
        let cidr = get_json(&k, &["servicecidr", "kubernetes", "--show-managed-fields"]);
        cidr.pointer("/status/conditions/0").is_some().then_some(cidr)
    })
    .expect("the default ServiceCIDR's status");
    assert_eq!(cidr.pointer("/spec/cidrs/0").and_then(Value::as_str), Some("10.96.0.0/12"));
    assert_eq!(cidr.pointer("/status/conditions/0/type").and_then(Value::as_str), Some("Ready"));
    assert_eq!(cidr.pointer("/status/conditions/0/status").and_then(Value::as_str), Some("True"));
    let mut managers: Vec<(&str, &str)> = cidr
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| (e["manager"].as_str().unwrap_or_default(), e["operation"].as_str().unwrap_or_default()))
        .collect();
    managers.sort();
    assert_eq!(managers, [("kube-apiserver", "Update"), ("kubernetes-service-cidr-controller", "Apply")]);

    let kubernetes = eventually(Duration::from_secs(10), || {
        let out = k.run(&["get", "ipaddress", "10.96.0.1", "-o", "json"]);
        out.ok().then(|| serde_json::from_str::<Value>(&out.stdout).unwrap())
    })
    .expect("the kubernetes Service's IPAddress");
    assert_eq!(
        kubernetes.pointer("/metadata/labels"),
        Some(&serde_json::json!({"ipaddress.kubernetes.io/ip-family": "IPv4",
            "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"}))
    );
    assert_eq!(
        kubernetes.pointer("/spec/parentRef"),
        Some(&serde_json::json!({"resource": "services", "namespace": "default", "name": "kubernetes"}))
    );

    // A Service gets its IPAddress, and loses it with the Service.
    k.ok(&["create", "service", "clusterip", "web", "--tcp=80", "--clusterip=10.96.7.7"]);
    let has = |ip: &str| k.run(&["get", "ipaddress", ip]).ok();
    assert!(eventually(Duration::from_secs(10), || has("10.96.7.7").then_some(())).is_some());
    k.ok(&["delete", "service", "web"]);
    assert!(eventually(Duration::from_secs(10), || (!has("10.96.7.7")).then_some(())).is_some());

    // An IPAddress someone else holds is taken for the allocator.
    k.ok(&["create", "-f", &format!("{MANIFESTS}/dra_kinds.yaml")]);
    let taken = k.run(&["create", "service", "clusterip", "other", "--tcp=80", "--clusterip=10.96.100.100"]);
    assert!(
        taken.stderr.contains("failed to allocate IP 10.96.100.100: provided IP is already allocated"),
        "{taken}"
    );
}

#[test]
fn volume_attributes_classes_stay_while_a_claim_names_them() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, VERSION) else { return };
    k.ok(&["create", "-f", &format!("{MANIFESTS}/dra_kinds.yaml")]);
    let vac = get_json(&k, &["vac", "g4"]);
    assert_eq!(
        vac.pointer("/metadata/finalizers"),
        Some(&serde_json::json!(["kubernetes.io/vac-protection"]))
    );
    let claim = format!("{MANIFESTS}/dra_kinds_claim.yaml");
    k.ok(&["create", "-f", &claim]);
    k.ok(&["delete", "vac", "g4", "--wait=false"]);
    std::thread::sleep(Duration::from_millis(500));
    let held = get_json(&k, &["vac", "g4"]);
    assert!(held.pointer("/metadata/deletionTimestamp").is_some(), "{held}");
    k.ok(&["delete", "pvc", "uses-gold", "-n", "default", "--wait=false"]);
    let gone = eventually(Duration::from_secs(15), || (!k.run(&["get", "vac", "g4"]).ok()).then_some(()));
    assert!(gone.is_some(), "the class stayed after its last claim went");
}
