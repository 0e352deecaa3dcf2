//! Sessions held on the dashboard's side: the browser holds only an opaque random id in an
//! `HttpOnly; Secure; SameSite=Strict` cookie; the credential stays here. An id is looked up
//! by its SHA-256 and the stored digest compared in constant time; ids and tokens never reach
//! a log. Each session has its own CSRF token, sent back in the `X-CSRF-Token` header of every
//! state-changing request and compared in constant time.
//!
//! A session ends when signed out, after [`Limits::idle`] without activity (sliding), after
//! [`Limits::max`] whatever the activity, or when the API server refuses its credential.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The session cookie: `__Host-` binds it to this origin, path `/`, Secure.
pub const COOKIE: &str = "__Host-kubeward-session";
/// At most this many live sessions (the oldest idle one goes first).
const MAX_SESSIONS: usize = 10_000;

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Ends after this long without a request (sliding).
    pub idle: Duration,
    /// Ends after this long whatever the activity.
    pub max: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { idle: Duration::from_secs(8 * 3600), max: Duration::from_secs(24 * 3600) }
    }
}

/// The credential a session acts with.
pub enum Credential {
    /// The kubeconfig's own (desktop mode, after the launch link).
    Kubeconfig,
    /// A bearer token pasted once.
    Token(Arc<str>),
    /// An OIDC sign-in: the id_token sent to the API server, refreshed with the refresh token.
    Oidc(tokio::sync::Mutex<crate::oidc::Tokens>),
}

impl Credential {
    /// How the person signed in, for the who-am-I page.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Kubeconfig => "kubeconfig",
            Credential::Token(_) => "bearer token (pasted)",
            Credential::Oidc(_) => "OpenID Connect sign-in",
        }
    }
}

/// One signed-in person.
pub struct Session {
    digest: [u8; 32],
    csrf: String,
    pub credential: Credential,
    created: Instant,
    last_seen: Mutex<Instant>,
    /// Namespaces the person opened by name (offered again on the namespaces page).
    pub namespaces: Mutex<Vec<String>>,
}

impl Session {
    /// The CSRF token of this session.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        ct_eq(presented.as_bytes(), self.csrf.as_bytes())
    }

    /// A short, non-secret label for logs (a prefix of the digest of the id).
    pub fn label(&self) -> String {
        self.digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }
}

/// Byte strings compared in constant time (for equal lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A random 256-bit value, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Why a cookie did not give a session (logged, never with the id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// No such session: never made, signed out, or forgotten.
    Unknown,
    /// Ended by the dashboard a moment ago ([`Store::end`]), for this reason: the page's other
    /// requests in flight at that moment are told the same, not "session ended".
    Ended(Arc<str>),
    /// Idle for too long.
    Idle,
    /// Past its maximum lifetime.
    Expired,
}

/// How long the reason a session was ended is kept for its cookie.
const ENDED_KEPT: Duration = Duration::from_secs(60);

/// Sessions ended by the dashboard: when, and why (by the digest of their id).
type Ended = HashMap<[u8; 32], (Instant, Arc<str>)>;

/// The live sessions, and the reasons of the ones ended in the last [`ENDED_KEPT`].
pub struct Store {
    limits: Limits,
    sessions: Mutex<HashMap<[u8; 32], Arc<Session>>>,
    ended: Mutex<Ended>,
}

impl Store {
    pub fn new(limits: Limits) -> Self {
        Self { limits, sessions: Mutex::new(HashMap::new()), ended: Mutex::new(HashMap::new()) }
    }

