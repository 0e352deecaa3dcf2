//! kube's AuthorizationConfiguration (`--authorization-config`, apiserver.config.k8s.io
//! v1, v1beta1 and v1alpha1, one shape): an ordered list of authorizers, Node, RBAC,
//! ABAC, AlwaysAllow, AlwaysDeny once each and Webhook as often as wanted, each named.
//!
//! [`parse`] decodes a document strictly (an unknown field refuses it) and applies kube's
//! defaults (`SetDefaults_WebhookConfiguration`); [`validate`] is kube's
//! `ValidateAuthorizationConfiguration` plus kube-apiserver's own checks
//! (`LoadAndValidateData`: the names of the non-webhook authorizers, the types a reload
//! must keep), every error with kube's field path and text, aggregated as kube prints
//! them. A webhook's CEL `matchConditions` are compiled here ([`matcher`]).
//!
//! - `matcher`: the match conditions on a SubjectAccessReview;
//! - `reload`: the authorizer chain of a configuration, swapped when the file changes.

pub mod matcher;
pub mod reload;

use crate::quote;
use apimachinery::duration::{parse_go_duration, GoDuration};
use serde_json::Value;

/// The API group of the configuration file.
pub const GROUP: &str = "apiserver.config.k8s.io";
/// The versions kube-apiserver 1.34 reads.
pub const VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];
pub const KIND: &str = "AuthorizationConfiguration";

/// The authorizer types kube-apiserver knows (`AuthorizationModeChoices`), sorted as kube
/// lists them in an error.
pub const TYPES: &[&str] = &["ABAC", "AlwaysAllow", "AlwaysDeny", "Node", "RBAC", "Webhook"];
pub const WEBHOOK: &str = "Webhook";

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// The document does not decode (syntax, an unknown field, a wrong type or version).
    #[error("failed to load AuthorizationConfiguration from file: {0}")]
    Decode(String),
    /// The configuration is invalid: kube's field errors, aggregated.
    #[error("{}", quote::aggregate(.0))]
    Invalid(Vec<String>),
    /// An authorizer could not be built (its kubeconfig, the ABAC policy file).
    #[error("{0}")]
    Build(String),
}

/// `connectionInfo` of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// `KubeConfigFile` or `InClusterConfig`.
    pub kind: String,
    pub kubeconfig_file: Option<String>,
}

/// A `Webhook` authorizer's settings, defaulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub authorized_ttl: GoDuration,
    pub cache_authorized_requests: bool,
    pub unauthorized_ttl: GoDuration,
    pub cache_unauthorized_requests: bool,
    pub timeout: GoDuration,
    pub subject_access_review_version: String,
    pub match_condition_subject_access_review_version: String,
    pub failure_policy: String,
    pub connection_info: ConnectionInfo,
    /// Each condition's expression.
    pub match_conditions: Vec<String>,
}

/// One entry of `authorizers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    pub kind: String,
    pub name: String,
    pub webhook: Option<WebhookConfig>,
}

/// A decoded AuthorizationConfiguration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationConfig {
    pub authorizers: Vec<AuthorizerConfig>,
}

/// The fields each object of the document may have (kube's strict decoding).
const TOP: &[&str] = &["apiVersion", "kind", "authorizers"];
const AUTHORIZER: &[&str] = &["type", "name", "webhook"];
const WEBHOOK_FIELDS: &[&str] = &[
    "authorizedTTL",
    "cacheAuthorizedRequests",
    "unauthorizedTTL",
    "cacheUnauthorizedRequests",
    "timeout",
    "subjectAccessReviewVersion",
    "matchConditionSubjectAccessReviewVersion",
    "failurePolicy",
    "connectionInfo",
    "matchConditions",
];
const CONNECTION_INFO: &[&str] = &["type", "kubeConfigFile"];
const MATCH_CONDITION: &[&str] = &["expression"];

fn unknown(obj: &serde_json::Map<String, Value>, known: &[&str], path: &str, out: &mut Vec<String>) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let field = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        out.push(format!("unknown field {}", quote::go_quote(&field)));
    }
}

fn as_object<'a>(v: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("json: cannot unmarshal {} into Go value of type {what}", json_kind(v)))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn string(obj: &serde_json::Map<String, Value>, key: &str, go_field: &str) -> Result<String, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!(
            "json: cannot unmarshal {} into Go struct field {go_field} of type string",
            json_kind(v)
        )),
    }
}

fn boolean(obj: &serde_json::Map<String, Value>, key: &str, go_field: &str) -> Result<Option<bool>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!(
            "json: cannot unmarshal {} into Go struct field {go_field} of type bool",
            json_kind(v)
        )),
    }
}

