//! kubeconfig files (client-go's `clientcmd` v1 format) for a cluster, a user and a context.

use base64::Engine;
use serde_json::json;

/// One cluster, one user, one context: what `kubeward up` writes for the admin.
pub struct Kubeconfig {
    pub cluster_name: String,
    pub server: String,
    pub ca_pem: String,
    pub user_name: String,
    pub client_cert_pem: Option<String>,
    pub client_key_pem: Option<String>,
    pub token: Option<String>,
}

impl Kubeconfig {
    pub fn to_yaml(&self) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let mut user = serde_json::Map::new();
        if let Some(c) = &self.client_cert_pem {
            user.insert("client-certificate-data".into(), json!(b64(c)));
        }
        if let Some(k) = &self.client_key_pem {
            user.insert("client-key-data".into(), json!(b64(k)));
        }
        if let Some(t) = &self.token {
            user.insert("token".into(), json!(t));
        }
        let context = format!("{}@{}", self.user_name, self.cluster_name);
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": self.cluster_name, "cluster": {
                "server": self.server,
                "certificate-authority-data": b64(&self.ca_pem),
            }}],
            "users": [{"name": self.user_name, "user": user}],
            "contexts": [{"name": context, "context": {"cluster": self.cluster_name, "user": self.user_name}}],
            "current-context": context,
            "preferences": {},
        });
        apimachinery::yaml::to_string(&doc).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_is_yaml_that_reads_back() {
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", "A".repeat(1200));
        let kc = Kubeconfig {
            cluster_name: "kubeward".into(),
            server: "https://127.0.0.1:6443".into(),
            ca_pem: pem.clone(),
            user_name: "kubeward-admin".into(),
            client_cert_pem: Some(pem.clone()),
            client_key_pem: Some(pem),
            token: Some("true".into()),
        };
        let text = kc.to_yaml();
        let v: serde_json::Value = apimachinery::yaml::from_str(&text).unwrap();
        assert_eq!(v["current-context"], "kubeward-admin@kubeward");
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:6443");
        assert_eq!(v["users"][0]["user"]["token"], "true");
        let ca = base64::engine::general_purpose::STANDARD
            .decode(v["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(ca).unwrap(), kc.ca_pem);
        // One line per field: the base64 data is not folded.
        assert!(
            text.lines().any(|l| l.trim_start().starts_with("certificate-authority-data: LS0t")),
            "{text}"
        );
    }
}
