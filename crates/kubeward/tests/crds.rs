//! CustomResourceDefinitions through kubectl (1.33 and 1.27) and curl: a created CRD is
//! established and served (discovery, OpenAPI, `kubectl explain`), its objects are stored
//! like any other (printer columns, short names and categories, the status and scale
//! subresources, several served versions, cluster scope, watch with resume, pagination,
//! field selectors), RBAC works for them (a ClusterRole made with `--resource`, aggregation
//! into `view`, `kubeward who-can`), and deleting the CRD deletes its objects first; custom
//! resources are validated (kube's 422 causes, CEL rules), defaulted and pruned by their
//! schema, and invalid CRDs are refused with kube's causes.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use support::more::{retry, Cluster, FlagServer};
use support::{get_json, words, Kubectl, Server};

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, minimum: 0, description: "How many widgets to keep."}
              color: {type: string, enum: [red, blue]}
              selector: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .spec.selector
    selectableFields:
    - jsonPath: .spec.color
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Phase, type: string, jsonPath: .status.phase, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    deprecationWarning: "example.com/v1beta1 Widget is deprecated; use example.com/v1"
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {replicas: 2, color: red, selector: "app=w1"}
"#;

/// Creates the CRD and waits (bounded) until its objects can be listed.
fn establish(server: &Server, k: &Kubectl, crd: &str) {
    let path = server.file("crd.yaml", crd);
    k.ok(&["apply", "-f", path.to_str().unwrap_or_default()]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=5s"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "the CRD was not established: {out}");
}

fn condition<'a>(crd: &'a Value, type_: &str) -> &'a Value {
    crd["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition: {crd}"))
}

#[test]
fn a_crd_is_established_and_served_with_discovery_and_openapi() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);

    let crd = get_json(&k, &["crd", "widgets.example.com"]);
    let names = condition(&crd, "NamesAccepted");
    assert_eq!((names["status"].as_str(), names["reason"].as_str()), (Some("True"), Some("NoConflicts")));
    assert_eq!(names["message"], "no conflicts found");
    let est = condition(&crd, "Established");
    assert_eq!(
        (est["status"].as_str(), est["reason"].as_str()),
        (Some("True"), Some("InitialNamesAccepted"))
    );
    assert_eq!(crd["status"]["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));
    let table = k.ok(&["get", "crd"]);
    assert_eq!(words(&table.stdout)[0], "NAME CREATED AT", "{table}");

    // Legacy discovery: the group, both versions (v1 preferred), the resource and its subresources.
    let group = server.admin_curl("/apis/example.com", &[]).json();
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group}");
    let versions: Vec<&str> =
        group["versions"].as_array().into_iter().flatten().filter_map(|v| v["version"].as_str()).collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    let list = server.admin_curl("/apis/example.com/v1", &[]).json();
    let resources: Vec<&str> =
        list["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    // apiextensions-apiserver's discovery controller appends status, then scale (unsorted,
    // unlike the built-in groups' name order).
    assert_eq!(resources, ["widgets", "widgets/status", "widgets/scale"], "{list}");
    let widgets = &list["resources"][0];
    assert_eq!(widgets["shortNames"], serde_json::json!(["wd"]));
    assert_eq!(widgets["categories"], serde_json::json!(["all"]));
    assert_eq!(widgets["namespaced"], true);

    // Aggregated discovery, as kubectl reads it.
    let out = k.ok(&["api-resources", "--api-group=example.com"]);
    assert!(words(&out.stdout).iter().any(|l| l == "widgets wd example.com/v1 true Widget"), "{out}");

    // OpenAPI v3 (kubectl 1.33 explain) and v2 (kubectl 1.27 explain), rebuilt in the
    // background after discovery: waited for (bounded).
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = server.admin_curl("/openapi/v3/apis/example.com/v1", &[]);
        (out.status == 200 && out.body.contains("com.example.v1.Widget"), out.to_string())
    });
    assert!(ok, "no OpenAPI document for example.com/v1: {out}");
    let doc = server.admin_curl("/openapi/v3/apis/example.com/v1", &[]).json();
    let schema = &doc["components"]["schemas"]["com.example.v1.Widget"];
    assert_eq!(
        schema["properties"]["spec"]["properties"]["color"]["enum"],
        serde_json::json!(["red", "blue"])
    );
    assert_eq!(schema["x-kubernetes-group-version-kind"][0]["kind"], "Widget", "{schema}");
    let out = k.ok(&["explain", "widgets.spec.replicas"]);
    assert!(out.stdout.contains("How many widgets to keep."), "{out}");
    // kube wraps metadata's reference in allOf, so explain shows the field's own text
    // (Kubernetes' e2e CustomResourcePublishOpenAPI tests), not ObjectMeta's.
    let out = k.ok(&["explain", "widgets.metadata"]);
    assert!(out.stdout.contains("Standard object's metadata"), "{out}");
    assert!(out.stdout.contains("creationTimestamp"), "{out}");

    if let Some(old) = support::kubectl_or_missing(&server, "1.27") {
        let out = old.ok(&["explain", "widgets.spec"]);
        assert!(out.stdout.contains("replicas") && out.stdout.contains("<integer>"), "{out}");
    }
}

