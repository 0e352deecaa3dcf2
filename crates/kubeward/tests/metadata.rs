//! Metadata-only answers as kube-apiserver gives them, checked on the wire through kube-rs's
//! HTTP client (the real server, the admin kubeconfig, raw requests with the Accept headers
//! clients send): `as=PartialObjectMetadata` on get and watch, `as=PartialObjectMetadataList`
//! on list (meta.k8s.io v1 and v1beta1, JSON and YAML), several media ranges in one header,
//! kube's 406s for a conversion that does not fit the answer or is not offered, and Tables
//! still served. The protobuf forms (client-go's metadata client asks for protobuf first) are
//! in protobuf_answers.rs.

mod support;

use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use support::{block_on, kube_client as client, Server};

const META: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const META_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

struct Reply {
    code: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A kube Status with this code, reason and message.
    #[track_caller]
    fn assert_status(&self, code: u16, reason: &str, message: &str) {
        let v = self.json();
        assert_eq!(self.code, code, "{}", self.body);
        assert_eq!(
            (v["kind"].as_str(), v["reason"].as_str()),
            (Some("Status"), Some(reason)),
            "{}",
            self.body
        );
        assert_eq!(v["message"], message);
    }
}

async fn request(c: &Client, method: &str, path: &str, accept: &str, body: Option<Value>) -> Reply {
    let mut req = http::Request::builder().method(method).uri(path).header(http::header::ACCEPT, accept);
    if body.is_some() {
        let ct = if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
        req = req.header(http::header::CONTENT_TYPE, ct);
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let req = req.body(Body::from(bytes)).expect("request");
    let resp = c.send(req).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.into_body().collect_bytes().await.expect("body");
    Reply { code, content_type, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(c: &Client, path: &str, accept: &str) -> Reply {
    request(c, "GET", path, accept, None).await
}

/// The objects of a finished watch (`timeoutSeconds` ends it), with their event types.
fn events(reply: &Reply) -> Vec<(String, Value)> {
    reply
        .body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .map(|e| (e["type"].as_str().unwrap_or_default().to_string(), e["object"].clone()))
        .collect()
}

#[test]
fn metadata_only_requests() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        for name in ["cm-a", "cm-b"] {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name,
                "labels": {"app": "meta"}, "annotations": {"note": "<kept>"}}, "data": {"secret-ish": "value"}});
            assert_eq!(request(&c, "POST", CONFIGMAPS, "application/json", Some(cm)).await.code, 201);
        }
        let full = get(&c, &format!("{CONFIGMAPS}/cm-a"), "application/json").await.json();

        // get: the whole metadata and nothing else, in both meta.k8s.io versions
        let r = get(&c, &format!("{CONFIGMAPS}/cm-a"), META).await;
        assert_eq!((r.code, r.content_type.as_str()), (200, "application/json"), "{}", r.body);
        assert!(
            // (managedFields name the data keys, as kube's do; the values never appear.)
            !r.body.contains(r#""secret-ish":"value""#) && r.body.contains(r#""note":"\u003ckept\u003e""#),
            "{}",
            r.body
        );
        assert_eq!(
            r.json(),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": full["metadata"]})
        );
        let beta = get(&c, &format!("{CONFIGMAPS}/cm-a"), &META.replace("v=v1", "v=v1beta1")).await.json();
        assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
        let yaml =
            get(&c, &format!("{CONFIGMAPS}/cm-a"), &META.replace("application/json", "application/yaml"))
                .await;
        assert_eq!(yaml.content_type, "application/yaml");
        let parsed: Value = apimachinery::yaml::from_slice(yaml.body.as_bytes()).expect("YAML");
        assert_eq!(
            (parsed["kind"].as_str(), &parsed["metadata"]),
            (Some("PartialObjectMetadata"), &full["metadata"])
        );
        // The first media range it can serve wins.
        let several = format!("application/json;as=Foo;g=meta.k8s.io;v=v1, {META}, application/json");
        assert_eq!(
            get(&c, &format!("{CONFIGMAPS}/cm-a"), &several).await.json()["kind"],
            "PartialObjectMetadata"
        );

        // list: paginated, list metadata kept
        let r = get(&c, &format!("{CONFIGMAPS}?labelSelector=app%3Dmeta&limit=1"), META_LIST).await;
        let page = r.json();
        assert_eq!(
            (page["kind"].as_str(), page["apiVersion"].as_str()),
            (Some("PartialObjectMetadataList"), Some("meta.k8s.io/v1"))
        );
        assert!(page["metadata"]["continue"].as_str().is_some_and(|t| !t.is_empty()), "{page}");
        assert!(page["metadata"]["resourceVersion"].is_string(), "{page}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        assert_eq!(page["items"][0]["kind"], "PartialObjectMetadata");
        assert_eq!(page["items"][0]["metadata"], full["metadata"]);
        // Without a selector the list is cut from the stored bytes; the answer is the same.
        let all = get(&c, CONFIGMAPS, META_LIST).await.json();
        let names: Vec<&str> = all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        assert!(names.contains(&"cm-a") && names.contains(&"cm-b"), "{all}");
        assert!(all["items"].as_array().into_iter().flatten().all(|i| i.get("data").is_none()));
        // An empty one has null items, as kube's (kube-rs and client-go read both).
        let empty = get(&c, &format!("{CONFIGMAPS}?labelSelector=app%3Dnone"), META_LIST).await;
        assert!(
            empty.body.ends_with(r#","items":null}"#) || empty.body.ends_with(",\"items\":null}\n"),
            "{}",
            empty.body
        );

        // kube's 406s
        get(&c, CONFIGMAPS, META).await.assert_status(
            406,
            "NotAcceptable",
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)",
        );
        get(&c, &format!("{CONFIGMAPS}/cm-a"), META_LIST).await.assert_status(
            406,
            "NotAcceptable",
            "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)",
        );
        let unserved =
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf";
        for accept in [
            "application/json;as=Foo;g=meta.k8s.io;v=v1",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
            "application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1",
        ] {
            get(&c, &format!("{CONFIGMAPS}/cm-a"), accept).await.assert_status(
                406,
                "NotAcceptable",
                unserved,
            );
        }

        // Tables as before: rows carry PartialObjectMetadata
        let table = get(&c, CONFIGMAPS, TABLE).await.json();
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");

        // writes answer with the metadata too
        let patch = json!({"metadata": {"labels": {"patched": "yes"}}});
        let r = request(&c, "PATCH", &format!("{CONFIGMAPS}/cm-b"), META, Some(patch)).await;
        let v = r.json();
        assert_eq!((r.code, v["kind"].as_str()), (200, Some("PartialObjectMetadata")), "{}", r.body);
        assert_eq!(v["metadata"]["labels"]["patched"], "yes");

        // watch: each event's object is a PartialObjectMetadata, from the stored bytes or
        // through a selector
        for query in ["", "&labelSelector=app%3Dmeta"] {
            let r =
                get(&c, &format!("{CONFIGMAPS}?watch=true&resourceVersion=0&timeoutSeconds=1{query}"), META)
                    .await;
            let evs = events(&r);
            assert!(evs.len() >= 2, "{}", r.body);
            for (kind, obj) in &evs {
                assert_eq!(kind, "ADDED");
                assert_eq!(obj["kind"], "PartialObjectMetadata", "{obj}");
                assert!(obj.get("data").is_none(), "{obj}");
            }
        }
        // A list conversion does not fit one event's object: kube sends the object as it is.
        let r =
            get(&c, &format!("{CONFIGMAPS}?watch=true&resourceVersion=0&timeoutSeconds=1"), META_LIST).await;
        assert!(events(&r).iter().all(|(_, o)| o["kind"] == "ConfigMap"), "{}", r.body);
    });
}

