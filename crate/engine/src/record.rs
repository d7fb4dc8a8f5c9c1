//! The run record: what one run measured, as versioned data. Its shape is defined here and only here:
//! `schema/run-record.schema.json` and the TypeScript types (`src/generated/`) are generated from these
//! types (`stoq-schema`), so the doc comments below (units, `@default`) reach every reader.
//!
//! Times in seconds (`…S`) or microseconds (`…Us`), rates in bits per second (`…Bps`), sizes in bytes.
//! Every path statistic belongs to a side: `client` or `server` (quiche's `PathStats` and `Stats` names).
//! The server's side is known when the server ran in this process or a stoq-bench server shared it
//! (`serverView`); otherwise it is null. A figure with nothing measured behind it is null.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize, Serializer};

use std::time::UNIX_EPOCH;

use crate::client::{ConnectionResult, Pacing, RunResult, RunState};
use crate::error::ErrorInfo;
use crate::metrics::{Interval, LatencySummary, PathSample, SideCounters, SideInterval, ThreadTime};
use crate::scenario::{Scenario, Settings};
use crate::server::ServerStats;
use crate::socket::FastPath;
use crate::view::ViewSource;
use crate::workload::Rate;

/// The version of the record's shape. Readers upgrade older versions on read.
pub const SCHEMA_VERSION: u32 = 4;

/// The confidence level at which a percentile must be boundable from a run's own sample to be reported.
pub const PERCENTILE_LEVEL: f64 = 0.95;

/// The percentiles a latency summary reports.
pub const PERCENTILES: [Percentile; 4] = [Percentile::P50, Percentile::P90, Percentile::P99, Percentile::P999];

/// What one run measured.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "stoq-bench run record")]
pub struct RunRecord {
    /// The version of this record's shape (older versions are upgraded on read).
    pub schema_version: SchemaVersion,
    pub tool: Tool,
    pub session: Session,
    /// When the run started (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    /// The server measured: `[v6addr]:port` (a link-local address with its zone as an interface index,
    /// `[fe80::1%2]:4433`) or `v4addr:port`.
    pub target: String,
    /// The server ran in this process (then `end.serverStats` holds its counters and memory per connection).
    pub embedded_server: bool,
    /// How the server's side of this record (`server` everywhere) was obtained.
    pub server_view: ServerView,
    /// The normalised workload, with its content-hash `id`.
    pub scenario: Scenario,
    pub environment: Environment,
    /// The intervals of the transfer, in order; the last one ends with the transfer.
    pub intervals: Vec<IntervalRecord>,
    /// After the transfer, until every connection closed (quiche's closing period, 3 PTO): its packets and
    /// CPU time, kept apart from the transfer's intervals; null in a record from before schemaVersion 4
    /// whose intervals did not set it apart.
    pub closing: Option<ClosingRecord>,
    /// How each connection (slot) ended.
    pub connections: Vec<ConnectionRecord>,
    pub end: EndRecord,
    /// When the run's clock started on the wall clock, and how that met the instant it waited for. Every
    /// run records it; absent in records of versions that did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<StartRecord>,
    /// Raw samples, when the kind times what it completes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Samples>,
    /// Present on a merged session of many clients only (`fleet merge`, `fleet collect`: built by the
    /// TypeScript side from the clients' records, never by a run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetSummary>,
}

/// The record's `schemaVersion`: always [`SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA_VERSION)
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "const": SCHEMA_VERSION })
    }
}

/// The tool that wrote the record.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: ToolName,
    /// The package version.
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ToolName {
    #[serde(rename = "stoq-bench")]
    StoqBench,
}

/// Where the run stands in its session (one invocation on one testbed; runs are the unit of replication).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Session {
    /// The session's id, shared by its runs.
    pub id: String,
    /// 0-based number of the run within the session.
    pub run: u32,
    /// Runs the session was asked for.
    #[schemars(range(min = 1))]
    pub runs: u32,
}

/// How the engine was compiled: a `debug` engine (the dev profile) runs several times slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Build {
    /// Optimised, without debug assertions (`napi build --release`).
    Release,
    /// The dev profile: debug assertions, little optimisation.
    Debug,
}

impl Build {
    /// The build of this engine, as compiled.
    pub const CURRENT: Build = if cfg!(debug_assertions) { Build::Debug } else { Build::Release };
}

/// The host a run was measured on, as the caller describes it (the testbed identity and its hash).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Host {
    /// Hash of what makes two testbeds comparable (16 hex digits): CPU model and count, kernel
    /// release, OS, architecture and the engine's build.
    pub fingerprint: String,
    /// The host's name (not part of the fingerprint).
    pub hostname: String,
    /// Platform and architecture, e.g. `linux-x64`.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    pub cpu: Cpu,
    /// The Node.js version that drove the engine.
    pub node: String,
    /// How the engine was compiled (read from the loaded engine).
    pub build: Build,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cpu {
    /// The CPU model as the kernel names it.
    pub model: String,
    /// Logical CPUs.
    pub count: u32,
}

/// How the server's side of a record was obtained.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    pub source: ViewSource,
    /// Why it is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The testbed, and each side's settings and fast path as they were in effect.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    #[serde(flatten)]
    pub host: Host,
    /// The client's side.
    pub client: SideEnvironment,
    /// The server's side; null when unknown (`serverView`).
    pub server: Option<SideEnvironment>,
}