fn duration(obj: &serde_json::Map<String, Value>, key: &str) -> Result<GoDuration, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(GoDuration(0)),
        Some(Value::String(s)) => parse_go_duration(s),
        Some(v) => Err(format!("json: cannot unmarshal {} into Go value of type string", json_kind(v))),
    }
}

/// kube's `SetDefaults_WebhookConfiguration`.
fn webhook(v: &Value, path: &str, unknown_fields: &mut Vec<String>) -> Result<WebhookConfig, String> {
    let w = as_object(v, "v1.WebhookConfiguration")?;
    unknown(w, WEBHOOK_FIELDS, path, unknown_fields);
    let info = match w.get("connectionInfo") {
        None | Some(Value::Null) => ConnectionInfo { kind: String::new(), kubeconfig_file: None },
        Some(c) => {
            let c = as_object(c, "v1.WebhookConnectionInfo")?;
            unknown(c, CONNECTION_INFO, &format!("{path}.connectionInfo"), unknown_fields);
            let file = match c.get("kubeConfigFile") {
                None | Some(Value::Null) => None,
                Some(_) => Some(string(c, "kubeConfigFile", "WebhookConnectionInfo.kubeConfigFile")?),
            };
            ConnectionInfo { kind: string(c, "type", "WebhookConnectionInfo.type")?, kubeconfig_file: file }
        }
    };
    let mut conditions = Vec::new();
    for (i, c) in w.get("matchConditions").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let c = as_object(c, "v1.WebhookMatchCondition")?;
        unknown(c, MATCH_CONDITION, &format!("{path}.matchConditions[{i}]"), unknown_fields);
        conditions.push(string(c, "expression", "WebhookMatchCondition.expression")?);
    }
    let mut authorized_ttl = duration(w, "authorizedTTL")?;
    if authorized_ttl.0 == 0 {
        authorized_ttl = GoDuration(300_000_000_000);
    }
    let mut unauthorized_ttl = duration(w, "unauthorizedTTL")?;
    if unauthorized_ttl.0 == 0 {
        unauthorized_ttl = GoDuration(30_000_000_000);
    }
    Ok(WebhookConfig {
        authorized_ttl,
        cache_authorized_requests: boolean(
            w,
            "cacheAuthorizedRequests",
            "WebhookConfiguration.cacheAuthorizedRequests",
        )?
        .unwrap_or(true),
        unauthorized_ttl,
        cache_unauthorized_requests: boolean(
            w,
            "cacheUnauthorizedRequests",
            "WebhookConfiguration.cacheUnauthorizedRequests",
        )?
        .unwrap_or(true),
        timeout: duration(w, "timeout")?,
        subject_access_review_version: string(
            w,
            "subjectAccessReviewVersion",
            "WebhookConfiguration.subjectAccessReviewVersion",
        )?,
        match_condition_subject_access_review_version: string(
            w,
            "matchConditionSubjectAccessReviewVersion",
            "WebhookConfiguration.matchConditionSubjectAccessReviewVersion",
        )?,
        failure_policy: string(w, "failurePolicy", "WebhookConfiguration.failurePolicy")?,
        connection_info: info,
        match_conditions: conditions,
    })
}

/// Decodes a configuration document (YAML or JSON), strictly, with kube's defaults.
pub fn parse(text: &str) -> Result<AuthorizationConfig, ConfigError> {
    let doc: Value = apimachinery::yaml::from_str(text).map_err(|e| ConfigError::Decode(e.to_string()))?;
    let top = as_object(&doc, "struct").map_err(ConfigError::Decode)?;
    let api_version = top.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = top.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        let missing = if api_version.is_empty() { "apiVersion" } else { "kind" };
        return Err(ConfigError::Decode(format!("Object '{missing}' is missing in '{}'", doc)));
    }
    let version = api_version.strip_prefix(GROUP).and_then(|v| v.strip_prefix('/'));
    if kind != KIND || !version.is_some_and(|v| VERSIONS.contains(&v)) {
        return Err(ConfigError::Decode(format!(
            "no kind {} is registered for version {} in scheme",
            quote::go_quote(kind),
            quote::go_quote(api_version)
        )));
    }
    let mut unknown_fields = Vec::new();
    unknown(top, TOP, "", &mut unknown_fields);
    let mut authorizers = Vec::new();
    for (i, a) in top.get("authorizers").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let path = format!("authorizers[{i}]");
        let a = as_object(a, "v1.AuthorizerConfiguration").map_err(ConfigError::Decode)?;
        unknown(a, AUTHORIZER, &path, &mut unknown_fields);
        let webhook = match a.get("webhook") {
            None | Some(Value::Null) => None,
            Some(w) => Some(
                webhook(w, &format!("{path}.webhook"), &mut unknown_fields).map_err(ConfigError::Decode)?,
            ),
        };
        authorizers.push(AuthorizerConfig {
            kind: string(a, "type", "AuthorizerConfiguration.type").map_err(ConfigError::Decode)?,
            name: string(a, "name", "AuthorizerConfiguration.name").map_err(ConfigError::Decode)?,
            webhook,
        });
    }
    if !unknown_fields.is_empty() {
        return Err(ConfigError::Decode(format!("strict decoding error: {}", unknown_fields.join(", "))));
    }
    Ok(AuthorizationConfig { authorizers })
}

