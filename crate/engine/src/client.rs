//! The `perf` client: runs a scenario against a server and measures it. One I/O thread per worker, each
//! owning a share of the connections (one UDP socket per connection, so a multi-threaded server spreads
//! them over its workers). Interval snapshots flow to the caller as they happen; the run's result holds
//! every interval, per-connection outcomes, raw latency samples and the fast-path record.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Sender};
use mio::{Events, Poll, Token};
use quinn_udp::RecvMeta;
use serde::Serialize;

use crate::config::{quiche_config, Role};
use crate::error::{connection_error, Error, Result};
use crate::metrics::{thread_cpu_ns, Counters, Interval, Latencies, LatencySummary, PathGauges};
use crate::protocol::{encode_request, error_code, stream_id, HEADER_LEN, UNTIL_STOPPED};
use crate::scenario::{Kind, Scenario, StreamType};
use crate::socket::{DropTable, FastPath, Flushed, Outbox, Socket, RECV_BATCH, RECV_SLOT_BYTES};
use crate::{qlog_writer, random_bytes, send_chunk};

pub struct RunOptions {
    /// The server to measure.
    pub target: SocketAddr,
    /// Interval length, ns (at least 10 ms). @default 1 s
    pub interval_ns: u64,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<PathBuf>,
    /// TLS server name sent in the handshake. @default "localhost"
    pub server_name: String,
}

impl RunOptions {
    pub fn new(target: SocketAddr) -> RunOptions {
        RunOptions { target, interval_ns: 1_000_000_000, qlog_dir: None, server_name: "localhost".into() }
    }
}

/// Cancels a run from another thread; the run then returns what it measured, marked cancelled.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Completed,
    Cancelled,
    Errored,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo { code: e.code(), message: e.message() }
    }
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
    /// Time from connect to handshake completion (the first connection of the slot), ns.
    pub handshake_ns: Option<u64>,
    /// quiche's view at the end.
    pub packets_sent: u64,
    pub packets_received: u64,
    pub lost: u64,
    pub retrans: u64,
    pub rtt_ns: u64,
    pub min_rtt_ns: u64,
    pub cwnd: u64,
    pub pmtu: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub state: RunState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// From the first connect to the last byte confirmed (upload: the server's response FIN), ns.
    pub duration_ns: u64,
    pub totals: Counters,
    pub intervals: Vec<Interval>,
    pub connections: Vec<ConnectionResult>,
    pub fast_path: FastPath,
    /// "user-space" when pacing was on (this kernel has no fq for SO_TXTIME), "off" otherwise.
    pub pacing: &'static str,
    pub latency: Option<LatencySummary>,
    /// Raw per-request, per-round-trip or per-handshake latencies, ns, in completion order.
    #[serde(skip)]
    pub latency_ns: Vec<u64>,
    /// When each latency sample completed, ns since the run started.
    #[serde(skip)]
    pub latency_at_ns: Vec<u64>,
}

