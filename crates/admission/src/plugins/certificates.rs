//! kube's certificate admission plugins (`plugin/pkg/admission/certificates/`), over
//! CertificateSigningRequests:
//! - CertificateApproval: writing `certificatesigningrequests/approval` needs the `approve`
//!   verb on the `signers` resource named after the request's signer (or `<domain>/*`);
//! - CertificateSigning: changing the certificate or conditions through `/status` needs
//!   `sign` the same way;
//! - CertificateSubjectRestriction: no request for the `kubernetes.io/kube-apiserver-client`
//!   signer may ask for the `system:masters` group;
//! - ClusterTrustBundleAttest: creating or updating a ClusterTrustBundle that names a
//!   signer needs the `attest` verb on that signer (an update that changes only the
//!   garbage collector's fields excepted).
//!
//! The authorizer is asked through [`AdmissionContext::authorize`], as kube's plugins ask
//! the server's authorizer (`certificates.IsAuthorizedForSignerName`).

use crate::types::{AdmissionContext, AdmissionRequest, Operation, ValidatingPlugin};
use apimachinery::{Attributes, StatusError};
use async_trait::async_trait;
use base64::Engine as _;
use serde_json::Value;
use x509_parser::prelude::FromDer;

const GROUP: &str = "certificates.k8s.io";
const RESOURCE: &str = "certificatesigningrequests";
const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
const TRUST_BUNDLES: &str = "clustertrustbundles";

fn is_csr(req: &AdmissionRequest) -> bool {
    req.group == GROUP && req.resource == RESOURCE
}

fn signer_name(obj: Option<&Value>) -> &str {
    obj.and_then(|o| o.pointer("/spec/signerName")).and_then(Value::as_str).unwrap_or_default()
}

/// kube's `IsAuthorizedForSignerName`: `verb` on the signer by name, else on `<domain>/*`.
async fn authorized_for_signer(
    ctx: &dyn AdmissionContext,
    req: &AdmissionRequest,
    verb: &str,
    signer: &str,
) -> bool {
    let attrs = |name: String| Attributes {
        user: req.user.clone(),
        verb: verb.into(),
        resource_request: true,
        api_group: GROUP.into(),
        api_version: "*".into(),
        resource: "signers".into(),
        name,
        ..Default::default()
    };
    if ctx.authorize(&attrs(signer.to_string())).await {
        return true;
    }
    let domain = signer.split('/').next().unwrap_or_default();
    ctx.authorize(&attrs(format!("{domain}/*"))).await
}

/// CertificateApproval.
#[derive(Debug, Default)]
pub struct CertificateApproval;

#[async_trait]
impl ValidatingPlugin for CertificateApproval {
    fn name(&self) -> &'static str {
        "CertificateApproval"
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Update
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.subresource != "approval" || !is_csr(req) {
            return Ok(());
        }
        // The new object's signer, in case the write tries to change it.
        let signer = signer_name(req.object.as_ref());
        if authorized_for_signer(ctx, req, "approve", signer).await {
            return Ok(());
        }
        Err(req.forbidden(format!(
            "user not permitted to approve requests with signerName {}",
            apimachinery::quote::go_quote(signer)
        )))
    }
}

/// CertificateSigning.
#[derive(Debug, Default)]
pub struct CertificateSigning;

#[async_trait]
impl ValidatingPlugin for CertificateSigning {
    fn name(&self) -> &'static str {
        "CertificateSigning"
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Update
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.subresource != "status" || !is_csr(req) {
            return Ok(());
        }
        let part = |o: Option<&Value>, p: &str| o.and_then(|o| o.pointer(p)).cloned();
        let (old, new) = (req.old_object.as_ref(), req.object.as_ref());
        let unchanged = part(old, "/status/certificate") == part(new, "/status/certificate")
            && part(old, "/status/conditions") == part(new, "/status/conditions");
        if unchanged {
            return Ok(());
        }
        let signer = signer_name(old);
        if authorized_for_signer(ctx, req, "sign", signer).await {
            return Ok(());
        }
        Err(req.forbidden(format!(
            "user not permitted to sign requests with signerName {}",
            apimachinery::quote::go_quote(signer)
        )))
    }
}

/// CertificateSubjectRestriction.
#[derive(Debug, Default)]
pub struct CertificateSubjectRestriction;

