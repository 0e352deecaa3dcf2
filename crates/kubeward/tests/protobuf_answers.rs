//! Protobuf answers (`application/vnd.kubernetes.protobuf`) through the real binary, as
//! client-go's typed clients (kube-controller-manager, kube-scheduler) ask for them: get,
//! list with its continue token and remaining count, create, update, patch and delete
//! answers, Status errors in protobuf, a protobuf watch stream of length-prefixed WatchEvent
//! frames, and the fallbacks kube makes (JSON after protobuf for a custom resource or a Table,
//! kube's 406 when only protobuf is accepted for a kind without it), and resource.k8s.io's
//! kinds written and read in protobuf as Kubernetes' e2e DRA quota test does. Every answer is
//! read with the crate's own decoder and compared with the JSON answer to the same request.

mod support;

use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use support::{block_on, kube_client as client, Server};

const PB: &str = "application/vnd.kubernetes.protobuf";
/// client-go's Accept when a typed client is configured for protobuf.
const PB_ANY: &str = "application/vnd.kubernetes.protobuf, */*";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
/// A metadata-only object in protobuf.
const PB_META: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// client-go's metadata client (k8s.io/client-go/metadata) lists and watches with these.
const CLIENT_GO_META_LIST: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
const CLIENT_GO_META: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

struct Reply {
    code: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    /// The protobuf body decoded to JSON.
    #[track_caller]
    fn pb(&self) -> Value {
        assert_eq!(self.content_type, PB, "{}", String::from_utf8_lossy(&self.body));
        assert!(self.body.starts_with(b"k8s\0"), "{:?}", &self.body[..self.body.len().min(16)]);
        kube_protobuf::decode_to_json(&self.body).unwrap_or_else(|e| panic!("not protobuf ({e})"))
    }

    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(self.content_type, "application/json");
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e})"))
    }
}

async fn request(c: &Client, method: &str, path: &str, accept: &str, body: Option<(&str, Value)>) -> Reply {
    let mut req = http::Request::builder().method(method).uri(path).header(http::header::ACCEPT, accept);
    let mut bytes = Vec::new();
    if let Some((content_type, body)) = body {
        req = req.header(http::header::CONTENT_TYPE, content_type);
        bytes = body.to_string().into_bytes();
    }
    let resp = c.send(req.body(Body::from(bytes)).expect("request")).await.expect("answer");
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.into_body().collect_bytes().await.expect("body").to_vec();
    Reply { code, content_type, body }
}

async fn get(c: &Client, path: &str, accept: &str) -> Reply {
    request(c, "GET", path, accept, None).await
}

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "pb"}},
        "data": {"k": "v", "empty": ""}, "binaryData": {"bin": "AAEC/w=="}})
}

/// The frames of a finished protobuf watch: (type, object as JSON).
fn frames(mut body: &[u8]) -> Vec<(String, Value)> {
    use k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent;
    use prost::Message;
    let mut out = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 4, "a frame's length is cut short");
        let len = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
        let event = WatchEvent::decode(&body[4..4 + len]).expect("a WatchEvent");
        let raw = event.object.and_then(|o| o.raw).expect("an object");
        let object = kube_protobuf::decode_to_json(&raw).expect("an enveloped object");
        out.push((event.r#type.unwrap_or_default(), object));
        body = &body[4 + len..];
    }
    out
}

