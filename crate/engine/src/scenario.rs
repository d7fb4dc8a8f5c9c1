//! A workload as plain data. Its `id` is a content hash of the normalised form (defaults filled in), so
//! results key to exactly what ran and two spellings of the same workload share one id. What each kind
//! takes (its stop conditions, fields and defaults) is declared by its workload (`crate::workload`, where
//! the kinds are listed); the
//! limits of every field are in [`LIMITS`]. Both are exported through the binding, so no caller repeats them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
pub use crate::workload::Kind;

/// A scenario field that only some kinds take (the transport settings apply to every kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ScenarioField {
    Bytes,
    DurationNs,
    Count,
    Connections,
    Streams,
    Inflight,
    RequestSize,
    ResponseSize,
    StreamType,
}

impl ScenarioField {
    /// The stop conditions, exactly one of which ends a run.
    pub const STOPS: [ScenarioField; 3] = [ScenarioField::Bytes, ScenarioField::DurationNs, ScenarioField::Count];

    /// The field's name in the scenario's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioField::Bytes => "bytes",
            ScenarioField::DurationNs => "durationNs",
            ScenarioField::Count => "count",
            ScenarioField::Connections => "connections",
            ScenarioField::Streams => "streams",
            ScenarioField::Inflight => "inflight",
            ScenarioField::RequestSize => "requestSize",
            ScenarioField::ResponseSize => "responseSize",
            ScenarioField::StreamType => "streamType",
        }
    }

    /// The field as a stop condition reads in a sentence.
    fn as_stop(self) -> &'static str {
        match self {
            ScenarioField::Bytes => "bytes",
            ScenarioField::DurationNs => "a duration",
            _ => "a count",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CongestionControl {
    Cubic,
    Reno,
    Bbr2,
}

impl CongestionControl {
    pub const ALL: [CongestionControl; 3] =
        [CongestionControl::Cubic, CongestionControl::Reno, CongestionControl::Bbr2];

    pub fn quiche_name(self) -> &'static str {
        match self {
            CongestionControl::Cubic => "cubic",
            CongestionControl::Reno => "reno",
            CongestionControl::Bbr2 => "bbr2",
        }
    }
}

/// Bidirectional streams, or unidirectional ones (the reply then comes on a new server stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamType {
    Bidi,
    Uni,
}

/// Transport settings, each with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Congestion control.
    ///
    /// @default "cubic"
    pub cc: CongestionControl,
    /// Connection flow-control window (and its auto-tuning cap), bytes.
    ///
    /// @default 25165824 (24 MiB)
    pub connection_window: u64,
    /// Stream flow-control window (and its auto-tuning cap), bytes.
    ///
    /// @default 16777216 (16 MiB)
    pub stream_window: u64,
    /// Largest UDP payload sent, bytes (1200 to 65527).
    ///
    /// @default 1350
    pub payload_size: u32,
    /// Pace packets to quiche's release times (in user space: this kernel has no fq).
    ///
    /// @default true
    pub pacing: bool,
    /// Send batches with UDP GSO when the kernel offers it.
    ///
    /// @default true
    pub gso: bool,
    /// Idle timeout, ns: a silent peer errors the connection after this.
    ///
    /// @default 5000000000 (5 s)
    pub idle_timeout_ns: u64,
    /// Client I/O threads (connections are spread over them).
    ///
    /// @default 1
    pub threads: u32,
    /// Socket receive buffer to ask for, bytes (forced past `net.core.rmem_max` where permitted; the kernel
    /// doubles it for its bookkeeping). A small one makes the kernel drop datagrams that arrive faster than
    /// they are read.
    ///
    /// @default 8388608 (8 MiB)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recv_buffer: Option<u64>,
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
            recv_buffer: None,
        }
    }
}

/// A workload: what to transfer, how, and when to stop. Exactly one of `bytes`, `durationNs` or `count`
/// stops it (none: 10 s); a field its kind does not take must keep its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub kind: Kind,
    /// Stop after this many application bytes in total (split over connections and streams; per
    /// direction for bidir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Stop after this long, ns.
    ///
    /// @default 10000000000 (10 s, when no other stop condition is given)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ns: Option<u64>,
    /// Stop after this many requests, round trips or handshakes in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Concurrent connections.
    ///
    /// @default 1
    #[serde(default = "one")]
    pub connections: u32,
    /// Concurrent streams per connection (download, upload, bidir).
    ///
    /// @default 1
    #[serde(default = "one")]
    pub streams: u32,
    /// Requests outstanding per connection (requests).
    ///
    /// @default 1
    #[serde(default = "one")]
    pub inflight: u32,
    /// Bytes the client uploads per request (requests, latency).
    ///
    /// @default 64
    #[serde(default)]
    pub request_size: Option<u64>,
    /// Bytes the server sends back per request (requests, latency).
    ///
    /// @default 4096 (requests), 64 (latency)
    #[serde(default)]
    pub response_size: Option<u64>,
    /// Bidirectional or unidirectional streams (the reply then comes on a new server stream).
    ///
    /// @default "bidi"
    #[serde(default = "bidi")]
    pub stream_type: StreamType,
    /// Transport settings.
    #[serde(default)]
    pub settings: Settings,
    /// Content hash of the normalised scenario (16 hex digits); set by `normalize` (a given value is
    /// recomputed).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9a-f]{16}$"))]
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

