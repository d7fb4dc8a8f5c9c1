//! The `perf` client: runs a scenario against a server and measures it. One I/O thread per worker
//! ([`worker`]), each owning a share of the connection slots ([`slot`]; one UDP socket per connection, so
//! a multi-threaded server spreads them over its workers); what happens on a connection is the scenario
//! kind's workload (`crate::workload`). Interval snapshots flow to the caller as they happen; the run's
//! result holds every interval, per-connection outcomes, raw latency samples and the fast-path record.

mod descriptors;
mod remote_view;
mod slot;
pub(crate) mod streams;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::unbounded;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::address::{self, AddressUse};
use crate::config::{quiche_config, Role};
use crate::error::{duration_words, Error, ErrorInfo, Result};
use crate::metrics::{Counters, Interval, Latencies, LatencySummary, PathGauges, PathSample, SideCounters, ThreadTime};
use crate::scenario::{limit, Scenario};
use crate::socket::{FastPath, Socket};
use crate::view::{Board, ServerEnd, ServerSide, ViewReader, ViewSource};
pub use descriptors::ensure_descriptors;
pub use remote_view::{RemoteView, VIEW_WAIT};
pub(crate) use slot::Slot;
pub(crate) use worker::Meter;
pub use worker::HANDSHAKES_IN_FLIGHT;
use worker::{Worker, WorkerResult};

pub struct RunOptions {
    /// The server to measure: one unicast address and a port other than 0, a link-local one with its
    /// zone (`sin6_scope_id`); `crate::address::parse_address` reads one as people type it.
    pub target: SocketAddr,
    /// Interval length, ns (at least 10 ms).
    ///
    /// @default 1 s
    pub interval_ns: u64,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<PathBuf>,
    /// TLS server name sent in the handshake.
    ///
    /// @default "localhost"
    pub server_name: String,
    /// Client certificate and private key (PEM files), for servers that require one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Where the server's side of the run is read from.
    pub server_view: ServerAccess,
}

/// Where the server's side of a run can be read.
pub enum ServerAccess {
    /// A server in this process: its board is read directly.
    Embedded(Arc<Board>),
    /// The target, if it is a stoq-bench server that shares its view: asked over a view connection
    /// ([`RemoteView`]); any other peer's side is recorded as unknown, with the reason.
    Remote,
    /// None: the record says the server's side is unknown, and why.
    Unknown(String),
}

/// Interval length when none is given, ns.
pub const DEFAULT_INTERVAL_NS: u64 = 1_000_000_000;

/// TLS server name sent when none is given.
pub const DEFAULT_SERVER_NAME: &str = "localhost";

impl RunOptions {
    pub fn new(target: SocketAddr) -> RunOptions {
        RunOptions {
            target,
            interval_ns: DEFAULT_INTERVAL_NS,
            qlog_dir: None,
            server_name: DEFAULT_SERVER_NAME.into(),
            client_cert: None,
            server_view: ServerAccess::Unknown("the server's view was not asked for".into()),
        }
    }
}

/// After a run's stop condition (its deadline passed, its count budget spent, or a cancel), work in
/// flight at that moment (a request, an upload's last window, a handshake) has this long to finish. A
/// connection still busy then is closed, and what it left unfinished is its error (`TIMEOUT`).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Longest wait, once a connection's close is asked for, for the close to leave and quiche's closing
/// period (3 PTO, RFC 9000 §10.2) to pass. A close held back by a full congestion window leaves at the
/// next PTO; one that cannot leave by then is left to the peer's idle timeout.
pub const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Cancels a run from another thread; the run then returns what it measured, marked cancelled, within
/// [`CLOSE_WAIT`] (plus one pass of its event loop).
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Relaxed)
    }
}

/// How a run or a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Everything asked for was done.
    Completed,
    /// The caller cancelled; what was measured until then is kept.
    Cancelled,
    /// A connection failed (its error says why).
    Errored,
}