    /// A new session for `credential`; answers it and its id (for the cookie only).
    pub fn create(&self, credential: Credential) -> (Arc<Session>, String) {
        let id = random_token();
        let now = Instant::now();
        let session = Arc::new(Session {
            digest: digest(&id),
            csrf: random_token(),
            credential,
            created: now,
            last_seen: Mutex::new(now),
            namespaces: Mutex::new(Vec::new()),
        });
        // The map holds whole entries; a panic elsewhere cannot leave one half-written.
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_SESSIONS {
            self.sweep(&mut all, now);
            if all.len() >= MAX_SESSIONS {
                let oldest = all
                    .iter()
                    .min_by_key(|(_, s)| *s.last_seen.lock().unwrap_or_else(|e| e.into_inner()))
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    all.remove(&k);
                }
            }
        }
        all.insert(session.digest, session.clone());
        (session, id)
    }

    /// The session of a cookie value, its activity recorded.
    pub fn get(&self, id: &str) -> Result<Arc<Session>, Miss> {
        let d = digest(id);
        let now = Instant::now();
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = all.get(&d).cloned() else {
            drop(all);
            let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
            return Err(match ended.get(&d) {
                Some((at, why)) if now.duration_since(*at) <= ENDED_KEPT => Miss::Ended(why.clone()),
                _ => Miss::Unknown,
            });
        };
        if !ct_eq(&s.digest, &d) {
            return Err(Miss::Unknown);
        }
        if now.duration_since(s.created) > self.limits.max {
            all.remove(&d);
            return Err(Miss::Expired);
        }
        let mut seen = s.last_seen.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(*seen) > self.limits.idle {
            drop(seen);
            all.remove(&d);
            return Err(Miss::Idle);
        }
        *seen = now;
        drop(seen);
        Ok(s)
    }

    /// Forgets a session (sign-out, or a credential the server refused).
    pub fn remove(&self, session: &Session) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(&session.digest);
    }

    /// Ends a session for `why` (a failed refresh, a refused credential): forgotten as by
    /// [`Store::remove`], and for [`ENDED_KEPT`] its cookie is answered with `why`. The other
    /// requests of a page loading at that moment then say why, whichever answer the page
    /// shows last. At most [`MAX_SESSIONS`] reasons are kept.
    pub fn end(&self, session: &Session, why: &str) {
        self.remove(session);
        let now = Instant::now();
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.retain(|_, (at, _)| now.duration_since(*at) <= ENDED_KEPT);
        if ended.len() >= MAX_SESSIONS {
            let oldest = ended.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k);
            if let Some(k) = oldest {
                ended.remove(&k);
            }
        }
        ended.insert(session.digest, (now, why.into()));
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn sweep(&self, all: &mut HashMap<[u8; 32], Arc<Session>>, now: Instant) {
        let limits = self.limits;
        all.retain(|_, s| {
            let seen = *s.last_seen.lock().unwrap_or_else(|e| e.into_inner());
            now.duration_since(s.created) <= limits.max && now.duration_since(seen) <= limits.idle
        });
    }
}

/// The `Set-Cookie` value that gives the browser its session id.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that makes the browser forget it.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_are_found_by_id_and_forgotten() {
        let store = Store::new(Limits::default());
        let (s, id) = store.create(Credential::Token("t".into()));
        assert_eq!(store.get(&id).unwrap().label(), s.label());
        assert!(s.csrf_ok(s.csrf()));
        assert!(!s.csrf_ok("forged"));
        assert!(!s.csrf_ok(""));
        assert_eq!(store.get("other").err(), Some(Miss::Unknown));
        store.remove(&s);
        assert_eq!(store.get(&id).err(), Some(Miss::Unknown));
        assert!(store.is_empty());
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn an_ended_session_says_why_to_its_cookie() {
        let store = Store::new(Limits::default());
        let (s, id) = store.create(Credential::Token("t".into()));
        store.end(&s, "the refresh failed; sign in again");
        assert_eq!(store.get(&id).err(), Some(Miss::Ended("the refresh failed; sign in again".into())));
        assert_eq!(store.get("other").err(), Some(Miss::Unknown));
        assert!(store.is_empty());
    }

    #[test]
    fn idle_and_old_sessions_end() {
        let store = Store::new(Limits { idle: Duration::ZERO, max: Duration::from_secs(60) });
        let (_, id) = store.create(Credential::Kubeconfig);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.get(&id).err(), Some(Miss::Idle));
        let store = Store::new(Limits { idle: Duration::from_secs(60), max: Duration::ZERO });
        let (_, id) = store.create(Credential::Kubeconfig);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.get(&id).err(), Some(Miss::Expired));
    }

    #[test]
    fn cookies_are_read_and_set_safely() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, "a=1; __Host-kubeward-session=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie("id");
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