#[async_trait]
impl ValidatingPlugin for CertificateSubjectRestriction {
    fn name(&self) -> &'static str {
        "CertificateSubjectRestriction"
    }
    fn handles(&self, op: Operation) -> bool {
        op == Operation::Create
    }
    async fn validate(&self, req: &AdmissionRequest, _ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if !is_csr(req) || signer_name(req.object.as_ref()) != KUBE_APISERVER_CLIENT {
            return Ok(());
        }
        let request = req.object.as_ref().and_then(|o| o.pointer("/spec/request")).and_then(Value::as_str);
        let pem =
            base64::engine::general_purpose::STANDARD.decode(request.unwrap_or_default()).unwrap_or_default();
        let organizations =
            organizations(&pem).map_err(|e| req.forbidden(format!("failed to parse CSR: {e}")))?;
        if organizations.iter().any(|o| o == "system:masters") {
            return Err(req.forbidden(format!(
                "use of {KUBE_APISERVER_CLIENT} signer with system:masters group is not allowed"
            )));
        }
        Ok(())
    }
}

/// ClusterTrustBundleAttest.
#[derive(Debug, Default)]
pub struct ClusterTrustBundleAttest;

#[async_trait]
impl ValidatingPlugin for ClusterTrustBundleAttest {
    fn name(&self) -> &'static str {
        "ClusterTrustBundleAttest"
    }
    fn handles(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Update)
    }
    async fn validate(&self, req: &AdmissionRequest, ctx: &dyn AdmissionContext) -> Result<(), StatusError> {
        if req.group != GROUP || req.resource != TRUST_BUNDLES {
            return Ok(());
        }
        // The new object's signer: validation refuses a change of it on update.
        let signer = signer_name(req.object.as_ref());
        if signer.is_empty() {
            return Ok(());
        }
        // Storage migration and the garbage collector need no attestation.
        if req.operation == Operation::Update
            && only_gc_fields_change(req.object.as_ref(), req.old_object.as_ref())
        {
            return Ok(());
        }
        if authorized_for_signer(ctx, req, "attest", signer).await {
            return Ok(());
        }
        Err(req.forbidden(format!(
            "user not permitted to attest for signerName {}",
            apimachinery::quote::go_quote(signer)
        )))
    }
}

/// kube's `rbac.IsOnlyMutatingGCFields`: the objects are equal once the new one takes the
/// old one's owner references, finalizers, selfLink and managed fields (and its
/// resourceVersion, which the write's precondition already compared).
fn only_gc_fields_change(new: Option<&Value>, old: Option<&Value>) -> bool {
    let (Some(new), Some(old)) = (new, old) else { return false };
    let mut copied = new.clone();
    let Some(meta) = copied.get_mut("metadata").and_then(Value::as_object_mut) else { return false };
    for key in ["ownerReferences", "finalizers", "selfLink", "managedFields", "resourceVersion"] {
        match old.pointer(&format!("/metadata/{key}")) {
            Some(v) => meta.insert(key.to_string(), v.clone()),
            None => meta.remove(key),
        };
    }
    &copied == old
}

