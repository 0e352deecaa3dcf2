//! `kubeward check cis`: the API-server controls of the CIS Kubernetes Benchmark (section 1.2
//! of v1.12, kube-bench's `cfg/cis-1.12/master.yaml` check list), each evaluated against the
//! configuration a kubeward server runs with: its flags with their defaults, and for `up`
//! the defaults `up` adds. Each control gets a state and the flag or file it comes from:
//! - `PASS` / `FAIL` for what can be decided from the configuration;
//! - `WARN` for a manual control that does not hold (the benchmark leaves it to judgement);
//! - `N/A` for what does not apply to kubeward (the etcd controls only apply with
//!   `--etcd-servers`).
//!
//! Flags kubeward does not have (audit log rotation, encryption at rest) are read from the
//! raw arguments, so a server that gains them is judged by them; until then their controls
//! fail, as kube-bench would say of a kube-apiserver without them.

use crate::flags::ApiServerFlags;
use std::fmt::Write;

/// How the server is started.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Up,
    Server,
}

/// The configuration a server runs with.
pub struct Effective {
    pub mode: Mode,
    /// The flags, with `up`'s defaults applied for `up`.
    pub flags: ApiServerFlags,
    pub tls_cert_file: String,
    pub tls_private_key_file: String,
    /// The arguments as given (for flags kubeward does not model).
    pub raw: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Pass,
    Fail,
    Warn,
    NotApplicable,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Warn => "WARN",
            Self::NotApplicable => "N/A",
        }
    }
}

/// One control: its number and text as the benchmark words them, whether it is scored
/// (Automated), its state, and where the state comes from.
#[derive(Debug)]
pub struct Control {
    pub id: &'static str,
    pub text: &'static str,
    pub scored: bool,
    pub state: State,
    pub source: String,
}

/// kube-bench's list of strong cipher suites (1.2.29).
const STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

impl Effective {
    /// The value of `--name` in the raw arguments (`--name=v` or `--name v`), last one wins.
    fn raw_flag(&self, name: &str) -> Option<&str> {
        let mut found = None;
        let flag = format!("--{name}");
        let mut args = self.raw.iter();
        while let Some(a) = args.next() {
            if let Some(v) = a.strip_prefix(&flag).and_then(|r| r.strip_prefix('=')) {
                found = Some(v);
            } else if *a == flag {
                found = args.next().map(String::as_str);
            }
        }
        found
    }

    /// The admission plugins the server runs (kube's default set, the enabled, less the
    /// disabled), or the error a bad pair of flags gives.
    fn admission(&self) -> Vec<&'static str> {
        apiserver_admission_names(&self.flags.enable_admission_plugins, &self.flags.disable_admission_plugins)
    }
}

fn apiserver_admission_names(enable: &[String], disable: &[String]) -> Vec<&'static str> {
    apiserver::admission_plugin_names(enable, disable).unwrap_or_default()
}