/// One side's transport settings and fast path, as they were in effect.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SideEnvironment {
    /// The transport settings this side sent with (its congestion control, pacing, windows it granted,
    /// payload size); `threads`: its I/O threads.
    pub settings: Settings,
    /// The pacing in effect on what this side sent.
    pub pacing: Pacing,
    /// UDP GSO really used by this side's sockets.
    pub gso: bool,
    /// UDP GRO really coalesced datagrams this side received.
    pub gro: bool,
    /// This side's sockets over the run (a remote server's: all of its traffic meanwhile).
    pub fast_path: FastPath,
}

/// One interval of the transfer, all connections combined: the application's bytes (as the client counts
/// them), and each side's QUIC, pacing and CPU figures.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntervalRecord {
    /// 0-based position in the run.
    pub index: u32,
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// End, seconds since the run started.
    pub end_s: f64,
    /// Application payload bytes the client sent in the interval (the 8-byte perf header not included).
    pub bytes_sent: u64,
    /// Application payload bytes the client received in the interval.
    pub bytes_received: u64,
    /// Application payload, both directions, bits per second.
    pub goodput_bps: f64,
    /// Requests, round trips or handshakes completed in the interval.
    pub completed: u64,
    /// The client's side.
    pub client: SideRecord,
    /// The server's side; null when unknown (`serverView`).
    pub server: Option<SideRecord>,
}

/// One side of an interval (or of the closing period): its counts in it, and its path state at its end.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SideRecord {
    /// Connections the path figures describe: those that received packets in the interval.
    pub connections: u32,
    /// QUIC packets this side sent (quiche's `sent`).
    pub packets_sent: u64,
    /// QUIC packets this side received (quiche's `recv`).
    pub packets_received: u64,
    /// Packets this side declared lost (quiche's `lost`).
    pub lost: u64,
    /// Packets this side retransmitted (quiche's `retrans`).
    pub retrans: u64,
    /// DATA_BLOCKED frames this side sent: times a send found the peer's connection credit exhausted
    /// (quiche's `data_blocked_sent_count`); null in a record from before schemaVersion 4 (not measured then).
    pub data_blocked: Option<u64>,
    /// STREAM_DATA_BLOCKED frames this side sent: times a send found a stream's credit exhausted (quiche's
    /// `stream_data_blocked_sent_count`); null in a record from before schemaVersion 4 (not measured then).
    pub stream_data_blocked: Option<u64>,
    /// Smoothed RTT, mean over the connections with an RTT sample, us (quiche's `rtt`); null without one
    /// (quiche's initial guess is never shown).
    pub rtt_us: Option<f64>,
    /// Smallest RTT seen, us (quiche's `min_rtt`); null without an RTT sample.
    pub min_rtt_us: Option<f64>,
    /// RTT variation, mean over the connections with an RTT sample, us (quiche's `rttvar`); null without one.
    pub rttvar_us: Option<f64>,
    /// Congestion windows, summed, bytes (quiche's `cwnd`); null when no connection received packets.
    pub cwnd: Option<u64>,
    /// Delivery-rate estimates, summed, bits per second (quiche's `delivery_rate`); null when no
    /// connection received packets.
    pub delivery_rate_bps: Option<u64>,
    /// Path MTU, smallest, bytes (quiche's `pmtu`); null when no connection received packets.
    pub pmtu: Option<u64>,
    /// The rate of quiche's pacing schedule: bits of the packets it scheduled one after another ahead of
    /// their send call, over the span of their release times (`SendInfo.at`), summed over connections;
    /// null when no packet waited for pacing.
    pub pacing_rate_bps: Option<f64>,
    /// Time this side's packets waited for their pacing release, summed over connections, seconds; null in a record
    /// from before schemaVersion 4 (not measured then).
    pub pacing_wait_s: Option<f64>,
    /// CPU time of this side's I/O threads, seconds (a remote server's: all of its connections').
    pub cpu_s: f64,
    /// CPU time of this side's busiest I/O thread (the one that was on a CPU or waiting for one longest), seconds: over
    /// the interval's length, the share of a core it used; null in a record from before schemaVersion 4 (not measured
    /// then).
    pub busiest_thread_cpu_s: Option<f64>,
    /// Time that thread was runnable but waited for a CPU (the kernel's `run_delay`), seconds. With
    /// `busiestThreadCpuS`, near the interval's length: the thread was CPU-bound, however busy the machine;
    /// null in a record from before schemaVersion 4 (not measured then).
    pub busiest_thread_run_delay_s: Option<f64>,
}

/// The closing period: from the end of the transfer until every connection closed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClosingRecord {
    /// Start (the end of the transfer), seconds since the run started.
    pub start_s: f64,
    /// End, seconds since the run started.
    pub end_s: f64,
    /// Application payload bytes the client counted after the transfer ended (normally 0).
    pub bytes_sent: u64,
    /// Application payload bytes the client received after the transfer ended (normally 0).
    pub bytes_received: u64,
    /// The client's side (path figures null: a closing connection measures nothing of the transfer).
    pub client: SideRecord,
    /// The server's side; null when unknown.
    pub server: Option<SideRecord>,
}

