//! The plugin chain (k8s.io/apiserver `pkg/admission/chain.go` and kube-apiserver's
//! `options/plugins.go`): kube's fixed plugin order, its default-on set, building the enabled
//! list from `--enable-admission-plugins` / `--disable-admission-plugins`, and running the two
//! phases (every mutating plugin in order, then every validating one), stopping at the first
//! rejection.

use crate::plugins;
use crate::types::{AdmissionContext, AdmissionRequest, MutatingPlugin, Operation, ValidatingPlugin};
use apimachinery::StatusError;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The phase a plugin ran in: kube's `type` label (`admit` for mutating, `validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Admit,
    Validate,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admit => "admit",
            Self::Validate => "validate",
        }
    }
}

/// What the chain reports of its own running (k8s.io/apiserver `admission/metrics`): each
/// plugin's time (`WithControllerMetrics`, only when the plugin handles the operation) and
/// each whole phase's (`WithStepMetrics`), with whether it refused the request.
pub trait Observer: Send + Sync {
    fn controller(&self, name: &'static str, step: Step, op: Operation, elapsed: Duration, rejected: bool);
    fn step(&self, step: Step, op: Operation, elapsed: Duration, rejected: bool);
}

/// `AllOrderedPlugins` of the Kubernetes 1.33/1.34 line: the execution order.
pub const ALL_ORDERED: &[&str] = &[
    "AlwaysAdmit",
    "NamespaceAutoProvision",
    "NamespaceLifecycle",
    "NamespaceExists",
    "LimitPodHardAntiAffinityTopology",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "TaintNodesByCondition",
    "AlwaysPullImages",
    "ImagePolicyWebhook",
    "PodSecurity",
    "PodNodeSelector",
    "Priority",
    "DefaultTolerationSeconds",
    "PodTolerationRestriction",
    "EventRateLimit",
    "ExtendedResourceToleration",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "DenyServiceExternalIPs",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
    "AlwaysDeny",
];

/// The plugins kube-apiserver enables when no flag says otherwise (`DefaultOffAdmissionPlugins`'
/// complement), in execution order.
pub const DEFAULT_ON: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// What `kubeward up` enables: kube's default-on set plus NodeRestriction (as kubeadm does).
pub const RECOMMENDED: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "PodTopologyLabels",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// The default-on plugins kubeward does not implement yet, in execution order: what
/// [`Chain::not_implemented`] reports for [`DEFAULT_ON`] and [`RECOMMENDED`].
pub const NOT_IMPLEMENTED_BY_DEFAULT: &[&str] = &["PodTopologyLabels"];

/// Errors building a chain from flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A name on a flag is not a kube admission plugin.
    #[error("{flag} plugin {name:?} is unknown; valid plugin names are: {}", ALL_ORDERED.join(", "))]
    UnknownPlugin { flag: &'static str, name: String },
    /// The same names were given on both flags.
    #[error("{0:?} in enable-admission-plugins and disable-admission-plugins overlapped")]
    Overlap(Vec<String>),
    /// A plugin asked for by name that kubeward does not implement: refused rather than
    /// accepted and ignored.
    #[error("enable-admission-plugins plugin {name:?} is not implemented by kubeward; the implemented plugins are: {}", implemented().join(", "))]
    NotImplemented { name: String },
}

/// The plugin names kubeward implements, in kube's order.
pub fn implemented() -> Vec<&'static str> {
    ALL_ORDERED.iter().copied().filter(|n| plugins::build(n).is_some()).collect()
}

/// The names a pair of flags enables, in kube's execution order.
pub fn enabled_plugin_names(enable: &[String], disable: &[String]) -> Result<Vec<&'static str>, ChainError> {
    for (flag, names) in [("enable-admission-plugins", enable), ("disable-admission-plugins", disable)] {
        if let Some(bad) = names.iter().find(|n| !ALL_ORDERED.contains(&n.as_str())) {
            return Err(ChainError::UnknownPlugin { flag, name: bad.clone() });
        }
    }
    let overlap: Vec<String> = enable.iter().filter(|n| disable.contains(n)).cloned().collect();
    if !overlap.is_empty() {
        return Err(ChainError::Overlap(overlap));
    }
    Ok(ALL_ORDERED
        .iter()
        .copied()
        .filter(|n| {
            let on = enable.iter().any(|e| e == n) || DEFAULT_ON.contains(n);
            on && !disable.iter().any(|d| d == n)
        })
        .collect())
}