/// Runs `scenario` against `options.target`, calling `on_interval` as each interval completes.
/// Fails only when the run cannot start; a connection that fails is data in the result.
pub fn run(
    scenario: &Scenario,
    options: &RunOptions,
    cancel: &Cancel,
    on_interval: &mut dyn FnMut(&Interval),
) -> Result<RunResult> {
    if options.interval_ns < 10_000_000 {
        return Err(Error::invalid("interval must be at least 10ms"));
    }
    if let Some(dir) = &options.qlog_dir {
        std::fs::create_dir_all(dir)?;
    }
    let local = local_address_for(options.target)?;
    let threads = scenario.settings.threads.min(scenario.connections).max(1);
    let start = Instant::now();
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
    // Sockets are bound here so that a bind failure is an error of the run, not of a connection.
    let mut per_worker: Vec<Vec<(u32, Socket)>> = (0..threads).map(|_| Vec::new()).collect();
    for i in 0..scenario.connections {
        let sock = Socket::bind(local, false, scenario.settings.gso)
            .map_err(|e| Error::Io(format!("cannot bind a client socket on {local}: {e}")))?;
        per_worker[(i % threads) as usize].push((i, sock));
    }
    let (tx, rx) = unbounded::<Report>();
    let mut handles = Vec::new();
    for (w, slots) in per_worker.into_iter().enumerate() {
        let plan = plan.clone();
        let tx = tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("stoq-client-{w}"))
            .spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Worker::new(w, plan, slots, tx.clone()).run()
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
                reported[w] = tick.index as i64;
                let slot =
                    pending.entry(tick.index).or_insert_with(|| Interval { index: tick.index, ..Default::default() });
                slot.start_ns = tick.start_ns;
                slot.end_ns = slot.end_ns.max(tick.end_ns);
                slot.delta.add(&tick.delta);
                slot.path.merge(&tick.path);
            }
            Report::Done(w, Ok(result)) => finished[w] = Some(result),
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
            let interval = pending.remove(&next).expect("checked above");
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
    let mut fast_path = FastPath::default();
    let mut latencies = Latencies::default();
    let mut end_ns = 0;
    for r in finished.into_iter().flatten() {
        connections.extend(r.connections);
        totals.add(&r.totals);
        fast_path.merge(&r.fast_path);
        latencies.append(r.latencies);
        end_ns = end_ns.max(r.end_ns);
    }
    connections.sort_by_key(|c| c.index);
    let error = connections.iter().find_map(|c| c.error.clone());
    let state = if cancel.is_cancelled() {
        RunState::Cancelled
    } else if connections.iter().any(|c| c.state == RunState::Errored) {
        RunState::Errored
    } else {
        RunState::Completed
    };
    Ok(RunResult {
        state,
        error,
        duration_ns: end_ns,
        totals,
        intervals,
        connections,
        fast_path,
        pacing: if scenario.settings.pacing { "user-space" } else { "off" },
        latency: latencies.summary(),
        latency_ns: latencies.raw_ns,
        latency_at_ns: latencies.at_ns,
    })
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
struct Plan {
    scenario: Scenario,
    target: SocketAddr,
    server_name: String,
    qlog_dir: Option<PathBuf>,
    start: Instant,
    deadline: Option<Instant>,
    interval: Duration,
    /// Requests or handshakes started so far, across workers (count-limited runs).
    issued: AtomicU64,
    cancel: Cancel,
}

impl Plan {
    fn ns_since_start(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_nanos() as u64
    }

    /// Takes one unit of a count budget (or checks the clock for duration runs).
    fn may_start_another(&self, now: Instant) -> bool {
        if self.cancel.is_cancelled() || self.deadline.is_some_and(|d| now >= d) {
            return false;
        }
        match self.scenario.count {
            Some(count) => self.issued.fetch_add(1, Relaxed) < count,
            None => true,
        }
    }
}

struct Tick {
    index: u32,
    start_ns: u64,
    end_ns: u64,
    delta: Counters,
    path: PathGauges,
}

enum Report {
    Tick(usize, Tick),
    Done(usize, std::result::Result<WorkerResult, String>),
}

#[derive(Default)]
struct WorkerResult {
    connections: Vec<ConnectionResult>,
    totals: Counters,
    fast_path: FastPath,
    latencies: Latencies,
    end_ns: u64,
}

/// Longest sleep of a worker between looks at the cancel flag.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// How long a stopped reply waits for the server's RESET_STREAM before the connection closes anyway.
const STOP_LINGER: Duration = Duration::from_millis(100);

/// One request stream from the client's side.
struct Flow {
    /// The stream the request goes on, and the one the reply comes on (known later for uni).
    request_id: u64,
    reply_id: Option<u64>,
    header: [u8; HEADER_LEN],
    header_sent: usize,
    /// Upload bytes still to send (`UNTIL_STOPPED`: until the deadline).
    upload_left: u64,
    fin_sent: bool,
    /// Response bytes asked for (`UNTIL_STOPPED`: until the client sends STOP_SENDING).
    expect: u64,
    received: u64,
    /// When the client sent STOP_SENDING on the reply (end of a duration download).
    stopped_at: Option<Instant>,
    started: Instant,
    /// Its round trip is a latency sample (requests, latency).
    timed: bool,
}