/// How one connection (slot) ended; for `handshakes` a slot runs many connections in turn.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRecord {
    /// 0-based number of the connection slot.
    pub index: u32,
    pub state: RunState,
    /// The slot's first error, when it errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Application payload bytes sent.
    pub bytes_sent: u64,
    /// Application payload bytes received.
    pub bytes_received: u64,
    /// Streams that ended with their FIN seen and every requested byte received.
    pub streams_completed: u64,
    /// Streams reset or answered short.
    pub streams_failed: u64,
    /// Streams the server refused with perf error 2 (rejected: e.g. above its largest response); not in
    /// `streamsFailed`. Null in a record upgraded from schemaVersion 2 or older (such refusals were counted
    /// as failed there).
    #[schemars(with = "Option<u64>")]
    pub streams_rejected: u64,
    /// When the slot's first connection opened, us since the run started: connections open as earlier
    /// handshakes complete, a bounded number under way at once. Absent when it never opened, and in a
    /// record from an engine that opened every connection at the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_us: Option<f64>,
    /// Time from connect to handshake completion (the slot's first connection), us; null when the
    /// handshake never completed.
    pub handshake_us: Option<f64>,
    /// The client's view of the connection at the end (the server's is in `intervals[].server` and
    /// `end.server`).
    pub client: ConnectionSideRecord,
}

/// One side's view of a connection at its end.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSideRecord {
    /// QUIC packets sent (quiche's `sent`).
    pub packets_sent: u64,
    /// QUIC packets received (quiche's `recv`).
    pub packets_received: u64,
    /// Packets declared lost (quiche's `lost`).
    pub lost: u64,
    /// Packets retransmitted (quiche's `retrans`).
    pub retrans: u64,
    /// DATA_BLOCKED frames sent (quiche's `data_blocked_sent_count`); null in a record from before schemaVersion 4 (not
    /// measured then).
    pub data_blocked: Option<u64>,
    /// STREAM_DATA_BLOCKED frames sent (quiche's `stream_data_blocked_sent_count`); null in a record from before
    /// schemaVersion 4 (not measured then).
    pub stream_data_blocked: Option<u64>,
    /// Smoothed RTT at the end, us; null without an RTT sample.
    pub rtt_us: Option<f64>,
    /// Smallest RTT seen, us; null without an RTT sample.
    pub min_rtt_us: Option<f64>,
    /// Congestion window at the end, bytes; null when the connection never started.
    pub cwnd: Option<u64>,
    /// Path MTU, bytes; null when the connection never started.
    pub pmtu: Option<u64>,
}

/// How the run ended, and its totals.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndRecord {
    pub state: RunState,
    /// The first connection error, when the run errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Why the run is too short to measure its transfer (its duration ended before the handshakes, or
    /// before anything moved); absent when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_short: Option<String>,
    /// From the first connect until the end of the transfer (the last byte confirmed, the streams stopped,
    /// a failure), seconds; the closing period is not part of it.
    pub duration_s: f64,
    /// Application payload bytes sent (the 8-byte perf header not included).
    pub bytes_sent: u64,
    /// Application payload bytes received.
    pub bytes_received: u64,
    /// Application payload, both directions, bits per second over `durationS`.
    pub goodput_bps: f64,
    /// Requests, round trips or handshakes completed.
    pub completed: u64,
    /// Requests or round trips completed per second over `durationS` (requests, latency); on a merged
    /// session, over `fleet.steady`, the span where every client ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Handshakes completed per second over `durationS` (handshakes); on a merged session, over
    /// `fleet.steady`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshakes_per_second: Option<f64>,
    /// Latency of what was completed (requests, round trips, handshakes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyRecord>,
    pub connections: ConnectionCounts,
    /// Interval snapshots not shown live because the consumer lagged (all are in `intervals`).
    pub snapshots_dropped: u64,
    /// The client's totals over the run (the closing period included).
    pub client: SideTotals,
    /// The server's totals for the run's connections; null when unknown (`serverView`).
    pub server: Option<SideTotals>,
    /// The embedded server's counters, memory per connection included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_stats: Option<ServerStats>,
}

/// One side's totals over a run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SideTotals {
    /// QUIC packets sent (quiche's `sent`).
    pub packets_sent: u64,
    /// QUIC packets received (quiche's `recv`).
    pub packets_received: u64,
    /// UDP payload bytes of the QUIC packets sent (quiche's `sent_bytes`: the kernel's interface counters
    /// less IP, UDP and L2 headers).
    pub udp_bytes_sent: u64,
    /// UDP payload bytes of the QUIC packets received (quiche's `recv_bytes`).
    pub udp_bytes_received: u64,
    /// Packets declared lost (quiche's `lost`).
    pub lost: u64,
    /// Packets retransmitted (quiche's `retrans`).
    pub retrans: u64,
    /// DATA_BLOCKED frames sent: times a send found the peer's connection credit exhausted; null in a record from
    /// before schemaVersion 4 (not measured then).
    pub data_blocked: Option<u64>,
    /// STREAM_DATA_BLOCKED frames sent: times a send found a stream's credit exhausted; null in a record from before
    /// schemaVersion 4 (not measured then).
    pub stream_data_blocked: Option<u64>,
    /// Time packets waited for their pacing release, summed over connections, seconds; null in a record from before
    /// schemaVersion 4 (not measured then).
    pub pacing_wait_s: Option<f64>,
    /// CPU time of the side's I/O threads, seconds (a remote server's: all of its connections').
    pub cpu_s: f64,
    /// CPU time of the busiest I/O thread, seconds; null in a record from before schemaVersion 4 (not measured then).
    pub busiest_thread_cpu_s: Option<f64>,
    /// Time that thread was runnable but waited for a CPU (the kernel's `run_delay`), seconds; null in a record from
    /// before schemaVersion 4 (not measured then).
    pub busiest_thread_run_delay_s: Option<f64>,
}

