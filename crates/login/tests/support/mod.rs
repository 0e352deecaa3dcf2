//! Test support: the npm `oidc-provider` test IdP on loopback (HTTPS with a CA made by the
//! `pki` crate) and a tiny "browser" that drives its login and consent forms over HTTP.

#![allow(dead_code, clippy::unwrap_used)]

use authn::oidc::http::{form_urlencode, HttpClient};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Idp {
    pub issuer: String,
    pub ca_file: PathBuf,
    pub ca_pem: String,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("idp")
}

/// Starts the IdP with the given id_token lifetime. Without `node`, fails the test, or answers
/// `None` when `KUBEWARD_ALLOW_SKIP` allows the skip (noted and counted, see the `testkit` crate).
pub fn start_idp(id_token_ttl: u32) -> Option<Idp> {
    if Command::new("node").arg("--version").output().is_err() {
        testkit::missing("node", "Node.js; Debian: apt-get install nodejs npm");
        return None;
    }
    let dir = idp_dir();
    let ready = || dir.join("node_modules").join("oidc-provider").join("package.json").is_file();
    if !ready() {
        // Tests run in parallel (threads, or processes under nextest): one installs, the others
        // wait for it instead of running `npm ci` over each other.
        let lock = std::fs::File::create(std::env::temp_dir().join("kubeward-login-idp-npm.lock")).unwrap();
        lock.lock().unwrap();
        if !ready() {
            let st = Command::new("npm")
                .args(["ci", "--silent", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status();
            assert!(st.map(|s| s.success()).unwrap_or(false), "npm ci failed in {}", dir.display());
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let ca = pki::Ca::generate("test-idp-ca").unwrap();
    let serving = ca.issue_serving("127.0.0.1", &["127.0.0.1".to_string()]).unwrap();
    let (ca_file, cert, key) =
        (tmp.path().join("ca.pem"), tmp.path().join("tls.crt"), tmp.path().join("tls.key"));
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    std::fs::write(&cert, &serving.cert_pem).unwrap();
    std::fs::write(&key, &serving.key_pem).unwrap();
    let mut child = Command::new("node")
        .arg(dir.join("server.js"))
        .arg(&cert)
        .arg(&key)
        .arg(id_token_ttl.to_string())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("IDP_DEBUG").is_some() { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep draining stdout so that the provider never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("idp said {line:?}: {e}"));
    Some(Idp {
        issuer: v["issuer"].as_str().unwrap().to_string(),
        ca_file,
        ca_pem: ca.cert_pem,
        child,
        dir: tmp,
    })
}

/// A cookie-keeping HTTP "browser" that signs in as `login` and consents.
pub struct Browser {
    client: HttpClient,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(ca_pem: &str) -> Self {
        Self { client: HttpClient::new(Some(ca_pem.as_bytes())).unwrap(), cookies: BTreeMap::new() }
    }

    fn remember(&mut self, headers: &http::HeaderMap) {
        for c in headers.get_all(http::header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.to_ascii_lowercase().contains("expires=thu, 01 jan 1970") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    async fn send(
        &mut self,
        method: http::Method,
        url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> authn::oidc::http::Response {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let cookie = cookie.join("; ");
        let mut headers = vec![("cookie", cookie.as_str())];
        let body = form.map(|f| form_urlencode(f).into_bytes());
        if body.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        if std::env::var_os("IDP_DEBUG").is_some() {
            eprintln!("{method} {url} cookie={cookie}");
        }
        let resp = self.client.request(method, url, &headers, body).await.unwrap();
        self.remember(&resp.headers);
        resp
    }

    /// Follows `url` through the provider's pages until it redirects to the loopback
    /// (which is then requested, delivering the code) or shows a page without a form.
    pub async fn sign_in(&mut self, url: &str, login: &str) -> String {
        let mut next = (http::Method::GET, url.to_string(), None::<Vec<(String, String)>>);
        for _ in 0..20 {
            let form: Option<Vec<(&str, &str)>> =
                next.2.as_ref().map(|f| f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
            let resp = self.send(next.0.clone(), &next.1, form.as_deref()).await;
            if resp.status.is_redirection() {
                let loc = resp.location(&next.1).unwrap();
                next = (http::Method::GET, loc, None);
                continue;
            }
            let body = String::from_utf8_lossy(&resp.body).to_string();
            if next.1.starts_with("http://127.0.0.1") {
                return body;
            }
            let Some((action, mut fields)) = parse_form(&body) else { return body };
            if fields.iter().any(|(k, _)| k == "login") || body.contains("name=\"login\"") {
                fields.retain(|(k, _)| k != "login" && k != "password");
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "any".into()));
            }
            let action =
                if action.starts_with('/') { format!("{}{}", origin(&next.1), action) } else { action };
            next = (http::Method::POST, action, Some(fields));
        }
        panic!("sign-in did not finish");
    }
}

fn origin(url: &str) -> String {
    let u: http::Uri = url.parse().unwrap();
    format!("{}://{}", u.scheme_str().unwrap(), u.authority().unwrap())
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag.get(start..)?.find('"')? + start;
    Some(tag.get(start..end)?.replace("&amp;", "&"))
}

/// The first POST form of a page: its action and its inputs with values.
fn parse_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let rest = html.get(start..)?;
    let tag_end = rest.find('>')?;
    let action = attr(rest.get(..tag_end)?, "action")?;
    let end = rest.find("</form>").unwrap_or(rest.len());
    let mut fields = Vec::new();
    for piece in rest.get(..end)?.split("<input").skip(1) {
        let tag = piece.split('>').next()?;
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}
