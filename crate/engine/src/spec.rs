//! What the engine takes and how it was built, as data: the scenario kinds with their fields, the limits
//! of every value, every default, the error codes and the percentile rule. The binding exports it once,
//! so callers (the CLI's flags, their defaults and checks) follow the engine instead of repeating it.

use schemars::JsonSchema;
use serde::Serialize;

use crate::client::{DEFAULT_INTERVAL_NS, DEFAULT_SERVER_NAME, HANDSHAKES_IN_FLIGHT};
use crate::error::ErrorCode;
use crate::record::{Build, Percentile, PERCENTILES, PERCENTILE_LEVEL, SCHEMA_VERSION};
use crate::scenario::{
    CongestionControl, Kind, Limit, ScenarioField, Settings, StreamType, DEFAULT_DURATION_NS, LIMITS,
};
use crate::server::{RetryMode, ServerOptions};
use crate::workload::KindSpec;

/// The engine's interface as data.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "stoq-bench engine")]
pub struct EngineSpec {
    /// The engine crate's version.
    pub version: &'static str,
    /// How the loaded engine was compiled.
    pub build: Build,
    /// The `schemaVersion` of the records it writes.
    pub schema_version: u32,
    /// Every error code, in declaration order.
    pub error_codes: Vec<ErrorCode>,
    /// Every scenario kind, in the order users see them.
    pub kinds: Vec<&'static KindSpec>,
    /// The stop conditions, exactly one of which ends a run.
    pub stops: Vec<ScenarioField>,
    /// The congestion controls `settings.cc` names.
    pub congestion_controls: Vec<CongestionControl>,
    /// The accepted range of every numeric value.
    pub limits: &'static [Limit],
    pub defaults: Defaults,
    /// Which latency percentiles a run reports: those its own sample can bound at `level`.
    pub percentiles: PercentileRule,
    /// Handshakes a client keeps under way at once: its connections open as earlier handshakes complete
    /// (a workload of handshakes keeps all its `connections` under way).
    pub handshakes_in_flight: u32,
}

/// Every default the engine fills in.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    /// Concurrent connections.
    pub connections: u32,
    /// Streams per connection.
    pub streams: u32,
    /// Requests outstanding per connection.
    pub inflight: u32,
    pub stream_type: StreamType,
    /// Run length when no stop condition is given, ns.
    pub duration_ns: u64,
    pub settings: Settings,
    /// Interval length, ns.
    pub interval_ns: u64,
    /// TLS server name the client sends.
    pub server_name: &'static str,
    /// Socket send and receive buffers asked for (`settings.recvBuffer` replaces the receive one), bytes.
    pub socket_buffer: u64,
    pub server: ServerDefaults,
}

/// A server's defaults.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerDefaults {
    /// Address listened on.
    pub listen: String,
    /// Worker threads sharing the port.
    pub threads: u32,
    /// Connections with state, half-open ones included; beyond it an Initial is refused before any state.
    pub max_connections: u64,
    /// Half-open connections one source prefix (an IPv6 /64, an IPv4 address) may hold.
    pub max_half_open_per_prefix: u64,
    /// When a Retry asks for address validation.
    pub retry: RetryMode,
    /// Half-open connections from which `auto` sends Retries.
    pub retry_threshold: u64,
    /// A handshake not complete after this is dropped, ns.
    pub handshake_timeout_ns: u64,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PercentileRule {
    /// Two-sided confidence level of the distribution-free interval that must exist.
    pub level: f64,
    /// Samples each reported percentile needs.
    pub min_samples: Vec<PercentileMinimum>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PercentileMinimum {
    pub percentile: Percentile,
    pub quantile: f64,
    pub min_samples: u64,
}

/// The engine's interface, as built.
pub fn engine_spec() -> EngineSpec {
    let server = ServerOptions::default();
    EngineSpec {
        version: env!("CARGO_PKG_VERSION"),
        build: Build::CURRENT,
        schema_version: SCHEMA_VERSION,
        error_codes: ErrorCode::ALL.to_vec(),
        kinds: Kind::ALL.iter().map(|k| k.spec()).collect(),
        stops: ScenarioField::STOPS.to_vec(),
        congestion_controls: CongestionControl::ALL.to_vec(),
        limits: LIMITS,
        defaults: Defaults {
            connections: 1,
            streams: 1,
            inflight: 1,
            stream_type: StreamType::Bidi,
            duration_ns: DEFAULT_DURATION_NS,
            settings: Settings::default(),
            interval_ns: DEFAULT_INTERVAL_NS,
            server_name: DEFAULT_SERVER_NAME,
            socket_buffer: crate::socket::SOCKET_BUFFER_BYTES as u64,
            server: ServerDefaults {
                listen: server.listen.to_string(),
                threads: server.threads,
                max_connections: server.max_connections,
                max_half_open_per_prefix: server.max_half_open_per_prefix,
                retry: server.retry,
                retry_threshold: server.retry_threshold,
                handshake_timeout_ns: server.handshake_timeout.as_nanos() as u64,
            },
        },
        handshakes_in_flight: HANDSHAKES_IN_FLIGHT as u32,
        percentiles: PercentileRule {
            level: PERCENTILE_LEVEL,
            min_samples: PERCENTILES
                .iter()
                .map(|&p| PercentileMinimum { percentile: p, quantile: p.quantile(), min_samples: p.min_samples() })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn the_exported_defaults_are_the_ones_normalize_fills_in() {
        let spec = engine_spec();
        let s = Scenario::from_json(r#"{"kind":"download"}"#).unwrap();
        let d = &spec.defaults;
        assert_eq!(
            (s.connections, s.streams, s.inflight, s.stream_type),
            (d.connections, d.streams, d.inflight, d.stream_type)
        );
        assert_eq!(s.duration_ns, Some(d.duration_ns));
        assert_eq!(s.settings, d.settings);
        for kind in spec.kinds {
            let s = Scenario::from_json(&format!(r#"{{"kind":"{}"}}"#, kind.kind)).unwrap();
            assert_eq!((s.request_size, s.response_size), (kind.request_size, kind.response_size), "{}", kind.kind);
        }
    }
}
