//! kube-controller-manager's CSR signing controllers (`csrsigning-kube-apiserver-client`,
//! `-kubelet-client`, `-kubelet-serving`) in one: an approved CertificateSigningRequest of
//! one of those signers, neither failed nor signed yet, is checked against its signer's
//! rules (`pki::csr::check_for_signer`) and either gets a `Failed` condition (reason
//! `SignerValidationFailure`, kube's message) or a certificate in `status.certificate`,
//! signed by the cluster-signing CA (`--cluster-signing-cert-file` / `-key-file`, read at
//! each signing so a renewed CA is used at once) for `spec.expirationSeconds` capped by
//! `--cluster-signing-duration`. `kubernetes.io/legacy-unknown` and other signers are left
//! alone. Each certificate is recorded (`issued_certs`) before it is handed out, so
//! `kubeward revoke` and `kubeward offboard` find it by its subject.
//!
//! Every server sharing a store runs this; the status write is made at the revision the
//! controller read, so only one certificate per request is ever handed out. Work that
//! failed (a record or status write) is retried by a resync every few seconds.

use super::{issued_certs, Controller};
use crate::informer::{Event, Informer};
use crate::objects::{now_rfc3339, Objects};
use crate::state::State;
use authn::x509_revocation::CertRevocations;
use base64::Engine as _;
use pki::records::IssuedRecord;
use registry::ResourceType;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the signing CA is and how long certificates may live.
#[derive(Debug, Clone)]
pub struct SigningConfig {
    pub ca_cert_file: PathBuf,
    pub ca_key_file: PathBuf,
    /// `--cluster-signing-duration`: the longest certificate handed out.
    pub duration: Duration,
}

/// How often approved requests still unsigned are looked at again.
const RESYNC: Duration = Duration::from_secs(5);

struct CsrSigning {
    objects: Objects,
    csrs: &'static ResourceType,
    config: SigningConfig,
    /// The revocations in force, when client certificates are accepted: a certificate for
    /// a subject revoked up to a time starts after it.
    revocations: Option<Arc<CertRevocations>>,
}

pub async fn start(
    state: &State,
    config: SigningConfig,
    revocations: Option<Arc<CertRevocations>>,
) -> Result<(), String> {
    let csrs = state
        .catalog
        .lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
        .ok_or("the catalog serves no CertificateSigningRequests")?;
    let controller = CsrSigning { objects: state.objects.clone(), csrs, config, revocations };
    super::run(Informer::new(state.objects.clone(), "csr-signing", vec![csrs]), controller).await;
    Ok(())
}

#[async_trait::async_trait]
impl Controller for CsrSigning {
    async fn handle(&mut self, event: Event) {
        if let Event::Apply(csr) | Event::InitApply(csr) = event {
            self.sync(csr).await;
        }
    }

    fn resync_period(&self) -> Option<Duration> {
        Some(RESYNC)
    }

    async fn resync(&mut self) {
        let Ok((csrs, _)) = self.objects.list_all(self.csrs, "").await else { return };
        for csr in csrs.into_iter().filter(needs_signing) {
            self.sync(csr).await;
        }
    }
}

fn has_true_condition(csr: &Value, t: &str) -> bool {
    csr.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some(t)
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

fn text<'a>(csr: &'a Value, pointer: &str) -> &'a str {
    csr.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// kube's `IsCertificateRequestApproved` (approved, not denied), not failed, no
/// certificate yet.
fn needs_signing(csr: &Value) -> bool {
    has_true_condition(csr, "Approved")
        && !has_true_condition(csr, "Denied")
        && !has_true_condition(csr, "Failed")
        && text(csr, "/status/certificate").is_empty()
}