/// Go's `time.Duration.String()`.
pub fn go_duration_string(d: GoDuration) -> String {
    let nanos = d.0;
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    let fraction = |value: u64, unit: u64| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let frac = format!("{rest:0digits$}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    };
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n, 1_000_000));
    }
    let seconds_part = n % 60_000_000_000;
    let minutes = n / 60_000_000_000;
    let secs = fraction(seconds_part, 1_000_000_000);
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// kube's `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.first().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && b.last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !s.split('.').all(label_ok) {
        errs.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
    }
    errs
}

fn required(field: &str, detail: &str) -> String {
    if detail.is_empty() {
        format!("{field}: Required value")
    } else {
        format!("{field}: Required value: {detail}")
    }
}

fn invalid(field: &str, value: &str, detail: &str) -> String {
    format!("{field}: Invalid value: {}: {detail}", quote::go_quote(value))
}

fn not_supported(field: &str, rendered: &str, supported: &[&str]) -> String {
    let list: Vec<String> = supported.iter().map(|s| quote::go_quote(s)).collect();
    format!("{field}: Unsupported value: {rendered}: supported values: {}", list.join(", "))
}

/// kube's `ValidateWebhookConfiguration`, the field paths under `path` (kube puts a
/// webhook's fields right under its authorizer).
fn validate_webhook(w: &WebhookConfig, path: &str, errs: &mut Vec<String>) {
    let thirty = GoDuration(30_000_000_000);
    if w.timeout.0 == 0 {
        errs.push(required(&format!("{path}.timeout"), ""));
    } else if w.timeout > thirty || w.timeout.0 < 0 {
        errs.push(invalid(
            &format!("{path}.timeout"),
            &go_duration_string(w.timeout),
            "must be > 0s and <= 30s",
        ));
    }
    for (key, d) in [("authorizedTTL", w.authorized_ttl), ("unauthorizedTTL", w.unauthorized_ttl)] {
        if d.0 < 0 {
            errs.push(invalid(&format!("{path}.{key}"), &go_duration_string(d), "must be > 0s"));
        }
    }
    match w.subject_access_review_version.as_str() {
        "" => errs.push(required(&format!("{path}.subjectAccessReviewVersion"), "")),
        "v1" | "v1beta1" => {}
        other => errs.push(not_supported(
            &format!("{path}.subjectAccessReviewVersion"),
            &quote::go_quote(other),
            &["v1", "v1beta1"],
        )),
    }
    match w.match_condition_subject_access_review_version.as_str() {
        "" if !w.match_conditions.is_empty() => errs.push(required(
            &format!("{path}.matchConditionSubjectAccessReviewVersion"),
            "required if match conditions are specified",
        )),
        "" | "v1" => {}
        other => errs.push(not_supported(
            &format!("{path}.matchConditionSubjectAccessReviewVersion"),
            &quote::go_quote(other),
            &["v1"],
        )),
    }
    match w.failure_policy.as_str() {
        "" => errs.push(required(&format!("{path}.failurePolicy"), "")),
        "NoOpinion" | "Deny" => {}
        other => errs.push(not_supported(
            &format!("{path}.failurePolicy"),
            &quote::go_quote(other),
            &["NoOpinion", "Deny"],
        )),
    }
    let info = &w.connection_info;
    let file_path = format!("{path}.connectionInfo.kubeConfigFile");
    match info.kind.as_str() {
        "" => errs.push(required(&format!("{path}.connectionInfo.type"), "")),
        "InClusterConfig" => match &info.kubeconfig_file {
            Some(f) => errs.push(invalid(&file_path, f, "can only be set when type=KubeConfigFile")),
            // kube-apiserver cannot be its own authorization webhook.
            None => errs.push(invalid(
                &format!("{path}.connectionInfo.type"),
                "InClusterConfig",
                "InClusterConfig is not allowed for kube-apiserver (it would call itself); use KubeConfigFile",
            )),
        },
        "KubeConfigFile" => match info.kubeconfig_file.as_deref() {
            None | Some("") => errs.push(required(&file_path, "")),
            Some(f) if !std::path::Path::new(f).is_absolute() => {
                errs.push(invalid(&file_path, f, "must be an absolute path"))
            }
            Some(f) => match std::fs::metadata(f) {
                Err(e) => errs.push(invalid(&file_path, f, &format!("error loading file: {}", go_stat_error(f, &e)))),
                Ok(m) if !m.is_file() => errs.push(invalid(&file_path, f, "must be a regular file")),
                Ok(_) => {}
            },
        },
        other => {
            let file = match &info.kubeconfig_file {
                Some(f) => format!("(*string)({})", quote::go_quote(f)),
                None => "(*string)(nil)".to_string(),
            };
            let rendered = format!("apiserver.WebhookConnectionInfo{{Type:{}, KubeConfigFile:{file}}}", quote::go_quote(other));
            errs.push(not_supported(&format!("{path}.connectionInfo.type"), &rendered, &["InClusterConfig", "KubeConfigFile"]));
        }
    }
    if w.match_conditions.len() > 64 {
        errs.push(format!(
            "{path}.matchConditions: Too many: {}: must have at most 64 items",
            w.match_conditions.len()
        ));
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, expression) in w.match_conditions.iter().enumerate() {
        let at = format!("{path}.matchConditions[{i}].expression");
        if expression.trim().is_empty() {
            errs.push(required(&at, ""));
            continue;
        }
        if seen.contains(&expression.as_str()) {
            errs.push(format!("{at}: Duplicate value: {}", quote::go_quote(expression)));
            continue;
        }
        seen.push(expression);
        if let Err(detail) = matcher::compile_one(expression) {
            errs.push(invalid(&at, expression, &detail));
        }
    }
}