/// The accepted range of a numeric field.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    /// The field as the caller spells it: a scenario field, `settings.NAME`, or a run option.
    pub field: &'static str,
    /// The field in words, as messages name it.
    pub label: &'static str,
    pub min: u64,
    pub max: u64,
}

impl Limit {
    /// An `INVALID_ARGUMENT` naming the field when `value` is outside the range.
    pub fn check(&self, value: u64) -> Result<()> {
        if value < self.min || value > self.max {
            return Err(Error::invalid_field(
                self.field,
                format!("{} must be between {} and {}, got {value}", self.label, self.min, self.max),
            ));
        }
        Ok(())
    }
}

/// Every numeric limit, in one place (the binding exports them for the CLI's flag checks).
pub const LIMITS: &[Limit] = &[
    Limit { field: "connections", label: "connections", min: 1, max: 100_000 },
    Limit { field: "streams", label: "streams", min: 1, max: 10_000 },
    Limit { field: "inflight", label: "inflight", min: 1, max: 10_000 },
    Limit { field: "durationNs", label: "duration (ns)", min: 1_000_000, max: 86_400_000_000_000 },
    Limit { field: "count", label: "count", min: 1, max: u32::MAX as u64 },
    Limit { field: "bytes", label: "bytes", min: 0, max: 1 << 50 },
    Limit { field: "requestSize", label: "request size", min: 0, max: 1 << 40 },
    Limit { field: "responseSize", label: "response size", min: 0, max: 1 << 40 },
    Limit { field: "settings.payloadSize", label: "payload size", min: 1200, max: 65527 },
    Limit { field: "settings.connectionWindow", label: "connection window", min: 16 << 10, max: 1 << 32 },
    Limit { field: "settings.streamWindow", label: "stream window", min: 16 << 10, max: 1 << 32 },
    Limit { field: "settings.idleTimeoutNs", label: "idle timeout (ns)", min: 10_000_000, max: 3_600_000_000_000 },
    Limit { field: "settings.threads", label: "threads", min: 1, max: 256 },
    Limit { field: "settings.recvBuffer", label: "receive buffer", min: 4096, max: 1 << 30 },
    Limit { field: "intervalNs", label: "interval (ns)", min: 10_000_000, max: 86_400_000_000_000 },
];

/// The limit of `field` (one of [`LIMITS`]).
pub fn limit(field: &str) -> &'static Limit {
    LIMITS.iter().find(|l| l.field == field).expect("every checked field has a limit")
}

impl Scenario {
    /// Parses JSON, fills defaults, checks every value and computes the id.
    pub fn from_json(json: &str) -> Result<Scenario> {
        let scenario: Scenario =
            serde_json::from_str(json).map_err(|e| Error::invalid(format!("invalid scenario: {e}")))?;
        scenario.normalize()
    }

