//! kube-apiserver's cluster authentication trust controller
//! (`pkg/controlplane/controller/clusterauthenticationtrust`): the ConfigMap
//! `kube-system/extension-apiserver-authentication`, which extension API servers and
//! admission webhooks read (with the Role `extension-apiserver-authentication-reader`) to
//! trust the clients this server trusts: `client-ca-file` (the `--client-ca-file` bundle)
//! and, with `--requestheader-client-ca-file`, `requestheader-client-ca-file`,
//! `requestheader-allowed-names`, `requestheader-username-headers`,
//! `requestheader-uid-headers`, `requestheader-group-headers` and
//! `requestheader-extra-headers-prefix` (JSON arrays of strings).
//!
//! As kube's, what the ConfigMap already holds is kept beside this server's values, so that
//! several servers and a CA being rotated add up: certificates until five minutes past their
//! expiry, names and headers for good (existing ones first). Written at start, when the
//! ConfigMap is deleted or changed, and every minute, so a CA file changed on disk is
//! published within a minute; with nothing to publish (no client CA, no front proxy) no
//! ConfigMap is created, as kube's. A value that is not a JSON array of strings counts as
//! empty (and is written over), where kube keeps failing on it.

use super::Controller;
use crate::informer::{Event, Informer};
use crate::objects::Objects;
use crate::state::State;
use registry::ResourceType;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";
const RESYNC: Duration = Duration::from_secs(60);

/// What this server trusts, as its flags say.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// `--client-ca-file`.
    pub client_ca_file: Option<String>,
    /// `--requestheader-client-ca-file` and the front proxy's settings.
    pub request_header: Option<RequestHeaderTrust>,
}

#[derive(Clone, Debug)]
pub struct RequestHeaderTrust {
    pub ca_file: String,
    pub config: authn::request_header::RequestHeaderConfig,
}

/// The CA bundles and string lists the ConfigMap publishes.
#[derive(Default, Debug, PartialEq)]
struct Published {
    client_ca: String,
    request_header_ca: String,
    allowed_names: Vec<String>,
    username_headers: Vec<String>,
    uid_headers: Vec<String>,
    group_headers: Vec<String>,
    extra_headers_prefixes: Vec<String>,
}

fn string_list(data: &Value, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        .unwrap_or_default()
}

