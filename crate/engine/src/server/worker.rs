//! One server worker: its socket, its connections, and the loop that reads, admits, serves and sends.
//! `Endpoint` is the part without a socket (the datagram entry point and the connections), so that tests
//! and fuzz targets can drive it directly.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use quinn_udp::RecvMeta;

use super::admission::{
    source_prefix, Admitted, Budget, Cid, Gate, Packet, SourcePrefix, Verdict, MIN_CLIENT_DCID, MIN_INITIAL_DATAGRAM,
};
use super::initial;
use super::perf::Requests;
use super::sharing::ViewSession;
use super::stats::{Dropped, Ended};
use crate::error::connection_error;
use crate::metrics::{PathSample, SideCounters, ThreadTime};
use crate::protocol::{error_code, VIEW_ALPN};
use crate::qlog_writer;
use crate::socket::{DropTable, FastPath, Flushed, Outbox, Socket, PACING_SLACK, RECV_BATCH, RECV_SLOT_BYTES};
use crate::timers::Timers;
use crate::view::{cid_key, Board, ConnView, FRESH_WAIT, PUBLISH_PERIOD};

/// Settings of every connection a worker builds.
pub(crate) struct ConnSettings {
    pub payload_size: usize,
    pub qlog_dir: Option<PathBuf>,
    /// Largest response a request may ask for; above it the stream is refused with error 2.
    pub max_response: u64,
    /// A connection whose handshake has not completed after this is dropped.
    pub handshake_timeout: Duration,
    /// Per-connection send rate cap, bytes per second (`Outbox` enforces it, whatever the congestion control).
    pub max_rate: Option<u64>,
    /// Answer view connections with the server's figures (otherwise each question is refused).
    pub share_view: bool,
}

struct Conn {
    conn: crate::Connection,
    outbox: Outbox,
    requests: Requests,
    wake_at: Option<Instant>,
    /// quiche's next timer, cached after each pass over the connection.
    timer: Option<Instant>,
    /// Packets arrived since the last pass (or it is new, or its send was blocked): it is in `ready`.
    dirty: bool,
    /// The source prefix while the handshake is incomplete (the connection holds a half-open slot).
    half_open: Option<SourcePrefix>,
    /// The DCID its client's Initials carry (a key of `initial_ids` while half-open).
    client_id: ClientId,
    handshake_deadline: Instant,
    /// The handshake timeout passed: reaped without a word.
    expired: bool,
    /// Visited since its figures were last published.
    changed: bool,
    /// The client's address when the connection was accepted (migration is disabled).
    peer: SocketAddr,
    /// A view connection (ALPN `stoq-bench-view`) once established: its questions and answers.
    view: Option<ViewSession>,
}

impl Conn {
    /// Its figures as the board shares them.
    fn view(&self) -> ConnView {
        let mut counters = SideCounters::of_connection(&self.conn);
        counters.add(&self.outbox.pacing());
        ConnView { counters, path: PathSample::of(&self.conn) }
    }

    /// When the connection next has work without a packet: its timer, its paced send, its handshake
    /// deadline.
    fn next_wake(&self) -> Option<Instant> {
        let handshake = self.half_open.map(|_| self.handshake_deadline);
        [self.timer, self.wake_at, handshake].into_iter().flatten().min()
    }
}

