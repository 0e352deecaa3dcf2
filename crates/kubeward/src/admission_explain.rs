//! `kubeward explain VERB RESOURCE --as USER -f FILE`: the admission half of the answer.
//! The write is sent as the user would send it (impersonated, `dryRun=All`, so every
//! admission plugin runs and nothing is stored). The answer names what decided: a refusal
//! by an admission policy with its policy, binding and the validation whose expression
//! failed (read from the policy through the caller's own kubeconfig); an admitted write
//! with the metadata admission changed (mutating policies and webhooks).

use crate::cli::CliError;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::Client;
use serde_json::Value;
use std::path::Path;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// A client of `kubeconfig` that acts as `user` in `groups` (Impersonate-* headers).
pub async fn impersonating(
    kubeconfig: Option<&str>,
    user: &str,
    groups: &[String],
) -> Result<Client, CliError> {
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).map_err(err)?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.map_err(err)?
        }
        None => kube::Config::infer().await.map_err(err)?,
    };
    config.auth_info.impersonate = Some(user.to_string());
    config.auth_info.impersonate_groups = (!groups.is_empty()).then(|| groups.to_vec());
    Client::try_from(config).map_err(err)
}

/// The metadata admission changed: labels, annotations, finalizers and owner references
/// (defaulting, which runs before admission, adds fields elsewhere, so only these tell a
/// mutating policy's or webhook's work apart).
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    ["labels", "annotations", "finalizers", "ownerReferences"]
        .into_iter()
        .filter(|key| {
            before.pointer(&format!("/metadata/{key}")) != after.pointer(&format!("/metadata/{key}"))
        })
        .map(|key| format!("metadata.{key}"))
        .collect()
}

/// `'a' with binding 'b' denied request: m` after `prefix`: (policy, binding, message).
fn policy_refusal<'m>(message: &'m str, prefix: &str) -> Option<(&'m str, &'m str, &'m str)> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    let (policy, rest) = rest.split_once("' with binding '")?;
    let (binding, detail) = rest.split_once("' denied request: ")?;
    Some((policy, binding, detail))
}

/// The validations of a ValidatingAdmissionPolicy that gave `detail`: the one whose
/// `message` is it, or whose expression kube names (`failed expression: ...`); failing
/// that, those whose message comes from a `messageExpression`.
fn refusing_validations(policy: &Value, detail: &str) -> Vec<String> {
    let validations =
        policy.pointer("/spec/validations").and_then(Value::as_array).cloned().unwrap_or_default();
    let text =
        |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_string();
    let describe = |i: usize, v: &Value| format!("spec.validations[{i}]: {}", text(v, "expression"));
    let exact: Vec<String> = validations
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            (text(v, "messageExpression").is_empty()
                && !text(v, "message").is_empty()
                && text(v, "message") == detail)
                || detail == format!("failed expression: {}", text(v, "expression"))
        })
        .map(|(i, v)| describe(i, v))
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    validations
        .iter()
        .enumerate()
        .filter(|(_, v)| !text(v, "messageExpression").is_empty())
        .map(|(i, v)| format!("{} (its messageExpression gave the message)", describe(i, v)))
        .collect()
}

/// The admission answer for writing the object of `file` with `verb` (create or update)
/// as the impersonating `client`; `own` reads policies as the caller.
pub async fn explain(
    client: &Client,
    own: &Client,
    verb: &str,
    namespace: &str,
    file: &Path,
) -> Result<String, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    let mut obj: Value =
        apimachinery::yaml::from_str(&text).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version.as_str()));
    let gvk = GroupVersionKind::gvk(group, version, &kind);
    let (resource, caps) = kube::discovery::pinned_kind(own, &gvk).await.map_err(err)?;
    let namespaced = caps.scope == kube::discovery::Scope::Namespaced;
    let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(namespace).to_string();
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(client.clone(), &ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let dynamic = |v: &Value| serde_json::from_value::<DynamicObject>(v.clone()).map_err(err);
    let params = PostParams { dry_run: true, field_manager: Some("kubeward-explain".into()) };
    let result = match verb {
        "create" => api.create(&params, &dynamic(&obj)?).await,
        "update" => {
            let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
            let current = Api::<DynamicObject>::namespaced_with(own.clone(), &ns, &resource);
            let current = if namespaced { current } else { Api::all_with(own.clone(), &resource) };
            let live = current.get(&name).await.map_err(err)?;
            obj["metadata"]["resourceVersion"] =
                Value::from(live.metadata.resource_version.unwrap_or_default());
            api.replace(&name, &params, &dynamic(&obj)?).await
        }
        other => return Err(CliError(format!("admission is explained for create and update, not {other}"))),
    };
    let answer = match result {
        Ok(admitted) => {
            let after = serde_json::to_value(&admitted).map_err(err)?;
            let changed = changed_fields(&obj, &after);
            if changed.is_empty() {
                "admission: allowed (dry run)".to_string()
            } else {
                format!("admission: allowed (dry run); admission changed {}", changed.join(", "))
            }
        }
        Err(kube::Error::Api(status)) => {
            let mut lines =
                vec![format!("admission: refused ({} {}): {}", status.code, status.reason, status.message)];
            if let Some((policy, binding, detail)) =
                policy_refusal(&status.message, "ValidatingAdmissionPolicy '")
            {
                lines
                    .push(format!("  policy: ValidatingAdmissionPolicy \"{policy}\", binding \"{binding}\""));
                let policies = kube::discovery::ApiResource::from_gvk_with_plural(
                    &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"),
                    "validatingadmissionpolicies",
                );
                match Api::<DynamicObject>::all_with(own.clone(), &policies).get(policy).await {
                    Ok(p) => {
                        let p = serde_json::to_value(&p).map_err(err)?;
                        for v in refusing_validations(&p, detail) {
                            lines.push(format!("  validation: {v}"));
                        }
                    }
                    Err(e) => lines.push(format!("  (the policy could not be read: {e})")),
                }
            } else if let Some((policy, binding, _)) = policy_refusal(&status.message, "policy '") {
                // The mutating policies' errors name the failed expression themselves.
                lines.push(format!("  policy: MutatingAdmissionPolicy \"{policy}\", binding \"{binding}\""));
            }
            lines.join("\n")
        }
        Err(e) => return Err(err(e)),
    };
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_name_policy_binding_and_validation() {
        let message = "pods \"web\" is forbidden: ValidatingAdmissionPolicy 'no-latest' with binding 'b' denied request: failed expression: !object.x";
        assert_eq!(
            policy_refusal(message, "ValidatingAdmissionPolicy '"),
            Some(("no-latest", "b", "failed expression: !object.x"))
        );
        let policy = json!({"spec": {"validations": [
            {"expression": "object.y", "message": "y is required"},
            {"expression": "!object.x"},
            {"expression": "object.z", "messageExpression": "'z: ' + object.z"}
        ]}});
        assert_eq!(
            refusing_validations(&policy, "failed expression: !object.x"),
            ["spec.validations[1]: !object.x"]
        );
        assert_eq!(refusing_validations(&policy, "y is required"), ["spec.validations[0]: object.y"]);
        assert_eq!(
            refusing_validations(&policy, "z: 1"),
            ["spec.validations[2]: object.z (its messageExpression gave the message)"]
        );
    }

    #[test]
    fn changed_fields_leave_out_what_the_server_sets() {
        let before = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"c": [1]}});
        let after = json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}, "uid": "u"}, "spec": {"c": [1, 2]}, "status": {}});
        assert_eq!(changed_fields(&before, &after), ["metadata.labels"]);
    }
}
