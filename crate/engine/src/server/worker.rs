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
    source_prefix, Admitted, Budget, Cid, Gate, Packet, SourcePrefix, Verdict, ADMISSIONS_PER_SECOND_PER_SOURCE,
    MIN_CLIENT_DCID, MIN_INITIAL_DATAGRAM,
};
use super::filter::{self, Shed, MAX_SHED_RULES};
use super::initial;
use super::perf::Requests;
use super::sharing::ViewSession;
use super::stats::{Dropped, Ended};
use super::waiting::{Deferred, Waiting};
use crate::error::connection_error;
use crate::metrics::{thread_cpu_ns, PathSample, SideCounters, ThreadTime};
use crate::protocol::{error_code, HEADER_LEN, VIEW_ALPN};
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
    /// The DCID its client's Initials carry (its key in `initial_ids`).
    client_id: ClientId,
    handshake_deadline: Instant,
    /// The handshake timeout passed: reaped without a word.
    expired: bool,
    /// Application data moved on it: until then, its work is admission work (`ADMISSION_SHARE`).
    carried_data: bool,
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

    /// Takes in what the client's requests carried (`Requests::read`); returns the upload payload bytes.
    /// A view connection's streams are its own.
    fn read_requests(&mut self, scratch: &mut [u8], max_response: u64, counters: &super::stats::Counters) -> u64 {
        if self.view.is_some() {
            return 0;
        }
        let mut received = 0;
        while let Some(id) = self.conn.stream_readable_next() {
            received += self.requests.read(&mut self.conn, id, scratch, max_response, counters);
        }
        received
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

/// Datagrams waiting for admission work at most (`Waiting`).
const MAX_DEFERRED: usize = 256;

/// How often the worker looks at which sources flood it with Initials, to shed them in the kernel.
pub const SHED_REVIEW: Duration = Duration::from_millis(100);

/// Initials per second from one source beyond which the socket filter sheds part of them: twice what the
/// admission budget takes from one source, so that the budget, not the filter, still decides what is
/// checked, and what the filter drops the budget would have shed after a copy and a look.
pub const KERNEL_SHED_ABOVE: f64 = 2.0 * ADMISSIONS_PER_SECOND_PER_SOURCE;

/// The smallest fraction of a source's Initials the filter keeps (2^-12), so that the rate keeps being
/// measured from what passes.
const MIN_KEEP_LOG2: u32 = 12;

/// Sources whose Initials are counted between reviews, at most.
const TRACKED_SOURCES: usize = 256;

/// The share of a worker's time that admission work may take while established connections move data:
/// checking Initials, Retries, building connections, and taking in their packets and every pass over them,
/// their end included, until they first carry application data (a connection that only completes a
/// handshake never does). A flood of complete handshakes from anywhere then takes at most this much from the
/// measurements under way. New connections wait (their Initials queued, past the queue shed) and are counted
/// in `fairShareWaits`; those of a source whose own connections carry data do not (the share keeps other
/// sources' admission work from a measurement, not a client's from its own). When no established connection
/// moves data, admission work has the whole worker.
pub const ADMISSION_SHARE: f64 = 0.1;

/// The window over which `FairShare` measures admission work against the time gone by.
const FAIR_SHARE_WINDOW: Duration = Duration::from_millis(100);

/// The calling thread's CPU time so far (CLOCK_THREAD_CPUTIME_ID): what admission work is measured in, so
/// that a worker preempted in the middle of it is not charged for the time it did not run.
fn cpu_now() -> Duration {
    Duration::from_nanos(thread_cpu_ns())
}

/// Admission work (CPU time) in the current window, against the monotonic clock, and whether established
/// connections moved data in it or the window before.
///
/// Admission work goes on after the gate let it in (the rest of a handshake, its close), so a window can end
/// beyond its share: while data moves, what it took beyond the share is carried into the next window, and the
/// share holds over time, not only per window.
#[derive(Debug)]
pub struct FairShare {
    window_start: Instant,
    moving: bool,
    moved_before: bool,
    admitting: Duration,
}

impl FairShare {
    pub fn new(now: Instant) -> FairShare {
        FairShare { window_start: now, moving: false, moved_before: false, admitting: Duration::ZERO }
    }

    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < FAIR_SHARE_WINDOW {
            return;
        }
        let share = elapsed.mul_f64(ADMISSION_SHARE);
        let carried = if self.moving { self.admitting.saturating_sub(share) } else { Duration::ZERO };
        *self = FairShare { window_start: now, moving: false, moved_before: self.moving, admitting: carried };
    }

    /// Established connections moved data (packets were read from or sent for them).
    pub fn served(&mut self, now: Instant) {
        self.roll(now);
        self.moving = true;
    }

    /// CPU time spent on admission work.
    pub fn admitted(&mut self, spent: Duration, now: Instant) {
        self.roll(now);
        self.admitting += spent;
    }

    /// Whether admission work may go on now: when no established connection moved data in this window or
    /// the one before, or while admission work has taken at most `ADMISSION_SHARE` of the window's time so
    /// far.
    pub fn may_admit(&mut self, now: Instant) -> bool {
        self.roll(now);
        let elapsed = now.saturating_duration_since(self.window_start);
        !(self.moving || self.moved_before) || self.admitting.as_secs_f64() <= ADMISSION_SHARE * elapsed.as_secs_f64()
    }
}

