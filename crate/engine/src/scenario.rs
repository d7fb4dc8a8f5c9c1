//! A workload as plain data. Its `id` is a content hash of the normalised form (defaults filled in), so
//! results key to exactly what ran and two spellings of the same workload share one id.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What the client does on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The server sends; the client asks for bytes on each stream.
    Download,
    /// The client sends; the server answers each stream with an empty response after draining it.
    Upload,
    /// Both at once: half the streams download, half upload.
    Bidir,
    /// Request/response pairs with `inflight` outstanding per connection.
    Requests,
    /// One small request outstanding at a time; every round trip timed.
    Latency,
    /// Connect, complete the handshake, close, repeat.
    Handshakes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CongestionControl {
    Cubic,
    Reno,
    Bbr2,
}

impl CongestionControl {
    pub fn quiche_name(self) -> &'static str {
        match self {
            CongestionControl::Cubic => "cubic",
            CongestionControl::Reno => "reno",
            CongestionControl::Bbr2 => "bbr2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamType {
    Bidi,
    Uni,
}

/// Transport settings, each with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Congestion control. @default "cubic"
    pub cc: CongestionControl,
    /// Connection flow-control window (and its auto-tuning cap), bytes. @default 24 MiB
    pub connection_window: u64,
    /// Stream flow-control window (and its auto-tuning cap), bytes. @default 16 MiB
    pub stream_window: u64,
    /// Largest UDP payload sent, bytes (1200 to 65527). @default 1350
    pub payload_size: u32,
    /// Pace packets to quiche's release times (in user space: this kernel has no fq). @default true
    pub pacing: bool,
    /// Send batches with UDP GSO when the kernel offers it. @default true
    pub gso: bool,
    /// Idle timeout, ns: a silent peer errors the connection after this. @default 5 s
    pub idle_timeout_ns: u64,
    /// Client I/O threads (connections are spread over them). @default 1
    pub threads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cc: CongestionControl::Cubic,
            connection_window: 24 << 20,
            stream_window: 16 << 20,
            payload_size: 1350,
            pacing: true,
            gso: true,
            idle_timeout_ns: 5_000_000_000,
            threads: 1,
        }
    }
}

/// A workload: what to transfer, how, and when to stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub kind: Kind,
    /// Stop after this many application bytes in total (split over connections and streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Stop after this long, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ns: Option<u64>,
    /// Stop after this many requests, round trips or handshakes in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Concurrent connections. @default 1
    #[serde(default = "one")]
    pub connections: u32,
    /// Concurrent streams per connection (transfer kinds). @default 1
    #[serde(default = "one")]
    pub streams: u32,
    /// Requests outstanding per connection (`requests`; `latency` is always 1). @default 1
    #[serde(default = "one")]
    pub inflight: u32,
    /// Bytes the client uploads per request (`requests`, `latency`). @default 64
    #[serde(default)]
    pub request_size: Option<u64>,
    /// Bytes the server sends back per request (`requests`, `latency`). @default 4096 (requests), 64 (latency)
    #[serde(default)]
    pub response_size: Option<u64>,
    /// Bidirectional or unidirectional streams (the reply then comes on a new server stream). @default "bidi"
    #[serde(default = "bidi")]
    pub stream_type: StreamType,
    #[serde(default)]
    pub settings: Settings,
    /// Content hash of the normalised scenario; set by `normalize` (a given value is recomputed).
    #[serde(default)]
    pub id: String,
}

fn one() -> u32 {
    1
}
fn bidi() -> StreamType {
    StreamType::Bidi
}

/// Ten seconds, like iperf3, when no stop condition is given.
pub const DEFAULT_DURATION_NS: u64 = 10_000_000_000;

impl Scenario {
    /// Parses JSON, fills defaults, checks every value and computes the id.
    pub fn from_json(json: &str) -> Result<Scenario> {
        let scenario: Scenario =
            serde_json::from_str(json).map_err(|e| Error::invalid(format!("invalid scenario: {e}")))?;
        scenario.normalize()
    }

