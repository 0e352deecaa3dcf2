//! RequestInfo: what a URL and method mean to the API server, computed once per
//! request exactly as kube-apiserver's `RequestInfoFactory` does, before authentication.

/// Subresources of namespaces that are addressed as `/namespaces/{name}/{sub}`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub is_resource_request: bool,
    /// The URL path, for non-resource requests and messages.
    pub path: String,
    pub verb: String,
    pub api_prefix: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// Path segments after the subresource (`pods/x/proxy/a/b`).
    pub parts: Vec<String>,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
}

impl RequestInfo {
    /// Parses a request. `path` excludes the query string; `query` is the raw query.
    pub fn new(method: &str, path: &str, query: Option<&str>) -> Self {
        let query: Vec<(String, String)> =
            query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        let mut info = RequestInfo {
            path: path.to_string(),
            verb: method.to_ascii_lowercase(),
            query,
            ..Default::default()
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let mut parts: &[&str] = &segments;
        match parts.first() {
            Some(&"api") if parts.len() >= 2 => {
                info.api_prefix = "api".into();
                info.api_version = parts[1].to_string();
                parts = &parts[2..];
            }
            Some(&"apis") if parts.len() >= 3 => {
                info.api_prefix = "apis".into();
                info.api_group = parts[1].to_string();
                info.api_version = parts[2].to_string();
                parts = &parts[3..];
            }
            _ => return info,
        }
        if parts.is_empty() {
            // Discovery of a group version (`/api/v1`): a non-resource request.
            info.api_prefix.clear();
            info.api_group.clear();
            info.api_version.clear();
            return info;
        }
        info.is_resource_request = true;
        let mut watch_path = false;
        if parts[0] == "watch" {
            watch_path = true;
            parts = &parts[1..];
        }
        info.verb = match method {
            "POST" => "create",
            "GET" | "HEAD" => "get",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => "",
        }
        .to_string();
        if watch_path {
            info.verb = "watch".into();
        }
        if parts.first() == Some(&"namespaces") && parts.len() > 1 {
            info.namespace = parts[1].to_string();
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts = &parts[2..];
            }
        }
        if let Some(r) = parts.first() {
            info.resource = r.to_string();
        }
        if let Some(n) = parts.get(1) {
            info.name = n.to_string();
        }
        if let Some(s) = parts.get(2) {
            info.subresource = s.to_string();
        }
        if parts.len() > 3 {
            info.parts = parts[3..].iter().map(|s| s.to_string()).collect();
        }
        // Namespaces are addressed by name: `/api/v1/namespaces/foo` has name foo, no namespace.
        if info.resource == "namespaces" {
            info.namespace.clear();
        }
        if info.name.is_empty() && info.verb == "get" {
            info.verb = if info.query_bool("watch") { "watch" } else { "list" }.into();
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".into();
        }
        if matches!(info.verb.as_str(), "list" | "watch" | "deletecollection") {
            if let Some(name) = info.query_param("fieldSelector").and_then(single_name_selector) {
                info.name = name.to_string();
            }
        }
        info
    }

    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// An integer query parameter as kube's parameter codec decodes one (Go's
    /// `strconv.ParseInt`, 64 bits): `Ok(None)` when absent, kube's 400 when not an integer
    /// or out of range.
    pub fn query_int64(&self, key: &str) -> Result<Option<i64>, crate::StatusError> {
        self.query_param(key).map(parse_int64).transpose()
    }

    /// Every value of a repeated query parameter (`dryRun=All&dryRun=All`), in order.
    pub fn query_params<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter as kube decodes one (`Convert_Slice_string_To_bool`):
    /// absent is false; present, it is true unless it is `0` or `false` in any case
    /// (`watch=True` from the Python client, `watch=1`, a bare `watch`).
    pub fn query_bool(&self, key: &str) -> bool {
        self.query_param(key).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
    }
}

