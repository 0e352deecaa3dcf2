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
        serde_yaml::to_string(&doc).unwrap_or_default()
    }
}