/// Table columns carry kube's descriptions: the API doc of the field each shows (a served
/// field's, or that of the version kube's printer names), or the printer's own text.
#[test]
fn table_columns_describe_their_fields() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
        assert_eq!(request(&c, "POST", "/api/v1/nodes", "application/json", Some(node)).await.code, 201);
        let columns = |table: &Value| -> Vec<(String, String)> {
            let defs = table["columnDefinitions"].as_array().cloned().unwrap_or_default();
            let text = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_string();
            defs.iter().map(|c| (text(c, "name"), text(c, "description"))).collect()
        };
        let described = |columns: &[(String, String)], name: &str| -> String {
            let found = columns.iter().find(|(n, _)| n == name);
            found.unwrap_or_else(|| panic!("no column {name}: {columns:?}")).1.clone()
        };

        for path in [CONFIGMAPS, "/apis/apps/v1/namespaces/default/deployments", "/api/v1/nodes"] {
            let r = get(&c, path, TABLE).await;
            assert_eq!(r.code, 200, "{}", r.body);
            for (name, description) in columns(&r.json()) {
                assert!(!description.is_empty(), "{path}: {name} has no description");
            }
        }

        let cm = columns(&get(&c, CONFIGMAPS, TABLE).await.json());
        assert!(described(&cm, "Data").starts_with("Data contains the configuration data. Each key must"));
        assert!(described(&cm, "Name").starts_with("Name must be unique within a namespace."));
        assert!(described(&cm, "Age").starts_with("CreationTimestamp is a timestamp"));

        // kube's Deployment printer names extensions/v1beta1's selector doc.
        let deploy = columns(&get(&c, "/apis/apps/v1/namespaces/default/deployments", TABLE).await.json());
        assert_eq!(
            described(&deploy, "Selector"),
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."
        );
        assert_eq!(described(&deploy, "Ready"), "Number of the pod with ready state");

        let nodes = get(&c, "/api/v1/nodes", TABLE).await.json();
        let node_columns = columns(&nodes);
        assert!(
            described(&node_columns, "Internal-IP").starts_with("List of addresses reachable to the node.")
        );
        assert_eq!(described(&node_columns, "Version"), "Kubelet Version reported by the node.");
        assert_eq!(
            nodes["rows"][0]["cells"],
            json!([
                "n1",
                "Unknown",
                "<none>",
                nodes["rows"][0]["cells"][3],
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ])
        );
    });
}