    /// Fills defaults, validates, and sets `id`.
    pub fn normalize(mut self) -> Result<Scenario> {
        let limits = [self.bytes.is_some(), self.duration_ns.is_some(), self.count.is_some()];
        match limits.iter().filter(|x| **x).count() {
            0 => self.duration_ns = Some(DEFAULT_DURATION_NS),
            1 => {}
            _ => return Err(Error::invalid("give one of bytes, duration or count, not several")),
        }
        let transfer = matches!(self.kind, Kind::Download | Kind::Upload | Kind::Bidir);
        if transfer && self.count.is_some() {
            return Err(Error::invalid("a transfer scenario stops on bytes or duration, not on a count"));
        }
        if !transfer && self.bytes.is_some() {
            return Err(Error::invalid(
                format!("a {:?} scenario stops on a count or a duration, not on bytes", self.kind).to_lowercase(),
            ));
        }
        match self.kind {
            Kind::Requests | Kind::Latency => {
                let response = if self.kind == Kind::Latency { 64 } else { 4096 };
                self.request_size.get_or_insert(64);
                self.response_size.get_or_insert(response);
            }
            _ => {
                if self.request_size.is_some() || self.response_size.is_some() {
                    return Err(Error::invalid("request and response sizes apply to requests and latency only"));
                }
            }
        }
        if self.kind == Kind::Latency {
            if self.inflight != 1 || self.connections != 1 {
                return Err(Error::invalid("latency runs one request at a time on one connection"));
            }
        }
        if self.kind == Kind::Handshakes && self.stream_type != StreamType::Bidi {
            return Err(Error::invalid("handshakes open no streams: stream type does not apply"));
        }
        if self.kind == Kind::Bidir && self.stream_type == StreamType::Uni {
            return Err(Error::invalid("bidir needs bidirectional streams"));
        }
        check_range("connections", self.connections as u64, 1, 100_000)?;
        check_range("streams", self.streams as u64, 1, 10_000)?;
        check_range("inflight", self.inflight as u64, 1, 10_000)?;
        if let Some(d) = self.duration_ns {
            check_range("duration (ns)", d, 1_000_000, 86_400_000_000_000)?;
        }
        if let Some(c) = self.count {
            check_range("count", c, 1, u32::MAX as u64)?;
        }
        if let Some(b) = self.bytes {
            check_range("bytes", b, 0, 1 << 50)?;
        }
        for (name, size) in [("request size", self.request_size), ("response size", self.response_size)] {
            if let Some(s) = size {
                check_range(name, s, 0, 1 << 40)?;
            }
        }
        let s = &self.settings;
        check_range("payload size", s.payload_size as u64, 1200, 65527)?;
        check_range("connection window", s.connection_window, 16 << 10, 1 << 32)?;
        check_range("stream window", s.stream_window, 16 << 10, 1 << 32)?;
        check_range("idle timeout (ns)", s.idle_timeout_ns, 10_000_000, 3_600_000_000_000)?;
        check_range("threads", s.threads as u64, 1, 256)?;
        self.id = String::new();
        let canonical = serde_json::to_vec(&self).expect("a scenario always serialises");
        let digest = Sha256::digest(&canonical);
        self.id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(self)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a scenario always serialises")
    }
}

fn check_range(name: &str, value: u64, min: u64, max: u64) -> Result<()> {
    if value < min || value > max {
        return Err(Error::invalid(format!("{name} must be between {min} and {max}, got {value}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_filled_and_spellings_share_an_id() {
        let a = Scenario::from_json(r#"{"kind":"download"}"#).unwrap();
        let b = Scenario::from_json(
            r#"{"kind":"download","connections":1,"durationNs":10000000000,"settings":{"cc":"cubic"}}"#,
        )
        .unwrap();
        assert_eq!(a.duration_ns, Some(DEFAULT_DURATION_NS));
        assert_eq!(a.id, b.id);
        assert_eq!(a.id.len(), 16);
    }

    #[test]
    fn any_change_to_the_workload_changes_the_id() {
        let base = Scenario::from_json(r#"{"kind":"download","bytes":1000}"#).unwrap();
        for other in [
            r#"{"kind":"download","bytes":1001}"#,
            r#"{"kind":"upload","bytes":1000}"#,
            r#"{"kind":"download","bytes":1000,"streams":2}"#,
            r#"{"kind":"download","bytes":1000,"settings":{"cc":"bbr2"}}"#,
            r#"{"kind":"download","bytes":1000,"settings":{"payloadSize":1400}}"#,
        ] {
            assert_ne!(Scenario::from_json(other).unwrap().id, base.id, "{other}");
        }
    }

    #[test]
    fn the_id_is_stable_across_releases() {
        // Pinned: a change here re-keys every stored history; do it only on purpose.
        let s = Scenario::from_json(r#"{"kind":"download","bytes":1048576}"#).unwrap();
        assert_eq!(s.id, Scenario::from_json(&s.to_json()).unwrap().id);
        assert_eq!(s.id, PINNED_DOWNLOAD_1MIB_ID);
    }
    const PINNED_DOWNLOAD_1MIB_ID: &str = "3af01f68abc4c98d";

    #[test]
    fn bad_input_is_refused_with_a_clear_message() {
        let cases = [
            (r#"{"kind":"download","connections":0}"#, "connections must be between 1"),
            (r#"{"kind":"download","settings":{"cc":"vegas"}}"#, "unknown variant `vegas`"),
            (r#"{"kind":"teleport"}"#, "unknown variant `teleport`"),
            (r#"{"kind":"download","bytes":5,"durationNs":5}"#, "not several"),
            (r#"{"kind":"latency","connections":4}"#, "one request at a time"),
            (r#"{"kind":"download","settings":{"payloadSize":900}}"#, "payload size must be between 1200"),
            (r#"{"kind":"requests","bytes":100}"#, "not on bytes"),
            (r#"{"kind":"download","requestSize":5}"#, "requests and latency only"),
            (r#"{"kind":"download","bogus":1}"#, "unknown field `bogus`"),
        ];
        for (json, expected) in cases {
            let err = Scenario::from_json(json).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.message().contains(expected), "{json}: {}", err.message());
        }
    }
}