/// One connection slot: a socket and the connection(s) it carries.
struct Slot {
    index: u32,
    sock: Socket,
    conn: Option<crate::Connection>,
    outbox: Outbox,
    wake_at: Option<Instant>,
    connect_at: Instant,
    /// Open flows by request stream id (ordered: uploads go out oldest first).
    flows: BTreeMap<u64, Flow>,
    /// Uni replies are matched to requests in the order the server opens them, which need not be the
    /// order of the requests: their bytes are checked per connection, not per stream.
    uni_expected: u64,
    uni_received: u64,
    /// Uni requests waiting for the server to open their reply stream, in order.
    awaiting_reply: VecDeque<u64>,
    reply_to_request: HashMap<u64, u64>,
    opened_bidi: u64,
    opened_uni: u64,
    /// Transfer flows not yet opened: (upload, expect).
    queued: VecDeque<(u64, u64)>,
    closing: bool,
    finished: bool,
    /// Packets or socket space arrived, or the slot changed, since its last pass.
    dirty: bool,
    /// quiche's next timer, cached after each pass.
    timer: Option<Instant>,
    /// Stopped replies wait for the server's reset until this time.
    linger_until: Option<Instant>,
    /// Counters of connections this slot already closed (handshakes).
    retired: Counters,
    result: ConnectionResult,
}

struct Worker {
    id: usize,
    plan: Arc<Plan>,
    slots: Vec<Slot>,
    tx: Sender<Report>,
    latencies: Latencies,
    /// Application payload bytes and completions, cumulative.
    bytes_sent: u64,
    bytes_received: u64,
    completed: u64,
    /// When the last flow or handshake completed (a stopped download: when it was stopped): the end of
    /// the measured transfer, whatever the connection's closing takes after it.
    last_completion: Option<Instant>,
    config: quiche::Config,
    segments: usize,
}

impl Worker {
    fn new(id: usize, plan: Arc<Plan>, socks: Vec<(u32, Socket)>, tx: Sender<Report>) -> Worker {
        let s = &plan.scenario;
        let payload_size = s.settings.payload_size as usize;
        let segments = socks.first().map(|(_, sock)| sock.batch_segments(payload_size)).unwrap_or(1);
        let config = quiche_config(&s.settings, Role::Client).expect("settings were validated");
        let slots = socks
            .into_iter()
            .map(|(index, sock)| Slot {
                index,
                sock,
                conn: None,
                outbox: Outbox::new(payload_size, segments),
                wake_at: None,
                connect_at: plan.start,
                flows: BTreeMap::new(),
                uni_expected: 0,
                uni_received: 0,
                awaiting_reply: VecDeque::new(),
                reply_to_request: HashMap::new(),
                opened_bidi: 0,
                opened_uni: 0,
                queued: transfer_flows(s, index),
                closing: false,
                finished: false,
                dirty: true,
                timer: None,
                linger_until: None,
                retired: Counters::default(),
                result: ConnectionResult {
                    index,
                    state: RunState::Completed,
                    error: None,
                    bytes_sent: 0,
                    bytes_received: 0,
                    streams_completed: 0,
                    streams_failed: 0,
                    handshake_ns: None,
                    packets_sent: 0,
                    packets_received: 0,
                    lost: 0,
                    retrans: 0,
                    rtt_ns: 0,
                    min_rtt_ns: 0,
                    cwnd: 0,
                    pmtu: 0,
                },
            })
            .collect();
        Worker {
            id,
            plan,
            slots,
            tx,
            latencies: Latencies::default(),
            bytes_sent: 0,
            bytes_received: 0,
            completed: 0,
            last_completion: None,
            config,
            segments,
        }
    }

