//! The harness's one error type.

/// What can go wrong while measuring.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    /// PEM input held no usable certificate or key.
    #[error("{0}: no usable PEM item")]
    Pem(String),
    /// rustls refused a configuration.
    #[error("tls configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    /// A network operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// HTTP failed below the application.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// A request could not be built.
    #[error("request: {0}")]
    Request(#[from] http::Error),
    /// The server answered with an unexpected status.
    #[error("{what}: unexpected status {status}: {body}")]
    Status { what: String, status: u16, body: String },
    /// A response could not be decoded.
    #[error("decoding {what}: {detail}")]
    Decode { what: String, detail: String },
    /// A bounded wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl BenchError {
    pub fn file(path: &str, source: std::io::Error) -> Self {
        BenchError::File { path: path.to_string(), source }
    }
}