#[test]
fn built_in_kinds_answer_in_protobuf() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        // create: the answer in protobuf is the object the JSON answer shows.
        let created =
            request(&c, "POST", CONFIGMAPS, PB_ANY, Some(("application/json", config_map("pb-a")))).await;
        assert_eq!(created.code, 201);
        let created = created.pb();
        let as_json = get(&c, &format!("{CONFIGMAPS}/pb-a"), "application/json").await.json();
        assert_eq!(created, as_json);
        assert_eq!(created["binaryData"]["bin"], "AAEC/w==");

        // get, in both of client-go's forms of Accept
        for accept in [PB, PB_ANY, "application/vnd.kubernetes.protobuf,application/json"] {
            assert_eq!(get(&c, &format!("{CONFIGMAPS}/pb-a"), accept).await.pb(), as_json, "{accept}");
        }

        // update and patch
        let mut changed = as_json.clone();
        changed["data"]["k"] = json!("v2");
        let put =
            request(&c, "PUT", &format!("{CONFIGMAPS}/pb-a"), PB, Some(("application/json", changed))).await;
        assert_eq!((put.code, put.pb()["data"]["k"].clone()), (200, json!("v2")));
        let patch = json!({"metadata": {"annotations": {"patched": "yes"}}});
        let patched = request(
            &c,
            "PATCH",
            &format!("{CONFIGMAPS}/pb-a"),
            PB,
            Some(("application/merge-patch+json", patch)),
        )
        .await;
        assert_eq!(patched.code, 200);
        assert_eq!(patched.pb(), get(&c, &format!("{CONFIGMAPS}/pb-a"), "application/json").await.json());

        // list: a typed list with its continue token and remaining count
        for name in ["pb-b", "pb-c"] {
            let r = request(
                &c,
                "POST",
                CONFIGMAPS,
                "application/json",
                Some(("application/json", config_map(name))),
            );
            assert_eq!(r.await.code, 201);
        }
        let page = get(&c, &format!("{CONFIGMAPS}?labelSelector=app%3Dpb&limit=2"), PB).await;
        assert_eq!(page.code, 200);
        let page = page.pb();
        assert_eq!((page["kind"].as_str(), page["apiVersion"].as_str()), (Some("ConfigMapList"), Some("v1")));
        assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
        assert!(page["metadata"]["continue"].as_str().is_some_and(|t| !t.is_empty()), "{page}");
        let json_page =
            get(&c, &format!("{CONFIGMAPS}?labelSelector=app%3Dpb&limit=2"), "application/json").await.json();
        assert_eq!(page["items"], json_page["items"]);
        let whole = get(&c, &format!("{CONFIGMAPS}?limit=1"), PB).await.pb();
        assert!(whole["metadata"]["remainingItemCount"].as_i64().is_some_and(|n| n >= 2), "{whole}");
        let next = format!(
            "{CONFIGMAPS}?labelSelector=app%3Dpb&limit=2&continue={}",
            page["metadata"]["continue"].as_str().unwrap()
        );
        let rest = get(&c, &next, PB).await.pb();
        assert_eq!(rest["items"][0]["metadata"]["name"], "pb-c");

        // delete: a ConfigMap goes at once, and kube answers a Success Status
        let deleted = request(&c, "DELETE", &format!("{CONFIGMAPS}/pb-c"), PB, None).await;
        let status = deleted.pb();
        assert_eq!(deleted.code, 200);
        assert_eq!((status["kind"].as_str(), status["status"].as_str()), (Some("Status"), Some("Success")));
        assert_eq!(status["details"]["name"], "pb-c");

        // errors are Status in protobuf, with kube's code, reason and message
        let missing = get(&c, &format!("{CONFIGMAPS}/nope"), PB).await;
        assert_eq!(missing.code, 404);
        let status = missing.pb();
        assert_eq!(
            (
                status["kind"].as_str(),
                status["apiVersion"].as_str(),
                status["reason"].as_str(),
                status["code"].as_i64()
            ),
            (Some("Status"), Some("v1"), Some("NotFound"), Some(404))
        );
        assert_eq!(status["message"], r#"configmaps "nope" not found"#);
        let conflict =
            request(&c, "POST", CONFIGMAPS, PB, Some(("application/json", config_map("pb-a")))).await;
        assert_eq!((conflict.code, conflict.pb()["reason"].clone()), (409, json!("AlreadyExists")));
    });
}

#[test]
fn watch_streams_protobuf_frames() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        for name in ["w-a", "w-b"] {
            let r = request(
                &c,
                "POST",
                CONFIGMAPS,
                "application/json",
                Some(("application/json", config_map(name))),
            );
            assert_eq!(r.await.code, 201);
        }
        let watch = format!("{CONFIGMAPS}?watch=1&timeoutSeconds=2&labelSelector=app%3Dpb");
        for accept in [PB, "application/vnd.kubernetes.protobuf;stream=watch"] {
            let r = get(&c, &watch, accept).await;
            assert_eq!(
                (r.code, r.content_type.as_str()),
                (200, "application/vnd.kubernetes.protobuf;stream=watch")
            );
            let events = frames(&r.body);
            let names: Vec<_> = events
                .iter()
                .map(|(t, o)| (t.as_str(), o["metadata"]["name"].as_str().unwrap_or("")))
                .collect();
            assert_eq!(names, [("ADDED", "w-a"), ("ADDED", "w-b")], "{accept}");
            let stored = get(&c, &format!("{CONFIGMAPS}/w-a"), "application/json").await.json();
            assert_eq!(events[0].1, stored);
        }

        // a revision no longer known: an ERROR frame carrying 410 Expired
        let old = get(&c, &format!("{CONFIGMAPS}?watch=1&resourceVersion=1&timeoutSeconds=2"), PB).await;
        if let Some((kind, status)) = frames(&old.body).into_iter().find(|(t, _)| t == "ERROR") {
            assert_eq!(
                (kind.as_str(), status["code"].as_i64(), status["kind"].as_str()),
                ("ERROR", Some(410), Some("Status"))
            );
        }
    });
}