impl CsrSigning {
    async fn sync(&self, csr: Value) {
        if !needs_signing(&csr) {
            return;
        }
        let name = text(&csr, "/metadata/name").to_string();
        let signer = text(&csr, "/spec/signerName").to_string();
        let request = base64::engine::general_purpose::STANDARD.decode(text(&csr, "/spec/request"));
        let parsed = match request.map_err(|e| e.to_string()).and_then(|r| pki::csr::parse_request(&r)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(csr = %name, error = %e, "unable to parse csr");
                return;
            }
        };
        let usages: Vec<String> = csr
            .pointer("/spec/usages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect();
        match pki::csr::check_for_signer(&signer, &parsed, &usages) {
            Ok(false) => {}
            Err(reason) => self.fail(csr, &name, &signer, &reason).await,
            Ok(true) => {
                let expiration = csr.pointer("/spec/expirationSeconds").and_then(Value::as_i64);
                if let Err(e) = self.sign(csr, &name, &signer, &parsed, &usages, expiration).await {
                    tracing::warn!(csr = %name, %signer, error = %e, "error auto signing csr; will retry");
                }
            }
        }
    }

    /// The `Failed` condition kube's signer adds to a request it refuses.
    async fn fail(&self, mut csr: Value, name: &str, signer: &str, reason: &str) {
        let now = now_rfc3339();
        let condition = json!({
            "type": "Failed",
            "status": "True",
            "reason": "SignerValidationFailure",
            "message": reason,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
        });
        if let Some(conds) = conditions_mut(&mut csr) {
            conds.push(condition);
        }
        match self.write_status(csr, name).await {
            Ok(()) => tracing::info!(csr = %name, %signer, %reason, "csr refused by its signer"),
            Err(e) => tracing::debug!(csr = %name, error = %e, "failure condition not written; will retry"),
        }
    }

    async fn sign(
        &self,
        mut csr: Value,
        name: &str,
        signer: &str,
        req: &pki::csr::CertificateRequest,
        usages: &[String],
        expiration: Option<i64>,
    ) -> Result<(), String> {
        let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let ca = pki::Ca::load(&read(&self.config.ca_cert_file)?, &read(&self.config.ca_key_file)?)
            .map_err(|e| e.to_string())?;
        let ttl = pki::csr::duration_for(expiration, self.config.duration);
        let now = pki::time::OffsetDateTime::now_utc();
        let mut template = pki::csr::template(req, usages, ttl, now, ca.not_after)?;
        // kube backdates five minutes; a subject revoked in that window would refuse the new
        // certificate, so it starts a second after the revocation instead (and is handed
        // out once valid).
        let revoked_at = self.revocations.as_ref().and_then(|r| r.subject_revoked_at(&req.common_name));
        if let Some(at) =
            revoked_at.and_then(|at| pki::time::OffsetDateTime::from_unix_timestamp(at + 1).ok())
        {
            if at > template.not_before && at < template.not_after {
                template.not_before = at;
                if let Ok(wait) = Duration::try_from(at - pki::time::OffsetDateTime::now_utc()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let signed = ca.sign(&template).map_err(|e| e.to_string())?;
        let record = IssuedRecord::of(&signed, &req.common_name, &req.organizations, &format!("csr/{name}"));
        issued_certs::record(&self.objects, &record).await.map_err(|e| e.message)?;
        let pem = base64::engine::general_purpose::STANDARD.encode(signed.cert_pem.as_bytes());
        if !csr["status"].is_object() {
            csr["status"] = json!({});
        }
        csr["status"]["certificate"] = json!(pem);
        self.write_status(csr, name).await?;
        tracing::info!(
            csr = %name,
            %signer,
            serial = %signed.serial,
            subject = %req.common_name,
            not_after = %record.not_after,
            "csr signed"
        );
        Ok(())
    }

    /// Writes the request back at the revision it was read at.
    async fn write_status(&self, mut csr: Value, name: &str) -> Result<(), String> {
        let revision = text(&csr, "/metadata/resourceVersion").parse::<u64>().ok();
        if let Some(meta) = csr.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
        }
        self.objects.update(self.csrs, "", name, &csr, revision).await.map(|_| ()).map_err(|e| e.message)
    }
}

fn conditions_mut(csr: &mut Value) -> Option<&mut Vec<Value>> {
    if !csr["status"].is_object() {
        csr["status"] = json!({});
    }
    let status = csr.get_mut("status")?.as_object_mut()?;
    status.entry("conditions").or_insert_with(|| json!([])).as_array_mut()
}