/// An ordered admission chain.
#[derive(Clone, Default)]
pub struct Chain {
    enabled: Vec<&'static str>,
    not_implemented: Vec<&'static str>,
    mutating: Vec<Arc<dyn MutatingPlugin>>,
    validating: Vec<Arc<dyn ValidatingPlugin>>,
    policies: Option<Arc<crate::policy::PolicySet>>,
    mutating_policies: Option<Arc<crate::policy::mutating::MutatingPolicySet>>,
    webhooks: Vec<Arc<crate::webhook::WebhookSource>>,
    observer: Option<Arc<dyn Observer>>,
}

impl Chain {
    /// Reports each plugin's and each phase's time to `observer` (the server's metrics).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Builds the chain kube-apiserver would run for these flag values.
    ///
    /// A name on `--enable-admission-plugins` that kubeward does not implement is refused.
    /// The default-on plugins it lacks ([`NOT_IMPLEMENTED_BY_DEFAULT`]) stay accepted: each
    /// sits behind a feature gate kube has off, so admitting everything is what kube would
    /// do here.
    pub fn from_flags(enable: &[String], disable: &[String]) -> Result<Self, ChainError> {
        let enabled = enabled_plugin_names(enable, disable)?;
        let chain = Self::from_names(&enabled);
        if let Some(name) = enable.iter().find(|n| {
            chain.not_implemented.contains(&n.as_str()) && !NOT_IMPLEMENTED_BY_DEFAULT.contains(&n.as_str())
        }) {
            return Err(ChainError::NotImplemented { name: name.clone() });
        }
        Ok(chain)
    }

    /// Builds the chain for known plugin names (order taken from `ALL_ORDERED`).
    pub fn from_names(names: &[&'static str]) -> Self {
        let mut chain = Self::default();
        for name in ALL_ORDERED.iter().copied().filter(|n| names.contains(n)) {
            chain.enabled.push(name);
            match plugins::build(name) {
                Some(built) => {
                    chain.mutating.extend(built.mutating);
                    chain.validating.extend(built.validating);
                    if built.policies.is_some() {
                        chain.policies = built.policies;
                    }
                    if built.mutating_policies.is_some() {
                        chain.mutating_policies = built.mutating_policies;
                    }
                    chain.webhooks.extend(built.webhooks);
                }
                None => chain.not_implemented.push(name),
            }
        }
        chain
    }

    /// A chain of explicit plugin instances, run in the order given (tests and embedders).
    pub fn from_plugins(
        mutating: Vec<Arc<dyn MutatingPlugin>>,
        validating: Vec<Arc<dyn ValidatingPlugin>>,
    ) -> Self {
        let mut enabled: Vec<&'static str> = mutating.iter().map(|p| p.name()).collect();
        for v in &validating {
            if !enabled.contains(&v.name()) {
                enabled.push(v.name());
            }
        }
        Self { enabled, not_implemented: Vec::new(), mutating, validating, ..Self::default() }
    }

    /// The policies of the ValidatingAdmissionPolicy plugin when it is enabled: the server
    /// feeds them from its informer.
    pub fn validating_policies(&self) -> Option<Arc<crate::policy::PolicySet>> {
        self.policies.clone()
    }

    /// The policies of the MutatingAdmissionPolicy plugin when it is enabled: the server
    /// feeds them from its informer.
    pub fn mutating_policies(&self) -> Option<Arc<crate::policy::mutating::MutatingPolicySet>> {
        self.mutating_policies.clone()
    }

    /// The configurations of the enabled webhook plugins: the server feeds them from its
    /// informer (until it does, the plugins list them per request).
    pub fn webhook_sources(&self) -> &[Arc<crate::webhook::WebhookSource>] {
        &self.webhooks
    }

    /// Enabled plugin names in execution order.
    pub fn enabled(&self) -> &[&'static str] {
        &self.enabled
    }

    /// Enabled names that kubeward does not implement (they admit everything). Of kube's
    /// default-on set this is PodTopologyLabels (behind a feature gate kube 1.34 leaves
    /// off); [`NOT_IMPLEMENTED_BY_DEFAULT`].
    pub fn not_implemented(&self) -> &[&'static str] {
        &self.not_implemented
    }

    /// Names of the mutating phase, in order.
    pub fn mutating_names(&self) -> Vec<&'static str> {
        self.mutating.iter().map(|p| p.name()).collect()
    }