/// OpenAPI v2 in JSON, as kube serves it to a client that does not ask for protobuf
/// (Kubernetes' e2e CustomResourcePublishOpenAPI tests): the whole schema, with an ETag;
/// protobuf (kubectl's) when asked for.
#[test]
fn openapi_v2_is_json_unless_protobuf_is_asked_for() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = server.admin_curl("/openapi/v2", &[]);
        (out.status == 200 && out.body.contains("com.example.v1.Widget"), out.status.to_string())
    });
    assert!(ok, "no v2 definition of com.example.v1.Widget: {out}");
    let headers = server.scratch("v2-headers");
    let headers = headers.join("h.txt");
    let v2 = server.admin_curl("/openapi/v2", &["-D", headers.to_str().unwrap_or_default()]);
    let doc = v2.json();
    assert_eq!(doc["swagger"], "2.0");
    let widget = &doc["definitions"]["com.example.v1.Widget"];
    assert_eq!(widget["properties"]["spec"]["properties"]["replicas"]["minimum"], 0, "{widget}");
    assert_eq!(
        widget["properties"]["spec"]["properties"]["color"]["enum"],
        serde_json::json!(["red", "blue"])
    );
    let meta = widget["properties"]["metadata"]["$ref"].as_str().unwrap_or_default();
    assert_eq!(meta, "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "{widget}");
    let headers = std::fs::read_to_string(&headers).unwrap_or_default();
    assert!(headers.to_ascii_lowercase().contains("content-type: application/json"), "{headers}");
    let etag = headers
        .lines()
        .find_map(|l| l.strip_prefix("etag: ").or_else(|| l.strip_prefix("ETag: ")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no ETag: {headers}"));
    let again = server.admin_curl("/openapi/v2", &["-H", &format!("If-None-Match: {etag}")]);
    assert_eq!(again.status, 304, "{again}");
    let proto = server.admin_curl(
        "/openapi/v2",
        &["-H", "Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf"],
    );
    assert_eq!(proto.status, 200, "{}", proto.status);
    assert!(!proto.body.starts_with('{'), "protobuf was asked for");
}

#[test]
fn custom_resources_have_columns_categories_status_and_scale() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    let w = server.file("w1.yaml", WIDGET);
    k.ok(&["apply", "-f", w.to_str().unwrap_or_default()]);

    let out = k.ok(&["get", "widgets"]);
    let lines = words(&out.stdout);
    assert_eq!(lines[0], "NAME REPLICAS COLOR AGE", "{out}");
    assert!(lines[1].starts_with("w1 2 red "), "{out}");
    let out = k.ok(&["get", "wd", "-o", "wide"]);
    assert_eq!(words(&out.stdout)[0], "NAME REPLICAS COLOR PHASE AGE", "{out}");
    let out = k.ok(&["get", "all"]);
    assert!(out.stdout.contains("widget.example.com/w1"), "{out}");

    // Status: ignored by the main resource, written through /status; spec changes move
    // the generation, status changes do not.
    k.ok(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"status":{"phase":"Ready"}}"#]);
    let obj = get_json(&k, &["widget", "w1"]);
    assert!(obj["status"].is_null(), "{obj}");
    assert_eq!(obj["metadata"]["generation"], 1);
    k.ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Ready","replicas":1}}"#,
    ]);
    let obj = get_json(&k, &["widget", "w1"]);
    assert_eq!(obj["status"]["phase"], "Ready");
    assert_eq!(obj["metadata"]["generation"], 1);

    // Scale: kubectl scale writes spec.replicas through the subresource.
    k.ok(&["scale", "widget", "w1", "--replicas=5"]);
    let obj = get_json(&k, &["widget", "w1"]);
    assert_eq!(obj["spec"]["replicas"], 5);
    assert_eq!(obj["metadata"]["generation"], 2);
    let scale = server.admin_curl("/apis/example.com/v1/namespaces/default/widgets/w1/scale", &[]).json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 5);
    assert_eq!(scale["status"]["replicas"], 1);
    assert_eq!(scale["status"]["selector"], "app=w1");
    let out = k.run(&["scale", "widget", "w1", "--replicas=-2"]);
    assert!(!out.ok());
}