/// The subject organizations of a PEM certificate request; Go's error texts otherwise.
fn organizations(pem: &[u8]) -> Result<Vec<String>, String> {
    let block = match x509_parser::pem::parse_x509_pem(pem) {
        Ok((_, block)) if block.label == "CERTIFICATE REQUEST" => block,
        _ => return Err("PEM block type must be CERTIFICATE REQUEST".into()),
    };
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
        .map_err(|_| "x509: malformed certificate request".to_string())?;
    let subject = &csr.certification_request_info.subject;
    Ok(subject.iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryContext;
    use apimachinery::UserInfo;
    use serde_json::json;

    fn csr_request(op: Operation, sub: &str, signer: &str, request: &str) -> AdmissionRequest {
        let user = UserInfo::new("jane", vec!["devs".into()]);
        let obj = json!({"metadata": {"name": "c"}, "spec": {"signerName": signer, "request": request},
            "status": {"conditions": [{"type": "Approved", "status": "True"}]}});
        let old = json!({"metadata": {"name": "c"}, "spec": {"signerName": signer, "request": request}, "status": {}});
        AdmissionRequest::new(op, (GROUP, "v1", "CertificateSigningRequest"), RESOURCE, "", "c", user)
            .with_subresource(sub)
            .with_object(obj)
            .with_old_object(old)
    }

    #[tokio::test]
    async fn approval_and_signing_need_the_signer_verbs() {
        let ctx = MemoryContext::new();
        let approve = csr_request(Operation::Update, "approval", "example.com/signer", "");
        let e = CertificateApproval.validate(&approve, &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            r#"certificatesigningrequests.certificates.k8s.io "c" is forbidden: user not permitted to approve requests with signerName "example.com/signer""#
        );
        ctx.allow("jane", "approve", GROUP, "signers", "example.com/*");
        assert!(CertificateApproval.validate(&approve, &ctx).await.is_ok());
        // Other subresources are not this plugin's.
        let status = csr_request(Operation::Update, "status", "example.com/signer", "");
        assert!(CertificateApproval.validate(&status, &ctx).await.is_ok());

        let e = CertificateSigning.validate(&status, &ctx).await.unwrap_err();
        assert!(e
            .message
            .ends_with(r#"user not permitted to sign requests with signerName "example.com/signer""#));
        ctx.allow("jane", "sign", GROUP, "signers", "example.com/signer");
        assert!(CertificateSigning.validate(&status, &ctx).await.is_ok());
    }

    fn bundle_request(op: Operation, signer: &str, old: Option<Value>) -> AdmissionRequest {
        let user = UserInfo::new("jane", vec!["devs".into()]);
        let mut spec = json!({"trustBundle": "pem"});
        if !signer.is_empty() {
            spec["signerName"] = json!(signer);
        }
        let obj = json!({"metadata": {"name": "example.com:s:one", "finalizers": ["f"]}, "spec": spec});
        let req = AdmissionRequest::new(
            op,
            (GROUP, "v1beta1", "ClusterTrustBundle"),
            TRUST_BUNDLES,
            "",
            "example.com:s:one",
            user,
        )
        .with_object(obj);
        match old {
            Some(old) => req.with_old_object(old),
            None => req,
        }
    }

    #[tokio::test]
    async fn attesting_a_signers_trust_bundle_needs_the_attest_verb() {
        let ctx = MemoryContext::new();
        let create = bundle_request(Operation::Create, "example.com/s", None);
        let e = ClusterTrustBundleAttest.validate(&create, &ctx).await.unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            r#"clustertrustbundles.certificates.k8s.io "example.com:s:one" is forbidden: user not permitted to attest for signerName "example.com/s""#
        );
        // A bundle of no signer needs nothing.
        assert!(ClusterTrustBundleAttest
            .validate(&bundle_request(Operation::Create, "", None), &ctx)
            .await
            .is_ok());
        // An update that only changes the garbage collector's fields needs nothing either.
        let mut old = create.object.clone().unwrap();
        old["metadata"]["finalizers"] = json!([]);
        let gc = bundle_request(Operation::Update, "example.com/s", Some(old.clone()));
        assert!(ClusterTrustBundleAttest.validate(&gc, &ctx).await.is_ok());
        old["spec"]["trustBundle"] = json!("other pem");
        let changed = bundle_request(Operation::Update, "example.com/s", Some(old));
        assert!(ClusterTrustBundleAttest.validate(&changed, &ctx).await.is_err());
        // By name, or by the signer's domain.
        ctx.allow("jane", "attest", GROUP, "signers", "example.com/*");
        assert!(ClusterTrustBundleAttest.validate(&create, &ctx).await.is_ok());
        assert!(ClusterTrustBundleAttest.validate(&changed, &ctx).await.is_ok());
    }

    #[tokio::test]
    async fn no_system_masters_for_the_kube_apiserver_client_signer() {
        let ctx = MemoryContext::new();
        let pem = |orgs: &[&str]| {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            for o in orgs {
                params.distinguished_name.push(rcgen::DnType::OrganizationName, *o);
            }
            let pem = params.serialize_request(&key).unwrap().pem().unwrap();
            base64::engine::general_purpose::STANDARD.encode(pem)
        };
        let masters = pem(&["system:masters"]);
        let req = csr_request(Operation::Create, "", KUBE_APISERVER_CLIENT, &masters);
        let e = CertificateSubjectRestriction.validate(&req, &ctx).await.unwrap_err();
        assert!(
            e.message.ends_with(
                "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
            ),
            "{}",
            e.message
        );
        let other = csr_request(Operation::Create, "", "example.com/signer", &masters);
        assert!(CertificateSubjectRestriction.validate(&other, &ctx).await.is_ok());
        let devs = csr_request(Operation::Create, "", KUBE_APISERVER_CLIENT, &pem(&["devs"]));
        assert!(CertificateSubjectRestriction.validate(&devs, &ctx).await.is_ok());
        let garbage = csr_request(Operation::Create, "", KUBE_APISERVER_CLIENT, "bm9wZQ==");
        let e = CertificateSubjectRestriction.validate(&garbage, &ctx).await.unwrap_err();
        assert!(
            e.message.ends_with("failed to parse CSR: PEM block type must be CERTIFICATE REQUEST"),
            "{}",
            e.message
        );
    }
}