/// Connections by how they ended.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCounts {
    /// Connection slots.
    pub total: u64,
    /// Slots that completed.
    pub completed: u64,
    /// Slots that errored.
    pub errored: u64,
    /// Slots cancelled by the caller.
    pub cancelled: u64,
}

/// Latency percentiles, microseconds, from an HdrHistogram at 3 significant digits (within 0.1% of the
/// sample quantile). A percentile the run's own sample cannot bound is null, and `undetermined` says why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyRecord {
    pub unit: LatencyUnit,
    pub method: LatencyMethod,
    /// Samples summarised.
    #[schemars(range(min = 1))]
    pub n: u64,
    /// The smallest sample, us.
    pub min_us: f64,
    /// The mean, us.
    pub mean_us: f64,
    /// The median, us; null when the sample cannot bound it.
    pub p50_us: Option<f64>,
    /// The 90th percentile, us; null when the sample cannot bound it.
    pub p90_us: Option<f64>,
    /// The 99th percentile, us; null when the sample cannot bound it (n < 368).
    pub p99_us: Option<f64>,
    /// The 99.9th percentile, us; null when the sample cannot bound it (n < 3688).
    pub p999_us: Option<f64>,
    /// The largest sample, us.
    pub max_us: f64,
    /// The histogram these figures come from (ns, 1 ns to 1 hour, 3 significant digits) in HdrHistogram's
    /// standard compressed V2 encoding, base64 (`HISTFAAA…`, which the Java, C, Rust and JavaScript
    /// implementations read): summing the histograms of several runs gives the exact histogram of them all
    /// (`fleet merge`). Absent in records of versions that did not carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
    /// The percentiles left null, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undetermined: Vec<Undetermined>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum LatencyUnit {
    #[serde(rename = "us")]
    Us,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum LatencyMethod {
    /// HdrHistogram at 3 significant digits.
    #[serde(rename = "hdrhistogram-3")]
    HdrHistogram3,
}

/// A percentile of the latency summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    P50,
    P90,
    P99,
    P999,
}

impl Percentile {
    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.5,
            Percentile::P90 => 0.9,
            Percentile::P99 => 0.99,
            Percentile::P999 => 0.999,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
        }
    }

    /// Samples needed to bound this percentile at [`PERCENTILE_LEVEL`].
    pub fn min_samples(self) -> u64 {
        min_samples_for_quantile(self.quantile(), PERCENTILE_LEVEL)
    }
}

/// A percentile a run's sample is too small to bound.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Undetermined {
    pub percentile: Percentile,
    /// Samples a distribution-free bound at 95% needs.
    pub min_samples: u64,
    /// Why, in words.
    pub reason: String,
}

/// The smallest sample for which a two-sided distribution-free interval for quantile `p` exists at
/// `level`: the sample extremes must cover it with probability at least `level`, i.e.
/// max(p, 1-p)^n <= (1 - level)/2 (p99 at 95% needs 368). The same rule as `minSampleForQuantile` in
/// `src/stats/quantile.ts`.
pub fn min_samples_for_quantile(p: f64, level: f64) -> u64 {
    let tail = (1.0 - level) / 2.0;
    (tail.ln() / p.max(1.0 - p).ln() - 1e-12).ceil() as u64
}

/// Raw samples of the run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Samples {
    /// Per-request, per-round-trip or per-handshake latencies, microseconds, in completion order.
    pub latency_us: Vec<f64>,
}

/// When a run's clock started on the wall clock, and how that met the instant it was told to start at
/// (`run --start-at`: the clients of one session on many hosts start together).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartRecord {
    /// CLOCK_REALTIME when the run's clock (CLOCK_MONOTONIC, the origin of every `startS` and `endS`)
    /// started, microseconds since the Unix epoch, read by the engine right after that origin. On a merged
    /// session: the origin of the session's time line (`fleet.startAt`, else its first client's anchor).
    pub anchor_unix_us: u64,
    /// The instant the run waited for (RFC 3339, UTC); null when it started at once.
    #[schemars(extend("format" = "date-time"))]
    pub at: Option<String>,
    /// `anchorUnixUs` minus `at` by this host's clock, microseconds (negative: it started before the
    /// instant); on a merged session, its latest client's. Null without `at`.
    pub late_us: Option<i64>,
    /// A start more than this after `at` counts as late, microseconds (`--start-tolerance`); null without
    /// `at`, and on a merged session (each client's own is in `fleet.clients`).
    pub tolerance_us: Option<u64>,
    /// Started more than `toleranceUs` after `at`; on a merged session, whether any client did. Null
    /// without `at`.
    pub late: Option<bool>,
    /// The host's clock synchronisation when the run waited for `at`: how far `at` meant the same instant
    /// here as on the other hosts. Null without `at`, and on a merged session (each client's own is in
    /// `fleet.clients`).
    pub clock: Option<ClockSync>,
}