/// Every control of section 1.2, in the benchmark's order.
pub fn evaluate(e: &Effective) -> Vec<Control> {
    let f = &e.flags;
    let mut out = Vec::new();
    let mut add =
        |id, text, scored, state, source: String| out.push(Control { id, text, scored, state, source });
    let pass_if = |ok: bool| if ok { State::Pass } else { State::Fail };
    let warn_unless = |ok: bool| if ok { State::Pass } else { State::Warn };
    let plugins = e.admission();
    let has = |p: &str| plugins.contains(&p);
    let enable_flag = format!("--enable-admission-plugins={}", f.enable_admission_plugins.join(","));
    let disable_flag = format!("--disable-admission-plugins={}", f.disable_admission_plugins.join(","));
    let authorizers = f.authorizer_types();
    let modes = match &f.authorization_config {
        Some(path) => format!("--authorization-config={} ({})", path.display(), authorizers.join(",")),
        None => format!("--authorization-mode={}", authorizers.join(",")),
    };
    let on_etcd = !f.etcd_servers.is_empty();

    let anonymous = match f.anonymous_auth {
        Some(false) => (State::Pass, "--anonymous-auth=false".to_string()),
        Some(true) => {
            (State::Warn, "--anonymous-auth=true: anonymous requests reach what RBAC allows".to_string())
        }
        None if f.authentication_config.is_some() => (
            State::Warn,
            "--authentication-config: its anonymous section decides (unset: /healthz, /livez, /readyz only)"
                .into(),
        ),
        None => (
            State::Pass,
            "--anonymous-auth unset: anonymous requests reach only /healthz, /livez, /readyz".into(),
        ),
    };
    add(
        "1.2.1",
        "Ensure that the --anonymous-auth argument is set to false",
        false,
        anonymous.0,
        anonymous.1,
    );
    add(
        "1.2.2",
        "Ensure that the --token-auth-file parameter is not set",
        true,
        pass_if(f.token_auth_file.is_none()),
        match &f.token_auth_file {
            Some(p) => format!("--token-auth-file={}", p.display()),
            None => "--token-auth-file unset".into(),
        },
    );
    add(
        "1.2.3",
        "Ensure that the --DenyServiceExternalIPs is set",
        false,
        warn_unless(has("DenyServiceExternalIPs")),
        enable_flag.clone(),
    );
    let (cert, key) = (&f.kubelet_client_certificate, &f.kubelet_client_key);
    add(
        "1.2.4",
        "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate",
        true,
        pass_if(cert.is_some() && key.is_some()),
        match (cert, key) {
            (Some(c), Some(k)) => {
                format!("--kubelet-client-certificate={} --kubelet-client-key={}", c.display(), k.display())
            }
            _ => "--kubelet-client-certificate or --kubelet-client-key unset: kubelets see no client certificate"
                .into(),
        },
    );
    // kubeward verifies kubelets' serving certificates with the cluster CA when no
    // --kubelet-certificate-authority is given (kube-apiserver would not verify them at all).
    let (state, source) = match (&f.kubelet_certificate_authority, &f.client_ca_file) {
        (Some(ca), _) => (State::Pass, format!("--kubelet-certificate-authority={}", ca.display())),
        (None, Some(ca)) => (State::Pass, format!("kubelets verified with --client-ca-file={ca}")),
        (None, None) => (State::Fail, "--kubelet-certificate-authority unset, no cluster CA".to_string()),
    };
    add(
        "1.2.5",
        "Ensure that the --kubelet-certificate-authority argument is set as appropriate",
        true,
        state,
        source,
    );
    add(
        "1.2.6",
        "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
        true,
        pass_if(!authorizers.iter().any(|m| m == "AlwaysAllow")),
        modes.clone(),
    );
    add(
        "1.2.7",
        "Ensure that the --authorization-mode argument includes Node",
        true,
        pass_if(authorizers.iter().any(|m| m == "Node")),
        modes.clone(),
    );
    add(
        "1.2.8",
        "Ensure that the --authorization-mode argument includes RBAC",
        true,
        pass_if(authorizers.iter().any(|m| m == "RBAC")),
        modes.clone(),
    );
    add(
        "1.2.9",
        "Ensure that the admission control plugin EventRateLimit is set",
        false,
        State::Warn,
        "EventRateLimit needs --admission-control-config-file, which kubeward does not read: refused if enabled".into(),
    );
    add(
        "1.2.10",
        "Ensure that the admission control plugin AlwaysAdmit is not set",
        true,
        pass_if(!has("AlwaysAdmit")),
        enable_flag.clone(),
    );
    add(
        "1.2.11",
        "Ensure that the admission control plugin AlwaysPullImages is set",
        false,
        warn_unless(has("AlwaysPullImages")),
        enable_flag.clone(),
    );
    add(
        "1.2.12",
        "Ensure that the admission control plugin ServiceAccount is set",
        true,
        pass_if(has("ServiceAccount")),
        disable_flag.clone(),
    );
    add(
        "1.2.13",
        "Ensure that the admission control plugin NamespaceLifecycle is set",
        true,
        pass_if(has("NamespaceLifecycle")),
        disable_flag,
    );
    add(
        "1.2.14",
        "Ensure that the admission control plugin NodeRestriction is set",
        true,
        pass_if(has("NodeRestriction")),
        enable_flag,
    );
    add(
        "1.2.15",
        "Ensure that the --profiling argument is set to false",
        true,
        State::Pass,
        "kubeward serves no profiling endpoint (/debug/pprof)".into(),
    );
    add(
        "1.2.16",
        "Ensure that the --audit-log-path argument is set",
        true,
        pass_if(f.audit_log_path.is_some()),
        match &f.audit_log_path {
            Some(p) => format!("--audit-log-path={}", p.display()),
            None => "--audit-log-path unset".into(),
        },
    );
    for (id, text, flag, least) in [
        (
            "1.2.17",
            "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate",
            "audit-log-maxage",
            30,
        ),
        (
            "1.2.18",
            "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate",
            "audit-log-maxbackup",
            10,
        ),
        (
            "1.2.19",
            "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate",
            "audit-log-maxsize",
            100,
        ),
    ] {
        let value = e.raw_flag(flag);
        let ok = value.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n >= least);
        let source = match value {
            Some(v) => format!("--{flag}={v}"),
            None => format!("--{flag} unset"),
        };
        add(id, text, true, pass_if(ok), source);
    }
    add(
        "1.2.20",
        "Ensure that the --request-timeout argument is set as appropriate",
        false,
        State::Pass,
        format!("--request-timeout={} (non-long-running requests end with 504 past it)", f.request_timeout),
    );
    add(
        "1.2.21",
        "Ensure that the --service-account-lookup argument is set to true",
        true,
        State::Pass,
        "always on: every service-account token is checked against its ServiceAccount (and Secret or Pod)"
            .into(),
    );
    let sa_keys = if !f.service_account_key_file.is_empty() {
        Some(format!("--service-account-key-file={}", join_paths(&f.service_account_key_file)))
    } else {
        f.service_account_signing_key_file
            .as_ref()
            .map(|p| format!("--service-account-signing-key-file={} (its public key verifies)", p.display()))
    };
    add(
        "1.2.22",
        "Ensure that the --service-account-key-file argument is set as appropriate",
        true,
        pass_if(sa_keys.is_some()),
        sa_keys.unwrap_or_else(|| "--service-account-key-file unset".into()),
    );
    let etcd_na = "embedded store: no connection to etcd".to_string();
    let (state, source) = if on_etcd {
        let ok = f.etcd_certfile.is_some() && f.etcd_keyfile.is_some();
        (
            pass_if(ok),
            format!(
                "--etcd-certfile={} --etcd-keyfile={}",
                opt_path(&f.etcd_certfile),
                opt_path(&f.etcd_keyfile)
            ),
        )
    } else {
        (State::NotApplicable, etcd_na.clone())
    };
    add(
        "1.2.23",
        "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate",
        true,
        state,
        source,
    );
    add(
        "1.2.24",
        "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate",
        true,
        pass_if(!e.tls_cert_file.is_empty() && !e.tls_private_key_file.is_empty()),
        format!("--tls-cert-file={} --tls-private-key-file={}", e.tls_cert_file, e.tls_private_key_file),
    );
    add(
        "1.2.25",
        "Ensure that the --client-ca-file argument is set as appropriate",
        true,
        pass_if(f.client_ca_file.is_some()),
        format!("--client-ca-file={}", f.client_ca_file.as_deref().unwrap_or("")),
    );
    let (state, source) = if on_etcd {
        (pass_if(f.etcd_cafile.is_some()), format!("--etcd-cafile={}", opt_path(&f.etcd_cafile)))
    } else {
        (State::NotApplicable, etcd_na)
    };
    add("1.2.26", "Ensure that the --etcd-cafile argument is set as appropriate", true, state, source);
    let encryption = e.raw_flag("encryption-provider-config");
    add(
        "1.2.27",
        "Ensure that the --encryption-provider-config argument is set as appropriate",
        false,
        warn_unless(encryption.is_some()),
        match encryption {
            Some(p) => format!("--encryption-provider-config={p}"),
            None => "--encryption-provider-config unset: kubeward does not encrypt stored objects".into(),
        },
    );
    add(
        "1.2.28",
        "Ensure that encryption providers are appropriately configured",
        false,
        warn_unless(encryption.is_some()),
        "no encryption providers: stored objects are not encrypted at rest".into(),
    );
    let suites = apiserver::server::cipher_suite_names();
    let weak: Vec<&String> = suites.iter().filter(|s| !STRONG_CIPHERS.contains(&s.as_str())).collect();
    add(
        "1.2.29",
        "Ensure that the API Server only makes use of Strong Cryptographic Ciphers",
        false,
        warn_unless(weak.is_empty()),
        if weak.is_empty() {
            format!("TLS 1.2/1.3 suites offered: {}", suites.join(","))
        } else {
            format!("weak suites offered: {}", weak.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
        },
    );
    add(
        "1.2.30",
        "Ensure that the --service-account-extend-token-expiration parameter is set to false",
        true,
        State::Pass,
        "kubeward never extends service-account token lifetimes (no such flag)".into(),
    );
    out
}