/// Go's `strconv.ParseInt` (base 10, 64 bits) of a query value, with kube's 400 when it is not
/// an integer or out of range.
pub fn parse_int64(v: &str) -> Result<i64, crate::StatusError> {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let why = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        "invalid syntax"
    } else {
        match v.parse::<i64>() {
            Ok(n) => return Ok(n),
            Err(_) => "value out of range",
        }
    };
    Err(crate::StatusError::bad_request(format!(
        "strconv.ParseInt: parsing {}: {why}",
        crate::quote::go_quote(v)
    )))
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn integers_are_checked_as_go_parses_them() {
        let info =
            RequestInfo::new("GET", "/api/v1/pods", Some("limit=5&a=-3&b=abc&c=99999999999999999999&d="));
        assert_eq!(info.query_int64("limit").unwrap(), Some(5));
        assert_eq!(info.query_int64("a").unwrap(), Some(-3));
        assert_eq!(info.query_int64("none").unwrap(), None);
        let e = info.query_int64("b").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (400, "strconv.ParseInt: parsing \"abc\": invalid syntax"));
        let e = info.query_int64("c").unwrap_err();
        assert_eq!(e.message, "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
        assert!(info.query_int64("d").is_err());
    }
}

/// `metadata.name=x` (or `==`) as the only term of a field selector.
fn single_name_selector(fs: &str) -> Option<&str> {
    if fs.contains(',') {
        return None;
    }
    let rest = fs.strip_prefix("metadata.name")?;
    let name = rest.strip_prefix("==").or_else(|| rest.strip_prefix('='))?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ri(m: &str, p: &str, q: Option<&str>) -> RequestInfo {
        RequestInfo::new(m, p, q)
    }

    #[test]
    fn namespaced_list_and_get() {
        let i = ri("GET", "/api/v1/namespaces/default/pods", Some("limit=500"));
        assert!(i.is_resource_request);
        assert_eq!((i.verb.as_str(), i.namespace.as_str(), i.resource.as_str()), ("list", "default", "pods"));
        let i = ri("GET", "/api/v1/namespaces/default/pods/web", None);
        assert_eq!((i.verb.as_str(), i.name.as_str()), ("get", "web"));
        let i = ri("GET", "/apis/apps/v1/namespaces/x/deployments", Some("watch=true"));
        assert_eq!((i.verb.as_str(), i.api_group.as_str()), ("watch", "apps"));
    }

    #[test]
    fn namespaces_and_subresources() {
        let i = ri("GET", "/api/v1/namespaces/foo", None);
        assert_eq!((i.resource.as_str(), i.name.as_str(), i.namespace.as_str()), ("namespaces", "foo", ""));
        let i = ri("PUT", "/api/v1/namespaces/foo/finalize", None);
        assert_eq!(
            (i.resource.as_str(), i.subresource.as_str(), i.verb.as_str()),
            ("namespaces", "finalize", "update")
        );
        let i = ri("POST", "/api/v1/namespaces/d/serviceaccounts/default/token", None);
        assert_eq!(
            (i.resource.as_str(), i.subresource.as_str(), i.verb.as_str()),
            ("serviceaccounts", "token", "create")
        );
    }

    #[test]
    fn collection_verbs_and_non_resource() {
        let i = ri("DELETE", "/api/v1/namespaces/d/configmaps", None);
        assert_eq!(i.verb, "deletecollection");
        let i = ri("GET", "/api/v1/namespaces/d/pods", Some("fieldSelector=metadata.name%3Dx&watch=true"));
        assert_eq!((i.verb.as_str(), i.name.as_str()), ("watch", "x"));
        let i = ri("GET", "/healthz", None);
        assert!(!i.is_resource_request);
        assert_eq!(i.verb, "get");
        let i = ri("GET", "/api/v1", None);
        assert!(!i.is_resource_request);
        let i = ri("GET", "/api/v1/watch/namespaces/d/pods", None);
        assert_eq!((i.verb.as_str(), i.resource.as_str()), ("watch", "pods"));
        for (q, verb) in [
            ("watch=True", "watch"),
            ("watch=TRUE", "watch"),
            ("watch=t", "watch"),
            ("watch=1", "watch"),
            ("watch", "watch"),
            ("watch=False", "list"),
            ("watch=FALSE", "list"),
            ("watch=0", "list"),
            ("limit=5", "list"),
        ] {
            let i = ri("GET", "/api/v1/pods", Some(q));
            assert_eq!(i.verb, verb, "{q}");
        }
    }
}