/// Where a pass sends: the worker's socket, or a list (tests and fuzzing, without sockets).
pub(crate) enum Out<'a> {
    Socket(&'a mut Socket),
    Collect(&'a mut Vec<(Vec<u8>, SocketAddr)>),
}

/// Freed memory is handed back to the kernel once no connection is left after some ended, or once the
/// connections, after at least `TRIM_PEAK` at once, fell to a quarter of their peak; looked at once a
/// second at most.
const TRIM_PEAK: usize = 256;
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Datagrams waiting for admission work at most (the overall budget's burst).
const MAX_DEFERRED: usize = 256;

/// A client's first DCID (or the DCID it used after a Retry), which its repeated Initials carry.
type ClientId = ([u8; quiche::MAX_CONN_ID_LEN], u8);

fn client_id(dcid: &[u8]) -> ClientId {
    let mut id = [0u8; quiche::MAX_CONN_ID_LEN];
    id[..dcid.len()].copy_from_slice(dcid);
    (id, dcid.len() as u8)
}

/// A datagram kept for admission after the established connections are served.
struct Deferred {
    data: Vec<u8>,
    from: SocketAddr,
    to: SocketAddr,
}

/// The datagram entry point and the connections of one worker, without a socket.
pub struct Endpoint {
    gate: Arc<Gate>,
    config: quiche::Config,
    settings: Arc<ConnSettings>,
    segments: usize,
    conns: HashMap<Cid, Conn>,
    /// Connections with work now (a packet arrived, new, blocked): only these and those whose deadline
    /// came are visited, so idle connections cost nothing per packet.
    ready: Vec<Cid>,
    /// Each connection's next wake (`Conn::next_wake`).
    timers: Timers<Cid>,
    /// Connections of the pass under way (kept for its allocation).
    visiting: Vec<Cid>,
    /// Our ID of each half-open connection, by the DCID its client's Initials carry.
    initial_ids: HashMap<ClientId, Cid>,
    budget: Budget,
    deferred: Vec<Deferred>,
    /// Buffers of handled deferred datagrams, reused.
    spare: Vec<Vec<u8>>,
    /// Room to decrypt an Initial in.
    scratch: Vec<u8>,
    /// Most connections at once, and connections ended, since memory was last handed back.
    peak_since_trim: usize,
    ended_since_trim: u64,
    last_trim: Instant,
    /// Connections visited since the last publication, and those that ended meanwhile (their last figures).
    changed: Vec<Cid>,
    gone: Vec<(String, ConnView, IpAddr, bool)>,
    /// View connections with questions for the board.
    pub(crate) asking: HashSet<Cid>,
}

impl Endpoint {
    pub(crate) fn new(
        gate: Arc<Gate>,
        config: quiche::Config,
        settings: Arc<ConnSettings>,
        segments: usize,
    ) -> Endpoint {
        Endpoint {
            gate,
            config,
            settings,
            segments,
            conns: HashMap::new(),
            ready: Vec::new(),
            timers: Timers::default(),
            visiting: Vec::new(),
            initial_ids: HashMap::new(),
            budget: Budget::new(Instant::now()),
            deferred: Vec::new(),
            spare: Vec::new(),
            scratch: vec![0u8; 64 * 1024],
            peak_since_trim: 0,
            ended_since_trim: 0,
            last_trim: Instant::now(),
            changed: Vec::new(),
            gone: Vec::new(),
            asking: HashSet::new(),
        }
    }

    /// What changed since the last call, for the board: visited connections, and those that ended.
    pub(crate) fn take_changes(&mut self) -> Vec<(String, ConnView, IpAddr, bool)> {
        let conns = &mut self.conns;
        let mut out: Vec<_> = self
            .changed
            .drain(..)
            .filter_map(|cid| {
                let c = conns.get_mut(&cid)?;
                c.changed = false;
                Some((cid_key(&cid), c.view(), c.peer.ip(), false))
            })
            .collect();
        out.append(&mut self.gone);
        out
    }

    /// Whether connections changed since the last `take_changes`.
    pub(crate) fn has_changes(&self) -> bool {
        !self.changed.is_empty() || !self.gone.is_empty()
    }

    /// Handles one received datagram at the cost of a look at its header: a packet of a connection goes to
    /// it; one that needs admission work (a new Initial, a Version Negotiation) is kept for `admit`, within
    /// the admission budget; anything else is dropped and counted.
    pub fn datagram(&mut self, seg: &mut [u8], from: SocketAddr, to: SocketAddr, now: Instant) {
        let counters = &self.gate.counters;
        let drop = |why| counters.dropped(why);
        let Some(&first) = seg.first() else { return drop(Dropped::ZeroLength) };
        if !self.gate.allowed(from.ip()) {
            return drop(Dropped::NotAllowed);
        }
        // Packets of a connection carry one of our 20-byte IDs at a fixed place (short header: byte 1; long
        // header: byte 6), found without a header parse (quiche's allocates).
        let key = if first & 0x80 == 0 {
            let Some(id) = seg.get(1..1 + quiche::MAX_CONN_ID_LEN) else { return drop(Dropped::Garbage) };
            Cid::try_from(id).ok().filter(|k| self.conns.contains_key(k))
        } else {
            let Some(&dcid_len) = seg.get(5) else { return drop(Dropped::Garbage) };
            let dcid_end = 6 + usize::from(dcid_len);
            // Both connection IDs must be there, each at most 20 bytes (RFC 9000 §17.2).
            let scid_len = seg.get(dcid_end).map(|l| usize::from(*l));
            let whole = scid_len.is_some_and(|l| l <= quiche::MAX_CONN_ID_LEN && seg.len() >= dcid_end + 1 + l);
            let Some(dcid) = seg.get(6..dcid_end).filter(|d| whole && d.len() <= quiche::MAX_CONN_ID_LEN) else {
                return drop(Dropped::Garbage);
            };
            let version = u32::from_be_bytes(seg[1..5].try_into().expect("4 bytes"));
            let ty = (first >> 4) & 0x03;
            let known = Cid::try_from(dcid).ok().filter(|k| self.conns.contains_key(k));
            match known {
                Some(k) => Some(k),
                // A Version Negotiation packet is never answered (RFC 9000 §6.1).
                None if version == 0 => return drop(Dropped::UnknownConnection),
                None if !quiche::version_is_supported(version) => {
                    // RFC 9000 §5.2.2: Version Negotiation only for a datagram that could open a connection.
                    if seg.len() < MIN_INITIAL_DATAGRAM {
                        return drop(Dropped::TooShort);
                    }
                    return self.defer(seg, from, to, now);
                }
                // Initial (0) or 0-RTT (1): a repeated Initial of a half-open connection carries its client's ID.
                None if ty <= 1 => match self.initial_ids.get(&client_id(dcid)) {
                    Some(k) => Some(*k),
                    None if ty == 1 => return drop(Dropped::UnknownConnection),
                    None if initial::layout(seg).is_none() => return drop(Dropped::Garbage),
                    // RFC 9000 §14.1, §7.2.
                    None if seg.len() < MIN_INITIAL_DATAGRAM => return drop(Dropped::TooShort),
                    None if dcid.len() < MIN_CLIENT_DCID => return drop(Dropped::InvalidInitial),
                    None => return self.defer(seg, from, to, now),
                },
                None => return drop(Dropped::UnknownConnection),
            }
        };
        match key.and_then(|k| self.conns.get_mut(&k).map(|c| (k, c))) {
            Some((k, c)) => {
                let _ = c.conn.recv(seg, quiche::RecvInfo { from, to });
                mark_ready(&mut self.ready, k, c);
            }
            None => drop(Dropped::UnknownConnection),
        }
    }

    /// Keeps a datagram for admission, if the budget allows.
    fn defer(&mut self, seg: &[u8], from: SocketAddr, to: SocketAddr, now: Instant) {
        if self.deferred.len() >= MAX_DEFERRED || !self.budget.take(source_prefix(from.ip()), now) {
            return self.gate.counters.dropped(Dropped::Shed);
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(seg);
        self.deferred.push(Deferred { data, from, to });
    }

    /// Does the admission work `datagram` kept: decryption, Retry, limits, a new connection, or a reply.
    /// `send` gets each reply (its bytes, to, from). Returns whether a connection was built.
    pub fn admit(
        &mut self,
        now: Instant,
        reply: &mut [u8],
        send: &mut dyn FnMut(&[u8], SocketAddr, SocketAddr),
    ) -> bool {
        let mut built = false;
        let mut deferred = std::mem::take(&mut self.deferred);
        for mut d in deferred.drain(..) {
            built |= self.admit_one(&mut d, now, reply, send);
            self.spare.push(d.data);
        }
        self.deferred = deferred;
        built
    }

    fn admit_one(
        &mut self,
        d: &mut Deferred,
        now: Instant,
        reply: &mut [u8],
        send: &mut dyn FnMut(&[u8], SocketAddr, SocketAddr),
    ) -> bool {
        let Some(hdr) = Packet::parse(&mut d.data) else {
            self.gate.counters.dropped(Dropped::Garbage);
            return false;
        };
        // An earlier datagram of this pass may have built its connection.
        if let Some(&k) = self.initial_ids.get(&client_id(&hdr.dcid)) {
            if let Some(c) = self.conns.get_mut(&k) {
                let _ = c.conn.recv(&mut d.data, quiche::RecvInfo { from: d.from, to: d.to });
                mark_ready(&mut self.ready, k, c);
                return false;
            }
        }
        match self.gate.admit(&hdr, &d.data, d.from, now, &mut self.scratch, reply) {
            Verdict::Drop => false,
            Verdict::Reply(n) => {
                send(&reply[..n], d.from, d.to);
                false
            }
            Verdict::Accept(a) => {
                if !self.accept(a, &hdr.dcid, d.from, d.to, now) {
                    return false;
                }
                if let Some(c) = self.conns.get_mut(&a.cid) {
                    let _ = c.conn.recv(&mut d.data, quiche::RecvInfo { from: d.from, to: d.to });
                }
                true
            }
        }
    }

    /// Builds the connection `admitted` (its client's current DCID is `dcid`).
    fn accept(&mut self, a: Admitted, dcid: &[u8], from: SocketAddr, to: SocketAddr, now: Instant) -> bool {
        let scid = quiche::ConnectionId::from_ref(&a.cid);
        let built = match &a.odcid {
            Some((id, len)) => {
                let odcid = quiche::ConnectionId::from_ref(&id[..*len]);
                let rscid = quiche::ConnectionId::from_ref(dcid);
                let ids = quiche::RetryConnectionIds { original_destination_cid: &odcid, retry_source_cid: &rscid };
                quiche::accept_with_retry(&scid, ids, to, from, &mut self.config)
            }
            None => quiche::accept_with_buf_factory(&scid, None, to, from, &mut self.config),
        };
        let Ok(mut conn) = built else {
            self.gate.release(a.prefix);
            return false;
        };
        if let Some(dir) = &self.settings.qlog_dir {
            if let Some(w) = qlog_writer(dir, "server", conn.trace_id()) {
                conn.set_qlog(w, "stoq-bench server".into(), format!("perf server connection {}", conn.trace_id()));
            }
        }
        self.gate.counters.opened(a.odcid.is_some());
        let mut outbox = Outbox::new(self.settings.payload_size.max(1200), self.segments);
        if let Some(rate) = self.settings.max_rate {
            outbox.limit_rate(rate);
        }
        self.initial_ids.insert(client_id(dcid), a.cid);
        self.ready.push(a.cid);
        self.conns.insert(
            a.cid,
            Conn {
                conn,
                outbox,
                requests: Requests::default(),
                wake_at: None,
                timer: None,
                dirty: true,
                half_open: Some(a.prefix),
                client_id: client_id(dcid),
                handshake_deadline: now + self.settings.handshake_timeout,
                expired: false,
                changed: false,
                peer: from,
                view: None,
            },
        );
        true
    }

    /// The earliest deadline of any connection (the top of the timer heap).
    pub(crate) fn next_wake(&mut self) -> Option<Instant> {
        self.timers.next()
    }

    /// Visits every connection with work (those `ready`, and those whose deadline came, from the heap):
    /// the handshake timeout, timers, requests, responses, sending, and the end. Its cost follows the
    /// connections visited, not those open.
    pub(crate) fn pass(&mut self, mut out: Out<'_>, scratch: &mut [u8], pacing: bool) {
        let now = Instant::now();
        let mut visiting = std::mem::take(&mut self.visiting);
        visiting.append(&mut self.ready);
        // Paced sends may leave up to PACING_SLACK early (the poll timer has millisecond resolution).
        while let Some(cid) = self.timers.pop_due(now + PACING_SLACK) {
            visiting.push(cid);
        }
        let mut ended = Vec::new();
        let gate = &self.gate;
        let settings = &self.settings;
        let initial_ids = &mut self.initial_ids;
        for cid in visiting.drain(..) {
            // A connection both ready and due, or gone, is visited at most once.
            let Some(c) = self.conns.get_mut(&cid) else { continue };
            if !c.dirty && c.next_wake().is_none_or(|t| t > now + PACING_SLACK) {
                continue;
            }
            c.dirty = false;
            if !c.changed {
                c.changed = true;
                self.changed.push(cid);
            }
            if c.half_open.is_some() && c.handshake_deadline <= now && !c.conn.is_established() {
                c.expired = true;
                ended.push(cid);
                continue;
            }
            if c.timer.is_some_and(|t| t <= now) {
                c.conn.on_timeout();
            }
            if c.conn.is_established() {
                if let Some(prefix) = c.half_open.take() {
                    gate.no_longer_half_open(prefix);
                    initial_ids.remove(&c.client_id);
                }
                if c.view.is_some() || c.conn.application_proto() == VIEW_ALPN {
                    let view = c.view.get_or_insert_with(ViewSession::default);
                    if view.read(&mut c.conn, scratch, settings.share_view) {
                        self.asking.insert(cid);
                    }
                    view.write(&mut c.conn);
                }
                let mut received = 0;
                while let Some(id) = c.conn.stream_readable_next().filter(|_| c.view.is_none()) {
                    received += c.requests.read(&mut c.conn, id, scratch, settings.max_response, &gate.counters);
                }
                let sent = c.requests.write(&mut c.conn);
                // Counted as handed to quiche, before the flush: once the client has the reply, the stats already
                // show it. (What quiche discards unsent when the client stops a response stays counted: quiche
                // does not say how much.)
                if received > 0 {
                    gate.counters.bytes_received.fetch_add(received, Relaxed);
                }
                if sent > 0 {
                    gate.counters.bytes_sent.fetch_add(sent, Relaxed);
                }
            }
            if let Out::Socket(sock) = &mut out {
                c.wake_at = match c.outbox.flush(&mut c.conn, sock, pacing, self.segments) {
                    Ok((Flushed::Paced(at), _)) => Some(at),
                    Ok((Flushed::More, _)) => Some(Instant::now()),
                    // A full socket: retry on the next pass (the WRITABLE event wakes the loop).
                    Ok((Flushed::Blocked, _)) => {
                        mark_ready(&mut self.ready, cid, c);
                        None
                    }
                    _ => None,
                };
            } else if let Out::Collect(sent) = &mut out {
                while let Ok((n, info)) = c.conn.send(scratch) {
                    sent.push((scratch[..n].to_vec(), info.to));
                }
            }
            c.timer = c.conn.timeout_instant();
            if c.conn.is_closed() {
                ended.push(cid);
            }
            self.timers.set(cid, c.next_wake());
        }
        self.visiting = visiting;
        for cid in ended {
            self.reap(cid);
        }
    }

    /// Removes a connection that ended, counted once under how it ended.
    fn reap(&mut self, cid: Cid) {
        let Some(mut c) = self.conns.remove(&cid) else { return };
        self.timers.set(cid, None);
        self.ended_since_trim += 1;
        self.gone.push((cid_key(&cid), c.view(), c.peer.ip(), true));
        let how = match c.half_open.take() {
            Some(prefix) => {
                self.gate.no_longer_half_open(prefix);
                self.initial_ids.remove(&c.client_id);
                if c.expired || c.conn.is_timed_out() {
                    Ended::HandshakeTimeout
                } else {
                    Ended::HandshakeFailed
                }
            }
            None if c.conn.is_timed_out() => Ended::IdleTimeout,
            None if connection_error(&c.conn).is_some() => Ended::Errored,
            None => Ended::Cleanly,
        };
        self.gate.counters.ended(how);
    }

    /// Hands freed memory back to the kernel after connections ended (a flood, a large run, a fast transfer):
    /// glibc keeps it in its arenas otherwise, and the resident memory would stay at its peak. When idle, or
    /// when most of a large population is gone: never in the middle of a measurement of few connections.
    pub(crate) fn trim_if_due(&mut self, now: Instant) {
        self.peak_since_trim = self.peak_since_trim.max(self.conns.len());
        if now.saturating_duration_since(self.last_trim) < TRIM_EVERY {
            return;
        }
        self.last_trim = now;
        let idle = self.conns.is_empty() && self.ended_since_trim > 0;
        let shrunk = self.peak_since_trim >= TRIM_PEAK && self.conns.len() <= self.peak_since_trim / 4;
        if idle || shrunk {
            self.peak_since_trim = self.conns.len();
            self.ended_since_trim = 0;
            trim_memory(&self.gate.counters);
        }
    }

    /// Counts every connection still here as closed by the stop.
    pub(crate) fn end_all(&mut self) {
        self.initial_ids.clear();
        self.ready.clear();
        self.timers = Timers::default();
        for d in self.deferred.drain(..) {
            self.spare.push(d.data);
        }
        for (_, mut c) in self.conns.drain() {
            if let Some(prefix) = c.half_open.take() {
                self.gate.no_longer_half_open(prefix);
            }
            self.gate.counters.ended(Ended::AtStop);
        }
    }
}

/// Queues a connection for the next pass, once.
fn mark_ready(ready: &mut Vec<Cid>, cid: Cid, c: &mut Conn) {
    if !c.dirty {
        c.dirty = true;
        ready.push(cid);
    }
}

/// `malloc_trim`: freed heap pages go back to the kernel (glibc only; elsewhere nothing is done).
fn trim_memory(counters: &super::stats::Counters) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases free memory of the allocator; it has no preconditions.
        unsafe { libc::malloc_trim(0) };
        counters.trims.fetch_add(1, Relaxed);
    }
}

pub(crate) struct Worker {
    pub sock: Socket,
    pub endpoint: Endpoint,
    pub stop: Arc<AtomicBool>,
    pub pacing: bool,
    /// This worker's number among the server's, and where it publishes its side of the runs it serves.
    pub index: usize,
    pub board: Arc<Board>,
    /// The last request for figures this worker published for.
    pub answered: u64,
}

const SOCKET: Token = Token(0);
/// Wakes the worker when its figures are asked for.
const WAKE: Token = Token(1);
const STOP_CHECK: Duration = Duration::from_millis(50);
/// How often a view question waiting for the other workers' publications looks again.
const VIEW_CHECK: Duration = Duration::from_millis(1);
/// How long a stopping server waits for its CONNECTION_CLOSE frames to leave.
const SHUTDOWN_LINGER: Duration = Duration::from_millis(500);
/// `recvmmsg` batches read before the connections are served again.
const RECV_BATCHES_PER_PASS: usize = 4;

impl Worker {
    pub fn run(mut self) -> FastPath {
        let mut poll = match Poll::new() {
            Ok(p) => p,
            Err(_) => return self.sock.finish(&DropTable::read()),
        };
        if self.sock.register(poll.registry(), SOCKET).is_err() {
            return self.sock.finish(&DropTable::read());
        }
        if let Ok(waker) = mio::Waker::new(poll.registry(), WAKE) {
            self.board.join(waker);
        }
        let mut events = Events::with_capacity(64);
        let mut rx = vec![0u8; RECV_BATCH * RECV_SLOT_BYTES];
        let mut meta = vec![RecvMeta::default(); RECV_BATCH];
        let mut scratch = vec![0u8; 64 * 1024];
        let mut backlog = false;
        // The first publication goes out at once: a reader waits for every worker's.
        self.publish();
        let mut next_publish = Instant::now() + PUBLISH_PERIOD;
        while !self.stop.load(Relaxed) {
            let timeout = match backlog {
                // Datagrams are still queued: look for events without waiting.
                true => Duration::ZERO,
                false => {
                    // Changes are published within PUBLISH_PERIOD, even when nothing else wakes the loop.
                    let publish = self.endpoint.has_changes().then_some(next_publish);
                    // A view question waits for the other workers' publications: look again soon.
                    let asked = (!self.endpoint.asking.is_empty()).then(|| Instant::now() + VIEW_CHECK);
                    let wake = [self.endpoint.next_wake(), publish, asked].into_iter().flatten().min();
                    wake.map_or(STOP_CHECK, |t| t.saturating_duration_since(Instant::now()))
                }
            };
            let _ = poll.poll(&mut events, Some(timeout.min(STOP_CHECK)));
            // Only a readable socket is read: a wake-up for a timer or for buffer space costs no recvmmsg.
            if backlog || events.iter().any(|e| e.token() == SOCKET && (e.is_readable() || e.is_error())) {
                backlog = self.receive(&mut rx, &mut meta);
            }
            // The established connections first; then the admission work the datagrams read asked for, and
            // the first flight of the connections it built.
            self.endpoint.pass(Out::Socket(&mut self.sock), &mut scratch, self.pacing);
            let sock = &mut self.sock;
            let built = self.endpoint.admit(Instant::now(), &mut scratch, &mut |d, to, from| {
                let _ = sock.send(to, from, d, d.len());
            });
            if built | self.serve_views() {
                self.endpoint.pass(Out::Socket(&mut self.sock), &mut scratch, self.pacing);
            }
            self.endpoint.trim_if_due(Instant::now());
            let _ = self.sock.watch_writable(poll.registry(), SOCKET);
            // Figures go out every PUBLISH_PERIOD, and at once when a reader asks for them.
            if Instant::now() >= next_publish || self.board.requested() > self.answered {
                self.publish();
                next_publish = Instant::now() + PUBLISH_PERIOD;
            }
        }
        self.close_all();
        self.endpoint.end_all();
        self.sock.finish(&DropTable::read())
    }

    /// Answers the view connections' questions the board can answer now; returns whether any was answered
    /// (its connection then has something to send).
    fn serve_views(&mut self) -> bool {
        if self.endpoint.asking.is_empty() {
            return false;
        }
        let now = Instant::now();
        let mut answered = false;
        let conns = &mut self.endpoint.conns;
        let ready = &mut self.endpoint.ready;
        let board = &self.board;
        self.endpoint.asking.retain(|cid| {
            let Some(c) = conns.get_mut(cid) else { return false };
            let Some(view) = c.view.as_mut() else { return false };
            let served = view.serve(board, c.peer.ip(), now, FRESH_WAIT);
            let pending = view.pending();
            if served {
                answered = true;
                mark_ready(ready, *cid, c);
            }
            pending
        });
        answered
    }

    /// Publishes this worker's thread, socket and changed connections (and ended ones, for the last time).
    fn publish(&mut self) {
        self.answered = self.board.requested();
        let changed = self.endpoint.take_changes();
        let inode = self.sock.inode().unwrap_or(0);
        self.board.publish(self.index, self.answered, ThreadTime::now(), &self.sock.use_, inode, changed.into_iter());
    }

    /// Closes every connection and waits, bounded, until each CONNECTION_CLOSE has left. quiche sends the
    /// close only when the congestion window has room, and a closing connection ignores the ACKs that would
    /// make room: after a full-rate transfer only the loss-detection timer (PTO) lets it out, so the timers
    /// run here until every close is sent.
    fn close_all(&mut self) {
        let segments = self.endpoint.segments;
        for c in self.endpoint.conns.values_mut() {
            let _ = c.conn.close(true, error_code::NO_ERROR, b"server stopping");
        }
        let give_up = Instant::now() + SHUTDOWN_LINGER;
        loop {
            let now = Instant::now();
            let mut waiting = false;
            for c in self.endpoint.conns.values_mut() {
                if c.conn.timeout_instant().is_some_and(|t| t <= now) {
                    c.conn.on_timeout();
                }
                let _ = c.outbox.flush(&mut c.conn, &mut self.sock, false, segments);
                waiting |= !(c.conn.is_draining() || c.conn.is_closed()) || c.outbox.pending();
            }
            if !waiting || now >= give_up {
                return;
            }
            // Timers are checked, and a full socket buffer retried, every millisecond.
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reads a bounded number of batches, so that answers go out between them (a flood must not hold back
    /// every reply). Returns whether datagrams may still be queued.
    fn receive(&mut self, rx: &mut [u8], meta: &mut [RecvMeta]) -> bool {
        for _ in 0..RECV_BATCHES_PER_PASS {
            let n = match self.sock.recv(rx, meta) {
                Ok(n) => n,
                Err(_) => return false,
            };
            let now = Instant::now();
            for (slot, m) in meta[..n].iter().enumerate() {
                let to = self.sock.arrival_addr(m);
                let data = &mut rx[slot * RECV_SLOT_BYTES..slot * RECV_SLOT_BYTES + m.len];
                if data.is_empty() {
                    self.endpoint.datagram(data, m.addr, to, now);
                    continue;
                }
                for seg in data.chunks_mut(m.stride.max(1)) {
                    self.endpoint.datagram(seg, m.addr, to, now);
                }
            }
            // A short batch drained the queue; a later arrival raises a new (edge-triggered) event.
            if n < RECV_BATCH {
                return false;
            }
        }
        true
    }
}