    /// Names of the validating phase, in order.
    pub fn validating_names(&self) -> Vec<&'static str> {
        self.validating.iter().map(|p| p.name()).collect()
    }

    /// Runs the mutating phase: each plugin that handles the operation, in order; then, when
    /// a webhook changed the object, all of them once more (kube's reinvoker: in-tree
    /// plugins run again, webhooks only those with `reinvocationPolicy: IfNeeded` that ran
    /// before the change).
    pub async fn admit(
        &self,
        req: &mut AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        let start = Instant::now();
        let mut result = self.admit_once(req, ctx).await;
        if result.is_ok() && req.reinvocation.should_reinvoke && !req.reinvocation.is_reinvoke {
            req.reinvocation.is_reinvoke = true;
            result = self.admit_once(req, ctx).await;
        }
        if let Some(o) = &self.observer {
            o.step(Step::Admit, req.operation, start.elapsed(), result.is_err());
        }
        result
    }

    async fn admit_once(
        &self,
        req: &mut AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        for p in &self.mutating {
            if p.handles(req.operation) {
                let start = Instant::now();
                let result = p.admit(req, ctx).await;
                if let Some(o) = &self.observer {
                    o.controller(p.name(), Step::Admit, req.operation, start.elapsed(), result.is_err());
                }
                result?;
            }
        }
        Ok(())
    }

    /// Runs the validating phase.
    pub async fn validate(
        &self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        let start = Instant::now();
        let result = self.validate_each(req, ctx).await;
        if let Some(o) = &self.observer {
            o.step(Step::Validate, req.operation, start.elapsed(), result.is_err());
        }
        result
    }

    async fn validate_each(
        &self,
        req: &AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        for p in &self.validating {
            if p.handles(req.operation) {
                let start = Instant::now();
                let result = p.validate(req, ctx).await;
                if let Some(o) = &self.observer {
                    o.controller(p.name(), Step::Validate, req.operation, start.elapsed(), result.is_err());
                }
                result?;
            }
        }
        Ok(())
    }

    /// Both phases: what a REST handler calls before writing to storage.
    pub async fn run(
        &self,
        req: &mut AdmissionRequest,
        ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        self.admit(req, ctx).await?;
        self.validate(req, ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use std::sync::Mutex;

    /// Records what the chain reports.
    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl Observer for Seen {
        fn controller(&self, name: &'static str, step: Step, op: Operation, _: Duration, rejected: bool) {
            self.0.lock().unwrap().push(format!("{name} {} {} {rejected}", step.as_str(), op.as_str()));
        }
        fn step(&self, step: Step, op: Operation, _: Duration, rejected: bool) {
            self.0.lock().unwrap().push(format!("step {} {} {rejected}", step.as_str(), op.as_str()));
        }
    }

    struct Plugin {
        name: &'static str,
        refuse: bool,
    }

    #[async_trait::async_trait]
    impl MutatingPlugin for Plugin {
        fn name(&self) -> &'static str {
            self.name
        }
        fn handles(&self, op: Operation) -> bool {
            op == Operation::Create
        }
        async fn admit(&self, _: &mut AdmissionRequest, _: &dyn AdmissionContext) -> Result<(), StatusError> {
            if self.refuse {
                Err(StatusError::bad_request("no"))
            } else {
                Ok(())
            }
        }
    }

    #[async_trait::async_trait]
    impl ValidatingPlugin for Plugin {
        fn name(&self) -> &'static str {
            self.name
        }
        fn handles(&self, op: Operation) -> bool {
            op == Operation::Create
        }
        async fn validate(&self, _: &AdmissionRequest, _: &dyn AdmissionContext) -> Result<(), StatusError> {
            if self.refuse {
                Err(StatusError::bad_request("no"))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn the_observer_sees_each_plugin_that_ran_and_each_phase() {
        let seen = Arc::new(Seen::default());
        let p = |name, refuse| Arc::new(Plugin { name, refuse });
        let chain = Chain::from_plugins(
            vec![p("M1", false), p("M2", false)],
            vec![p("V1", false), p("V2", true), p("V3", false)],
        )
        .with_observer(seen.clone());
        let ctx = MemoryContext::new();
        let user = apimachinery::UserInfo::default();
        let mut req =
            AdmissionRequest::new(Operation::Create, ("", "v1", "ConfigMap"), "configmaps", "d", "x", user);
        let e = chain.run(&mut req, &ctx).await.expect_err("V2 refuses");
        assert_eq!(e.code, 400);
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "M1 admit CREATE false",
                "M2 admit CREATE false",
                "step admit CREATE false",
                "V1 validate CREATE false",
                "V2 validate CREATE true",
                "step validate CREATE true",
            ]
        );
        // An operation no plugin handles: only the phases are timed, as kube's step decorator.
        seen.0.lock().unwrap().clear();
        let mut del = AdmissionRequest::new(
            Operation::Delete,
            ("", "v1", "ConfigMap"),
            "configmaps",
            "d",
            "x",
            apimachinery::UserInfo::default(),
        );
        chain.run(&mut del, &ctx).await.expect("nothing handles DELETE");
        assert_eq!(*seen.0.lock().unwrap(), ["step admit DELETE false", "step validate DELETE false"]);
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_plugin_asked_for_but_not_implemented_is_refused() {
        let e = Chain::from_flags(&s(&["EventRateLimit"]), &[]).err().expect("refused");
        assert!(matches!(&e, ChainError::NotImplemented { name } if name == "EventRateLimit"), "{e}");
        let text = e.to_string();
        assert!(text.contains("not implemented by kubeward") && text.contains("NodeRestriction"), "{text}");
        assert!(!implemented().contains(&"EventRateLimit"));
        for opt_in in [
            "AlwaysPullImages",
            "PodNodeSelector",
            "PodTolerationRestriction",
            "DenyServiceExternalIPs",
            "OwnerReferencesPermissionEnforcement",
        ] {
            assert!(implemented().contains(&opt_in), "{opt_in}");
        }
        // Implemented ones and the default-on ones kubeward leaves to kube's no-op are accepted.
        assert!(Chain::from_flags(&s(&["NodeRestriction", "ValidatingAdmissionPolicy"]), &[]).is_ok());
    }

    #[test]
    fn defaults_are_the_22_default_on_plugins_in_order() {
        let names = enabled_plugin_names(&[], &[]).unwrap();
        assert_eq!(names, DEFAULT_ON);
        assert_eq!(names.len(), 22);
    }

    #[test]
    fn flag_order_does_not_matter_and_disable_keeps_the_rest() {
        let names =
            enabled_plugin_names(&s(&["NodeRestriction", "AlwaysPullImages"]), &s(&["LimitRanger"])).unwrap();
        let expect: Vec<&str> = ALL_ORDERED
            .iter()
            .copied()
            .filter(|n| {
                (DEFAULT_ON.contains(n) || *n == "NodeRestriction" || *n == "AlwaysPullImages")
                    && *n != "LimitRanger"
            })
            .collect();
        assert_eq!(names, expect);
        assert_eq!(
            &names[..4],
            &["NamespaceLifecycle", "ServiceAccount", "NodeRestriction", "TaintNodesByCondition"]
        );
    }

    #[test]
    fn recommended_is_defaults_plus_node_restriction() {
        assert_eq!(enabled_plugin_names(&s(&["NodeRestriction"]), &[]).unwrap(), RECOMMENDED);
    }

    #[test]
    fn unknown_and_overlapping_names_are_errors() {
        let e = enabled_plugin_names(&s(&["Nope"]), &[]).unwrap_err();
        assert!(e.to_string().starts_with("enable-admission-plugins plugin \"Nope\" is unknown; valid plugin names are: AlwaysAdmit, NamespaceAutoProvision"));
        let e = enabled_plugin_names(&[], &s(&["namespacelifecycle"])).unwrap_err();
        assert!(matches!(e, ChainError::UnknownPlugin { flag: "disable-admission-plugins", .. }));
        let e = enabled_plugin_names(&s(&["PodSecurity"]), &s(&["PodSecurity"])).unwrap_err();
        assert_eq!(e, ChainError::Overlap(s(&["PodSecurity"])));
    }

    #[test]
    fn chain_phases_follow_kube_order() {
        let chain = Chain::from_names(RECOMMENDED);
        assert_eq!(
            chain.mutating_names(),
            vec![
                "LimitRanger",
                "ServiceAccount",
                "TaintNodesByCondition",
                "Priority",
                "DefaultTolerationSeconds",
                "DefaultStorageClass",
                "StorageObjectInUseProtection",
                "RuntimeClass",
                "DefaultIngressClass",
                "MutatingAdmissionPolicy",
                "MutatingAdmissionWebhook"
            ]
        );
        assert_eq!(
            chain.validating_names(),
            vec![
                "NamespaceLifecycle",
                "LimitRanger",
                "NodeRestriction",
                "PodSecurity",
                "Priority",
                "PersistentVolumeClaimResize",
                "RuntimeClass",
                "CertificateApproval",
                "CertificateSigning",
                "ClusterTrustBundleAttest",
                "CertificateSubjectRestriction",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionWebhook",
                "ResourceQuota"
            ]
        );
        assert_eq!(chain.not_implemented(), NOT_IMPLEMENTED_BY_DEFAULT);
        assert_eq!(Chain::from_names(DEFAULT_ON).not_implemented(), NOT_IMPLEMENTED_BY_DEFAULT);
    }
}