    fn run(mut self) -> WorkerResult {
        let poll = Poll::new().expect("epoll is available");
        for (i, slot) in self.slots.iter_mut().enumerate() {
            slot.sock.register(poll.registry(), Token(i)).expect("a fresh socket registers");
        }
        let mut poll = poll;
        let mut events = Events::with_capacity(1024);
        let mut rx = vec![0u8; RECV_BATCH * RECV_SLOT_BYTES];
        let mut meta = vec![RecvMeta::default(); RECV_BATCH];
        let cpu_start = thread_cpu_ns();
        let mut last = Counters::default();
        let mut tick_index = 0u32;
        let mut next_tick = self.plan.start + self.plan.interval;
        let mut stopped_flows = false;

        for i in 0..self.slots.len() {
            if self.plan.scenario.kind != Kind::Handshakes || self.plan.may_start_another(Instant::now()) {
                self.connect(i);
            } else {
                self.slots[i].finished = true;
            }
        }
        let mut readable: Vec<usize> = (0..self.slots.len()).collect();
        let mut end = Instant::now();
        loop {
            for &i in &readable {
                self.slots[i].dirty = true;
                self.receive(i, &mut rx, &mut meta);
            }
            let now = Instant::now();
            let ending = self.plan.cancel.is_cancelled() || self.plan.deadline.is_some_and(|d| now >= d);
            if ending && !stopped_flows {
                stopped_flows = true;
                for i in 0..self.slots.len() {
                    self.stop_flows(i);
                }
            }
            for i in 0..self.slots.len() {
                let s = &self.slots[i];
                let due = s.dirty
                    || [s.timer, s.linger_until].into_iter().flatten().any(|t| t <= now)
                    || s.wake_at.is_some_and(|t| t <= now + crate::socket::PACING_SLACK);
                if due && !s.finished {
                    self.slots[i].dirty = false;
                    self.step(i, now);
                    let s = &mut self.slots[i];
                    s.timer = s.conn.as_ref().and_then(|c| c.timeout_instant());
                }
            }
            let all_done = self.slots.iter().all(|s| s.finished);
            let now = Instant::now();
            if now >= next_tick || all_done {
                // The last interval runs to the end of the closing period: its CPU time and late packets
                // belong to it. The run's duration still ends with the transfer (`last_completion`).
                let until = if all_done { now } else { next_tick };
                end = until.min(now);
                let cumulative = self.counters(cpu_start);
                let tick = Tick {
                    index: tick_index,
                    start_ns: tick_index as u64 * self.plan.interval.as_nanos() as u64,
                    end_ns: self.plan.ns_since_start(end),
                    delta: cumulative.minus(&last),
                    path: self.gauges(),
                };
                last = cumulative;
                let _ = self.tx.send(Report::Tick(self.id, tick));
                tick_index += 1;
                next_tick += self.plan.interval;
            }
            if all_done {
                break;
            }
            let wake = [Some(next_tick), self.plan.deadline.filter(|_| !stopped_flows)]
                .into_iter()
                .chain(self.slots.iter().filter(|s| !s.finished).flat_map(|s| [s.wake_at, s.timer, s.linger_until]))
                .flatten()
                .min()
                .expect("next_tick is always set");
            // Capped so that a cancel is seen promptly even when no packet or timer is due.
            let timeout = wake.saturating_duration_since(Instant::now()).min(CANCEL_CHECK);
            for (i, s) in self.slots.iter_mut().enumerate().filter(|(_, s)| !s.finished) {
                let _ = s.sock.watch_writable(poll.registry(), Token(i));
            }
            let _ = poll.poll(&mut events, Some(timeout));
            readable.clear();
            for e in events.iter() {
                // Buffer space: the blocked flush is retried. Only a readable socket is read.
                self.slots[e.token().0].dirty = true;
                if e.is_readable() || e.is_error() {
                    readable.push(e.token().0);
                }
            }
        }
        let totals = self.counters(cpu_start);
        let drops = DropTable::read();
        let fast_path = self.slots.iter_mut().fold(FastPath::default(), |mut f, s| {
            f.merge(&s.sock.finish(&drops));
            f
        });
        WorkerResult {
            connections: self.slots.into_iter().map(|s| s.result).collect(),
            totals,
            fast_path,
            latencies: self.latencies,
            end_ns: self.plan.ns_since_start(self.last_completion.unwrap_or(end)),
        }
    }

    /// Cumulative counters of this worker (live connections plus those already closed).
    fn counters(&self, cpu_start: u64) -> Counters {
        let mut c = Counters {
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            completed: self.completed,
            cpu_ns: thread_cpu_ns() - cpu_start,
            ..Counters::default()
        };
        for s in &self.slots {
            c.add(&s.retired);
            if let Some(conn) = &s.conn {
                c.add(&Counters::of_connection(conn));
            }
        }
        c
    }

    fn gauges(&self) -> PathGauges {
        PathGauges::of(self.slots.iter().filter_map(|s| s.conn.as_ref()).filter_map(|c| c.path_stats().next()))
    }

