//! ClusterTrustBundles (certificates.k8s.io/v1beta1) through the real binary and kubectl
//! 1.33: discovery, create and list with kube's Table columns, the spec.signerName field
//! selector, kube's 422 texts (name prefix, CA bit, signerName immutable), and the
//! ClusterTrustBundleAttest admission plugin (kube's 403 without `attest` on the signer).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::more::retry;
use support::{kubectl_or_missing, words, Kubectl, Server};

fn bundle(name: &str, signer: Option<&str>, pem: &str) -> Value {
    let mut spec = json!({"trustBundle": pem});
    if let Some(s) = signer {
        spec["signerName"] = json!(s);
    }
    json!({"apiVersion": "certificates.k8s.io/v1beta1", "kind": "ClusterTrustBundle",
        "metadata": {"name": name}, "spec": spec})
}

fn create(k: &Kubectl, dir: &Path, obj: &Value) -> support::Output {
    let name = obj["metadata"]["name"].as_str().unwrap_or("obj").replace(':', "_");
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, obj.to_string()).expect("write manifest");
    k.run(&["create", "-f", path.to_str().expect("utf-8 path")])
}

#[test]
fn cluster_trust_bundles_are_served_validated_and_attested() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let dir = server.scratch("ctb");
    let ca_a = pki::Ca::generate("bundle-a").expect("ca").cert_pem;
    let ca_b = pki::Ca::generate("bundle-b").expect("ca").cert_pem;

    let resources = k.ok(&["api-resources", "--api-group=certificates.k8s.io"]).stdout;
    let row = resources.lines().find(|l| l.starts_with("clustertrustbundles")).expect("listed");
    assert_eq!(words(row), ["clustertrustbundles certificates.k8s.io/v1beta1 false ClusterTrustBundle"]);

    // One without a signer, one for example.com/signer (the admin may attest: cluster-admin).
    create(&k, &dir, &bundle("roots", None, &format!("{ca_a}{ca_b}"))).assert_ok();
    create(&k, &dir, &bundle("example.com:signer:one", Some("example.com/signer"), &ca_a))
        .assert_ok()
        .assert_stdout_contains("clustertrustbundle.certificates.k8s.io/example.com:signer:one created");
    let table = k.ok(&["get", "clustertrustbundles"]).stdout;
    assert_eq!(
        words(&table),
        ["NAME SIGNERNAME", "example.com:signer:one example.com/signer", "roots <none>"],
        "{table}"
    );
    let selected = k.ok(&[
        "get",
        "clustertrustbundles",
        "--field-selector=spec.signerName=example.com/signer",
        "-o",
        "name",
    ]);
    assert_eq!(selected.stdout.trim(), "clustertrustbundle.certificates.k8s.io/example.com:signer:one");

    // kube's 422s.
    let out = create(&k, &dir, &bundle("abc", Some("example.com/signer"), &ca_a));
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"The ClusterTrustBundle "abc" is invalid: metadata.name: Invalid value: "abc": ClusterTrustBundle for signerName example.com/signer must be named with prefix example.com:signer:"#,
    );
    let leaf =
        pki::Ca::generate("leaf-issuer").expect("ca").issue_client("leaf", &[]).expect("leaf").cert_pem;
    let out = create(&k, &dir, &bundle("leafy", None, &format!("{ca_a}{leaf}")));
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"spec.trustBundle: Invalid value: "<value omitted>": entry 1 does not have the CA bit set"#,
    );
    let out = create(&k, &dir, &bundle("twice", None, &format!("{ca_a}{ca_a}")));
    out.assert_stderr_contains("duplicate trust anchor (indices [0 1])");
    let out = k.run(&[
        "patch",
        "clustertrustbundle",
        "example.com:signer:one",
        "--type=merge",
        "-p",
        r#"{"spec":{"signerName":"example.com/other"}}"#,
    ]);
    out.assert_code(1);
    out.assert_stderr_contains(r#"spec.signerName: Invalid value: "example.com/other": field is immutable"#);

    // ClusterTrustBundleAttest: jane may create bundles, but one naming a signer needs attest.
    k.ok(&[
        "create",
        "clusterrole",
        "ctb-writer",
        "--verb=create,update,patch,get",
        "--resource=clustertrustbundles",
    ]);
    k.ok(&["create", "clusterrolebinding", "jane-ctb", "--clusterrole=ctb-writer", "--user=jane"]);
    let kc = server.user_kubeconfig("jane", &[]);
    let jane = server.kubectl_as("1.33", "jane", &kc).expect("kubectl 1.33");
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = create(&jane, &dir, &bundle("janes", None, &ca_b));
        (out.ok(), out.to_string())
    });
    assert!(ok, "a bundle without a signer needs no attest: {last}");
    let attested = bundle("example.com:signer:two", Some("example.com/signer"), &ca_b);
    let out = create(&jane, &dir, &attested);
    out.assert_code(1);
    out.assert_stderr_contains(
        r#"clustertrustbundles.certificates.k8s.io "example.com:signer:two" is forbidden: user not permitted to attest for signerName "example.com/signer""#,
    );
    let attester = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "signer-attester"},
        "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["attest"],
            "resourceNames": ["example.com/*"]}]});
    create(&k, &dir, &attester).assert_ok();
    k.ok(&["create", "clusterrolebinding", "jane-attest", "--clusterrole=signer-attester", "--user=jane"]);
    let (ok, last) = retry(Duration::from_secs(5), || {
        let out = create(&jane, &dir, &attested);
        (out.ok(), out.to_string())
    });
    assert!(ok, "attest on example.com/* allows: {last}");
}