impl StartRecord {
    /// The start of a run whose clock started at `anchor_unix_us`, against the instant it waited for.
    fn new(anchor_unix_us: u64, waited: Option<StartContext>) -> StartRecord {
        let Some(w) = waited else {
            return StartRecord {
                anchor_unix_us,
                at: None,
                late_us: None,
                tolerance_us: None,
                late: None,
                clock: None,
            };
        };
        let late_us = anchor_unix_us as i64 - w.at.unix_us as i64;
        StartRecord {
            anchor_unix_us,
            at: Some(w.at.text),
            late_us: Some(late_us),
            tolerance_us: Some(w.tolerance_us),
            late: Some(late_us > w.tolerance_us as i64),
            clock: Some(w.clock),
        }
    }
}

/// A host's clock synchronisation as far as its tools can tell (`chronyc tracking`, else `timedatectl
/// show`). The offset between hosts' clocks is a limit of any alignment of their runs: this says how far
/// it is known.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockSync {
    /// The tool that told; null when none could.
    pub source: Option<ClockSource>,
    /// Synchronised to a reference (an NTP server, or a PTP hardware clock); null when unknown.
    pub synchronized: Option<bool>,
    /// The reference as chronyc names it (`PHC0` for PTP, or a server's address); null when not told.
    pub reference: Option<String>,
    /// This clock minus the reference's, microseconds (positive: ahead); null when not told.
    pub offset_us: Option<f64>,
    /// Bound on this clock's error against the reference, microseconds: |offset| + root dispersion + root
    /// delay / 2 (chrony's documented bound); null when not told.
    pub error_bound_us: Option<f64>,
    /// What the tool said, or why nothing could be told.
    pub detail: String,
}

/// The tool that told a clock's synchronisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClockSource {
    /// `chronyc tracking` (chrony: NTP, or PTP through a PHC reference clock).
    Chronyc,
    /// `timedatectl show` (whichever NTP service systemd knows).
    Timedatectl,
}

/// What makes a record a merged session of many clients: each client's own figures beside the session's,
/// the span where all of them ran, and how fairly they shared the server.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummary {
    /// Every client of the session, by index; one that left no record is listed, errored.
    pub clients: Vec<FleetClient>,
    /// The instant every client waited for (RFC 3339); null when they were not started together.
    #[schemars(extend("format" = "date-time"))]
    pub start_at: Option<String>,
    /// How the clients' time lines were put on the session's.
    pub alignment: Alignment,
    /// The span where every client with a record was running, on the session's time line; the record's
    /// `intervals` cover exactly this span. Null when there was none.
    pub steady: Option<SteadySpan>,
    /// Why a figure is missing or how it was limited, for people.
    pub notes: Vec<String>,
    /// How evenly the clients shared the server in the steady span; null when undefined (no steady span,
    /// or nothing moved).
    pub fairness: Option<Fairness>,
    /// The id of the scenario each client ran; the record's `scenario` is the session's (connections and
    /// totals times the clients).
    pub client_scenario_id: String,
    /// How the latency percentiles were obtained; null when nothing was timed.
    pub latency_from: Option<LatencySource>,
}

/// How the clients' time lines were put on the session's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Alignment {
    /// Each client's engine clock anchor (`start.anchorUnixUs`, microseconds).
    ClockAnchor,
    /// Each client's `startedAt` (milliseconds), where a record has no anchor.
    StartedAt,
}

/// A span on a merged session's time line, seconds (0 is `fleet.startAt`, else the first client's start).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SteadySpan {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// `endS` minus `startS`, seconds.
    pub duration_s: f64,
}

/// Jain's fairness index over the clients' shares (R. Jain, D. Chiu, W. Hawe, DEC-TR-301, 1984):
/// draft-banks-quic-performance's "Throughput Fairness Index".
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fairness {
    /// The share compared: steady goodput (transfers), or steady requests or handshakes per second.
    pub metric: FairnessMetric,
    /// (Σx)² / (n·Σx²): 1 when every client got the same, `worst` when one got everything.
    pub index: f64,
    /// Clients the index covers.
    pub n: u32,
    /// The lower end of the index's range, 1/n.
    pub worst: f64,
}

/// The share a fairness index compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FairnessMetric {
    /// Application payload, both directions, bits per second.
    Goodput,
    /// Requests or round trips completed per second.
    RequestRate,
    /// Handshakes completed per second.
    HandshakeRate,
}

/// How a merged session's latency percentiles were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LatencySource {
    /// The clients' HdrHistograms (`end.latency.histogram`), summed bucket by bucket.
    MergedHistograms,
    /// A histogram of the raw samples of a client whose record carries no histogram.
    RawSamples,
}