    fn connect(&mut self, i: usize) {
        let plan = self.plan.clone();
        let slot = &mut self.slots[i];
        let mut scid = [0u8; quiche::MAX_CONN_ID_LEN];
        random_bytes(&mut scid);
        let scid = quiche::ConnectionId::from_ref(&scid);
        slot.connect_at = Instant::now();
        match quiche::connect_with_buffer_factory(
            Some(&plan.server_name),
            &scid,
            slot.sock.local,
            plan.target,
            &mut self.config,
        ) {
            Ok(mut conn) => {
                if let Some(dir) = &plan.qlog_dir {
                    if let Some(w) = qlog_writer(dir, "client", conn.trace_id()) {
                        conn.set_qlog(w, "stoq-bench client".into(), format!("perf client connection {}", slot.index));
                    }
                }
                slot.conn = Some(conn);
                slot.closing = false;
                slot.dirty = true;
            }
            Err(e) => fail(slot, Error::from(e)),
        }
    }

    fn receive(&mut self, i: usize, rx: &mut [u8], meta: &mut [RecvMeta]) {
        let slot = &mut self.slots[i];
        loop {
            let n = match slot.sock.recv(rx, meta) {
                Ok(n) => n,
                Err(_) => return,
            };
            if let Some(conn) = slot.conn.as_mut() {
                for (k, m) in meta[..n].iter().enumerate() {
                    let data = &mut rx[k * RECV_SLOT_BYTES..k * RECV_SLOT_BYTES + m.len];
                    for seg in data.chunks_mut(m.stride.max(1)) {
                        // Late packets of a connection this slot already closed are not this one's.
                        let ours = quiche::Header::from_slice(seg, quiche::MAX_CONN_ID_LEN)
                            .is_ok_and(|h| h.dcid == conn.source_id());
                        if ours {
                            let _ = conn.recv(seg, quiche::RecvInfo { from: m.addr, to: slot.sock.local });
                        }
                    }
                }
            }
            // A short batch drained the queue; a later arrival raises a new (edge-triggered) event.
            if n < RECV_BATCH {
                return;
            }
        }
    }

    /// Ends flows at the deadline or on cancel: STOP_SENDING on endless replies, FIN on endless uploads,
    /// and no new requests (those in flight finish, so byte counts stay exact).
    fn stop_flows(&mut self, i: usize) {
        let now = Instant::now();
        let slot = &mut self.slots[i];
        slot.queued.clear();
        let Some(conn) = slot.conn.as_mut() else { return };
        for f in slot.flows.values_mut() {
            if f.upload_left == UNTIL_STOPPED {
                // The FIN rides on one last payload byte: quiche 0.29 can lose an empty FIN queued after
                // the stream's data was acknowledged.
                f.upload_left = 1;
            }
            if f.expect == UNTIL_STOPPED {
                if let Some(reply) = f.reply_id {
                    let _ = conn.stream_shutdown(reply, quiche::Shutdown::Read, error_code::NO_ERROR);
                }
                f.stopped_at = Some(now);
                // The transfer ends here; what arrives later is discarded, not counted.
                self.last_completion = Some(now);
                slot.linger_until = Some(now + STOP_LINGER);
            }
        }
        if self.plan.cancel.is_cancelled() {
            let _ = conn.close(true, error_code::NO_ERROR, b"cancelled");
            slot.closing = true;
        }
        slot.dirty = true;
    }