fn opt_path(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

fn join_paths(paths: &[std::path::PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",")
}

/// The controls as a table, then the counts.
pub fn table(e: &Effective, controls: &[Control]) -> String {
    let text_width = controls.iter().map(|c| c.text.len()).max().unwrap_or(0);
    let mut out = String::new();
    let mode = match e.mode {
        Mode::Up => "kubeward up",
        Mode::Server => "kubeward server",
    };
    let _ = writeln!(
        out,
        "[INFO] 1.2 API Server (CIS Kubernetes Benchmark v1.12, kube-bench's checks) for `{mode}`"
    );
    let _ = writeln!(out, "{:<7} {:<5} {:<10} {:<text_width$} SOURCE", "ID", "STATE", "TYPE", "CONTROL");
    for c in controls {
        let kind = if c.scored { "Automated" } else { "Manual" };
        let _ = writeln!(
            out,
            "{:<7} {:<5} {:<10} {:<text_width$} {}",
            c.id,
            c.state.label(),
            kind,
            c.text,
            c.source
        );
    }
    let count = |s: State| controls.iter().filter(|c| c.state == s).count();
    let _ = writeln!(
        out,
        "\n== Summary api-server ==\n{} checks PASS\n{} checks FAIL\n{} checks WARN\n{} checks N/A",
        count(State::Pass),
        count(State::Fail),
        count(State::Warn),
        count(State::NotApplicable)
    );
    out
}