/// How one connection (slot) ended. For `handshakes`, a slot runs many connections in turn.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionResult {
    pub index: u32,
    pub state: RunState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Streams that ended with their FIN seen and every requested byte received.
    pub streams_completed: u64,
    pub streams_failed: u64,
    /// Streams the server refused with perf error 2 (rejected: e.g. above its largest response); not
    /// counted in `streams_failed`.
    pub streams_rejected: u64,
    /// When the slot's first connection opened, ns since the run started; None when it never opened.
    /// Connections open as earlier handshakes complete (`HANDSHAKES_IN_FLIGHT`), not all at the start.
    pub connect_ns: Option<u64>,
    /// Time from connect to handshake completion (the first connection of the slot), ns.
    pub handshake_ns: Option<u64>,
    /// The client's counters of the slot's connections.
    pub counters: SideCounters,
    /// quiche's path state of its last connection at the end.
    pub path: Option<PathSample>,
}

/// What a run measured, in the engine's units (ns, bytes); `crate::record` turns it into a run record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub state: RunState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The wall clock (CLOCK_REALTIME) when the run's clock started, i.e. at the origin of every time in
    /// this result, microseconds since the Unix epoch: what lines up the runs of several hosts.
    pub anchor_unix_us: u64,
    /// From the first connect to the last byte confirmed (upload: the server's response FIN), ns.
    pub duration_ns: u64,
    /// The client's totals.
    pub totals: Counters,
    /// The client's busiest I/O thread over the run.
    pub busiest_thread: ThreadTime,
    /// The intervals of the transfer; the last ends with it.
    pub intervals: Vec<Interval>,
    /// From the end of the transfer until every connection closed (quiche's closing period): its packets
    /// and CPU time, apart from the transfer's intervals.
    pub closing: Interval,
    pub connections: Vec<ConnectionResult>,
    pub fast_path: FastPath,
    /// How packets were paced.
    pub pacing: Pacing,
    /// How the server's side was obtained, and what it was at the end.
    pub server: ServerResult,
    /// Why the run is too short to measure the transfer (a duration that ended before the handshakes, or
    /// before anything moved); None when it is not.
    pub too_short: Option<String>,
    pub latency: Option<LatencySummary>,
    /// Raw per-request, per-round-trip or per-handshake latencies, ns, in completion order.
    #[serde(skip)]
    pub latency_ns: Vec<u64>,
    /// When each latency sample completed, ns since the run started.
    #[serde(skip)]
    pub latency_at_ns: Vec<u64>,
}

/// The server's side of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerResult {
    pub source: ViewSource,
    /// Why the server's side is unknown.
    pub reason: Option<String>,
    /// The server's settings, fast path and totals at the end, when its side is known.
    pub end: Option<ServerEnd>,
}

/// Which pacing was in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Pacing {
    /// Packets held until quiche's release times, in user space (this kernel has no fq for SO_TXTIME).
    UserSpace,
    /// Packets sent as soon as quiche gives them.
    Off,
}