#[test]
fn served_versions_cluster_scope_watch_pages_and_field_selectors() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    for (name, color) in [("a", "red"), ("b", "blue"), ("c", "red")] {
        let body = format!(
            r#"{{"apiVersion":"example.com/v1beta1","kind":"Widget","metadata":{{"name":"{name}"}},"spec":{{"color":"{color}","replicas":1}}}}"#
        );
        let out = server.admin_curl(
            "/apis/example.com/v1beta1/namespaces/default/widgets",
            &["-X", "POST", "-H", "Content-Type: application/json", "-d", &body, "-D", "/dev/stderr"],
        );
        assert_eq!(out.status, 201, "{out}");
        assert!(
            out.out.stderr.contains("example.com/v1beta1 Widget is deprecated; use example.com/v1"),
            "no Warning: {out}"
        );
    }
    // Stored once, served in the version asked for.
    let v1 = get_json(&k, &["widgets.v1.example.com", "a"]);
    assert_eq!(v1["apiVersion"], "example.com/v1");
    let beta = server.admin_curl("/apis/example.com/v1beta1/namespaces/default/widgets/a", &[]).json();
    assert_eq!(beta["apiVersion"], "example.com/v1beta1");
    assert_eq!(beta["metadata"]["uid"], v1["metadata"]["uid"]);

    // Pagination and field selectors (metadata and the CRD's selectableFields).
    let page = server.admin_curl("/apis/example.com/v1/namespaces/default/widgets?limit=2", &[]).json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
    let token = page["metadata"]["continue"].as_str().expect("continue token").to_string();
    let rest = server
        .admin_curl(&format!("/apis/example.com/v1/namespaces/default/widgets?limit=2&continue={token}"), &[])
        .json();
    assert_eq!(rest["items"][0]["metadata"]["name"], "c");
    let out = k.ok(&["get", "widgets", "--field-selector=spec.color=red", "-o", "name"]);
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), ["widget.example.com/a", "widget.example.com/c"]);
    let out = k.ok(&["get", "widgets", "--field-selector=metadata.name=b", "-o", "name"]);
    assert_eq!(out.stdout.trim(), "widget.example.com/b");
    let out = k.run(&["get", "widgets", "--field-selector=spec.replicas=1"]);
    assert!(!out.ok() && out.stderr.contains("field label not supported"), "{out}");

    // Watch from a resourceVersion: the change made after it, nothing before.
    let rv = page["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
    k.ok(&["label", "widget", "b", "touched=yes"]);
    let watch = server.admin_curl(
        &format!("/apis/example.com/v1/namespaces/default/widgets?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        &[],
    );
    let events: Vec<Value> = watch.body.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(events.len(), 1, "{watch}");
    assert_eq!(events[0]["type"], "MODIFIED");
    assert_eq!(events[0]["object"]["metadata"]["labels"]["touched"], "yes");

    // A cluster-scoped CRD.
    let gizmos = CRD
        .replace("widgets", "gizmos")
        .replace("widget", "gizmo")
        .replace("Widget", "Gizmo")
        .replace("[wd]", "[gz]")
        .replace("Namespaced", "Cluster");
    let path = server.file("gizmos.yaml", &gizmos);
    k.ok(&["apply", "-f", path.to_str().unwrap_or_default()]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["wait", "--for=condition=Established", "crd/gizmos.example.com", "--timeout=5s"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "{out}");
    let g = server.file(
        "g.yaml",
        "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {replicas: 1}\n",
    );
    k.ok(&["apply", "-f", g.to_str().unwrap_or_default()]);
    let obj = get_json(&k, &["gizmo", "g1"]);
    assert!(obj["metadata"]["namespace"].is_null(), "{obj}");
    let list = server.admin_curl("/apis/example.com/v1/gizmos", &[]).json();
    assert_eq!(list["items"][0]["metadata"]["name"], "g1");
}

#[test]
fn deleting_a_crd_deletes_its_objects_first() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    let w = server.file("w1.yaml", WIDGET);
    k.ok(&["apply", "-f", w.to_str().unwrap_or_default()]);
    let held = server.file(
        "held.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: held, finalizers: [example.com/hold]}\nspec: {replicas: 1}\n",
    );
    k.ok(&["apply", "-f", held.to_str().unwrap_or_default()]);

    k.ok(&["delete", "crd", "widgets.example.com", "--wait=false"]);
    // The object with a finalizer holds the CRD: it is being deleted, the CRD is Terminating.
    let (ok, out) = retry(Duration::from_secs(10), || {
        let crd = get_json(&k, &["crd", "widgets.example.com"]);
        let obj = get_json(&k, &["widget", "held"]);
        let terminating = crd["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Terminating" && c["status"] == "True"));
        (terminating && obj["metadata"]["deletionTimestamp"].is_string(), format!("{crd}\n{obj}"))
    });
    assert!(ok, "{out}");
    let out = k.run(&["get", "widget", "w1"]);
    assert!(!out.ok() && out.stderr.contains("NotFound"), "{out}");
    let crd = get_json(&k, &["crd", "widgets.example.com"]);
    assert_eq!(
        crd["metadata"]["finalizers"],
        serde_json::json!(["customresourcecleanup.apiextensions.k8s.io"])
    );

    // Once its finalizer goes, the object goes, then the CRD, then the resource type.
    k.ok(&["patch", "widget", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["get", "crd", "widgets.example.com"]);
        (!out.ok() && out.stderr.contains("NotFound"), out.to_string())
    });
    assert!(ok, "{out}");
    let out = server.admin_curl("/apis/example.com/v1/namespaces/default/widgets", &[]);
    assert_eq!(out.status, 404, "{out}");
}