    /// Fills defaults, validates, and sets `id`.
    pub fn normalize(mut self) -> Result<Scenario> {
        let spec = self.kind.spec();
        let stops: Vec<ScenarioField> = [self.bytes.is_some(), self.duration_ns.is_some(), self.count.is_some()]
            .into_iter()
            .zip(ScenarioField::STOPS)
            .filter_map(|(given, field)| given.then_some(field))
            .collect();
        match stops.as_slice() {
            [] => self.duration_ns = Some(DEFAULT_DURATION_NS),
            [stop] if !spec.stops.contains(stop) => {
                let takes: Vec<&str> = spec.stops.iter().map(|s| s.as_stop()).collect();
                return Err(Error::invalid_field(
                    stop.as_str(),
                    format!("a {} scenario stops on {}, not on {}", self.kind, takes.join(" or "), stop.as_stop()),
                ));
            }
            [_] => {}
            _ => return Err(Error::invalid("give one of bytes, duration or count, not several")),
        }
        let at_default = [
            (ScenarioField::Connections, self.connections == 1),
            (ScenarioField::Streams, self.streams == 1),
            (ScenarioField::Inflight, self.inflight == 1),
            (ScenarioField::RequestSize, self.request_size.is_none()),
            (ScenarioField::ResponseSize, self.response_size.is_none()),
            (ScenarioField::StreamType, self.stream_type == StreamType::Bidi),
        ];
        for (field, default) in at_default {
            if !default && !spec.fields.contains(&field) {
                return Err(not_taken(self.kind, field));
            }
        }
        if let Some(size) = spec.request_size {
            self.request_size.get_or_insert(size);
        }
        if let Some(size) = spec.response_size {
            self.response_size.get_or_insert(size);
        }
        (spec.check)(&self)?;
        limit("connections").check(self.connections as u64)?;
        limit("streams").check(self.streams as u64)?;
        limit("inflight").check(self.inflight as u64)?;
        let optional = [
            ("durationNs", self.duration_ns),
            ("count", self.count),
            ("bytes", self.bytes),
            ("requestSize", self.request_size),
            ("responseSize", self.response_size),
        ];
        for (field, value) in optional {
            if let Some(v) = value {
                limit(field).check(v)?;
            }
        }
        let s = &self.settings;
        limit("settings.payloadSize").check(s.payload_size as u64)?;
        limit("settings.connectionWindow").check(s.connection_window)?;
        limit("settings.streamWindow").check(s.stream_window)?;
        limit("settings.idleTimeoutNs").check(s.idle_timeout_ns)?;
        limit("settings.threads").check(s.threads as u64)?;
        if let Some(b) = s.recv_buffer {
            limit("settings.recvBuffer").check(b)?;
        }
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

/// The error for a field given to a kind that does not take it: which kinds do.
fn not_taken(kind: Kind, field: ScenarioField) -> Error {
    let takers: Vec<&str> = Kind::ALL.iter().filter(|k| k.spec().fields.contains(&field)).map(|k| k.as_str()).collect();
    let list = match takers.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => takers.join(""),
    };
    let note = kind.spec().note.map(|n| format!(" ({n})")).unwrap_or_default();
    Error::invalid_field(field.as_str(), format!("{} applies to {list} only, not {kind}{note}", field.as_str()))
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
            assert_eq!(err.code(), crate::error::ErrorCode::InvalidArgument);
            assert!(err.message().contains(expected), "{json}: {}", err.message());
        }
    }

    #[test]
    fn the_field_at_fault_is_named() {
        let cases = [
            (r#"{"kind":"download","connections":0}"#, Some("connections")),
            (r#"{"kind":"download","settings":{"payloadSize":900}}"#, Some("settings.payloadSize")),
            (r#"{"kind":"requests","bytes":100}"#, Some("bytes")),
            (r#"{"kind":"download","bytes":5,"durationNs":5}"#, None),
            (r#"{"kind":"bidir","streamType":"uni"}"#, Some("streamType")),
        ];
        for (json, field) in cases {
            assert_eq!(Scenario::from_json(json).unwrap_err().field(), field, "{json}");
        }
    }

    #[test]
    fn a_field_the_kind_does_not_take_is_refused_naming_the_kind() {
        for (json, field, message) in [
            (r#"{"kind":"download","inflight":16}"#, "inflight", "inflight applies to requests only, not download"),
            (
                r#"{"kind":"latency","streams":4}"#,
                "streams",
                "streams applies to download, upload and bidir only, not latency",
            ),
            (
                r#"{"kind":"handshakes","streamType":"uni"}"#,
                "streamType",
                "not handshakes (handshakes open no streams)",
            ),
        ] {
            let err = Scenario::from_json(json).unwrap_err();
            assert_eq!(err.field(), Some(field), "{json}");
            assert!(err.message().contains(message), "{json}: {}", err.message());
        }
    }

    #[test]
    fn a_normalised_scenario_of_every_kind_normalises_to_itself() {
        for kind in Kind::ALL {
            let s = Scenario::from_json(&format!(r#"{{"kind":"{kind}"}}"#)).unwrap();
            assert_eq!(Scenario::from_json(&s.to_json()).unwrap(), s, "{kind}");
        }
    }

    #[test]
    fn every_limit_is_named_once() {
        for (i, l) in LIMITS.iter().enumerate() {
            assert!(l.min <= l.max && l.max <= 1 << 53, "{} must fit a JS number", l.field);
            assert!(LIMITS[i + 1..].iter().all(|o| o.field != l.field), "{} twice", l.field);
        }
    }
}