/// Runs `scenario` against `options.target`, calling `on_interval` as each interval completes.
/// Fails only when the run cannot start; a connection that fails is data in the result.
///
/// Every run stops, whatever its size. From its stop condition (the deadline, the count budget spent)
/// on, no stream, request or connection starts, endless replies are stopped (STOP_SENDING) and endless
/// uploads end (FIN), those of streams that open later included; work in flight has [`STOP_GRACE`] to
/// finish, then each connection closes and is done within [`CLOSE_WAIT`]: the run returns at most
/// `STOP_GRACE + CLOSE_WAIT` (3 s) after its stop condition. A cancel closes every connection at once,
/// whenever it comes (before or after the deadline): the run returns within `CLOSE_WAIT` (1 s). Both
/// bounds add one pass of the event loop (a look at the clock at least every 50 ms) to the times of
/// quiche itself; a run stopped only by its byte count ends when the bytes are in, then closes within
/// `CLOSE_WAIT`.
pub fn run(
    scenario: &Scenario,
    options: &RunOptions,
    cancel: &Cancel,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunResult> {
    let interval = limit("intervalNs");
    if options.interval_ns < interval.min {
        return Err(Error::invalid_field(
            interval.field,
            format!("interval must be at least {}ms", interval.min / 1_000_000),
        ));
    }
    interval.check(options.interval_ns)?;
    address::check(options.target, AddressUse::Target)?;
    let threads = scenario.settings.threads.min(scenario.connections).max(1);
    ensure_descriptors(scenario, options.qlog_dir.is_some())?;
    if let Some(dir) = &options.qlog_dir {
        std::fs::create_dir_all(dir)?;
    }
    // One configuration per worker; a certificate that cannot be loaded fails the run before it starts.
    let configs = (0..threads)
        .map(|_| quiche_config(&scenario.settings, &client_role(&options.client_cert)))
        .collect::<Result<Vec<_>>>()?;
    let local = local_address_for(options.target)?;
    // The server's state at the start, before any connection of the run; read before the run's clock
    // starts, so that a slow view handshake (a busy server) takes nothing from the run's duration.
    let (mut server_side, unknown) = match open_server_side(options) {
        Ok(side) => (Some(side), None),
        Err(why) => (None, Some(why)),
    };
    // Sockets are bound (as the workers' configurations were built) before the run's clock starts: a bind
    // failure is an error of the run, not of a connection, and setting up takes nothing from the run's time.
    let mut per_worker: Vec<Vec<(u32, Socket)>> = (0..threads).map(|_| Vec::new()).collect();
    for i in 0..scenario.connections {
        let mut sock = Socket::bind(local, false, scenario.settings.gso)
            .map_err(|e| Error::Io(format!("cannot bind a client socket on {local}: {e}")))?;
        if let Some(bytes) = scenario.settings.recv_buffer {
            sock.set_recv_buffer(bytes)
                .map_err(|e| Error::Io(format!("cannot size a client socket's receive buffer: {e}")))?;
        }
        per_worker[(i % threads) as usize].push((i, sock));
    }
    let start = Instant::now();
    // read right after the monotonic origin: the wall-clock time of the run's zero
    let anchor_unix_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let plan = Arc::new(Plan {
        scenario: scenario.clone(),
        target: options.target,
        server_name: options.server_name.clone(),
        qlog_dir: options.qlog_dir.clone(),
        start,
        deadline: scenario.duration_ns.map(|d| start + Duration::from_nanos(d)),
        interval: Duration::from_nanos(options.interval_ns),
        issued: AtomicU64::new(0),
        cancel: cancel.clone(),
    });
    let (tx, rx) = unbounded::<Report>();
    let mut handles = Vec::new();
    for (w, (slots, config)) in per_worker.into_iter().zip(configs).enumerate() {
        let plan = plan.clone();
        let tx = tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("stoq-client-{w}"))
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Box::new(Worker::new(w, plan, slots, config, tx.clone()).run())
                }));
                let _ = tx.send(Report::Done(w, result.map_err(|p| panic_message(&p))));
            })
            .map_err(|e| Error::Io(format!("cannot start a client thread: {e}")))?;
        handles.push(handle);
    }
    drop(tx);

    // Combine the workers' ticks into intervals, in order, as soon as every worker has reported one.
    let workers = handles.len();
    let mut reported = vec![-1i64; workers];
    let mut finished: Vec<Option<WorkerResult>> = (0..workers).map(|_| None).collect();
    let mut pending: HashMap<u32, Interval> = HashMap::new();
    let mut intervals = Vec::new();
    let mut panicked = None;
    for report in rx.iter() {
        match report {
            Report::Tick(w, tick) => {
                // After its last tick a worker reports no more intervals: later ones need not wait for it.
                reported[w] = if tick.last { i64::MAX } else { tick.index as i64 };
                let slot =
                    pending.entry(tick.index).or_insert_with(|| Interval { index: tick.index, ..Default::default() });
                slot.start_ns = tick.start_ns;
                slot.end_ns = slot.end_ns.max(tick.end_ns);
                slot.bytes_sent += tick.delta.bytes_sent;
                slot.bytes_received += tick.delta.bytes_received;
                slot.completed += tick.delta.completed;
                slot.client.counters.add(&tick.delta.side);
                slot.client.busiest_thread = slot.client.busiest_thread.busier(tick.delta.side.thread());
                slot.client.path.merge(&tick.path);
            }
            Report::Connected(cid) => {
                if let Some(s) = server_side.as_mut() {
                    s.add_connection(&cid);
                }
            }
            Report::Done(w, Ok(result)) => finished[w] = Some(*result),
            Report::Done(w, Err(message)) => {
                panicked = Some(Error::Internal(format!("client worker {w} panicked: {message}")));
                finished[w] = Some(WorkerResult::default());
            }
        }
        loop {
            let next = intervals.len() as u32;
            let ready = pending.contains_key(&next)
                && (0..workers).all(|w| reported[w] >= next as i64 || finished[w].is_some());
            if !ready {
                break;
            }
            let mut interval = pending.remove(&next).expect("checked above");
            interval.server = server_side.as_mut().and_then(ServerSide::interval);
            on_interval(&interval);
            intervals.push(interval);
        }
    }
    for h in handles {
        let _ = h.join();
    }
    if let Some(e) = panicked {
        return Err(e);
    }
    let mut connections = Vec::new();
    let mut totals = Counters::default();
    let mut busiest_thread = ThreadTime::default();
    let mut fast_path = FastPath::default();
    let mut latencies = Latencies::default();
    let mut end_ns = 0;
    let mut closing = Interval { index: intervals.len() as u32, start_ns: u64::MAX, ..Interval::default() };
    for r in finished.into_iter().flatten() {
        connections.extend(r.connections);
        totals.add(&r.totals);
        busiest_thread = busiest_thread.busier(r.totals.side.thread());
        fast_path.merge(&r.fast_path);
        latencies.append(r.latencies);
        end_ns = end_ns.max(r.end_ns);
        let c = &r.closing;
        closing.start_ns = closing.start_ns.min(c.start_ns);
        closing.end_ns = closing.end_ns.max(c.end_ns);
        closing.bytes_sent += c.delta.bytes_sent;
        closing.bytes_received += c.delta.bytes_received;
        closing.completed += c.delta.completed;
        closing.client.counters.add(&c.delta.side);
        closing.client.busiest_thread = closing.client.busiest_thread.busier(c.delta.side.thread());
    }
    closing.start_ns = closing.start_ns.min(closing.end_ns);
    closing.server = server_side.as_mut().and_then(ServerSide::interval);
    let server = match server_side.as_mut().map(|s| (s.source(), s.end())) {
        Some((source, Ok(end))) => ServerResult { source, reason: None, end: Some(end) },
        Some((_, Err(why))) => ServerResult { source: ViewSource::Unknown, reason: Some(why), end: None },
        None => ServerResult { source: ViewSource::Unknown, reason: unknown, end: None },
    };
    // A remote view's connection closes here, before the run returns.
    drop(server_side);
    connections.sort_by_key(|c| c.index);
    let error = connections.iter().find_map(|c| c.error.clone());
    let state = if cancel.is_cancelled() {
        RunState::Cancelled
    } else if connections.iter().any(|c| c.state == RunState::Errored) {
        RunState::Errored
    } else {
        RunState::Completed
    };
    let too_short = if state == RunState::Completed { too_short(scenario, &connections, &totals) } else { None };
    Ok(RunResult {
        state,
        error,
        anchor_unix_us,
        duration_ns: end_ns,
        totals,
        busiest_thread,
        intervals,
        closing,
        connections,
        fast_path,
        pacing: if scenario.settings.pacing { Pacing::UserSpace } else { Pacing::Off },
        server,
        too_short,
        latency: latencies.summary(),
        latency_ns: latencies.raw_ns,
        latency_at_ns: latencies.at_ns,
    })
}

