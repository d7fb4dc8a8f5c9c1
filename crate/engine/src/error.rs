//! One error type for the engine, and the stable codes shared with TypeScript. The binding turns an
//! [`Error`] into a JS `Error` whose `code` property is [`Error::code`] (and whose `field` names the
//! argument at fault); a connection's error inside a run is data in its record ([`ErrorInfo`]).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The stable error codes, one list for the engine and the TypeScript side (`src/errors.ts` checks it
/// holds the same). A caller branches on the code, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A scenario, setting, flag or option value that cannot be used.
    InvalidArgument,
    /// A file that is missing, unreadable, malformed or of a foreign format (raised where files are read).
    InvalidFile,
    /// A socket or file operation failed.
    Io,
    /// Certificate or key could not be generated or loaded, or the TLS handshake failed.
    Tls,
    /// quiche reported a transport error.
    Quic,
    /// The peer went silent for longer than the idle timeout.
    Timeout,
    /// The peer closed the connection or a stream with an error, or answered short.
    Peer,
    /// The caller aborted (a cancelled run is no error: it returns what it measured).
    Cancelled,
    /// A bug: an engine thread panicked (caught before it reached Node).
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the declaration.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidFile,
        ErrorCode::Io,
        ErrorCode::Tls,
        ErrorCode::Quic,
        ErrorCode::Timeout,
        ErrorCode::Peer,
        ErrorCode::Cancelled,
        ErrorCode::Internal,
    ];

    /// The code as it appears in JSON and on JS errors, e.g. `INVALID_ARGUMENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::InvalidFile => "INVALID_FILE",
            ErrorCode::Io => "IO",
            ErrorCode::Tls => "TLS",
            ErrorCode::Quic => "QUIC",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Peer => "PEER",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An engine error: what went wrong, and for an invalid argument the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A scenario, setting or option value that cannot be used. `field` names it as the caller spelled it
    /// (`connections`, `settings.payloadSize`, `intervalNs`, `target`), when one field is at fault.
    InvalidArgument { field: Option<&'static str>, message: String },
    /// A socket or file operation failed.
    Io(String),
    /// Certificate or key could not be generated or loaded, or the TLS handshake failed.
    Tls(String),
    /// quiche reported a transport error.
    Quic(String),
    /// The peer went silent for longer than the idle timeout.
    Timeout(String),
    /// The peer closed the connection or a stream with an error, or answered short.
    Peer(String),
    /// A bug: an engine thread panicked. Caught so that it never reaches Node.
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable code shared with the TypeScript side.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Io(_) => ErrorCode::Io,
            Error::Tls(_) => ErrorCode::Tls,
            Error::Quic(_) => ErrorCode::Quic,
            Error::Timeout(_) => ErrorCode::Timeout,
            Error::Peer(_) => ErrorCode::Peer,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArgument { message, .. } => message,
            Error::Io(m) | Error::Tls(m) | Error::Quic(m) | Error::Timeout(m) | Error::Peer(m) | Error::Internal(m) => {
                m
            }
        }
    }

    /// The argument at fault, for an invalid argument that one field caused.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidArgument { field, .. } => *field,
            _ => None,
        }
    }

    /// An invalid argument that no single field caused.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument { field: None, message: message.into() }
    }

    /// An invalid value of `field`.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument { field: Some(field), message: message.into() }
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
        match e {
            quiche::Error::TlsFail | quiche::Error::CryptoFail => Error::Tls(quiche_reason(e)),
            _ => Error::Quic(quiche_reason(e)),
        }
    }
}