/// Go's `os.Stat` error text.
fn go_stat_error(path: &str, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("stat {path}: {what}")
}

/// kube-apiserver's validation of a configuration (`LoadAndValidateData`): kube's field
/// errors first; then the names of the non-webhook authorizers (their type in lower case)
/// and the non-webhook `required` types (those in force at start, on a reload).
pub fn validate(config: &AuthorizationConfig, required_types: &[String]) -> Result<(), ConfigError> {
    let mut errs = Vec::new();
    if config.authorizers.is_empty() {
        errs.push(required("authorizers", "at least one authorization mode must be defined"));
    }
    let mut types: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, a) in config.authorizers.iter().enumerate() {
        let path = format!("authorizers[{i}]");
        if a.kind.is_empty() {
            errs.push(required(&format!("{path}.type"), ""));
            continue;
        }
        if !TYPES.contains(&a.kind.as_str()) {
            errs.push(not_supported(&format!("{path}.type"), &quote::go_quote(&a.kind), TYPES));
            continue;
        }
        if types.contains(&a.kind.as_str()) && a.kind != WEBHOOK {
            errs.push(format!("{path}.type: Duplicate value: {}", quote::go_quote(&a.kind)));
            continue;
        }
        types.push(&a.kind);
        if a.name.is_empty() {
            errs.push(required(&format!("{path}.name"), ""));
        } else if names.contains(&a.name.as_str()) {
            errs.push(format!("{path}.name: Duplicate value: {}", quote::go_quote(&a.name)));
        } else {
            let name_errs = dns1123_subdomain_errors(&a.name);
            if !name_errs.is_empty() {
                errs.push(invalid(
                    &format!("{path}.name"),
                    &a.name,
                    &format!("authorizer name is invalid: {}", name_errs.join(", ")),
                ));
            }
        }
        names.push(&a.name);
        match (&a.webhook, a.kind == WEBHOOK) {
            (None, true) => errs.push(required(&format!("{path}.webhook"), "required when type=Webhook")),
            (Some(w), true) => validate_webhook(w, &path, &mut errs),
            (Some(_), false) => errs.push(invalid(
                &format!("{path}.webhook"),
                "non-null",
                "may only be specified when type=Webhook",
            )),
            (None, false) => {}
        }
    }
    if !errs.is_empty() {
        return Err(ConfigError::Invalid(errs));
    }
    let mut errs = Vec::new();
    let mut seen = Vec::new();
    for a in config.authorizers.iter().filter(|a| a.kind != WEBHOOK) {
        seen.push(a.kind.clone());
        let expected = a.kind.to_lowercase();
        if a.name != expected {
            errs.push(format!("expected name {expected} for authorizer {} instead of {}", a.kind, a.name));
        }
    }
    let mut missing: Vec<&String> = required_types.iter().filter(|t| !seen.contains(t)).collect();
    missing.sort();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        errs.push(format!("missing required types: [{}]", list.join(" ")));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(errs))
    }
}

/// Reads, decodes and validates a configuration file.
pub fn load(
    path: &std::path::Path,
    required_types: &[String],
) -> Result<(AuthorizationConfig, Vec<u8>), ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Read(format!("{}: {e}", path.display())))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| ConfigError::Decode("the file is not UTF-8".into()))?;
    let config = parse(text)?;
    validate(&config, required_types)?;
    Ok((config, bytes))
}

#[cfg(test)]
mod tests;