    /// Advances one slot: timers, streams, new requests, sending, and the end of the connection.
    fn step(&mut self, i: usize, now: Instant) {
        let plan = self.plan.clone();
        let kind = plan.scenario.kind;
        if self.slots[i].finished {
            return;
        }
        {
            let slot = &mut self.slots[i];
            let Some(conn) = slot.conn.as_mut() else {
                slot.finished = true;
                return;
            };
            if conn.timeout_instant().is_some_and(|t| t <= now) {
                conn.on_timeout();
            }
            if conn.is_established() && slot.result.handshake_ns.is_none() {
                slot.result.handshake_ns = Some((now - slot.connect_at).as_nanos() as u64);
            }
        }
        if kind == Kind::Handshakes {
            self.step_handshake(i, now);
        } else if self.slots[i].conn.as_ref().is_some_and(|c| c.is_established()) && !self.slots[i].closing {
            self.read(i);
            if matches!(kind, Kind::Requests | Kind::Latency) {
                self.issue_requests(i, now);
            } else {
                self.open_transfers(i);
            }
            self.write(i);
            let slot = &mut self.slots[i];
            let idle = slot.flows.is_empty() && slot.queued.is_empty();
            let requests_over = !matches!(kind, Kind::Requests | Kind::Latency)
                || plan.cancel.is_cancelled()
                || plan.deadline.is_some_and(|d| now >= d)
                || plan.scenario.count.is_some_and(|c| plan.issued.load(Relaxed) >= c);
            if idle && requests_over {
                if let Some(conn) = slot.conn.as_mut() {
                    let _ = conn.close(true, error_code::NO_ERROR, b"done");
                }
                slot.closing = true;
            }
        }
        let slot = &mut self.slots[i];
        let Some(conn) = slot.conn.as_mut() else { return };
        slot.wake_at = match slot.outbox.flush(conn, &mut slot.sock, plan.scenario.settings.pacing, self.segments) {
            Ok((Flushed::Paced(at), _)) => Some(at),
            Ok((Flushed::More, _)) => Some(Instant::now()),
            Ok((Flushed::Blocked, _)) => {
                slot.dirty = true;
                None
            }
            Ok(_) => None,
            Err(e) => {
                fail(slot, Error::Io(e.to_string()));
                return;
            }
        };
        // A handshake's connection is done once its close has left. A transfer's waits out quiche's closing
        // period (3 PTO, RFC 9000 §10.2) still reading, so datagrams already under way are counted, not
        // left unread in a closed socket.
        let closed = conn.is_closed()
            || (slot.closing && !slot.outbox.pending() && (kind == Kind::Handshakes || plan.cancel.is_cancelled()));
        if closed && kind == Kind::Handshakes && conn.is_established() && !plan.cancel.is_cancelled() {
            self.next_handshake(i, Instant::now());
        } else if closed {
            finish(slot, plan.cancel.is_cancelled());
        }
    }

    /// The CONNECTION_CLOSE of a completed handshake went out: start the next one, if any remain.
    fn next_handshake(&mut self, i: usize, now: Instant) {
        let plan = self.plan.clone();
        let slot = &mut self.slots[i];
        if !plan.may_start_another(now) {
            finish(slot, false);
            return;
        }
        if let Some(conn) = slot.conn.as_ref() {
            slot.retired.add(&Counters::of_connection(conn));
        }
        self.connect(i);
        // The new Initial is sent on the next pass, without waiting for a timer.
        self.slots[i].wake_at = Some(now);
    }

    fn step_handshake(&mut self, i: usize, now: Instant) {
        let plan = self.plan.clone();
        let slot = &mut self.slots[i];
        let Some(conn) = slot.conn.as_mut() else { return };
        if !slot.closing && conn.is_established() {
            // The client's Finished must leave before the close: a closing quiche connection sends no
            // CRYPTO frames, and the server would hold the half-done handshake until its idle timeout.
            let _ = slot.outbox.flush(conn, &mut slot.sock, false, self.segments);
            self.last_completion = Some(now);
            let ns = (now - slot.connect_at).as_nanos() as u64;
            self.latencies.record(ns, plan.ns_since_start(now));
            self.completed += 1;
            let _ = conn.close(true, error_code::NO_ERROR, b"handshake done");
            slot.closing = true;
        }
    }

    /// Opens the transfer flows of a download, upload or bidir scenario, as stream credit allows.
    fn open_transfers(&mut self, i: usize) {
        let uni = self.plan.scenario.stream_type == StreamType::Uni;
        let slot = &mut self.slots[i];
        while let Some(&(upload, expect)) = slot.queued.front() {
            if !open_flow(slot, uni, upload, expect, false) {
                break;
            }
            slot.queued.pop_front();
        }
    }

    /// Keeps `inflight` requests outstanding while the budget lasts.
    fn issue_requests(&mut self, i: usize, now: Instant) {
        let s = &self.plan.scenario;
        let uni = s.stream_type == StreamType::Uni;
        let (upload, expect) = (s.request_size.unwrap_or(0), s.response_size.unwrap_or(0));
        let slot = &mut self.slots[i];
        while slot.flows.len() < s.inflight as usize {
            let credit =
                slot.conn
                    .as_ref()
                    .map_or(0, |c| if uni { c.peer_streams_left_uni() } else { c.peer_streams_left_bidi() });
            if credit == 0 || !self.plan.may_start_another(now) {
                break;
            }
            open_flow(slot, uni, upload, expect, true);
        }
    }