#[test]
fn kinds_without_protobuf_fall_back_as_kube_does() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.pb.example.com"},
            "spec": {"group": "pb.example.com", "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
        // The CRD itself is a built-in kind: its answer is protobuf.
        let made = request(
            &c,
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            PB_ANY,
            Some(("application/json", crd)),
        )
        .await;
        assert_eq!(made.code, 201);
        assert_eq!(made.pb()["kind"], "CustomResourceDefinition");
        let gadgets = "/apis/pb.example.com/v1/namespaces/default/gadgets";
        let gadget =
            json!({"apiVersion": "pb.example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "x": 1});
        // The new resource is served once the CRD is established.
        let mut created = None;
        for _ in 0..100 {
            let r = request(&c, "POST", gadgets, PB_ANY, Some(("application/json", gadget.clone()))).await;
            if r.code == 201 {
                created = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // A custom resource's answer is JSON even when protobuf comes first.
        assert_eq!(created.expect("the custom resource is served").json()["x"], json!(1));

        // JSON after protobuf: JSON
        for accept in [PB_ANY, "application/vnd.kubernetes.protobuf,application/json"] {
            let r = get(&c, &format!("{gadgets}/g"), accept).await;
            assert_eq!((r.code, r.json()["x"].clone()), (200, json!(1)), "{accept}");
        }
        // protobuf alone: kube's 406, its Status written in protobuf as the client asked
        let r = get(&c, &format!("{gadgets}/g"), PB).await;
        assert_eq!(r.code, 406);
        let status = r.pb();
        assert_eq!(status["reason"], "NotAcceptable");
        assert_eq!(
            status["message"],
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );

        // A metadata-only answer is meta.k8s.io's kind: protobuf for a custom resource too.
        let meta = get(&c, &format!("{gadgets}/g"), PB_META).await;
        assert_eq!(meta.code, 200);
        let meta = meta.pb();
        assert_eq!(
            (meta["kind"].as_str(), meta["metadata"]["name"].as_str()),
            (Some("PartialObjectMetadata"), Some("g"))
        );
        assert_eq!(meta.get("x"), None);
        let list = get(&c, gadgets, CLIENT_GO_META_LIST).await.pb();
        assert_eq!(list["items"][0]["metadata"]["name"], "g");

        // Tables have no protobuf: the JSON Table clause after it is taken
        let table = "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        let r = get(&c, CONFIGMAPS, table).await;
        assert_eq!((r.code, r.json()["kind"].clone()), (200, json!("Table")));
    });
}

#[test]
fn cluster_trust_bundles_travel_in_protobuf_both_ways() {
    use prost::Message;
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let pem = pki::Ca::generate("pb-bundle").expect("ca").cert_pem;
        let bundle = k8s_pb::api::certificates::v1beta1::ClusterTrustBundle {
            metadata: Some(k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("pb-bundle".into()),
                ..Default::default()
            }),
            spec: Some(k8s_pb::api::certificates::v1beta1::ClusterTrustBundleSpec {
                signer_name: Some(String::new()),
                trust_bundle: Some(pem.clone()),
            }),
        };
        let body = kube_protobuf::envelope(
            "certificates.k8s.io/v1beta1",
            "ClusterTrustBundle",
            bundle.encode_to_vec(),
        );
        let req = http::Request::builder()
            .method("POST")
            .uri("/apis/certificates.k8s.io/v1beta1/clustertrustbundles")
            .header(http::header::ACCEPT, PB)
            .header(http::header::CONTENT_TYPE, PB)
            .body(Body::from(body))
            .expect("request");
        let resp = c.send(req).await.expect("answer");
        assert_eq!(resp.status().as_u16(), 201);
        let bytes = resp.into_body().collect_bytes().await.expect("body");
        let created = kube_protobuf::decode_to_json(&bytes).expect("protobuf answer");
        assert_eq!(created["spec"]["trustBundle"], json!(pem));
        let listed = get(&c, "/apis/certificates.k8s.io/v1beta1/clustertrustbundles", PB).await.pb();
        assert_eq!(listed["kind"], "ClusterTrustBundleList");
        assert_eq!(listed["items"][0]["metadata"]["name"], "pb-bundle");
    });
}