/// What a review of the shedding rules decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Review {
    /// Not yet: the last review was less than `SHED_REVIEW` ago.
    NotDue,
    Unchanged,
    /// These rules replace the filter's.
    Changed(Vec<Shed>),
}

/// A client's first DCID (or the DCID it used after a Retry), which its repeated Initials carry.
type ClientId = ([u8; quiche::MAX_CONN_ID_LEN], u8);

fn client_id(dcid: &[u8]) -> ClientId {
    let mut id = [0u8; quiche::MAX_CONN_ID_LEN];
    id[..dcid.len()].copy_from_slice(dcid);
    (id, dcid.len() as u8)
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
    /// Our ID of each connection, by the DCID its client's Initials carry, for the connection's whole life: an
    /// Initial that arrives late, or waited for admission past the handshake, goes to its connection instead of
    /// opening a second one for the same client.
    initial_ids: HashMap<ClientId, Cid>,
    budget: Budget,
    waiting: Waiting,
    /// Initials per source prefix that needed admission since the last review, and how many were shed.
    initials: HashMap<SourcePrefix, (u64, u64)>,
    /// The worker's time between established connections and admission work.
    fair: FairShare,
    /// Connections that have carried data, by source prefix.
    carrying: HashMap<SourcePrefix, u32>,
    /// The socket filter's shedding rules now, and when they were last reviewed.
    shedding: Vec<Shed>,
    last_review: Instant,
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
    /// Uploads were taken in as they arrived since the last pass (`receive`): data moved.
    took_uploads: bool,
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
            waiting: Waiting::new(MAX_DEFERRED),
            initials: HashMap::new(),
            fair: FairShare::new(Instant::now()),
            carrying: HashMap::new(),
            shedding: Vec::new(),
            last_review: Instant::now(),
            spare: Vec::new(),
            scratch: vec![0u8; 64 * 1024],
            peak_since_trim: 0,
            ended_since_trim: 0,
            last_trim: Instant::now(),
            changed: Vec::new(),
            gone: Vec::new(),
            asking: HashSet::new(),
            took_uploads: false,
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

    /// Handles one received buffer: `data`, one datagram or a GRO batch of datagrams of `stride` bytes from
    /// one sender. The uploads of a connection that carries data are taken in as each buffer (up to 64 KiB)
    /// arrives, not after the socket's batches: quiche's stream buffers then hold one buffer's data at most,
    /// freed while still in cache, instead of up to four `recvmmsg` batches.
    pub fn receive(&mut self, data: &mut [u8], stride: usize, from: SocketAddr, to: SocketAddr, now: Instant) {
        if data.is_empty() {
            self.datagram(data, from, to, now);
            return;
        }
        let mut unread = None;
        for seg in data.chunks_mut(stride.max(1)) {
            let readable = self.datagram(seg, from, to, now);
            if readable != unread {
                if let Some(k) = unread {
                    self.take_uploads(k);
                }
                unread = readable;
            }
        }
        if let Some(k) = unread {
            self.take_uploads(k);
        }
    }

    /// Reads the requests of connection `k` (see `receive`).
    fn take_uploads(&mut self, k: Cid) {
        let Some(c) = self.conns.get_mut(&k) else { return };
        let counters = &self.gate.counters;
        let received = c.read_requests(&mut [0u8; HEADER_LEN], self.settings.max_response, counters);
        if received > 0 {
            counters.bytes_received.fetch_add(received, Relaxed);
            self.took_uploads = true;
        }
    }

    /// Handles one received datagram at the cost of a look at its header: a packet of a connection goes to
    /// it; one that needs admission work (a new Initial, a Version Negotiation) is kept for `admit`, within
    /// the admission budget; anything else is dropped and counted. Returns the connection the packet went to
    /// if it carries data and has stream data to read now (`receive` reads it at once).
    pub fn datagram(&mut self, seg: &mut [u8], from: SocketAddr, to: SocketAddr, now: Instant) -> Option<Cid> {
        let counters = &self.gate.counters;
        let drop = |why| {
            counters.dropped(why);
            None
        };
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
                    self.defer(seg, from, to, now, false);
                    return None;
                }
                // Initial (0) or 0-RTT (1): a repeated Initial carries its client's ID (`initial_ids`).
                None if ty <= 1 => match self.initial_ids.get(&client_id(dcid)) {
                    Some(k) => Some(*k),
                    None if ty == 1 => return drop(Dropped::UnknownConnection),
                    None if initial::layout(seg).is_none() => return drop(Dropped::Garbage),
                    // RFC 9000 §14.1, §7.2.
                    None if seg.len() < MIN_INITIAL_DATAGRAM => return drop(Dropped::TooShort),
                    None if dcid.len() < MIN_CLIENT_DCID => return drop(Dropped::InvalidInitial),
                    None => {
                        self.defer(seg, from, to, now, true);
                        return None;
                    }
                },
                None => return drop(Dropped::UnknownConnection),
            }
        };
        match key.and_then(|k| self.conns.get_mut(&k).map(|c| (k, c))) {
            Some((k, c)) => {
                // A connection that has not carried data yet: taking in its packets (its handshake, its
                // close) is admission work.
                let began = (!c.carried_data).then(cpu_now);
                let _ = c.conn.recv(seg, quiche::RecvInfo { from, to });
                mark_ready(&mut self.ready, k, c);
                if let Some(began) = began {
                    self.fair.admitted(cpu_now().saturating_sub(began), now);
                }
                (c.carried_data && c.conn.is_readable()).then_some(k)
            }
            None => drop(Dropped::UnknownConnection),
        }
    }

    /// Keeps a datagram for admission, if the budget allows and the queue has room for its source
    /// (`Waiting`); a version 1 Initial (`initial`) is counted by source for `review_shedding`, and so is one
    /// shed.
    fn defer(&mut self, seg: &[u8], from: SocketAddr, to: SocketAddr, now: Instant, initial: bool) {
        let prefix = source_prefix(from.ip());
        if initial {
            self.count_initial(prefix, false);
        }
        if !self.budget.take(prefix, now) {
            if initial {
                self.count_initial(prefix, true);
            }
            return self.gate.counters.dropped(Dropped::Shed);
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(seg);
        if let Some((source, shed)) = self.waiting.push(prefix, Deferred { data, from, to, initial }) {
            if shed.initial {
                self.count_initial(source, true);
            }
            self.spare.push(shed.data);
            self.gate.counters.dropped(Dropped::Shed);
        }
    }

    /// Counts an Initial of source `prefix` seen, or one of its Initials `shed`.
    fn count_initial(&mut self, prefix: SourcePrefix, shed: bool) {
        if self.initials.len() < TRACKED_SOURCES || self.initials.contains_key(&prefix) {
            let (seen, dropped) = self.initials.entry(prefix).or_default();
            *seen += u64::from(!shed);
            *dropped += u64::from(shed);
        }
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
        let mut cpu = cpu_now();
        while !self.waiting.is_empty() {
            let next = if self.fair.may_admit(Instant::now()) {
                self.waiting.pop()
            } else {
                // Established connections have had too little of the worker: only sources whose own
                // connections carry data go on; the rest waits for a later pass.
                let carrying = &self.carrying;
                self.waiting.pop_where(|source| carrying.contains_key(&source))
            };
            let Some(mut d) = next else {
                self.gate.counters.fair_share_waits.fetch_add(1, Relaxed);
                break;
            };
            built |= self.admit_one(&mut d, now, reply, send);
            self.spare.push(d.data);
            let after = cpu_now();
            self.fair.admitted(after.saturating_sub(cpu), Instant::now());
            cpu = after;
        }
        built
    }

    /// Whether admission work waits for established connections (see `ADMISSION_SHARE`).
    pub(crate) fn admission_waiting(&self) -> bool {
        !self.waiting.is_empty()
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
        // An earlier datagram may have built its connection (its handshake perhaps complete since).
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
                carried_data: false,
                changed: false,
                peer: from,
                view: None,
            },
        );
        true
    }

    /// Every `SHED_REVIEW`, decides which sources the socket filter sheds: those whose Initials arrive (before
    /// the filter: what passed it, divided by the fraction kept) faster than `KERNEL_SHED_ABOVE` while the
    /// admission budget sheds them, the hardest first; each keeps a power-of-two fraction that lets about
    /// `KERNEL_SHED_ABOVE` per second through. A source whose flood stopped loses its rule at the next review.
    /// Returns the new rules when they changed (the caller attaches them), counting each source newly shed.
    pub fn review_shedding(&mut self, now: Instant) -> Review {
        let elapsed = now.saturating_duration_since(self.last_review);
        if elapsed < SHED_REVIEW {
            return Review::NotDue;
        }
        self.last_review = now;
        let mut flooding: Vec<(f64, SourcePrefix)> = Vec::new();
        for (prefix, (seen, shed)) in self.initials.drain() {
            let ruled = self.shedding.iter().find(|r| r.prefix == prefix);
            let kept = ruled.map_or(1.0, |r| f64::from(r.keep) / 4_294_967_296.0);
            let arriving = seen as f64 / kept / elapsed.as_secs_f64();
            if (shed > 0 || ruled.is_some()) && arriving > KERNEL_SHED_ABOVE {
                flooding.push((arriving, prefix));
            }
        }
        flooding.sort_by(|a, b| b.0.total_cmp(&a.0));
        let rules: Vec<Shed> = flooding
            .iter()
            .take(MAX_SHED_RULES)
            .map(|&(arriving, prefix)| {
                let halvings = (arriving / KERNEL_SHED_ABOVE).log2().ceil().clamp(1.0, f64::from(MIN_KEEP_LOG2));
                Shed { prefix, keep: 1u32 << (32 - halvings as u32) }
            })
            .collect();
        if rules == self.shedding {
            return Review::Unchanged;
        }
        let new = rules.iter().filter(|r| !self.shedding.iter().any(|o| o.prefix == r.prefix)).count();
        self.gate.counters.kernel_shed_rules.fetch_add(new as u64, Relaxed);
        self.shedding = rules.clone();
        Review::Changed(rules)
    }

    /// Whether the socket filter sheds some source's Initials now.
    pub fn shedding(&self) -> bool {
        !self.shedding.is_empty()
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
        // Whether an established connection had data to move: then the pass's time counts as serving.
        let mut moving = std::mem::take(&mut self.took_uploads);
        let mut visiting = std::mem::take(&mut self.visiting);
        visiting.append(&mut self.ready);
        // Paced sends may leave up to PACING_SLACK early (the poll timer has millisecond resolution).
        while let Some(cid) = self.timers.pop_due(now + PACING_SLACK) {
            visiting.push(cid);
        }
        let mut ended = Vec::new();
        let gate = &self.gate;
        let settings = &self.settings;
        let carrying = &mut self.carrying;
        // The CPU time of visits to connections that have not carried data yet is admission work: when the
        // last visit was one, the CPU clock when it began.
        let mut admitting = Duration::ZERO;
        let mut admission_visit: Option<Duration> = None;
        for cid in visiting.drain(..) {
            if let Some(began) = admission_visit.take() {
                admitting += cpu_now().saturating_sub(began);
            }
            // A connection both ready and due, or gone, is visited at most once.
            let Some(c) = self.conns.get_mut(&cid) else { continue };
            if !c.dirty && c.next_wake().is_none_or(|t| t > now + PACING_SLACK) {
                continue;
            }
            if !c.carried_data {
                admission_visit = Some(cpu_now());
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
                }
                if c.view.is_some() || c.conn.application_proto() == VIEW_ALPN {
                    let view = c.view.get_or_insert_with(ViewSession::default);
                    if view.read(&mut c.conn, scratch, settings.share_view) {
                        self.asking.insert(cid);
                    }
                    view.write(&mut c.conn);
                }
                let received = c.read_requests(scratch, settings.max_response, &gate.counters);
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
                if !c.carried_data && (received > 0 || sent > 0) {
                    c.carried_data = true;
                    *carrying.entry(source_prefix(c.peer.ip())).or_default() += 1;
                }
                moving |= received > 0 || sent > 0;
            }
            if let Out::Socket(sock) = &mut out {
                let flushed = c.outbox.flush(&mut c.conn, sock, pacing, self.segments);
                moving |= c.carried_data && flushed.as_ref().is_ok_and(|(_, packets)| *packets > 0);
                c.wake_at = match flushed {
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
        if let Some(began) = admission_visit {
            admitting += cpu_now().saturating_sub(began);
        }
        for cid in ended {
            let Some(carried) = self.conns.get(&cid).map(|c| c.carried_data) else { continue };
            let began = (!carried).then(cpu_now);
            self.reap(cid);
            admitting += began.map_or(Duration::ZERO, |b| cpu_now().saturating_sub(b));
        }
        if moving {
            self.fair.served(now);
        }
        if admitting > Duration::ZERO {
            self.fair.admitted(admitting, now);
        }
    }

    /// Removes a connection that ended, counted once under how it ended.
    fn reap(&mut self, cid: Cid) {
        let Some(mut c) = self.conns.remove(&cid) else { return };
        self.timers.set(cid, None);
        if self.initial_ids.get(&c.client_id) == Some(&cid) {
            self.initial_ids.remove(&c.client_id);
        }
        if c.carried_data {
            let source = source_prefix(c.peer.ip());
            if let Some(n) = self.carrying.get_mut(&source) {
                *n -= 1;
                if *n == 0 {
                    self.carrying.remove(&source);
                }
            }
        }
        self.ended_since_trim += 1;
        self.gone.push((cid_key(&cid), c.view(), c.peer.ip(), true));
        let how = match c.half_open.take() {
            Some(prefix) => {
                self.gate.no_longer_half_open(prefix);
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
        self.spare.extend(self.waiting.drain().map(|d| d.data));
        self.carrying.clear();
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
    /// The socket's kernel drop count when last read, while shedding rules are in place.
    pub kernel_drops: Option<u64>,
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
                    // Admission work waiting for its share of the worker goes on soon, even without a datagram.
                    let asked =
                        asked.or_else(|| self.endpoint.admission_waiting().then(|| Instant::now() + VIEW_CHECK));
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
            self.review_shedding();
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

    /// Attaches the endpoint's new shedding rules to the socket, and counts the socket's kernel drops while
    /// rules are in place.
    fn review_shedding(&mut self) {
        let was = self.endpoint.shedding();
        let review = self.endpoint.review_shedding(Instant::now());
        if review == Review::NotDue || (!was && !self.endpoint.shedding()) {
            return;
        }
        let drops = DropTable::read().of(&self.sock.io);
        if let Some(before) = self.kernel_drops {
            self.endpoint.gate.counters.kernel_shed_drops.fetch_add(drops.saturating_sub(before), Relaxed);
        }
        self.kernel_drops = self.endpoint.shedding().then_some(drops);
        if let Review::Changed(rules) = review {
            // A filter that cannot be replaced leaves the one in place: the admission budget still sheds.
            let _ = filter::attach(&self.sock.io, self.endpoint.gate.cid_tag(), &rules);
        }
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
                self.endpoint.receive(data, m.stride, m.addr, to, now);
            }
            // A short batch drained the queue; a later arrival raises a new (edge-triggered) event.
            if n < RECV_BATCH {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::admission::{Policy, RetryMode, ADMISSION_BURST_PER_SOURCE};

    fn endpoint() -> (Endpoint, Arc<Gate>) {
        crate::server::fuzzing::endpoint(Policy {
            allow: Vec::new(),
            retry: RetryMode::Never,
            retry_threshold: 64,
            max_connections: 8,
            max_half_open_per_prefix: 4,
            token_lifetime: Duration::from_secs(10),
        })
    }

    /// A version 1 Initial of 1200 bytes that does not decrypt (zeros where the packet would be).
    fn fake_initial(n: u32) -> Vec<u8> {
        let mut d = vec![0xc0, 0, 0, 0, 1, 8];
        d.extend(u64::from(n).to_be_bytes());
        d.extend([8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        let length = 1200 - d.len() - 2;
        d.extend((0x4000 | length as u16).to_be_bytes());
        d.resize(1200, 0);
        d
    }

    /// Sends `n` fake Initials from `from`, each admitted (so that only the budget sheds).
    fn flood(e: &mut Endpoint, from: &str, n: u32, now: Instant) {
        let (from, to) = (from.parse().unwrap(), "[::1]:4433".parse().unwrap());
        for i in 0..n {
            e.datagram(&mut fake_initial(i), from, to, now);
            e.admit(now, &mut [0u8; 2048], &mut |_, _, _| panic!("no reply to a fake Initial"));
        }
    }

    /// Admission work goes on freely while no established connection moves data, and takes at most its share
    /// of the time once one does; the share is measured over a window that starts afresh.
    #[test]
    fn admission_work_takes_at_most_its_share_while_connections_move_data() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut f = FairShare::new(t0);
        f.admitted(ms(50), t0 + ms(50));
        assert!(f.may_admit(t0 + ms(50)), "nothing moving: admission has the whole worker");
        let mut f = FairShare::new(t0);
        f.served(t0);
        assert!(f.may_admit(t0), "nothing admitted yet");
        f.admitted(ms(3), t0 + ms(3));
        assert!(!f.may_admit(t0 + ms(3)), "3 ms of 3");
        assert!(!f.may_admit(t0 + ms(29)), "3 ms of 29");
        assert!(f.may_admit(t0 + ms(30)), "3 ms of 30: within the share");
        f.admitted(ms(5), t0 + ms(40));
        assert!(!f.may_admit(t0 + ms(40)), "8 ms of 40");
        // The window ends 2 ms short of its share of 10 ms: nothing carried; data moved in it, so the gate
        // stays shut in the next window until its share allows.
        let t1 = t0 + FAIR_SHARE_WINDOW;
        assert!(f.may_admit(t1), "a new window: nothing admitted in it yet");
        f.admitted(ms(1), t1);
        assert!(!f.may_admit(t1 + ms(2)), "1 ms of 2, data moved in the window before");
        // Admission work beyond the share (the rest of handshakes let in earlier) is carried over.
        f.served(t1);
        f.admitted(ms(15), t1 + ms(50));
        let t2 = t1 + FAIR_SHARE_WINDOW;
        assert!(!f.may_admit(t2), "16 ms of 100 ms: 6 ms carried");
        assert!(!f.may_admit(t2 + ms(59)), "6 ms of 59");
        assert!(f.may_admit(t2 + ms(60)), "6 ms of 60");
        assert!(f.may_admit(t2 + ms(220)), "a window later, with nothing moving in the last");
        // Nothing moved: nothing carried, whatever admission took.
        let mut f = FairShare::new(t0);
        f.admitted(ms(80), t0 + ms(80));
        let t1 = t0 + FAIR_SHARE_WINDOW;
        f.served(t1);
        assert!(f.may_admit(t1), "a fresh window, no debt");
    }

    /// One source floods the admission queue with Initials; another source's Initial, arriving after the
    /// queue is full, is still queued (the flood's newest is shed instead) and is the second one admitted.
    #[test]
    fn a_flooding_source_does_not_keep_another_sources_initial_waiting() {
        let (mut e, gate) = endpoint();
        let now = Instant::now();
        let to = "[::1]:4433".parse().unwrap();
        let (flooder, other) = ("127.0.0.1:1000".parse().unwrap(), "[::1]:2000".parse().unwrap());
        for i in 0..MAX_DEFERRED as u32 + 10 {
            e.datagram(&mut fake_initial(i), flooder, to, now);
        }
        assert_eq!(gate.counters.shed.load(Relaxed), 10, "the queue is full: the flood's own Initials go");
        let mut theirs = fake_initial(9_999);
        theirs[6..14].copy_from_slice(&[0xab; 8]);
        e.datagram(&mut theirs, other, to, now);
        assert_eq!(gate.counters.shed.load(Relaxed), 11, "room made at the flood's expense");
        let first_two: Vec<SocketAddr> = std::iter::from_fn(|| e.waiting.pop()).take(2).map(|d| d.from).collect();
        assert_eq!(first_two, [flooder, other]);
    }

    /// Past the share, Initials wait, except those of a source whose own connections carry data: the share
    /// keeps other sources' admission work from a measurement, not a client's from its own.
    #[test]
    fn past_the_share_only_a_source_carrying_data_is_admitted() {
        let (mut e, gate) = endpoint();
        let now = Instant::now();
        let to = "[::1]:4433".parse().unwrap();
        let (stranger, client): (SocketAddr, SocketAddr) =
            ("127.0.0.1:1000".parse().unwrap(), "[::1]:2000".parse().unwrap());
        e.fair.served(now);
        e.fair.admitted(Duration::from_secs(1), now);
        e.datagram(&mut fake_initial(1), stranger, to, now);
        let mut theirs = fake_initial(2);
        theirs[6..14].copy_from_slice(&[0xab; 8]);
        e.datagram(&mut theirs, client, to, now);
        e.carrying.insert(source_prefix(client.ip()), 1);
        e.admit(now, &mut [0u8; 2048], &mut |_, _, _| panic!("no reply to a fake Initial"));
        assert_eq!(gate.counters.invalid_initial.load(Relaxed), 1, "the client's Initial was checked");
        assert_eq!(gate.counters.fair_share_waits.load(Relaxed), 1);
        assert_eq!(std::iter::from_fn(|| e.waiting.pop()).map(|d| d.from).collect::<Vec<_>>(), [stranger]);
    }

    /// A source whose Initials the budget sheds while they arrive faster than `KERNEL_SHED_ABOVE` gets a
    /// rule keeping a power-of-two fraction that lets about that rate through; a source under the rate, or
    /// within its budget, gets none; the rule goes once the flood stops, and is counted once.
    #[test]
    fn a_source_flooding_beyond_its_budget_is_shed_in_the_kernel_until_it_stops() {
        let (mut e, gate) = endpoint();
        let t0 = e.last_review;
        let prefix = |ip: &str| source_prefix(ip.parse().unwrap());
        // 5,000 in 0.1 s: 50,000/s, beyond its burst of 4,096; 2,000: 20,000/s, within it; 100: 1,000/s.
        flood(&mut e, "127.0.0.1:1000", 5_000, t0);
        flood(&mut e, "127.0.0.3:1000", 2_000, t0);
        flood(&mut e, "[::1]:1000", 100, t0);
        assert_eq!(gate.counters.shed.load(Relaxed), 5_000 - ADMISSION_BURST_PER_SOURCE as u64);
        assert_eq!(e.review_shedding(t0 + SHED_REVIEW / 2), Review::NotDue);
        let t1 = t0 + SHED_REVIEW;
        // 50,000/s is 3.1 times KERNEL_SHED_ABOVE: a quarter kept.
        assert_eq!(e.review_shedding(t1), Review::Changed(vec![Shed { prefix: prefix("127.0.0.1"), keep: 1 << 30 }]));
        assert_eq!(gate.counters.kernel_shed_rules.load(Relaxed), 1);
        // What passes the rule, a quarter, stands for four times as many: the same rate, the same rule.
        let t2 = t1 + SHED_REVIEW;
        flood(&mut e, "127.0.0.1:1000", 1_250, t2);
        assert_eq!(e.review_shedding(t2), Review::Unchanged);
        // The flood stops: the rule goes.
        let t3 = t2 + SHED_REVIEW;
        assert_eq!(e.review_shedding(t3), Review::Changed(vec![]));
        assert!(!e.shedding());
        assert_eq!(gate.counters.kernel_shed_rules.load(Relaxed), 1);
    }
}
