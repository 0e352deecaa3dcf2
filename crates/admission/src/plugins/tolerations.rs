//! Pod tolerations as kube's pkg/util/tolerations/tolerations.go handles them:
//! `MergeTolerations` (both lists in order, dropping any toleration another one already covers
//! (a superset), equal ones kept once) and `VerifyAgainstWhitelist`.

use serde_json::Value;

/// The fields of a toleration that decide what it tolerates (API fields left out are empty).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Toleration<'a> {
    key: &'a str,
    operator: &'a str,
    value: &'a str,
    effect: &'a str,
    seconds: Option<i64>,
}

impl<'a> Toleration<'a> {
    fn of(v: &'a Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
        Self {
            key: s("key"),
            operator: s("operator"),
            value: s("value"),
            effect: s("effect"),
            seconds: v.get("tolerationSeconds").and_then(Value::as_i64),
        }
    }

    /// `isSuperset(ss, t)`: whether `self` tolerates everything `t` does.
    fn covers(&self, t: &Self) -> bool {
        if self == t {
            return true;
        }
        // an empty key with Exists matches every key
        if t.key != self.key && (!self.key.is_empty() || self.operator != "Exists") {
            return false;
        }
        // an empty effect matches every effect
        if t.effect != self.effect && !self.effect.is_empty() {
            return false;
        }
        if self.effect == "NoExecute" {
            if let Some(limit) = self.seconds {
                if t.seconds.is_none_or(|s| s > limit) {
                    return false;
                }
            }
        }
        match self.operator {
            "Equal" | "" => t.operator == "Equal" && t.value == self.value,
            "Exists" => true,
            _ => false,
        }
    }
}

/// `MergeTolerations(first, second)`.
pub(crate) fn merge(first: &[Value], second: &[Value]) -> Vec<Value> {
    let all: Vec<&Value> = first.iter().chain(second).collect();
    let parsed: Vec<Toleration> = all.iter().map(|v| Toleration::of(v)).collect();
    let mut merged: Vec<usize> = Vec::new();
    for (i, t) in parsed.iter().enumerate() {
        if merged.iter().any(|&m| parsed[m].covers(t)) {
            continue;
        }
        // a later, different toleration that covers this one makes it redundant
        if parsed[i + 1..].iter().any(|t2| t2 != t && t2.covers(t)) {
            continue;
        }
        merged.push(i);
    }
    merged.into_iter().map(|i| all[i].clone()).collect()
}

/// `VerifyAgainstWhitelist`: every toleration is covered by one of the whitelist (an empty
/// whitelist allows all).
pub(crate) fn allowed_by(tolerations: &[Value], whitelist: &[Value]) -> bool {
    if whitelist.is_empty() {
        return true;
    }
    let allowed: Vec<Toleration> = whitelist.iter().map(Toleration::of).collect();
    tolerations.iter().map(Toleration::of).all(|t| allowed.iter().any(|w| w.covers(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn supersets_win_and_duplicates_go() {
        let pod = [
            json!({"key": "gpu", "operator": "Equal", "value": "a100", "effect": "NoSchedule"}),
            json!({"key": "zone", "operator": "Exists"}),
        ];
        let class = [
            json!({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}),
            json!({"key": "zone", "operator": "Exists"}),
            json!({"key": "sandbox", "operator": "Exists", "effect": "NoExecute"}),
        ];
        assert_eq!(
            merge(&pod, &class),
            vec![
                json!({"key": "zone", "operator": "Exists"}),
                json!({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}),
                json!({"key": "sandbox", "operator": "Exists", "effect": "NoExecute"}),
            ]
        );
    }

    #[test]
    fn toleration_seconds_bound_a_no_execute_superset() {
        let short = json!({"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10});
        let long = json!({"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60});
        // the longer one tolerates more: the shorter goes
        assert_eq!(merge(std::slice::from_ref(&short), std::slice::from_ref(&long)), vec![long.clone()]);
        let all = json!({"operator": "Exists"});
        assert_eq!(merge(&[long], std::slice::from_ref(&all)), vec![all]);
    }
}