/// A request whose body is protobuf (an envelope around `message`), as client-go sends it.
async fn send_pb(
    c: &Client,
    method: &str,
    path: &str,
    api_version: &str,
    kind: &str,
    message: Vec<u8>,
) -> Reply {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::ACCEPT, PB_JSON)
        .header(http::header::CONTENT_TYPE, PB)
        .body(Body::from(kube_protobuf::envelope(api_version, kind, message)))
        .expect("request");
    let resp = c.send(req).await.expect("answer");
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = resp.into_body().collect_bytes().await.expect("body").to_vec();
    Reply { code, content_type, body }
}

/// The Accept of Kubernetes' e2e framework clients (protobuf, then JSON).
const PB_JSON: &str = "application/vnd.kubernetes.protobuf,application/json";

/// The quota's `status.used`, once it equals `want` (the quota controller and admission
/// write it), or the last one seen.
async fn quota_used(c: &Client, path: &str, want: &Value) -> Value {
    let mut used = Value::Null;
    for _ in 0..100 {
        used = get(c, path, PB).await.pb()["status"]["used"].clone();
        if &used == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    used
}

/// resource.k8s.io/v1 in protobuf both ways, as Kubernetes' e2e test "ResourceQuota should
/// create a ResourceQuota and capture the life of a ResourceClaim" drives it: a DeviceClass and
/// a ResourceClaim created from protobuf bodies, the claim read back, listed and watched in
/// protobuf, charged to a ResourceQuota by device class (a second claim over the quota is
/// kube's 403 in protobuf) and released when deleted.
#[test]
fn resource_claims_travel_in_protobuf_both_ways() {
    use k8s_pb::api::resource::v1 as res;
    use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use prost::Message;
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        let meta = |name: &str| Some(ObjectMeta { name: Some(name.into()), ..Default::default() });
        let claims = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
        let quota_path = "/api/v1/namespaces/default/resourcequotas/test-quota";
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "test-quota"},
            "spec": {"hard": {"count/resourceclaims.resource.k8s.io": "1",
                "gold.deviceclass.resource.k8s.io/devices": "1"}}});
        let r = request(
            &c,
            "POST",
            "/api/v1/namespaces/default/resourcequotas",
            PB_JSON,
            Some(("application/json", quota)),
        );
        assert_eq!(r.await.code, 201);
        let zero = json!({"count/resourceclaims.resource.k8s.io": "0", "gold.deviceclass.resource.k8s.io/devices": "0"});
        assert_eq!(quota_used(&c, quota_path, &zero).await, zero);

        // A DeviceClass from protobuf, answered in protobuf.
        let class = res::DeviceClass {
            metadata: meta("gold"),
            spec: Some(res::DeviceClassSpec {
                selectors: vec![res::DeviceSelector {
                    cel: Some(res::CelDeviceSelector {
                        expression: Some("device.driver == \"gold.example.com\"".into()),
                    }),
                }],
                ..Default::default()
            }),
        };
        let made = send_pb(
            &c,
            "POST",
            "/apis/resource.k8s.io/v1/deviceclasses",
            "resource.k8s.io/v1",
            "DeviceClass",
            class.encode_to_vec(),
        )
        .await;
        assert_eq!(made.code, 201, "{}", String::from_utf8_lossy(&made.body));
        let made = made.pb();
        assert_eq!(
            made["spec"]["selectors"][0]["cel"]["expression"],
            "device.driver == \"gold.example.com\""
        );
        let before = made["metadata"]["resourceVersion"].as_str().expect("a resourceVersion").to_string();

        // The e2e test's claim: one exact request for the class, defaulted by the server.
        let claim = |name: &str| res::ResourceClaim {
            metadata: meta(name),
            spec: Some(res::ResourceClaimSpec {
                devices: Some(res::DeviceClaim {
                    requests: vec![res::DeviceRequest {
                        name: Some("req-0".into()),
                        exactly: Some(res::ExactDeviceRequest {
                            device_class_name: Some("gold".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
            status: Some(Default::default()),
        };
        let created = send_pb(
            &c,
            "POST",
            claims,
            "resource.k8s.io/v1",
            "ResourceClaim",
            claim("test-claim").encode_to_vec(),
        )
        .await;
        assert_eq!(created.code, 201, "{}", String::from_utf8_lossy(&created.body));
        let created = created.pb();
        assert_eq!(
            created["spec"]["devices"]["requests"][0]["exactly"],
            json!({"deviceClassName": "gold", "allocationMode": "ExactCount", "count": 1})
        );
        let as_json = get(&c, &format!("{claims}/test-claim"), "application/json").await.json();
        assert_eq!(created, as_json);
        for accept in [PB, PB_ANY, PB_JSON] {
            assert_eq!(get(&c, &format!("{claims}/test-claim"), accept).await.pb(), as_json, "{accept}");
        }
        let listed = get(&c, claims, PB).await.pb();
        assert_eq!(
            (listed["kind"].as_str(), listed["apiVersion"].as_str()),
            (Some("ResourceClaimList"), Some("resource.k8s.io/v1"))
        );
        assert_eq!(listed["items"], get(&c, claims, "application/json").await.json()["items"]);
        let one = json!({"count/resourceclaims.resource.k8s.io": "1", "gold.deviceclass.resource.k8s.io/devices": "1"});
        assert_eq!(quota_used(&c, quota_path, &one).await, one);

        // Over the quota: kube's 403, its Status in protobuf.
        let over = send_pb(
            &c,
            "POST",
            claims,
            "resource.k8s.io/v1",
            "ResourceClaim",
            claim("second").encode_to_vec(),
        )
        .await;
        assert_eq!(over.code, 403);
        let status = over.pb();
        assert_eq!((status["kind"].as_str(), status["reason"].as_str()), (Some("Status"), Some("Forbidden")));
        let exceeded = "resourceclaims.resource.k8s.io \"second\" is forbidden: exceeded quota: test-quota, \
            requested: count/resourceclaims.resource.k8s.io=1,gold.deviceclass.resource.k8s.io/devices=1, ";
        assert!(status["message"].as_str().is_some_and(|m| m.starts_with(exceeded)), "{status}");

        // Deleted: the answer in protobuf, the usage released.
        let deleted = request(&c, "DELETE", &format!("{claims}/test-claim"), PB_JSON, None).await;
        assert_eq!(deleted.code, 200);
        assert_eq!(deleted.pb()["metadata"]["name"], "test-claim");
        assert_eq!(quota_used(&c, quota_path, &zero).await, zero);

        // The claim's life as a protobuf watch stream.
        let watch = format!("{claims}?watch=1&resourceVersion={before}&timeoutSeconds=1");
        let r = get(&c, &watch, PB_JSON).await;
        assert_eq!(
            (r.code, r.content_type.as_str()),
            (200, "application/vnd.kubernetes.protobuf;stream=watch")
        );
        let events = frames(&r.body);
        let seen: Vec<_> = events
            .iter()
            .map(|(t, o)| (t.as_str(), o["kind"].as_str(), o["metadata"]["name"].as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("ADDED", Some("ResourceClaim"), Some("test-claim")),
                ("DELETED", Some("ResourceClaim"), Some("test-claim"))
            ]
        );
        assert_eq!(events[0].1, as_json);
    });
}

/// The JSON metadata-only answer as its protobuf decodes: a list's items without the kind and
/// apiVersion that only JSON carries.
fn without_item_kinds(mut list: Value) -> Value {
    for item in list["items"].as_array_mut().into_iter().flatten() {
        if let Some(item) = item.as_object_mut() {
            item.shift_remove("kind");
            item.shift_remove("apiVersion");
        }
    }
    list
}

/// Metadata-only answers in protobuf, as client-go's metadata client and informers (the
/// garbage collector's, the namespace controller's) ask for them: get, list (from the stored
/// bytes and through a selector, paginated, v1 and v1beta1), watch frames, and errors in the
/// format kube negotiates for them; each compared with the JSON answer to the same request.
#[test]
fn metadata_answers_in_protobuf() {
    let server = Server::start();
    block_on(async {
        let c = client(&server).await;
        for name in ["m-a", "m-b"] {
            let mut cm = config_map(name);
            cm["metadata"]["labels"] = json!({"app": "meta-pb"});
            cm["metadata"]["annotations"] = json!({"note": "n"});
            let r = request(&c, "POST", CONFIGMAPS, "application/json", Some(("application/json", cm)));
            assert_eq!(r.await.code, 201);
        }
        let json_meta = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        let json_list = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

        // get
        let want = get(&c, &format!("{CONFIGMAPS}/m-a"), json_meta).await.json();
        assert_eq!(want["kind"], "PartialObjectMetadata");
        for accept in [PB_META, CLIENT_GO_META] {
            let got = get(&c, &format!("{CONFIGMAPS}/m-a"), accept).await;
            assert_eq!((got.code, got.pb()), (200, want.clone()), "{accept}");
        }
        let beta = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1";
        let got = get(&c, &format!("{CONFIGMAPS}/m-a"), beta).await.pb();
        assert_eq!(
            (got["apiVersion"].as_str(), &got["metadata"]),
            (Some("meta.k8s.io/v1beta1"), &want["metadata"])
        );

        // list: through a selector, paginated
        let page_path = format!("{CONFIGMAPS}?labelSelector=app%3Dmeta-pb&limit=1");
        let page = get(&c, &page_path, CLIENT_GO_META_LIST).await.pb();
        assert_eq!(
            (page["kind"].as_str(), page["apiVersion"].as_str()),
            (Some("PartialObjectMetadataList"), Some("meta.k8s.io/v1"))
        );
        assert!(page["metadata"]["continue"].as_str().is_some_and(|t| !t.is_empty()), "{page}");
        assert_eq!(page["items"], json!([{"metadata": want["metadata"]}]));
        assert_eq!(page["items"], without_item_kinds(get(&c, &page_path, json_list).await.json())["items"]);
        // and without one, cut from the stored bytes
        let all = get(&c, CONFIGMAPS, CLIENT_GO_META_LIST).await.pb();
        let all_json = get(&c, CONFIGMAPS, json_list).await.json();
        assert_eq!(all["items"], without_item_kinds(all_json)["items"]);
        assert!(all["items"].as_array().is_some_and(|i| i.len() >= 3), "{all}");
        assert!(all["items"].as_array().into_iter().flatten().all(|i| i.get("data").is_none()));
        let beta_list =
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1";
        let listed = get(&c, &format!("{CONFIGMAPS}?labelSelector=app%3Dmeta-pb"), beta_list).await.pb();
        assert_eq!(listed["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));

        // errors: kube negotiates a Status again without the conversion: the first plain
        // clause (protobuf here), else JSON
        let missing = get(&c, &format!("{CONFIGMAPS}/nope"), PB_META).await;
        assert_eq!((missing.code, missing.json()["reason"].clone()), (404, json!("NotFound")));
        let missing = get(&c, &format!("{CONFIGMAPS}/nope"), &format!("{PB_META},{PB}")).await;
        assert_eq!((missing.code, missing.pb()["reason"].clone()), (404, json!("NotFound")));
        let mismatch = get(&c, CONFIGMAPS, CLIENT_GO_META).await;
        assert_eq!(mismatch.code, 406);
        assert_eq!(
            mismatch.json()["message"],
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
        );

        // watch: PartialObjectMetadata frames, from the stored bytes or through a selector
        for query in ["", "&labelSelector=app%3Dmeta-pb"] {
            let path = format!("{CONFIGMAPS}?watch=true&resourceVersion=0&timeoutSeconds=1{query}");
            let r = get(&c, &path, CLIENT_GO_META).await;
            assert_eq!(
                (r.code, r.content_type.as_str()),
                (200, "application/vnd.kubernetes.protobuf;stream=watch")
            );
            let events = frames(&r.body);
            assert!(events.len() >= 2, "{query}: {events:?}");
            for (kind, object) in &events {
                assert_eq!(
                    (kind.as_str(), &object["kind"]),
                    ("ADDED", &json!("PartialObjectMetadata")),
                    "{object}"
                );
                assert!(object.get("data").is_none(), "{object}");
            }
            let a = events.iter().find(|(_, o)| o["metadata"]["name"] == "m-a").expect("m-a");
            assert_eq!(a.1, want);
        }
        // A list conversion does not fit one event's object: kube sends the object as it is.
        let path =
            format!("{CONFIGMAPS}?watch=true&resourceVersion=0&timeoutSeconds=1&labelSelector=app%3Dmeta-pb");
        let events = frames(&get(&c, &path, CLIENT_GO_META_LIST).await.body);
        assert!(events.len() == 2 && events.iter().all(|(_, o)| o["kind"] == "ConfigMap"), "{events:?}");
    });
}