/// One client of a merged session: where its record came from, when it ran on the session's time line,
/// and its own figures.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FleetClient {
    /// The client's index in the session: its pod's completion index, or its file's position.
    pub index: u32,
    /// Where its record came from: a file, or `pod/NAME`.
    pub source: String,
    /// Its pod; null when read from a file.
    pub pod: Option<String>,
    /// The node its pod ran on; null when not known.
    pub node: Option<String>,
    /// Its host's name (`environment.hostname`); null when it left no record.
    pub host: Option<String>,
    /// Its testbed fingerprint; null when it left no record.
    pub fingerprint: Option<String>,
    /// How it ended: `errored` also when its pod failed or it left no record.
    pub state: RunState,
    /// Why it errored (its run's error, its pod's failure, or the missing record); null when it did not.
    pub error: Option<ErrorInfo>,
    /// When its run's clock started, seconds on the session's time line; null without a record.
    pub start_s: Option<f64>,
    /// When its last byte was confirmed, seconds on the session's time line; null without a record.
    pub end_s: Option<f64>,
    /// Its `start.lateUs`, microseconds.
    pub late_us: Option<i64>,
    /// Its `start.late`.
    pub late: Option<bool>,
    /// Its host's clock synchronisation (`start.clock`).
    pub clock: Option<ClockSync>,
    /// Application payload bytes it sent.
    pub bytes_sent: Option<u64>,
    /// Application payload bytes it received.
    pub bytes_received: Option<u64>,
    /// Requests, round trips or handshakes it completed.
    pub completed: Option<u64>,
    /// Its goodput over its own duration, bits per second (application payload, both directions).
    pub goodput_bps: Option<f64>,
    /// Its goodput within the session's steady span, bits per second; null without a steady span.
    pub steady_goodput_bps: Option<f64>,
    /// Its requests, round trips or handshakes per second within the steady span; null for transfers and
    /// without a steady span.
    pub steady_rate: Option<f64>,
    /// Its own latency figures; null when it timed nothing.
    pub latency: Option<ClientLatency>,
}

/// A client's own latency figures, microseconds (its `end.latency`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientLatency {
    /// Samples.
    pub n: u64,
    /// The median, us; null when its sample cannot bound it.
    pub p50_us: Option<f64>,
    /// The 99th percentile, us; null when its sample cannot bound it.
    pub p99_us: Option<f64>,
}

/// A run told to start at a common instant (`run --start-at`), as the caller waited for it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartContext {
    /// The instant waited for (RFC 3339, UTC, e.g. `2026-11-30T12:00:00.000Z`).
    pub at: Rfc3339,
    /// A start more than this after `at` counts as late, microseconds.
    pub tolerance_us: u64,
    /// The host's clock synchronisation, read before waiting.
    pub clock: ClockSync,
}

/// An instant as RFC 3339 text in UTC (`…Z`), read into microseconds since the Unix epoch as well.
#[derive(Debug, Clone)]
pub struct Rfc3339 {
    text: String,
    unix_us: u64,
}

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let unix_us = humantime::parse_rfc3339(&text)
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_micros() as u64)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("\"{text}\" is not an RFC 3339 instant in UTC after 1970"))
            })?;
        Ok(Rfc3339 { text, unix_us })
    }
}