/// A CRD with no objects goes at once, as kube's finalizer controller removes its cleanup
/// finalizer on the CRD's event: the DELETE answers the CRD Terminating (kube's
/// `InstanceDeletionPending`), and a GET right after finds it gone.
#[test]
fn a_deleted_crd_with_no_objects_is_gone_at_once() {
    // The controller's look at terminating CRDs comes every second; here it is made an hour
    // long, so a CRD that goes at all went on its own event, as kube's finalizer controller
    // does (kube answers the GET after the DELETE with 404 within milliseconds).
    let server = FlagServer::start_env(|_| Vec::new(), &[("KUBEWARD_TEST_CRD_RESYNC_SECONDS", "3600")]);
    assert!(server.log().contains("test setting: CRD controller resync changed"), "{}", server.log());
    let k = server.admin();
    for round in 0..3 {
        let crd = CRD
            .replace("widgets", &format!("widgets{round}"))
            .replace("kind: Widget", &format!("kind: Widget{round}"));
        let crd = crd
            .replace("shortNames: [wd]", &format!("shortNames: [wd{round}]"))
            .replace("singular: widget\n", &format!("singular: widget{round}\n"));
        let name = format!("widgets{round}.example.com");
        let path = server.file(&format!("crd{round}.yaml"), &crd);
        k.ok(&["apply", "-f", path.to_str().unwrap_or_default()]);
        let (ok, out) = retry(Duration::from_secs(10), || {
            let out = k.run(&["wait", "--for=condition=Established", &format!("crd/{name}"), "--timeout=5s"]);
            (out.ok(), out.to_string())
        });
        assert!(ok, "the CRD was not established: {out}");

        let item = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}");
        let deleted = server.admin_curl(&item, &["-X", "DELETE"]);
        assert_eq!(deleted.status, 200, "{deleted}");
        let answer = deleted.json();
        assert_eq!(
            answer["metadata"]["finalizers"],
            serde_json::json!(["customresourcecleanup.apiextensions.k8s.io"])
        );
        assert_eq!(condition(&answer, "Terminating")["reason"], "InstanceDeletionPending");
        // Well within the hour, however loaded the machine.
        let (gone, h) = retry(Duration::from_secs(30), || {
            let h = server.admin_curl(&item, &[]);
            (h.status == 404 && h.json()["reason"] == "NotFound", h.to_string())
        });
        assert!(gone, "round {round}: the CRD is still there: {h}");
    }
}

