use super::*;
use serde_json::json;
use std::sync::Mutex;
use std::time::Instant;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A base64 PEM certificate valid from `from` to `to`.
fn certificate(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ca = pki::Ca::generate("test-ca").unwrap();
    let at = |d: DateTime<Utc>| pki::time::OffsetDateTime::from_unix_timestamp(d.timestamp()).unwrap();
    let (signed, _) = ca.issue_client_between("jane", &[], at(from), at(to)).unwrap();
    base64::engine::general_purpose::STANDARD.encode(signed.cert_pem)
}

fn csr(name: &str, created: DateTime<Utc>, conditions: Value, certificate: Option<String>) -> Value {
    let mut status = json!({"conditions": conditions});
    if let Some(c) = certificate {
        status["certificate"] = json!(c);
    }
    json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name, "creationTimestamp": stamp(created)},
        "spec": {"signerName": "example.com/s", "request": "", "usages": ["client auth"]},
        "status": status,
    })
}

fn condition(kind: &str, updated: DateTime<Utc>) -> Value {
    json!({"type": kind, "status": "True", "lastUpdateTime": stamp(updated), "lastTransitionTime": stamp(updated)})
}

#[test]
fn deadlines_follow_kubes_rules() {
    let created = t("2026-01-01T00:00:00Z");
    let at = |s: &str| t(s);
    // Pending: a day after creation.
    let pending = csr("p", created, json!([]), None);
    assert_eq!(deadline(&pending), Some((at("2026-01-02T00:00:00Z"), Reason::Pending)));
    // Denied and failed: an hour after the condition's last update.
    let denied = csr("d", created, json!([condition("Denied", at("2026-01-01T05:00:00Z"))]), None);
    assert_eq!(deadline(&denied), Some((at("2026-01-01T06:00:00Z"), Reason::Denied)));
    let failed = csr(
        "f",
        created,
        json!([
            condition("Approved", at("2026-01-01T01:00:00Z")),
            condition("Failed", at("2026-01-01T02:00:00Z"))
        ]),
        None,
    );
    assert_eq!(deadline(&failed), Some((at("2026-01-01T03:00:00Z"), Reason::Failed)));
    // Approved but never issued: kube 1.34 keeps it.
    let unissued = csr("u", created, json!([condition("Approved", at("2026-01-01T01:00:00Z"))]), None);
    assert_eq!(deadline(&unissued), None);
    // Approved and issued: an hour after the approval, or the certificate's expiry if sooner.
    let long = certificate(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
    let issued = csr("i", created, json!([condition("Approved", at("2026-01-01T01:00:00Z"))]), Some(long));
    assert_eq!(deadline(&issued), Some((at("2026-01-01T02:00:00Z"), Reason::Issued)));
    let short = certificate(at("2026-01-01T00:00:00Z"), at("2026-01-01T01:30:00Z"));
    let expiring = csr("e", created, json!([condition("Approved", at("2026-01-01T01:00:00Z"))]), Some(short));
    assert_eq!(deadline(&expiring), Some((at("2026-01-01T01:30:00Z"), Reason::CertificateExpired)));
    // A condition without a time never counts (kube's zero time); garbage in the certificate
    // is no expiry.
    let timeless = json!({"metadata": {"name": "x", "creationTimestamp": stamp(created)},
        "status": {"conditions": [{"type": "Denied", "status": "True"}]}});
    assert_eq!(deadline(&timeless), None);
    let garbage = csr(
        "g",
        created,
        json!([{"type": "Approved", "status": "True"}]),
        Some(base64::engine::general_purpose::STANDARD.encode("not a certificate")),
    );
    assert_eq!(deadline(&garbage), None);
}

/// A clock the test moves.
fn movable(start: DateTime<Utc>) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(start));
    let read = now.clone();
    (Arc::new(move || *read.lock().unwrap()), now)
}

fn store() -> (tempfile::TempDir, Objects, &'static ResourceType) {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::new(Arc::new(storage::EmbeddedStore::open(dir.path()).unwrap()));
    let csrs = registry::Catalog::global()
        .lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
        .unwrap();
    (dir, objects, csrs)
}

async fn names(objects: &Objects, csrs: &'static ResourceType) -> Vec<String> {
    let (items, _) = objects.list_all(csrs, "").await.unwrap();
    items.iter().map(|c| name_of(c).1.to_string()).collect()
}