impl JsonSchema for Rfc3339 {
    fn schema_name() -> Cow<'static, str> {
        "Rfc3339".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// What the caller adds to what the engine measured: who ran it, where and when.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordContext {
    /// The package version written as `tool.version`.
    pub tool_version: String,
    pub session: Session,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The server measured: `[v6addr]:port` (a link-local address with its zone as an interface index,
    /// `[fe80::1%2]:4433`) or `v4addr:port`.
    pub target: String,
    /// The server runs in this process.
    pub embedded_server: bool,
    pub host: Host,
    /// The instant the run waited for (`run --start-at`); absent when it started at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartContext>,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn bps(bytes: u64, ns: u64) -> f64 {
    if ns > 0 {
        (bytes as f64 * 8.0 * 1e9) / ns as f64
    } else {
        0.0
    }
}

impl SideRecord {
    /// One side of a period `ns` long.
    fn of(side: &SideInterval) -> SideRecord {
        let c = &side.counters;
        let p = &side.path;
        let any = p.connections > 0;
        SideRecord {
            connections: p.connections,
            packets_sent: c.packets_sent,
            packets_received: c.packets_received,
            lost: c.lost,
            retrans: c.retrans,
            data_blocked: Some(c.data_blocked),
            stream_data_blocked: Some(c.stream_data_blocked),
            rtt_us: p.rtt_ns().map(us),
            min_rtt_us: p.min_rtt_ns.map(us),
            rttvar_us: p.rttvar_ns().map(us),
            cwnd: any.then_some(p.cwnd),
            delivery_rate_bps: any.then_some(p.delivery_rate * 8),
            pmtu: p.pmtu,
            pacing_rate_bps: (c.paced_span_ns > 0).then(|| bps(c.paced_bytes, c.paced_span_ns)),
            pacing_wait_s: Some(seconds(c.pacing_wait_ns)),
            cpu_s: seconds(c.cpu_ns),
            busiest_thread_cpu_s: Some(seconds(side.busiest_thread.cpu_ns)),
            busiest_thread_run_delay_s: Some(seconds(side.busiest_thread.run_delay_ns)),
        }
    }
}

impl From<&Interval> for IntervalRecord {
    fn from(i: &Interval) -> Self {
        IntervalRecord {
            index: i.index,
            start_s: seconds(i.start_ns),
            end_s: seconds(i.end_ns),
            bytes_sent: i.bytes_sent,
            bytes_received: i.bytes_received,
            goodput_bps: bps(i.bytes_sent + i.bytes_received, i.end_ns.saturating_sub(i.start_ns)),
            completed: i.completed,
            client: SideRecord::of(&i.client),
            server: i.server.as_ref().map(SideRecord::of),
        }
    }
}

impl From<&Interval> for ClosingRecord {
    fn from(i: &Interval) -> Self {
        ClosingRecord {
            start_s: seconds(i.start_ns),
            end_s: seconds(i.end_ns),
            bytes_sent: i.bytes_sent,
            bytes_received: i.bytes_received,
            client: SideRecord::of(&i.client),
            server: i.server.as_ref().map(SideRecord::of),
        }
    }
}

impl SideTotals {
    fn of(c: &SideCounters, busiest: ThreadTime) -> SideTotals {
        SideTotals {
            packets_sent: c.packets_sent,
            packets_received: c.packets_received,
            udp_bytes_sent: c.udp_bytes_sent,
            udp_bytes_received: c.udp_bytes_received,
            lost: c.lost,
            retrans: c.retrans,
            data_blocked: Some(c.data_blocked),
            stream_data_blocked: Some(c.stream_data_blocked),
            pacing_wait_s: Some(seconds(c.pacing_wait_ns)),
            cpu_s: seconds(c.cpu_ns),
            busiest_thread_cpu_s: Some(seconds(busiest.cpu_ns)),
            busiest_thread_run_delay_s: Some(seconds(busiest.run_delay_ns)),
        }
    }
}

impl ConnectionSideRecord {
    fn of(c: &SideCounters, path: Option<&PathSample>) -> ConnectionSideRecord {
        let sampled = path.filter(|p| p.has_rtt_sample());
        ConnectionSideRecord {
            packets_sent: c.packets_sent,
            packets_received: c.packets_received,
            lost: c.lost,
            retrans: c.retrans,
            data_blocked: Some(c.data_blocked),
            stream_data_blocked: Some(c.stream_data_blocked),
            rtt_us: sampled.map(|p| us(p.rtt_ns)),
            min_rtt_us: sampled.and_then(|p| p.min_rtt_ns).map(us),
            cwnd: path.map(|p| p.cwnd),
            pmtu: path.map(|p| p.pmtu),
        }
    }
}

impl From<&ConnectionResult> for ConnectionRecord {
    fn from(c: &ConnectionResult) -> Self {
        ConnectionRecord {
            index: c.index,
            state: c.state,
            error: c.error.clone(),
            bytes_sent: c.bytes_sent,
            bytes_received: c.bytes_received,
            streams_completed: c.streams_completed,
            streams_failed: c.streams_failed,
            streams_rejected: c.streams_rejected,
            connect_us: c.connect_ns.map(us),
            handshake_us: c.handshake_ns.map(us),
            client: ConnectionSideRecord::of(&c.counters, c.path.as_ref()),
        }
    }
}

impl From<&LatencySummary> for LatencyRecord {
    /// Applies the percentile rule: a percentile the sample cannot bound at 95% is null, with the reason.
    fn from(l: &LatencySummary) -> Self {
        let mut undetermined = Vec::new();
        let mut determined = |p: Percentile, ns: u64| {
            let needed = p.min_samples();
            if l.n >= needed {
                return Some(us(ns));
            }
            undetermined.push(Undetermined {
                percentile: p,
                min_samples: needed,
                reason: format!(
                    "{} samples cannot bound {}: a distribution-free {}% interval needs at least {needed}",
                    l.n,
                    p.as_str(),
                    PERCENTILE_LEVEL * 100.0
                ),
            });
            None
        };
        let p50_us = determined(Percentile::P50, l.p50_ns);
        let p90_us = determined(Percentile::P90, l.p90_ns);
        let p99_us = determined(Percentile::P99, l.p99_ns);
        let p999_us = determined(Percentile::P999, l.p999_ns);
        LatencyRecord {
            unit: LatencyUnit::Us,
            method: LatencyMethod::HdrHistogram3,
            n: l.n,
            min_us: us(l.min_ns),
            mean_us: l.mean_ns / 1e3,
            p50_us,
            p90_us,
            p99_us,
            p999_us,
            max_us: us(l.max_ns),
            histogram: l.histogram.clone(),
            undetermined,
        }
    }
}

impl RunRecord {
    /// The record of a run: what the engine measured (`result`, of `scenario`) in the record's units, with
    /// what the caller knows (`context`). `snapshots_dropped`: interval snapshots the caller missed live.
    pub fn new(scenario: &Scenario, result: &RunResult, context: RecordContext, snapshots_dropped: u64) -> RunRecord {
        let t = &result.totals;
        let rate = (result.duration_ns > 0).then(|| t.completed as f64 * 1e9 / result.duration_ns as f64);
        let rate_of = |r: Rate| scenario.kind.spec().rate.filter(|k| *k == r).map(|_| rate.unwrap_or(0.0));
        let count = |state: RunState| result.connections.iter().filter(|c| c.state == state).count() as u64;
        let server_end = result.server.end.as_ref();
        let end = EndRecord {
            state: result.state,
            error: result.error.clone(),
            too_short: result.too_short.clone(),
            duration_s: seconds(result.duration_ns),
            bytes_sent: t.bytes_sent,
            bytes_received: t.bytes_received,
            goodput_bps: bps(t.bytes_sent + t.bytes_received, result.duration_ns),
            completed: t.completed,
            requests_per_second: rate_of(Rate::Requests),
            handshakes_per_second: rate_of(Rate::Handshakes),
            latency: result.latency.as_ref().map(LatencyRecord::from),
            connections: ConnectionCounts {
                total: result.connections.len() as u64,
                completed: count(RunState::Completed),
                errored: count(RunState::Errored),
                cancelled: count(RunState::Cancelled),
            },
            snapshots_dropped,
            client: SideTotals::of(&t.side, result.busiest_thread),
            server: server_end.map(|e| SideTotals::of(&e.totals.counters, e.totals.busiest_thread)),
            server_stats: None,
        };
        RunRecord {
            schema_version: SchemaVersion,
            tool: Tool { name: ToolName::StoqBench, version: context.tool_version },
            session: context.session,
            started_at: context.started_at,
            target: context.target,
            embedded_server: context.embedded_server,
            server_view: ServerView { source: result.server.source, reason: result.server.reason.clone() },
            scenario: scenario.clone(),
            environment: Environment {
                host: context.host,
                client: SideEnvironment {
                    settings: scenario.settings.clone(),
                    pacing: result.pacing,
                    gso: result.fast_path.gso,
                    gro: result.fast_path.gro,
                    fast_path: result.fast_path.clone(),
                },
                server: server_end.map(|e| SideEnvironment {
                    settings: e.settings.clone(),
                    pacing: e.pacing,
                    gso: e.fast_path.gso,
                    gro: e.fast_path.gro,
                    fast_path: e.fast_path.clone(),
                }),
            },
            intervals: result.intervals.iter().map(IntervalRecord::from).collect(),
            closing: Some(ClosingRecord::from(&result.closing)),
            connections: result.connections.iter().map(ConnectionRecord::from).collect(),
            end,
            start: Some(StartRecord::new(result.anchor_unix_us, context.start)),
            samples: (!result.latency_ns.is_empty())
                .then(|| Samples { latency_us: result.latency_ns.iter().map(|&ns| us(ns)).collect() }),
            fleet: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_rule_matches_the_order_statistics() {
        // The same values as minSampleForQuantile in src/stats/quantile.ts.
        assert_eq!(Percentile::P50.min_samples(), 6);
        assert_eq!(Percentile::P90.min_samples(), 36);
        assert_eq!(Percentile::P99.min_samples(), 368);
        assert_eq!(Percentile::P999.min_samples(), 3688);
        // p99: the sample maximum exceeds it with probability 1 - 0.99^n, at least 97.5% from n = 368 on.
        assert!(0.99f64.powi(368) <= 0.025 && 0.99f64.powi(367) > 0.025);
    }

    #[test]
    fn a_small_sample_leaves_the_high_percentiles_null_with_the_reason() {
        let mut lat = crate::metrics::Latencies::default();
        for (i, ns) in [30_000, 31_000, 32_000, 33_000, 90_000].into_iter().enumerate() {
            lat.record(ns, i as u64);
        }
        let r = LatencyRecord::from(&lat.summary().unwrap());
        assert_eq!((r.n, r.p50_us, r.p90_us, r.p99_us, r.p999_us), (5, None, None, None, None));
        assert_eq!(r.undetermined.iter().map(|u| u.min_samples).collect::<Vec<_>>(), vec![6, 36, 368, 3688]);
        assert!(r.undetermined[2].reason.contains("5 samples cannot bound p99"), "{}", r.undetermined[2].reason);
        assert!((r.max_us - 90.0).abs() <= 0.09, "the histogram keeps 3 significant digits: {}", r.max_us);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["p99Us"].is_null());

        for i in 0..400 {
            lat.record(40_000 + i, i);
        }
        let r = LatencyRecord::from(&lat.summary().unwrap());
        assert!(r.p50_us.is_some() && r.p99_us.is_some() && r.p999_us.is_none());
        assert_eq!(r.undetermined.len(), 1);
    }

    fn start_context(json: serde_json::Value) -> serde_json::Result<StartContext> {
        serde_json::from_value(json)
    }

    #[test]
    fn the_start_says_how_late_the_run_clock_started_against_the_instant() {
        let clock = serde_json::json!({ "source": null, "synchronized": null, "reference": null, "offsetUs": null,
            "errorBoundUs": null, "detail": "unknown" });
        let waited = start_context(
            serde_json::json!({ "at": "2026-12-01T10:00:00.000Z", "toleranceUs": 50_000, "clock": clock }),
        )
        .expect("a start context");
        // 2026-12-01T10:00:00Z is 1_796_119_200 s after the epoch
        let at_us = 1_796_119_200_000_000u64;
        let s = StartRecord::new(at_us + 30_000, Some(waited.clone()));
        assert_eq!(
            (s.at.as_deref(), s.late_us, s.tolerance_us, s.late),
            (Some("2026-12-01T10:00:00.000Z"), Some(30_000), Some(50_000), Some(false))
        );
        assert_eq!(StartRecord::new(at_us + 50_001, Some(waited.clone())).late, Some(true));
        assert_eq!(StartRecord::new(at_us - 5, Some(waited)).late_us, Some(-5));
        let alone = StartRecord::new(at_us, None);
        assert_eq!((alone.anchor_unix_us, alone.at, alone.late_us, alone.late), (at_us, None, None, None));
    }

    #[test]
    fn a_start_instant_must_be_rfc3339_in_utc() {
        let clock = serde_json::json!({ "source": "chronyc", "synchronized": true, "reference": "PHC0",
            "offsetUs": 0.5, "errorBoundUs": 3.0, "detail": "Leap status: Normal" });
        for at in ["2026-12-01T10:00:00", "2026-12-01 10:00", "yesterday", "1969-12-31T23:59:59Z"] {
            let e = start_context(serde_json::json!({ "at": at, "toleranceUs": 1, "clock": clock })).unwrap_err();
            assert!(e.to_string().contains("is not an RFC 3339 instant"), "{at}: {e}");
        }
    }
}