/// `first` then the values of `second` it lacks.
fn union(first: Vec<String>, second: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for v in first.into_iter().chain(second.iter().cloned()) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

impl Published {
    /// What a ConfigMap's data holds.
    fn from_data(data: &Value) -> Published {
        let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        Published {
            client_ca: text("client-ca-file"),
            request_header_ca: text("requestheader-client-ca-file"),
            allowed_names: string_list(data, "requestheader-allowed-names"),
            username_headers: string_list(data, "requestheader-username-headers"),
            uid_headers: string_list(data, "requestheader-uid-headers"),
            group_headers: string_list(data, "requestheader-group-headers"),
            extra_headers_prefixes: string_list(data, "requestheader-extra-headers-prefix"),
        }
    }

    /// `existing` joined with this server's values, as kube combines them.
    fn combined(existing: Published, client_ca: &str, rh: Option<(&str, &RequestHeaderTrust)>) -> Published {
        let now = pki::time::OffsetDateTime::now_utc();
        let empty = Vec::new();
        let config = rh.map(|(_, t)| &t.config);
        let list = |f: fn(&authn::request_header::RequestHeaderConfig) -> &Vec<String>| match config {
            Some(c) => f(c),
            None => &empty,
        };
        Published {
            client_ca: pki::combine_ca_bundles(&[&existing.client_ca, client_ca], now),
            request_header_ca: pki::combine_ca_bundles(
                &[&existing.request_header_ca, rh.map(|(pem, _)| pem).unwrap_or_default()],
                now,
            ),
            allowed_names: union(existing.allowed_names, list(|c| &c.allowed_names)),
            username_headers: union(existing.username_headers, list(|c| &c.username_headers)),
            uid_headers: union(existing.uid_headers, list(|c| &c.uid_headers)),
            group_headers: union(existing.group_headers, list(|c| &c.group_headers)),
            extra_headers_prefixes: union(
                existing.extra_headers_prefixes,
                list(|c| &c.extra_headers_prefixes),
            ),
        }
    }

    /// The ConfigMap's data (kube's getConfigMapDataFor): the request-header keys only with a
    /// request-header CA, the UID headers only when there are some.
    fn to_data(&self) -> Value {
        let mut data = BTreeMap::new();
        let json_list = |l: &Vec<String>| serde_json::to_string(l).unwrap_or_else(|_| "[]".into());
        if !self.client_ca.is_empty() {
            data.insert("client-ca-file", self.client_ca.clone());
        }
        if !self.request_header_ca.is_empty() {
            data.insert("requestheader-client-ca-file", self.request_header_ca.clone());
            data.insert("requestheader-allowed-names", json_list(&self.allowed_names));
            data.insert("requestheader-username-headers", json_list(&self.username_headers));
            if !self.uid_headers.is_empty() {
                data.insert("requestheader-uid-headers", json_list(&self.uid_headers));
            }
            data.insert("requestheader-group-headers", json_list(&self.group_headers));
            data.insert("requestheader-extra-headers-prefix", json_list(&self.extra_headers_prefixes));
        }
        json!(data)
    }
}

struct TrustController {
    objects: Objects,
    config_maps: &'static ResourceType,
    namespaces: &'static ResourceType,
    trust: Trust,
}

#[async_trait::async_trait]
impl Controller for TrustController {
    async fn handle(&mut self, event: Event) {
        if matches!(event, Event::InitDone | Event::Apply(_) | Event::Delete(_)) {
            if let Err(e) = self.sync().await {
                tracing::warn!(configmap = NAME, error = %e, "cluster authentication info not written; retried within a minute");
            }
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        if let Err(e) = self.sync().await {
            tracing::warn!(configmap = NAME, error = %e, "cluster authentication info not written; retried within a minute");
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

impl TrustController {
    /// Writes the ConfigMap when what it should hold differs from what it holds.
    async fn sync(&self) -> Result<(), String> {
        let client_ca = match &self.trust.client_ca_file {
            Some(path) => read(path)?,
            None => String::new(),
        };
        let rh = match &self.trust.request_header {
            Some(t) => Some((read(&t.ca_file)?, t)),
            None => None,
        };
        let live = self.objects.find(self.config_maps, NAMESPACE, NAME).await.map_err(|e| e.message)?;
        let old_data = live.as_ref().and_then(|cm| cm.get("data")).cloned().unwrap_or_else(|| json!({}));
        let wanted = Published::combined(
            Published::from_data(&old_data),
            &client_ca,
            rh.as_ref().map(|(pem, t)| (pem.as_str(), *t)),
        )
        .to_data();
        // Also nothing to publish and no ConfigMap: kube creates no empty one either.
        if old_data == wanted {
            return Ok(());
        }
        if let Some(mut cm) = live {
            let expected =
                cm.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|r| r.parse().ok());
            cm["data"] = wanted;
            self.objects
                .update(self.config_maps, NAMESPACE, NAME, &cm, expected)
                .await
                .map_err(|e| e.message)?;
        } else {
            // kube-system, when someone deleted it (kube's createNamespaceIfNeeded).
            super::system_namespaces::create_if_missing(&self.objects, self.namespaces, NAMESPACE).await?;
            let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": NAME, "namespace": NAMESPACE}, "data": wanted});
            crate::rest::field_manager::prepare_internal_create(self.config_maps, &mut cm, "kube-apiserver");
            cm["metadata"]["namespace"] = json!(NAMESPACE);
            match self.objects.create(self.config_maps, NAMESPACE, NAME, &cm).await {
                Ok(_) => {}
                // Another server wrote it first: its event brings us back.
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e.message),
            }
        }
        tracing::info!(configmap = NAME, namespace = NAMESPACE, "cluster authentication info written");
        Ok(())
    }
}

/// Starts the controller; the ConfigMap is written (or found right) before this returns.
pub async fn start(state: &State, trust: Trust) -> Result<(), String> {
    let lookup = |r: &str| state.catalog.lookup("", "v1", r).ok_or(format!("the catalog serves no {r}"));
    let config_maps = lookup("configmaps")?;
    let controller = TrustController {
        objects: state.objects.clone(),
        config_maps,
        namespaces: lookup("namespaces")?,
        trust,
    };
    let informer = Informer::new(state.objects.clone(), "cluster-authentication-trust", vec![config_maps])
        .in_namespace(NAMESPACE)
        .named(&[NAME]);
    super::run(informer, controller).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rh(names: &[&str]) -> RequestHeaderTrust {
        RequestHeaderTrust {
            ca_file: String::new(),
            config: authn::request_header::RequestHeaderConfig {
                allowed_names: names.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn data_has_kubes_keys_and_keeps_what_was_there() {
        let ca = pki::Ca::generate("client-ca").unwrap();
        let proxy = pki::Ca::generate("front-proxy-ca").unwrap();
        // Nothing trusted: nothing to publish (the ConfigMap is not created).
        assert_eq!(Published::combined(Published::default(), "", None).to_data(), json!({}));
        // Only a client CA: one key.
        let data = Published::combined(Published::default(), &ca.cert_pem, None).to_data();
        assert_eq!(
            data.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["client-ca-file".to_string()])
        );
        // With a front proxy: every request-header key, lists as JSON.
        let t = rh(&["front-proxy-client"]);
        let data =
            Published::combined(Published::default(), &ca.cert_pem, Some((&proxy.cert_pem, &t))).to_data();
        assert_eq!(data["requestheader-allowed-names"], r#"["front-proxy-client"]"#);
        assert_eq!(data["requestheader-username-headers"], r#"["X-Remote-User"]"#);
        assert_eq!(data["requestheader-uid-headers"], r#"["X-Remote-Uid"]"#);
        assert_eq!(data["requestheader-group-headers"], r#"["X-Remote-Group"]"#);
        assert_eq!(data["requestheader-extra-headers-prefix"], r#"["X-Remote-Extra-"]"#);
        assert_eq!(
            pki::certificate_expiries(data["requestheader-client-ca-file"].as_str().unwrap()).len(),
            1
        );
        // Another server's values stay, first; the same values are not repeated.
        let other = pki::Ca::generate("other-ca").unwrap();
        let mut theirs = data.clone();
        theirs["client-ca-file"] = json!(other.cert_pem);
        theirs["requestheader-allowed-names"] = json!(r#"["their-proxy"]"#);
        let again =
            Published::combined(Published::from_data(&theirs), &ca.cert_pem, Some((&proxy.cert_pem, &t)));
        assert_eq!(again.allowed_names, ["their-proxy", "front-proxy-client"]);
        let cns: Vec<String> =
            pki::certificate_expiries(&again.client_ca).into_iter().map(|(cn, _)| cn).collect();
        assert_eq!(cns, ["other-ca", "client-ca"]);
        // Written once, nothing changes on the next sync.
        let once = again.to_data();
        assert_eq!(
            Published::combined(Published::from_data(&once), &ca.cert_pem, Some((&proxy.cert_pem, &t)))
                .to_data(),
            once
        );
        // A broken list counts as empty.
        let mut broken = once.clone();
        broken["requestheader-group-headers"] = json!("not json");
        assert_eq!(Published::from_data(&broken).group_headers, Vec::<String>::new());
    }
}