#[tokio::test]
async fn each_request_goes_when_the_moved_clock_passes_its_deadline() {
    let (_dir, objects, csrs) = store();
    let created = t("2026-03-01T00:00:00Z");
    let approved = t("2026-03-01T00:10:00Z");
    let cert = certificate(created, t("2026-03-10T00:00:00Z"));
    let expiring = certificate(created, t("2026-03-01T00:40:00Z"));
    for c in [
        csr("pending", created, json!([]), None),
        csr("denied", created, json!([condition("Denied", t("2026-03-01T00:20:00Z"))]), None),
        csr("issued", created, json!([condition("Approved", approved)]), Some(cert)),
        csr("expiring", created, json!([condition("Approved", approved)]), Some(expiring)),
        csr("unissued", created, json!([condition("Approved", approved)]), None),
    ] {
        objects.create(csrs, "", name_of(&c).1, &c).await.unwrap();
    }
    let (clock, now) = movable(t("2026-03-01T00:30:00Z"));
    let mut cleaner = CsrCleaner { objects: objects.clone(), csrs, clock, due: BTreeMap::new() };
    let (items, _) = objects.list_all(csrs, "").await.unwrap();
    cleaner.handle(Event::Init).await;
    for c in items {
        cleaner.handle(Event::InitApply(c)).await;
    }
    cleaner.handle(Event::InitDone).await;
    assert_eq!(names(&objects, csrs).await, ["denied", "expiring", "issued", "pending", "unissued"]);

    let at = |s: &str| *now.lock().unwrap() = t(s);
    // The certificate expired at 00:40 (strictly after it).
    at("2026-03-01T00:40:00Z");
    cleaner.resync().await;
    assert_eq!(names(&objects, csrs).await, ["denied", "expiring", "issued", "pending", "unissued"]);
    at("2026-03-01T00:41:00Z");
    cleaner.resync().await;
    assert_eq!(names(&objects, csrs).await, ["denied", "issued", "pending", "unissued"]);
    // An hour after the approval and the denial.
    at("2026-03-01T01:21:00Z");
    cleaner.resync().await;
    assert_eq!(names(&objects, csrs).await, ["pending", "unissued"]);
    // A day after the creation; the approved request nobody issued stays.
    at("2026-03-02T00:00:01Z");
    cleaner.resync().await;
    assert_eq!(names(&objects, csrs).await, ["unissued"]);
    at("2027-01-01T00:00:00Z");
    cleaner.resync().await;
    assert_eq!(names(&objects, csrs).await, ["unissued"]);
}

#[tokio::test]
async fn a_request_changed_since_it_was_judged_is_judged_again() {
    let (_dir, objects, csrs) = store();
    let created = t("2026-03-01T00:00:00Z");
    let stored = objects.create(csrs, "", "late", &csr("late", created, json!([]), None)).await.unwrap();
    let (clock, _now) = movable(t("2026-03-03T00:00:00Z"));
    let mut cleaner = CsrCleaner { objects: objects.clone(), csrs, clock, due: BTreeMap::new() };
    cleaner.handle(Event::InitApply(stored.clone())).await;
    // Approved meanwhile (the cleaner has not seen it yet): no longer pending.
    let mut approved = stored.clone();
    approved["status"]["conditions"] = json!([condition("Approved", t("2026-03-02T23:59:00Z"))]);
    approved["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    objects.update(csrs, "", "late", &approved, None).await.unwrap();
    cleaner.handle(Event::InitDone).await;
    assert_eq!(names(&objects, csrs).await, ["late"], "deleted at a revision it no longer had");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_times_are_past_goes_on_its_event() {
    let (_dir, objects, csrs) = store();
    run(objects.clone(), csrs, system_clock()).await;
    let long_ago = Utc::now() - TimeDelta::hours(3);
    let fresh = Utc::now();
    for c in [
        csr("old-denial", fresh, json!([condition("Denied", long_ago)]), None),
        csr("new-denial", fresh, json!([condition("Denied", fresh)]), None),
    ] {
        objects.create(csrs, "", name_of(&c).1, &c).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while names(&objects, csrs).await != ["new-denial"] {
        assert!(Instant::now() < deadline, "left: {:?}", names(&objects, csrs).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