/// kube's autoregistration: each served version of a CRD gets a local APIService (group
/// priority 1000, version priority 100, `automanaged: "true"`), put back when deleted and
/// removed with the CRD; a local APIService made unavailable is Available again (kube's
/// local availability controller).
#[test]
fn served_crd_versions_get_local_apiservices() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    let get = |name: &str| get_json(&k, &["apiservice", name]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["get", "apiservice", "v1.example.com", "v1beta1.example.com"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "{out}");
    let v1 = get("v1.example.com");
    assert_eq!(v1["metadata"]["labels"]["kube-aggregator.kubernetes.io/automanaged"], "true");
    assert_eq!(
        v1["spec"],
        serde_json::json!({"group": "example.com", "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 100})
    );
    assert_eq!(condition(&v1, "Available")["reason"], "Local");

    k.ok(&["delete", "apiservice", "v1beta1.example.com"]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["get", "apiservice", "v1beta1.example.com", "-o", "jsonpath={.metadata.uid}"]);
        (out.ok() && !out.stdout.is_empty(), out.to_string())
    });
    assert!(ok, "not put back: {out}");

    let broken = r#"{"status":{"conditions":[{"type":"Available","status":"False","reason":"Broken","message":"no","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#;
    k.ok(&["patch", "apiservice", "v1.apps", "--subresource=status", "--type=merge", "-p", broken]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let svc = get("v1.apps");
        (condition(&svc, "Available")["status"] == "True", svc.to_string())
    });
    assert!(ok, "v1.apps not Available again: {out}");

    k.ok(&["delete", "crd", "widgets.example.com"]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["get", "apiservices", "-o", "name"]);
        (out.ok() && !out.stdout.contains("example.com"), out.to_string())
    });
    assert!(ok, "the CRD's APIServices stayed: {out}");
}

#[test]
fn rbac_works_for_custom_resources() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, CRD);
    let w = server.file("w1.yaml", WIDGET);
    k.ok(&["apply", "-f", w.to_str().unwrap_or_default()]);

    k.ok(&["create", "clusterrole", "widget-reader", "--verb=get,list", "--resource=widgets.example.com"]);
    let role = get_json(&k, &["clusterrole", "widget-reader"]);
    assert_eq!(role["rules"][0]["apiGroups"], serde_json::json!(["example.com"]));
    assert_eq!(role["rules"][0]["resources"], serde_json::json!(["widgets"]));
    k.ok(&[
        "create",
        "rolebinding",
        "jane-reads",
        "--clusterrole=widget-reader",
        "--user=jane",
        "-n",
        "default",
    ]);
    let jane = server.kubectl_user("jane", &[]);
    jane.ok(&["get", "widgets"]);
    let out = jane.run(&["delete", "widget", "w1"]);
    assert!(
        out.stderr.contains(
            r#"widgets.example.com "w1" is forbidden: User "jane" cannot delete resource "widgets" in API group "example.com" in the namespace "default""#
        ),
        "{out}"
    );

    // Aggregation: a ClusterRole labelled for `view` extends it to widgets.
    let agg = server.file(
        "agg.yaml",
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [example.com]
  resources: [widgets]
  verbs: [get, list, watch]
"#,
    );
    k.ok(&["apply", "-f", agg.to_str().unwrap_or_default()]);
    k.ok(&["create", "rolebinding", "bob-views", "--clusterrole=view", "--user=bob", "-n", "default"]);
    let bob = server.kubectl_user("bob", &[]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = bob.run(&["get", "widgets", "-o", "name"]);
        (out.ok() && out.stdout.contains("widget.example.com/w1"), out.to_string())
    });
    assert!(ok, "view did not aggregate the widgets rule: {out}");

    // who-can names both.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(["who-can", "list", "widgets.example.com", "-n", "default", "--kubeconfig"])
        .arg(server.admin_kubeconfig());
    let out = support::run(cmd, Duration::from_secs(60));
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("jane") && out.stdout.contains("bob"), "{out}");
}

const GADGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.maxReplicas"
              message: "minReplicas must not exceed maxReplicas"
            - rule: "!has(self.name) || self.name.startsWith('g-')"
              messageExpression: "'name ' + self.name + ' must start with g-'"
            properties:
              size: {type: string, enum: [small, large]}
              name: {type: string, pattern: "^[a-z-]+$", maxLength: 20}
              minReplicas: {type: integer, minimum: 0, default: 1}
              maxReplicas: {type: integer, default: 3}
              port: {x-kubernetes-int-or-string: true}
              mode: {type: string, default: "auto"}
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
"#;

fn create_gadget(server: &Server, body: &str, query: &str) -> support::more::Http {
    server.admin_curl(
        &format!("/apis/example.com/v1/namespaces/default/gadgets{query}"),
        &["-X", "POST", "-H", "Content-Type: application/json", "-d", body, "-D", "/dev/stderr"],
    )
}

#[test]
fn custom_resources_are_validated_defaulted_and_pruned_by_their_schema() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    let path = server.file("gadgets.yaml", GADGETS);
    k.ok(&["apply", "-f", path.to_str().unwrap_or_default()]);
    let (ok, out) = retry(Duration::from_secs(10), || {
        let out = k.run(&["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=5s"]);
        (out.ok(), out.to_string())
    });
    assert!(ok, "{out}");

    // Defaults and pruning (unknown fields dropped with a warning; kept under
    // x-kubernetes-preserve-unknown-fields), int-or-string, an embedded resource.
    let ok_body = r#"{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g1"},
        "spec":{"size":"small","port":"http","bogus":1,"extra":{"free":{"form":true}},
        "template":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"b"}}}}"#;
    let out = create_gadget(&server, ok_body, "");
    assert_eq!(out.status, 201, "{out}");
    assert!(out.out.stderr.contains(r#"unknown field \"spec.bogus\""#), "no warning: {out}");
    let g = out.json();
    assert_eq!(g["spec"]["minReplicas"], 1);
    assert_eq!(g["spec"]["maxReplicas"], 3);
    assert_eq!(g["spec"]["mode"], "auto");
    assert_eq!(g["spec"]["port"], "http");
    assert!(g["spec"].get("bogus").is_none(), "{g}");
    assert_eq!(g["spec"]["extra"]["free"]["form"], true);
    assert_eq!(g["spec"]["template"]["data"]["a"], "b");

    // fieldValidation=Strict refuses the unknown field as kube does.
    let strict = create_gadget(&server, &ok_body.replace("\"g1\"", "\"g2\""), "?fieldValidation=Strict");
    assert_eq!(strict.status, 400, "{strict}");
    assert!(strict.body.contains(r#"strict decoding error: unknown field \"spec.bogus\""#), "{strict}");

    // Schema errors: 422 with kube's causes.
    let bad = r#"{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g3"},
        "spec":{"size":"huge","name":"Bad_Name","minReplicas":-1,"maxReplicas":"many"}}"#;
    let out = create_gadget(&server, bad, "");
    assert_eq!(out.status, 422, "{out}");
    let status = out.json();
    assert_eq!(status["reason"], "Invalid");
    let messages: Vec<String> = status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}: {}",
                c["field"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let all = messages.join("\n");
    for expected in [
        r#"spec.size: Unsupported value: "huge": supported values: "small", "large""#,
        r#"spec.name: Invalid value: "Bad_Name": spec.name in body should match '^[a-z-]+$'"#,
        "spec.minReplicas: Invalid value: -1: spec.minReplicas in body should be greater than or equal to 0",
        r#"spec.maxReplicas: Invalid value: "string": spec.maxReplicas in body must be of type integer: "string""#,
    ] {
        assert!(all.contains(expected), "missing {expected:?} in\n{all}");
    }
    let msg = status["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with(r#"Gadget.example.com "g3" is invalid: ["#), "{msg}");

    // CEL rules: message and messageExpression, through kubectl.
    let cel = server.file(
        "cel.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g4}\nspec: {size: large, name: gadget, minReplicas: 5, maxReplicas: 2}\n",
    );
    let out = k.run(&["apply", "-f", cel.to_str().unwrap_or_default()]);
    assert!(!out.ok(), "{out}");
    assert!(
        out.stderr.contains(r#"spec: Invalid value: "object": minReplicas must not exceed maxReplicas"#),
        "{out}"
    );
    assert!(out.stderr.contains("spec: Invalid value: \"object\": name gadget must start with g-"), "{out}");

    // Required.
    let out = create_gadget(
        &server,
        r#"{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g5"},"spec":{}}"#,
        "",
    );
    assert_eq!(out.status, 422, "{out}");
    assert!(out.body.contains("spec.size: Required value"), "{out}");
}

#[test]
fn invalid_crds_are_refused_with_kubes_causes() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    let refuse = |name: &str, crd: String, expected: &str| {
        let path = server.file(name, &crd);
        let out = k.run(&["apply", "-f", path.to_str().unwrap_or_default()]);
        assert!(!out.ok(), "{name} was accepted: {out}");
        assert!(out.stderr.contains(expected), "{name}: expected {expected:?}: {out}");
    };
    refuse(
        "unknown-type.yaml",
        GADGETS.replace("size: {type: string, enum: [small, large]}", "size: {type: strnig}"),
        r#"Unsupported value: "strnig": supported values: "array", "boolean", "integer", "number", "object", "string""#,
    );
    refuse(
        "bad-rule.yaml",
        GADGETS.replace("self.minReplicas <= self.maxReplicas", "self.minReplicas <= "),
        "compilation failed",
    );
    refuse(
        "webhook.yaml",
        GADGETS.replace(
            "  scope: Namespaced",
            "  scope: Namespaced\n  conversion:\n    strategy: Webhook\n    webhook:\n      conversionReviewVersions: [v1]\n      clientConfig: {url: \"https://127.0.0.1:1/convert\"}",
        ),
        "Webhook conversion is not supported",
    );
    refuse(
        "no-storage.yaml",
        GADGETS.replace("storage: true", "storage: false"),
        "must have exactly one version marked as storage version",
    );
    refuse(
        "bad-name.yaml",
        GADGETS.replace("name: gadgets.example.com", "name: gizmos.example.com"),
        "must be spec.names.plural+\".\"+spec.group",
    );
}

const PORTED: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    port: {type: integer}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
"#;

#[test]
fn server_side_apply_on_custom_resources_follows_the_schema() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    establish(&server, &k, PORTED);
    let apply = |manager: &str, body: &str, extra: &[&str]| {
        let path = server.file(&format!("{manager}.yaml"), body);
        let mut args = vec![
            "apply",
            "--server-side",
            "--field-manager",
            manager,
            "-f",
            path.to_str().unwrap_or_default(),
        ];
        args.extend_from_slice(extra);
        k.run(&args)
    };
    let a = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  replicas: 1\n  ports: [{name: http, port: 80}]\n  tags: [a]\n";
    let out = apply("alice", a, &[]);
    assert!(out.ok(), "{out}");
    // Another manager adds its own list-map item and set element: merged by key.
    let b = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  ports: [{name: metrics, port: 9090}]\n  tags: [b]\n";
    assert!(apply("bob", b, &[]).ok());
    let obj = get_json(&k, &["widget", "w", "--show-managed-fields"]);
    let names: Vec<&str> =
        obj["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["http", "metrics"], "{obj}");
    assert_eq!(obj["spec"]["tags"], serde_json::json!(["a", "b"]));
    let bob = obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["manager"] == "bob"))
        .unwrap_or_else(|| panic!("no bob entry: {obj}"));
    assert_eq!(bob["operation"], "Apply");
    assert!(bob["fieldsV1"]["f:spec"]["f:ports"].get(r#"k:{"name":"metrics"}"#).is_some(), "{bob}");
    assert!(bob["fieldsV1"]["f:spec"]["f:tags"].get(r#"v:"b""#).is_some(), "{bob}");

    // A conflict on a field alice owns, then force (bob keeps applying what he applied).
    let c = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  replicas: 3\n  ports: [{name: metrics, port: 9090}]\n  tags: [b]\n";
    let out = apply("bob", c, &[]);
    assert!(!out.ok(), "{out}");
    assert!(out.stderr.contains(r#"conflict with "alice": .spec.replicas"#), "{out}");
    assert!(apply("bob", c, &["--force-conflicts"]).ok());
    assert_eq!(get_json(&k, &["widget", "w"])["spec"]["replicas"], 3);

    // alice stops applying her port: it goes; bob's stays.
    let a2 = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  tags: [a]\n";
    assert!(apply("alice", a2, &[]).ok());
    let obj = get_json(&k, &["widget", "w"]);
    let names: Vec<&str> =
        obj["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["metrics"], "{obj}");
    assert_eq!(obj["spec"]["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(obj["spec"]["replicas"], 3);

    // metadata is ObjectMeta: a field it does not have is refused, as kube's type converter
    // refuses it (Kubernetes' e2e FieldValidation "unknown metadata fields ... of a CR").
    let bad =
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, unknownMeta: x}\nspec:\n  tags: [a]\n";
    let out = apply("alice", bad, &[]);
    assert!(!out.ok(), "{out}");
    assert!(out.stderr.contains(".metadata.unknownMeta: field not declared in schema"), "{out}");
}

#[test]
fn costly_rules_and_oversized_or_deep_objects_are_refused() {
    let server = Server::start();
    let Some(k) = support::kubectl_or_missing(&server, "1.33") else { return };
    // A rule whose estimated cost over an unbounded list exceeds kube's budget.
    let costly = PORTED.replace(
        "              tags:\n                type: array\n",
        "              tags:\n                type: array\n                x-kubernetes-validations:\n                - rule: \"self.all(x, self.all(y, x != y || x == y))\"\n",
    );
    let path = server.file("costly.yaml", &costly);
    let out = k.run(&["apply", "-f", path.to_str().unwrap_or_default()]);
    assert!(!out.ok(), "{out}");
    assert!(out.stderr.contains("estimated rule cost exceeds budget by factor of"), "{out}");

    establish(&server, &k, PORTED);
    // Larger than the request body limit: 413 before the body is read (over HTTP/1.1: the
    // server resets the HTTP/2 stream after answering, which curl reports as error 92).
    let big = format!(
        r#"{{"apiVersion":"example.com/v1","kind":"Widget","metadata":{{"name":"big"}},"spec":{{"tags":["{}"]}}}}"#,
        "x".repeat(4 << 20)
    );
    let file = server.file("big.json", &big);
    let out = server.admin_curl(
        "/apis/example.com/v1/namespaces/default/widgets",
        &[
            "--http1.1",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", file.display()),
        ],
    );
    assert_eq!(out.status, 413, "{out}");
    assert_eq!(out.json()["reason"], "RequestEntityTooLarge");
    // Nested deeper than any decoder allows: a 400 Status, and the server goes on.
    let deep = format!(
        r#"{{"apiVersion":"example.com/v1","kind":"Widget","metadata":{{"name":"deep"}},"spec":{{"x":{}1{}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let file = server.file("deep.json", &deep);
    let out = server.admin_curl(
        "/apis/example.com/v1/namespaces/default/widgets",
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", file.display()),
        ],
    );
    assert_eq!(out.status, 400, "{out}");
    k.ok(&["get", "widgets"]);
}