/// quiche's error in words (its `Debug` form, e.g. `InvalidState`, says little to a reader).
pub fn quiche_reason(e: quiche::Error) -> String {
    use quiche::Error as Q;
    let reason = match e {
        Q::Done => "nothing more to do".to_string(),
        Q::BufferTooShort => "a buffer was too short".to_string(),
        Q::UnknownVersion => "unknown QUIC version".to_string(),
        Q::InvalidFrame => "a frame could not be parsed".to_string(),
        Q::InvalidPacket => "a packet could not be parsed".to_string(),
        Q::InvalidState => "the connection is not in a state that allows this".to_string(),
        Q::InvalidStreamState(id) => format!("stream {id} is not in a state that allows this"),
        Q::InvalidTransportParam => "the peer's transport parameters are invalid".to_string(),
        Q::CryptoFail => "a cryptographic operation failed".to_string(),
        Q::TlsFail => "the TLS handshake failed".to_string(),
        Q::FlowControl => "the peer exceeded the flow-control limit".to_string(),
        Q::StreamLimit => "the stream limit is reached".to_string(),
        Q::StreamStopped(code) => format!("the peer stopped the stream (STOP_SENDING, code {code})"),
        Q::StreamReset(code) => format!("the peer reset the stream (RESET_STREAM, code {code})"),
        Q::FinalSize => "data beyond the stream's final size".to_string(),
        Q::CongestionControl => "congestion control failed".to_string(),
        Q::IdLimit => "too many connection IDs".to_string(),
        Q::OutOfIdentifiers => "no connection ID left to use".to_string(),
        Q::KeyUpdate => "a key update failed".to_string(),
        Q::CryptoBufferExceeded => "the peer sent more CRYPTO data than can be buffered".to_string(),
        Q::InvalidAckRange => "the peer acknowledged an invalid range".to_string(),
        Q::OptimisticAckDetected => "the peer acknowledged a packet that was never sent (optimistic ACK)".to_string(),
        Q::InvalidDcidInitialization => "an invalid destination connection ID was used to connect".to_string(),
    };
    format!("{reason} (quiche {e:?})")
}

/// How a run or a connection ended with an error, as its record holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo { code: e.code(), message: e.message().to_string() }
    }
}

impl From<Error> for ErrorInfo {
    fn from(e: Error) -> Self {
        ErrorInfo::from(&e)
    }
}

/// A duration in words for messages: `1 ms`, `1.5 s`, `250 us`.
pub(crate) fn duration_words(ns: u64) -> String {
    let (value, unit) = match ns {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, "s"),
        n if n >= 1_000_000 => (n as f64 / 1e6, "ms"),
        n => (n as f64 / 1e3, "us"),
    };
    format!("{} {unit}", (value * 100.0).round() / 100.0)
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
        if let Some(alert) = tls_alert(e) {
            return Some(Error::Tls(format!("the peer ended the handshake with TLS alert {alert}")));
        }
        if !clean(e) {
            return Some(Error::Peer(format!("peer closed with {}", describe(e))));
        }
    }
    if let Some(e) = conn.local_error() {
        if let Some(alert) = tls_alert(e) {
            return Some(Error::Tls(format!("the handshake failed here with TLS alert {alert}")));
        }
        if !clean(e) {
            return Some(Error::Quic(format!("closed locally with {}", describe(e))));
        }
    }
    None
}

/// A TLS alert carried as a QUIC CRYPTO_ERROR (transport 0x100 + alert, RFC 9001 §4.8), named.
fn tls_alert(e: &quiche::ConnectionError) -> Option<String> {
    let alert = e.error_code.checked_sub(0x100).filter(|a| !e.is_app && *a < 0x100)?;
    // RFC 8446 §6, the alerts a handshake ends with.
    let name = match alert {
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        80 => "internal_error",
        109 => "missing_extension",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "",
    };
    Some(if name.is_empty() { format!("{alert}") } else { format!("{alert} ({name})") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn quiche_errors_read_as_words() {
        let e = Error::from(quiche::Error::InvalidState);
        assert_eq!(e.code(), ErrorCode::Quic);
        assert!(e.message().starts_with("the connection is not in a state"), "{e}");
        assert_eq!(Error::from(quiche::Error::TlsFail).code(), ErrorCode::Tls);
    }
}
