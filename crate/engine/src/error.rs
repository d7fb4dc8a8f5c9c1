//! One error type for the engine; the binding turns it into a JS Error whose message starts with `code()`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A scenario, setting or option value that cannot be used.
    InvalidArgument(String),
    /// A socket or file operation failed.
    Io(String),
    /// Certificate or key could not be generated or loaded.
    Tls(String),
    /// quiche reported a transport error.
    Quic(String),
    /// The peer went silent for longer than the idle timeout.
    Timeout(String),
    /// The peer closed the connection or a stream with an error.
    Peer(String),
    /// The caller cancelled.
    Cancelled,
    /// A bug: an engine thread panicked. Caught so that it never reaches Node.
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable code shared with the TypeScript side (`src/errors.ts`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Io(_) => "IO",
            Error::Tls(_) => "TLS",
            Error::Quic(_) => "QUIC",
            Error::Timeout(_) => "TIMEOUT",
            Error::Peer(_) => "PEER",
            Error::Cancelled => "CANCELLED",
            Error::Internal(_) => "INTERNAL",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Error::InvalidArgument(m)
            | Error::Io(m)
            | Error::Tls(m)
            | Error::Quic(m)
            | Error::Timeout(m)
            | Error::Peer(m)
            | Error::Internal(m) => m.clone(),
            Error::Cancelled => "cancelled".into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<quiche::Error> for Error {
    fn from(e: quiche::Error) -> Self {
        Error::Quic(format!("{e:?}"))
    }
}

/// The error a finished connection reports, if it did not end cleanly.
pub fn connection_error(conn: &crate::Connection) -> Option<Error> {
    if conn.is_timed_out() {
        return Some(Error::Timeout("the peer did not answer within the idle timeout".into()));
    }
    let describe = |e: &quiche::ConnectionError| {
        format!(
            "{} error 0x{:x}: {}",
            if e.is_app { "application" } else { "transport" },
            e.error_code,
            String::from_utf8_lossy(&e.reason)
        )
    };
    // Transport 0x0c (APPLICATION_ERROR) is how an application close sent during the handshake
    // reaches the peer (RFC 9000 §10.2.3): its real code is hidden, so it counts as a clean close.
    let clean = |e: &quiche::ConnectionError| e.error_code == 0 || (!e.is_app && e.error_code == 0x0c);
    if let Some(e) = conn.peer_error() {
        if !clean(e) {
            return Some(Error::Peer(format!("peer closed with {}", describe(e))));
        }
    }
    if let Some(e) = conn.local_error() {
        if !clean(e) {
            return Some(Error::Quic(format!("closed locally with {}", describe(e))));
        }
    }
    None
}