    /// Sends headers, uploads and FINs as flow control allows.
    fn write(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        let Some(conn) = slot.conn.as_mut() else { return };
        let mut sent = 0u64;
        // Several uploads share the connection's credit in turns of one chunk, not lowest stream first.
        let sharing = slot.flows.values().filter(|f| !f.fin_sent).count() > 1;
        for f in slot.flows.values_mut() {
            while f.header_sent < HEADER_LEN {
                let fin = f.upload_left == 0;
                match conn.stream_send(f.request_id, &f.header[f.header_sent..], fin) {
                    Ok(n) => {
                        f.header_sent += n;
                        f.fin_sent = fin && f.header_sent == HEADER_LEN;
                        if n == 0 {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            while f.header_sent == HEADER_LEN && !f.fin_sent {
                match send_chunk(conn, f.request_id, &mut f.upload_left) {
                    Ok(step) => {
                        sent += step.bytes as u64;
                        f.fin_sent = step.finished;
                        if step.blocked || sharing {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        slot.result.bytes_sent += sent;
        self.bytes_sent += sent;
    }

    /// Reads replies; a reply that ends (FIN, or our STOP_SENDING) completes its flow.
    fn read(&mut self, i: usize) {
        let plan = self.plan.clone();
        let slot = &mut self.slots[i];
        let Some(conn) = slot.conn.as_mut() else { return };
        let mut received = 0u64;
        while let Some(id) = conn.stream_readable_next() {
            let request = if stream_id::is_client_initiated(id) {
                Some(id)
            } else if let Some(&r) = slot.reply_to_request.get(&id) {
                Some(r)
            } else {
                // A new server uni stream: the reply to the oldest uni request still waiting.
                slot.awaiting_reply.pop_front().inspect(|&r| {
                    slot.reply_to_request.insert(id, r);
                    if let Some(f) = slot.flows.get_mut(&r) {
                        f.reply_id = Some(id);
                    }
                })
            };
            let Some(request) = request else {
                let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, error_code::INVALID_DATA);
                continue;
            };
            loop {
                // Reply payload is only counted: discarded inside quiche, never copied out.
                match conn.stream_discard(id, usize::MAX) {
                    Ok((n, fin)) => {
                        received += n as u64;
                        let Some(f) = slot.flows.get_mut(&request) else { break };
                        f.received += n as u64;
                        if fin {
                            let f = slot.flows.remove(&request).expect("present");
                            slot.reply_to_request.remove(&id);
                            let uni = !stream_id::is_bidi(request);
                            if uni && f.expect != UNTIL_STOPPED {
                                slot.uni_expected += f.expect;
                                slot.uni_received += f.received;
                            }
                            if uni || f.expect == UNTIL_STOPPED || f.received == f.expect {
                                slot.result.streams_completed += 1;
                                self.last_completion = Some(Instant::now());
                                if f.timed {
                                    let now = Instant::now();
                                    self.latencies
                                        .record((now - f.started).as_nanos() as u64, plan.ns_since_start(now));
                                    self.completed += 1;
                                }
                            } else {
                                slot.result.streams_failed += 1;
                                slot.result.error.get_or_insert(ErrorInfo {
                                    code: "PEER",
                                    message: format!("stream {request}: received {} of {} bytes", f.received, f.expect),
                                });
                            }
                            break;
                        }
                    }
                    Err(quiche::Error::Done) => break,
                    Err(quiche::Error::StreamReset(code)) => {
                        if let Some(f) = slot.flows.remove(&request) {
                            if f.stopped_at.is_some() {
                                // The end of an endless reply that we stopped ourselves.
                                slot.result.streams_completed += 1;
                            } else {
                                slot.result.streams_failed += 1;
                                slot.result.error.get_or_insert(ErrorInfo {
                                    code: "PEER",
                                    message: format!("stream {request} reset by the server with code {code}"),
                                });
                            }
                        }
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        // A stopped reply ends when the server's RESET_STREAM arrives (RFC 9000 §3.5), or after a bounded
        // wait: the connection must stay open long enough for the STOP_SENDING frame to leave.
        let now = Instant::now();
        slot.flows.retain(|_, f| {
            let done = f.fin_sent
                && f.stopped_at.is_some_and(|t| {
                    now >= t + STOP_LINGER || f.reply_id.is_none_or(|reply| conn.stream_finished(reply))
                });
            if done {
                slot.result.streams_completed += 1;
            }
            !done
        });
        if slot.flows.values().all(|f| f.stopped_at.is_none()) {
            slot.linger_until = None;
        }
        slot.result.bytes_received += received;
        self.bytes_received += received;
    }
}

/// Opens one request stream; false when the peer's stream limit is reached.
fn open_flow(slot: &mut Slot, uni: bool, upload: u64, expect: u64, timed: bool) -> bool {
    let Some(conn) = slot.conn.as_ref() else { return false };
    let credit = if uni { conn.peer_streams_left_uni() } else { conn.peer_streams_left_bidi() };
    if credit == 0 {
        return false;
    }
    let id = if uni {
        slot.opened_uni += 1;
        stream_id::nth(slot.opened_uni - 1, true, false)
    } else {
        slot.opened_bidi += 1;
        stream_id::nth(slot.opened_bidi - 1, true, true)
    };
    if uni {
        slot.awaiting_reply.push_back(id);
    }
    slot.flows.insert(
        id,
        Flow {
            request_id: id,
            reply_id: (!uni).then_some(id),
            header: encode_request(expect),
            header_sent: 0,
            upload_left: upload,
            fin_sent: false,
            expect,
            received: 0,
            stopped_at: None,
            started: Instant::now(),
            timed,
        },
    );
    true
}

/// The (upload, expect) pairs of one connection's transfer streams: the scenario's bytes are split
/// evenly over all streams of all connections (bidir: per direction); a duration makes them endless.
fn transfer_flows(s: &Scenario, conn_index: u32) -> VecDeque<(u64, u64)> {
    let streams = s.streams as u64;
    let total_streams = s.connections as u64 * streams;
    let share = |k: u64| match s.bytes {
        Some(b) => b / total_streams + u64::from(conn_index as u64 * streams + k < b % total_streams),
        None => UNTIL_STOPPED,
    };
    let mut flows = VecDeque::new();
    for k in 0..streams {
        match s.kind {
            Kind::Download => flows.push_back((0, share(k))),
            Kind::Upload => flows.push_back((share(k), 0)),
            Kind::Bidir => {
                flows.push_back((0, share(k)));
                flows.push_back((share(k), 0));
            }
            _ => {}
        }
    }
    flows
}

fn fail(slot: &mut Slot, e: Error) {
    slot.result.state = RunState::Errored;
    slot.result.error.get_or_insert(ErrorInfo::from(&e));
    slot.finished = true;
}

/// Records how a slot's connection ended.
fn finish(slot: &mut Slot, cancelled: bool) {
    slot.finished = true;
    let Some(conn) = slot.conn.as_ref() else { return };
    if let Some(p) = conn.path_stats().next() {
        slot.result.rtt_ns = p.rtt.as_nanos() as u64;
        slot.result.min_rtt_ns = p.min_rtt.map_or(0, |d| d.as_nanos() as u64);
        slot.result.cwnd = p.cwnd as u64;
        slot.result.pmtu = p.pmtu as u64;
    }
    let mut quic = slot.retired;
    quic.add(&Counters::of_connection(conn));
    slot.result.packets_sent = quic.packets_sent;
    slot.result.packets_received = quic.packets_received;
    slot.result.lost = quic.lost;
    slot.result.retrans = quic.retrans;
    let unfinished = !slot.flows.is_empty() || !slot.queued.is_empty();
    if slot.uni_expected != slot.uni_received {
        slot.result.error.get_or_insert(ErrorInfo {
            code: "PEER",
            message: format!("unidirectional replies carried {} of {} bytes", slot.uni_received, slot.uni_expected),
        });
    }
    if cancelled {
        slot.result.state = RunState::Cancelled;
    } else if let Some(e) = connection_error(conn) {
        slot.result.state = RunState::Errored;
        slot.result.error.get_or_insert(ErrorInfo::from(&e));
    } else if unfinished && !slot.closing {
        slot.result.state = RunState::Errored;
        slot.result.error.get_or_insert(ErrorInfo {
            code: "PEER",
            message: format!(
                "the server closed the connection with {} streams unfinished",
                slot.flows.len() + slot.queued.len()
            ),
        });
    } else if slot.result.error.is_some() {
        slot.result.state = RunState::Errored;
    }
}
