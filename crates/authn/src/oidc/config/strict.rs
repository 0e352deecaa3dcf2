//! kube's strict decoding of an AuthenticationConfiguration: every field of the document
//! must be one kube defines, so a misspelled field (`audiance`, `claimMapping`) refuses the
//! file instead of being ignored. The error is kube's `strict decoding error: unknown field
//! "jwt[0].issuer.urll"`, every unknown field listed.

use serde_json::Value;

/// The fields of one object of the document, or a list of such objects, or a value.
enum Shape {
    Value,
    Object(&'static [(&'static str, Shape)]),
    List(&'static Shape),
}

use Shape::{List, Object, Value as V};

const PREFIXED: Shape = Object(&[("claim", V), ("prefix", V), ("expression", V)]);
const CLAIM_OR_EXPRESSION: Shape = Object(&[("claim", V), ("expression", V)]);

const JWT: Shape = Object(&[
    (
        "issuer",
        Object(&[
            ("url", V),
            ("discoveryURL", V),
            ("certificateAuthority", V),
            ("audiences", V),
            ("audienceMatchPolicy", V),
            ("egressSelectorType", V),
        ]),
    ),
    (
        "claimValidationRules",
        List(&Object(&[("claim", V), ("requiredValue", V), ("expression", V), ("message", V)])),
    ),
    (
        "claimMappings",
        Object(&[
            ("username", PREFIXED),
            ("groups", PREFIXED),
            ("uid", CLAIM_OR_EXPRESSION),
            ("extra", List(&Object(&[("key", V), ("valueExpression", V)]))),
        ]),
    ),
    ("userValidationRules", List(&Object(&[("expression", V), ("message", V)]))),
]);

const DOCUMENT: Shape = Object(&[
    ("apiVersion", V),
    ("kind", V),
    ("jwt", List(&JWT)),
    ("anonymous", Object(&[("enabled", V), ("conditions", List(&Object(&[("path", V)])))])),
]);

/// kube's strict decoding error for the fields of `doc` that AuthenticationConfiguration
/// does not have; `None` when there are none.
pub fn unknown_fields(doc: &Value) -> Option<String> {
    let mut unknown = Vec::new();
    walk(doc, &DOCUMENT, "", &mut unknown);
    if unknown.is_empty() {
        return None;
    }
    let listed: Vec<String> =
        unknown.iter().map(|f| format!("unknown field {}", apimachinery::quote::go_quote(f))).collect();
    Some(format!("strict decoding error: {}", listed.join(", ")))
}

fn walk(v: &Value, shape: &Shape, path: &str, unknown: &mut Vec<String>) {
    match (shape, v) {
        (Object(fields), Value::Object(map)) => {
            for (k, child) in map {
                let at = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match fields.iter().find(|(name, _)| name == k) {
                    Some((_, s)) => walk(child, s, &at, unknown),
                    None => unknown.push(at),
                }
            }
        }
        (List(item), Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, item, &format!("{path}[{i}]"), unknown);
            }
        }
        // A value of the wrong type is the typed decoding's error, not this one's.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_documents_pass_and_every_unknown_field_is_named() {
        let good = json!({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
            "jwt": [{"issuer": {"url": "https://a", "audiences": ["x"]},
                     "claimMappings": {"username": {"claim": "sub", "prefix": ""}, "extra": [{"key": "a/b", "valueExpression": "'x'"}]},
                     "claimValidationRules": [{"claim": "c", "requiredValue": "v"}]}],
            "anonymous": {"enabled": true, "conditions": [{"path": "/livez"}]}});
        assert_eq!(unknown_fields(&good), None);
        let bad = json!({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
            "jwt": [{"issuer": {"urll": "https://a", "audiences": ["x"]}, "claimMapping": {}}],
            "anonymous": {"enabled": true, "conditions": [{"paths": "/livez"}]}});
        assert_eq!(
            unknown_fields(&bad).as_deref(),
            Some("strict decoding error: unknown field \"jwt[0].issuer.urll\", unknown field \"jwt[0].claimMapping\", unknown field \"anonymous.conditions[0].paths\"")
        );
    }
}