/// The server's side of a run, read at its start; the error says why it is unknown.
fn open_server_side(options: &RunOptions) -> std::result::Result<ServerSide, String> {
    let reader: Box<dyn ViewReader> = match &options.server_view {
        ServerAccess::Embedded(board) => Box::new(board.clone()),
        ServerAccess::Remote => {
            Box::new(RemoteView::connect(options.target, &options.server_name, &options.client_cert)?)
        }
        ServerAccess::Unknown(why) => return Err(why.clone()),
    };
    ServerSide::new(reader)
}

/// Why a completed run is too short to measure its transfer: its duration ended before a connection's
/// handshake completed (its streams never opened), or before anything moved.
fn too_short(scenario: &Scenario, connections: &[ConnectionResult], totals: &Counters) -> Option<String> {
    let duration = scenario.duration_ns?;
    let late: Vec<u64> = connections.iter().filter_map(|c| c.handshake_ns.filter(|&h| h >= duration)).collect();
    if let Some(first) = late.iter().min() {
        return Some(format!(
            "the duration ({}) ended before {} of {} connection(s) completed the handshake (the first after {})",
            duration_words(duration),
            late.len(),
            connections.len(),
            duration_words(*first)
        ));
    }
    (totals.bytes_sent + totals.bytes_received + totals.completed == 0)
        .then(|| format!("nothing was transferred or completed within the duration ({})", duration_words(duration)))
}

