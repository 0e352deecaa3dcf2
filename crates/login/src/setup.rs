//! `kubeward login setup`: the texts an operator needs to wire a cluster to a provider,
//! as kubelogin's setup prints them: the kubeconfig `users:` entry running this plugin,
//! the kube-apiserver flags, and a ClusterRoleBinding for a group.

use crate::{GrantType, LoginOptions};

/// What to print besides the login options.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Name of the kubeconfig user entry.
    pub user_name: String,
    /// The provider's group to bind (as it appears in the groups claim).
    pub group: String,
    /// `--oidc-groups-prefix` of the server (prepended to the group in the binding).
    pub groups_prefix: String,
    /// `--oidc-groups-claim` of the server.
    pub groups_claim: String,
    /// The ClusterRole to grant.
    pub cluster_role: String,
}

impl Default for SetupOptions {
    fn default() -> Self {
        Self {
            user_name: "oidc".into(),
            group: String::new(),
            groups_prefix: "oidc:".into(),
            groups_claim: "groups".into(),
            cluster_role: "view".into(),
        }
    }
}

/// The arguments of `kubeward login get-token` reproducing `opts`.
pub fn get_token_args(opts: &LoginOptions) -> Vec<String> {
    let mut args = vec![
        "login".to_string(),
        "get-token".to_string(),
        format!("--oidc-issuer-url={}", opts.issuer_url),
        format!("--oidc-client-id={}", opts.client_id),
    ];
    for s in &opts.extra_scopes {
        args.push(format!("--oidc-extra-scope={s}"));
    }
    if let Some(ca) = &opts.ca_file {
        args.push(format!("--certificate-authority={}", ca.display()));
    }
    if opts.grant_type == GrantType::DeviceCode {
        args.push("--grant-type=device-code".into());
    }
    if !opts.open_browser {
        args.push("--no-browser".into());
    }
    args
}

fn yaml_quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' })
        .collect();
    s.trim_matches('-').to_string()
}

/// The setup text: kubeconfig user entry, server flags and ClusterRoleBinding.
pub fn setup(opts: &LoginOptions, s: &SetupOptions) -> String {
    let group = format!("{}{}", s.groups_prefix, s.group);
    let binding = sanitize(&format!("oidc-{}-{}", s.group, s.cluster_role));
    let ca_flag =
        opts.ca_file.as_ref().map(|p| format!(" \\\n  --oidc-ca-file={}", p.display())).unwrap_or_default();
    let mut out = vec![
        format!(
            "## 1. Add this user to your kubeconfig (kubectl config set-context --current --user={}):",
            s.user_name
        ),
        "users:".into(),
        format!("- name: {}", s.user_name),
        "  user:".into(),
        "    exec:".into(),
        "      apiVersion: client.authentication.k8s.io/v1".into(),
        "      command: kubeward".into(),
        "      args:".into(),
    ];
    out.extend(get_token_args(opts).iter().map(|a| format!("      - {}", yaml_quote(a))));
    out.extend([
        "      interactiveMode: IfAvailable".into(),
        "      provideClusterInfo: false".into(),
        String::new(),
        "## 2. Start the server with:".into(),
        "kubeward server \\".into(),
        format!("  --oidc-issuer-url={} \\", opts.issuer_url),
        format!("  --oidc-client-id={} \\", opts.client_id),
        "  --oidc-username-claim=sub \\".into(),
        format!("  --oidc-groups-claim={} \\", s.groups_claim),
        format!("  --oidc-groups-prefix={}{ca_flag}", s.groups_prefix),
        String::new(),
        "## 3. Grant the group access (kubectl apply -f -):".into(),
        "apiVersion: rbac.authorization.k8s.io/v1".into(),
        "kind: ClusterRoleBinding".into(),
        "metadata:".into(),
        format!("  name: {binding}"),
        "roleRef:".into(),
        "  apiGroup: rbac.authorization.k8s.io".into(),
        "  kind: ClusterRole".into(),
        format!("  name: {}", s.cluster_role),
        "subjects:".into(),
        "- apiGroup: rbac.authorization.k8s.io".into(),
        "  kind: Group".into(),
        format!("  name: {}", yaml_quote(&group)),
        String::new(),
    ]);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_prints_user_flags_and_binding() {
        let mut o = LoginOptions::new("https://idp.example.com", "kubeward");
        o.extra_scopes = vec!["email".into(), "groups".into()];
        let s = SetupOptions { group: "devs".into(), cluster_role: "edit".into(), ..Default::default() };
        let text = setup(&o, &s);
        for want in [
            "apiVersion: client.authentication.k8s.io/v1",
            "command: kubeward",
            "- \"--oidc-issuer-url=https://idp.example.com\"",
            "- \"--oidc-extra-scope=groups\"",
            "interactiveMode: IfAvailable",
            "--oidc-groups-prefix=oidc:",
            "kind: ClusterRoleBinding",
            "name: oidc-devs-edit",
            "name: \"oidc:devs\"",
        ] {
            assert!(text.contains(want), "missing {want}:\n{text}");
        }
        // The kubeconfig and binding parts are valid YAML documents.
        let users = text.split("## 2.").next().unwrap();
        let v: serde_json::Value = yaml_ok(users);
        assert_eq!(v["users"][0]["user"]["exec"]["args"][1], "get-token");
        let binding = text.split("(kubectl apply -f -):\n").nth(1).unwrap();
        let b: serde_json::Value = yaml_ok(binding);
        assert_eq!(b["subjects"][0]["name"], "oidc:devs");
    }

    fn yaml_ok(text: &str) -> serde_json::Value {
        let body: String = text.lines().filter(|l| !l.starts_with("##")).collect::<Vec<_>>().join("\n");
        apimachinery::yaml::from_str(&body).unwrap()
    }
}
