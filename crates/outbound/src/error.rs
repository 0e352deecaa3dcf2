//! The errors of outbound calls: [`ConfigError`] when a client or target is built, [`Error`]
//! when a call fails. A call's error reads as Go's `url.Error` does (`Post "<url>": <cause>`),
//! since kube's messages that quote webhook failures carry that text.

use apimachinery::quote::go_quote;
use std::error::Error as StdError;
use std::fmt;

/// Why a client or target cannot be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The URL is not an `http`/`https` URL with a host.
    #[error("invalid url {}: {reason}", go_quote(url))]
    Url { url: String, reason: String },
    /// The CA bundle or the client certificate is unusable.
    #[error("tls configuration: {0}")]
    Tls(String),
    /// No CA was given and the system's trust store holds no certificate.
    #[error("tls configuration: no CA given and no system CA certificates found ({0})")]
    NoSystemRoots(String),
    /// `insecure-skip-tls-verify`: kubeward always verifies the server.
    #[error("insecure-skip-tls-verify is not supported: name the server's CA")]
    InsecureSkipTlsVerify,
    /// The bearer token file cannot be read and no token stands in for it.
    #[error("reading the token file `{path}`: {reason}")]
    TokenFile { path: String, reason: String },
}

/// A failed call: the method and URL, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Go's spelling of the method, as in its error text (`Post`, `Get`).
    pub op: String,
    pub url: String,
    pub kind: ErrorKind,
}

/// What went wrong in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connection could not be made.
    Dial { authority: String, cause: String },
    /// The TLS handshake failed (server certificate, client certificate, protocol).
    Tls { authority: String, cause: String },
    /// The connection broke or the exchange was not HTTP. `reset`: the peer reset it
    /// (ECONNRESET), the one transport error kube retries.
    Transport { cause: String, reset: bool },
    /// No complete answer within the timeout.
    Timeout,
    /// The response body is larger than the limit.
    TooLarge { limit: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} \"{}\": {}", self.op, self.url, self.kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Dial { authority, cause } => write!(f, "dial tcp {authority}: {cause}"),
            ErrorKind::Tls { authority, cause } => write!(f, "TLS handshake with {authority}: {cause}"),
            ErrorKind::Transport { cause, .. } => f.write_str(cause),
            // Go's text for an expired request context.
            ErrorKind::Timeout => f.write_str("context deadline exceeded"),
            ErrorKind::TooLarge { limit } => write!(f, "response body larger than {limit} bytes"),
        }
    }
}

impl StdError for Error {}

impl Error {
    pub(crate) fn new(method: &http::Method, url: &str, kind: ErrorKind) -> Self {
        Self { op: go_op(method), url: url.to_string(), kind }
    }

    /// `utilnet.IsConnectionReset`.
    pub fn is_connection_reset(&self) -> bool {
        matches!(self.kind, ErrorKind::Transport { reset: true, .. })
    }

    /// Whether the call ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }
}

/// `POST` -> `Post`, as Go's `http.Client` names the operation in its errors.
fn go_op(method: &http::Method) -> String {
    let m = method.as_str();
    let mut op = String::with_capacity(m.len());
    for (i, c) in m.chars().enumerate() {
        op.push(if i == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
    }
    op
}

/// The error of hyper-util's client, sorted: a rustls error anywhere is a TLS failure, a
/// connect error without one a dial failure, anything else a transport failure.
pub(crate) fn classify(e: &hyper_util::client::legacy::Error, authority: &str) -> ErrorKind {
    let chain = chain(e);
    if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return ErrorKind::Tls { authority: authority.to_string(), cause: tls.to_string() };
    }
    if e.is_connect() {
        // The socket's own error says it best (`Connection refused (os error 111)`).
        let io = chain.iter().rev().find_map(|e| e.downcast_ref::<std::io::Error>());
        let cause = io.map_or_else(|| describe(&chain[1..]), ToString::to_string);
        return ErrorKind::Dial { authority: authority.to_string(), cause };
    }
    let cause = describe(&chain[1..]);
    let reset = chain.iter().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
    });
    ErrorKind::Transport { cause, reset }
}

/// `e` and its causes. An `io::Error` wrapping another error shows that error's own
/// source as its source, so the wrapped error itself is added from `get_ref`.
fn chain<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(e);
    while let Some(e) = next {
        out.push(e);
        let inner = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        next = match inner {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The causes' messages joined with `: `, repeats dropped (wrappers often repeat their
/// inner message).
fn describe(chain: &[&(dyn StdError + 'static)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        return "request failed".into();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_go() {
        let e = Error::new(&http::Method::POST, "https://h/x", ErrorKind::Timeout);
        assert_eq!(e.to_string(), "Post \"https://h/x\": context deadline exceeded");
        assert!(e.is_timeout() && !e.is_connection_reset());
        let e = Error::new(
            &http::Method::GET,
            "http://127.0.0.1:1/",
            ErrorKind::Dial { authority: "127.0.0.1:1".into(), cause: "Connection refused".into() },
        );
        assert_eq!(e.to_string(), "Get \"http://127.0.0.1:1/\": dial tcp 127.0.0.1:1: Connection refused");
        let reset = ErrorKind::Transport { cause: "connection reset".into(), reset: true };
        assert!(Error::new(&http::Method::POST, "u", reset).is_connection_reset());
    }

    #[test]
    fn chains_see_through_io_errors() {
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let outer = std::io::Error::other(inner);
        let all = chain(&outer);
        assert!(all.iter().any(|e| e.downcast_ref::<rustls::Error>().is_some()));
        assert_eq!(describe(&all), "cannot decrypt peer's message");
    }
}