/// The client's TLS role: with a certificate when one was given.
pub(crate) fn client_role(cert: &Option<(PathBuf, PathBuf)>) -> Role<'_> {
    Role::Client { cert: cert.as_ref().map(|(c, k)| (c.as_path(), k.as_path())) }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// The local address the kernel would use to reach `target` (port 0): a specific address, so that
/// quiche's path is the one packets really arrive on.
fn local_address_for(target: SocketAddr) -> Result<SocketAddr> {
    let any: SocketAddr = if target.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse().expect("literal");
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(target).map_err(|e| Error::Io(format!("no route to {target}: {e}")))?;
    let mut local = probe.local_addr()?;
    local.set_port(0);
    Ok(local)
}

/// What every worker shares.
pub(crate) struct Plan {
    pub scenario: Scenario,
    pub target: SocketAddr,
    pub server_name: String,
    pub qlog_dir: Option<PathBuf>,
    pub start: Instant,
    pub deadline: Option<Instant>,
    pub interval: Duration,
    /// Requests or handshakes started so far, across workers (count-limited runs).
    pub issued: AtomicU64,
    pub cancel: Cancel,
}

impl Plan {
    pub fn ns_since_start(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_nanos() as u64
    }

    /// Takes one unit of a count budget (or checks the clock for duration runs).
    pub fn may_start_another(&self, now: Instant) -> bool {
        if self.cancel.is_cancelled() || self.deadline.is_some_and(|d| now >= d) {
            return false;
        }
        match self.scenario.count {
            Some(count) => self.issued.fetch_add(1, Relaxed) < count,
            None => true,
        }
    }

    /// No new unit of work may start: cancelled, past the deadline, or the count budget spent.
    pub fn budget_over(&self, now: Instant) -> bool {
        self.cancel.is_cancelled()
            || self.deadline.is_some_and(|d| now >= d)
            || self.scenario.count.is_some_and(|c| self.issued.load(Relaxed) >= c)
    }
}

/// One worker's share of an interval.
struct Tick {
    index: u32,
    start_ns: u64,
    end_ns: u64,
    delta: Counters,
    path: PathGauges,
    /// The worker's transfer ended with this interval.
    last: bool,
}

enum Report {
    Tick(usize, Tick),
    /// A connection was established; the server chose this connection ID.
    Connected(Vec<u8>),
    Done(usize, std::result::Result<Box<WorkerResult>, String>),
}
