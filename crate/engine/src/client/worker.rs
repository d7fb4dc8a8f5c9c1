//! A client worker: one I/O thread driving its connection slots. The event loop reads what arrived,
//! lets the scenario's workload advance each established connection, sends what quiche has (paced),
//! handles the end of each connection, and reports an interval tick on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use mio::{Events, Poll, Token};
use quinn_udp::RecvMeta;

use super::streams::Streams;
use super::{ConnectionResult, Plan, Report, Slot, Tick, CLOSE_WAIT, STOP_GRACE};
use crate::error::Error;
use crate::metrics::{Counters, Latencies, PathGauges, PathSample, SideCounters, ThreadTime};
use crate::protocol::{addressed_to, error_code};
use crate::qlog::qlog_writer;
use crate::rng::random_bytes;
use crate::scenario::StreamType;
use crate::socket::{DropTable, FastPath, Flushed, Outbox, Socket, PACING_SLACK, RECV_BATCH, RECV_SLOT_BYTES};
use crate::timers::Timers;
use crate::workload::{Step, Workload};

/// Longest sleep of a worker between looks at the cancel flag.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// Handshakes a client keeps under way at once (shared out over its workers), as load generators do
/// (h2load, wrk): the next connection opens as an earlier one's handshake completes or fails. Opened all at
/// once, thousands of Initials only queue at the server, whose limit on half-open connections per source
/// drops the excess (a stoq-bench server: 1,024), each to be sent again a probe timeout later (1 s, then
/// 2 s, 4 s: RFC 9002 §6.2), and every handshake's TLS state is held at the same moment. A workload of
/// handshakes keeps its `connections` under way: there, they are the concurrency asked for.
pub const HANDSHAKES_IN_FLIGHT: usize = 256;

/// What a worker measured: application bytes, completions and their latencies, cumulative.
#[derive(Default)]
pub(crate) struct Meter {
    pub latencies: Latencies,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub completed: u64,
    /// When the last stream or handshake completed (a stopped download: when it was stopped): the end of
    /// the measured transfer, whatever the connection's closing takes after it.
    pub last_completion: Option<Instant>,
}

impl Meter {
    /// One request, round trip or handshake completed after `latency_ns`, at `at_ns` since the start.
    pub fn complete(&mut self, latency_ns: u64, at_ns: u64) {
        self.latencies.record(latency_ns, at_ns);
        self.completed += 1;
    }
}

/// What a worker hands back when its slots are all finished.
#[derive(Default)]
pub(super) struct WorkerResult {
    pub connections: Vec<ConnectionResult>,
    pub totals: Counters,
    pub fast_path: FastPath,
    pub latencies: Latencies,
    /// When this worker's transfer ended, ns since the start.
    pub end_ns: u64,
    pub closing: Closing,
}

/// A worker's closing period: from the end of its transfer until its last connection closed.
#[derive(Default)]
pub(super) struct Closing {
    pub start_ns: u64,
    pub end_ns: u64,
    pub delta: Counters,
}

pub(super) struct Worker {
    id: usize,
    plan: Arc<Plan>,
    workload: &'static dyn Workload,
    slots: Vec<Slot>,
    tx: Sender<Report>,
    meter: Meter,
    config: quiche::Config,
    segments: usize,
    /// Slots with work now (a packet, socket space, a change): only these and those whose deadline came
    /// are visited, so a pass costs what its visited slots cost, not what the open ones do.
    ready: Vec<usize>,
    /// Each unfinished slot's next deadline (`Slot::next_wake`).
    timers: Timers<usize>,
    /// Slots finished, and slots finished or closing (kept as the slots change, not counted per pass).
    finished: usize,
    quiet: usize,
    /// Slots whose connection is open and not yet established, and the most allowed at once.
    handshaking: usize,
    handshakes_in_flight: usize,
    /// Slots from this index on have not opened their connection yet (they open in order).
    unopened: usize,
}

impl Worker {
    /// A worker for the slots of `socks`, its connections configured by `config` (built, as the sockets
    /// were bound, before the run's clock started).
    pub fn new(
        id: usize,
        plan: Arc<Plan>,
        socks: Vec<(u32, Socket)>,
        config: quiche::Config,
        tx: Sender<Report>,
    ) -> Worker {
        let s = &plan.scenario;
        let workload = s.kind.spec().workload;
        let payload_size = s.settings.payload_size as usize;
        let segments = socks.first().map(|(_, sock)| sock.batch_segments(payload_size)).unwrap_or(1);
        let uni = s.stream_type == StreamType::Uni;
        let workers = s.settings.threads.min(s.connections).max(1) as usize;
        // A run bounded by a count of units shares them among every connection asked for: all open at
        // once, since one opened late could find the units all taken before its handshake.
        let handshakes_in_flight = if s.count.is_some() { usize::MAX } else { HANDSHAKES_IN_FLIGHT.div_ceil(workers) };
        let slots = socks
            .into_iter()
            .map(|(index, sock)| {
                let streams = Streams::new(uni, workload.streams(s, index));
                Slot::new(index, sock, Outbox::new(payload_size, segments), streams, plan.start)
            })
            .collect();
        Worker {
            id,
            plan,
            workload,
            slots,
            tx,
            meter: Meter::default(),
            config,
            segments,
            ready: Vec::new(),
            timers: Timers::default(),
            finished: 0,
            quiet: 0,
            handshaking: 0,
            handshakes_in_flight,
            unopened: 0,
        }
    }

    pub fn run(mut self) -> WorkerResult {
        let poll = Poll::new().expect("epoll is available");
        for (i, slot) in self.slots.iter_mut().enumerate() {
            slot.sock.register(poll.registry(), Token(i)).expect("a fresh socket registers");
        }
        let mut poll = poll;
        let mut events = Events::with_capacity(1024);
        let mut rx = vec![0u8; RECV_BATCH * RECV_SLOT_BYTES];
        let mut meta = vec![RecvMeta::default(); RECV_BATCH];
        let thread_start = ThreadTime::now();
        let mut last = Counters::default();
        let mut tick_index = 0u32;
        let mut next_tick = self.plan.start + self.plan.interval;
        // When the run's stop condition came: its deadline, or when this worker saw the count budget spent
        // or the cancel.
        let mut stopped_at: Option<Instant> = None;
        // When the transfer ended (every slot closing or finished) and its last interval was reported; the
        // closing period that follows is reported apart.
        let mut cut: Option<(Instant, Counters)> = None;

        if self.workload.one_unit_per_connection() {
            for i in 0..self.slots.len() {
                if self.plan.may_start_another(Instant::now()) {
                    self.connect(i);
                } else {
                    self.slots[i].finished = true;
                }
            }
            self.unopened = self.slots.len();
            self.finished = self.slots.iter().filter(|s| s.finished).count();
            self.quiet = self.slots.iter().filter(|s| s.quiet()).count();
            for i in 0..self.slots.len() {
                self.enqueue(i);
            }
        } else {
            self.open_more(Instant::now());
        }
        let mut visiting: Vec<usize> = Vec::new();
        // The stop as last applied to every slot: (cancelled, overdue).
        let mut stop_applied: Option<(bool, bool)> = None;
        loop {
            let now = Instant::now();
            if stopped_at.is_none() && self.plan.budget_over(now) {
                stopped_at = Some(self.plan.deadline.filter(|&d| d <= now).unwrap_or(now));
            }
            // Applied to every slot when the stop, a cancel or the end of the grace comes, and to each slot
            // visited after it: a connection or stream that comes later is stopped too, and a cancel that
            // comes after the deadline still closes every connection.
            let phase = stopped_at.map(|at| (self.plan.cancel.is_cancelled(), now >= at + STOP_GRACE));
            if let Some((cancelled, overdue)) = phase.filter(|&p| stop_applied != Some(p)) {
                stop_applied = Some((cancelled, overdue));
                for i in 0..self.slots.len() {
                    self.stop(i, now, cancelled, overdue);
                }
            }
            visiting.append(&mut self.ready);
            // Paced sends may leave up to PACING_SLACK early (the poll timer has millisecond resolution).
            while let Some(i) = self.timers.pop_due(now + PACING_SLACK) {
                visiting.push(i);
            }
            for i in visiting.drain(..) {
                self.slots[i].queued = false;
                // Read right before the slot's pass, which takes the payload out of quiche at once: what
                // arrived is held for one slot at a time, not for every readable slot of the pass.
                if std::mem::take(&mut self.slots[i].readable) {
                    self.receive(i, &mut rx, &mut meta);
                }
                if self.slots[i].finished {
                    continue;
                }
                if let Some((cancelled, overdue)) = phase {
                    self.stop(i, now, cancelled, overdue);
                }
                let before = self.slots[i].state();
                self.slots[i].dirty = false;
                self.step(i, now);
                let s = &mut self.slots[i];
                s.timer = s.conn.as_ref().and_then(|c| c.timeout_instant());
                if !s.finished {
                    let _ = s.sock.watch_writable(poll.registry(), Token(i));
                }
                self.settle(i, before);
            }
            let now = Instant::now();
            self.open_more(now);
            let stopping = stopped_at.is_some() || self.plan.budget_over(now);
            if cut.is_none() && self.quiet == self.slots.len() {
                // The transfer is over: its last interval ends with it, and what follows (quiche's closing
                // period, 3 PTO) is no interval of the transfer.
                let at = self.transfer_end(now).max(self.plan.start + self.plan.interval * tick_index);
                let cumulative = self.counters(thread_start);
                self.report(tick_index, at, cumulative.minus(&last), true);
                cut = Some((at, cumulative));
            } else if cut.is_none() && now >= self.tick_due(next_tick, stopping) {
                let cumulative = self.counters(thread_start);
                self.report(tick_index, next_tick, cumulative.minus(&last), false);
                last = cumulative;
                tick_index += 1;
                next_tick += self.plan.interval;
            }
            if self.finished == self.slots.len() {
                break;
            }
            // The next moment the stop changes something: the deadline, then the end of the grace.
            let stop = match stopped_at {
                None => self.plan.deadline,
                Some(at) => Some(at + STOP_GRACE).filter(|&t| t > now),
            };
            let tick = cut.is_none().then(|| self.tick_due(next_tick, stopping));
            let wake = [tick, stop, self.timers.next()].into_iter().flatten().min();
            // Capped so that a cancel is seen promptly even when no packet or timer is due.
            let timeout = wake.map_or(CANCEL_CHECK, |w| w.saturating_duration_since(Instant::now()).min(CANCEL_CHECK));
            let _ = poll.poll(&mut events, Some(timeout));
            for e in events.iter() {
                // Buffer space: the blocked flush is retried. Only a readable socket is read.
                let i = e.token().0;
                self.slots[i].dirty = true;
                self.slots[i].readable |= e.is_readable() || e.is_error();
                self.enqueue(i);
            }
        }
        let totals = self.counters(thread_start);
        let drops = DropTable::read();
        let fast_path = self.slots.iter_mut().fold(FastPath::default(), |mut f, s| {
            f.merge(&s.sock.finish(&drops));
            f
        });
        let (cut_at, at_cut) = cut.expect("every slot finished, so the transfer was over");
        let closing = Closing {
            start_ns: self.plan.ns_since_start(cut_at),
            end_ns: self.plan.ns_since_start(Instant::now()),
            delta: totals.minus(&at_cut),
        };
        WorkerResult {
            connections: self.slots.into_iter().map(|s| s.result).collect(),
            totals,
            fast_path,
            latencies: self.meter.latencies,
            end_ns: closing.start_ns,
            closing,
        }
    }

    /// Queues slot `i` for the next pass if it has work now, and files its next deadline.
    fn enqueue(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if s.finished {
            self.timers.set(i, None);
            return;
        }
        if s.dirty && !s.queued {
            s.queued = true;
            self.ready.push(i);
        }
        self.timers.set(i, s.next_wake());
    }

    /// Notes what changed in slot `i` since `before` (its `state()`): the counts of finished, quiet and
    /// handshaking slots, its place in the queues.
    fn settle(&mut self, i: usize, before: (bool, bool, bool)) {
        let (finished, quiet, handshaking) = self.slots[i].state();
        self.finished = self.finished + usize::from(finished) - usize::from(before.0);
        self.quiet = self.quiet + usize::from(quiet) - usize::from(before.1);
        self.handshaking = self.handshaking + usize::from(handshaking) - usize::from(before.2);
        self.enqueue(i);
    }

    /// Opens the next slots' connections while fewer than `handshakes_in_flight` handshakes are under
    /// way. Once the run's stop condition has come no connection opens: the slots left unopened are
    /// ended, with the reason, by `stop`.
    fn open_more(&mut self, now: Instant) {
        while self.unopened < self.slots.len()
            && self.handshaking < self.handshakes_in_flight
            && !self.plan.budget_over(now)
        {
            let i = self.unopened;
            self.unopened += 1;
            let before = self.slots[i].state();
            self.connect(i);
            self.settle(i, before);
        }
    }

    /// When the next regular tick is due. Once the run is stopping (its deadline passed, its budget spent),
    /// the interval under way waits for the transfer's end, so that a stop just after a tick leaves no
    /// sliver of an interval; a whole interval later it is reported anyway.
    fn tick_due(&self, next_tick: Instant, stopping: bool) -> Instant {
        if stopping {
            next_tick + self.plan.interval
        } else {
            next_tick
        }
    }

    /// When the transfer ended: its last completion (a stream's FIN, a stopped reply, a handshake), or
    /// when a connection failed or the run was cancelled, whichever came last; `now` when neither happened.
    fn transfer_end(&self, now: Instant) -> Instant {
        let interrupted = self.slots.iter().filter_map(|s| s.ended_at).max();
        [self.meter.last_completion, interrupted].into_iter().flatten().max().unwrap_or(now).min(now)
    }

    /// Reports this worker's share of interval `index`, ending at `end`.
    fn report(&mut self, index: u32, end: Instant, delta: Counters, last: bool) {
        let tick = Tick {
            index,
            start_ns: index as u64 * self.plan.interval.as_nanos() as u64,
            end_ns: self.plan.ns_since_start(end),
            delta,
            path: self.gauges(),
            last,
        };
        let _ = self.tx.send(Report::Tick(self.id, tick));
    }

    /// Cumulative counters of this worker (live connections plus those already closed).
    fn counters(&self, thread_start: ThreadTime) -> Counters {
        let mut c = Counters {
            bytes_sent: self.meter.bytes_sent,
            bytes_received: self.meter.bytes_received,
            completed: self.meter.completed,
            side: SideCounters::of_thread(ThreadTime::now().minus(&thread_start)),
        };
        for s in &self.slots {
            c.side.add(&s.retired);
            c.side.add(&s.outbox.pacing());
            if let Some(conn) = &s.conn {
                c.side.add(&SideCounters::of_connection(conn));
            }
        }
        c
    }

    /// Path state of the connections that received packets since the last tick.
    fn gauges(&mut self) -> PathGauges {
        let mut g = PathGauges::default();
        for s in &mut self.slots {
            let Some(conn) = &s.conn else { continue };
            let received = conn.stats().recv as u64;
            if received > s.received_at_tick {
                if let Some(p) = PathSample::of(conn) {
                    g.add(&p);
                }
            }
            s.received_at_tick = received;
        }
        g
    }

    fn connect(&mut self, i: usize) {
        let plan = self.plan.clone();
        let slot = &mut self.slots[i];
        let mut scid = [0u8; quiche::MAX_CONN_ID_LEN];
        random_bytes(&mut scid);
        let scid = quiche::ConnectionId::from_ref(&scid);
        slot.connect_at = Instant::now();
        slot.result.connect_ns.get_or_insert(plan.ns_since_start(slot.connect_at));
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
                slot.closing = None;
                slot.established = false;
                slot.received_at_tick = 0;
                slot.heard_at = None;
                slot.dirty = true;
            }
            Err(e) => slot.fail(Error::from(e)),
        }
    }

    fn receive(&mut self, i: usize, rx: &mut [u8], meta: &mut [RecvMeta]) {
        let slot = &mut self.slots[i];
        loop {
            let n = match slot.sock.recv(rx, meta) {
                Ok(n) => n,
                Err(_) => return,
            };
            let mut heard = false;
            for (k, m) in meta[..n].iter().enumerate() {
                let Some(conn) = slot.conn.as_mut() else { break };
                let data = &mut rx[k * RECV_SLOT_BYTES..k * RECV_SLOT_BYTES + m.len];
                for seg in data.chunks_mut(m.stride.max(1)) {
                    // Late packets of a connection this slot already closed are not this one's.
                    let ours = addressed_to(seg, conn.source_id().as_ref());
                    heard |= ours && conn.recv(seg, quiche::RecvInfo { from: m.addr, to: slot.sock.local }).is_ok();
                }
                // Replies are read as each datagram (a GRO batch of up to 64 KiB) is taken in, not once
                // the socket is drained: quiche's stream buffers then hold one datagram's data at most,
                // freed while still in cache, instead of up to a whole socket buffer.
                if conn.is_established() && slot.closing.is_none() {
                    slot.read_replies(&mut self.meter, &self.plan);
                }
            }
            // One clock read per batch, not per packet: the batch arrived together.
            if heard {
                slot.heard_at = Some(Instant::now());
            }
            // A short batch drained the queue; a later arrival raises a new (edge-triggered) event.
            if n < RECV_BATCH {
                return;
            }
        }
    }

    /// The run's stop condition came: the slot's streams stop (those in flight finish), a cancel closes
    /// the connection at once, and a connection still busy `STOP_GRACE` after the stop is closed, what it
    /// left unfinished becoming its error. Idempotent: called on every pass from the stop on.
    fn stop(&mut self, i: usize, now: Instant, cancelled: bool, overdue: bool) {
        let before = self.slots[i].state();
        self.stop_slot(i, now, cancelled, overdue);
        self.settle(i, before);
    }

    fn stop_slot(&mut self, i: usize, now: Instant, cancelled: bool, overdue: bool) {
        let slot = &mut self.slots[i];
        if slot.finished || slot.closing.is_some() {
            return;
        }
        if slot.conn.is_none() {
            if cancelled {
                slot.cancel_unopened();
                return;
            }
            // Never opened: the handshakes before it took until the stop.
            slot.fail(Error::Timeout(format!(
                "the run stopped before this connection opened (connections open as earlier handshakes \
                 complete, at most {HANDSHAKES_IN_FLIGHT} under way at once)"
            )));
            return;
        }
        if !slot.streams.stopped() {
            slot.stop_streams(&mut self.meter, now);
            slot.dirty = true;
        }
        if cancelled {
            slot.ended_at.get_or_insert(now);
        }
        let Some(conn) = slot.conn.as_mut() else { return };
        if cancelled {
            let _ = conn.close(true, error_code::NO_ERROR, b"cancelled");
        } else if overdue {
            let open = slot.streams.open_count();
            let grace = STOP_GRACE.as_secs_f64();
            let unfinished = match conn.is_established() {
                false => Some("the handshake".to_string()),
                true if open > 0 => Some(format!("{open} streams")),
                true => None,
            };
            let _ = conn.close(true, error_code::NO_ERROR, b"stopped");
            if let Some(what) = unfinished {
                slot.result.streams_failed += open as u64;
                slot.note_error(Error::Timeout(format!(
                    "{what} still unfinished {grace} s after the run's stop condition (closed then)"
                )));
            }
        } else {
            return;
        }
        slot.closing = Some(now);
        slot.dirty = true;
    }

    /// Advances one slot: timers, the workload, sending, and the end of the connection.
    fn step(&mut self, i: usize, now: Instant) {
        let plan = &*self.plan;
        let slot = &mut self.slots[i];
        if slot.finished {
            return;
        }
        // Not opened yet: it waits for a handshake to complete (`open_more`).
        let Some(conn) = slot.conn.as_mut() else { return };
        if conn.timeout_instant().is_some_and(|t| t <= now) {
            conn.on_timeout();
        }
        if conn.is_established() && !slot.established {
            slot.established = true;
            slot.result.handshake_ns.get_or_insert((now - slot.connect_at).as_nanos() as u64);
            if !self.workload.one_unit_per_connection() {
                // The server's view of the run is read by the connection IDs the server chose.
                let _ = self.tx.send(Report::Connected(conn.destination_id().to_vec()));
            }
        }
        if conn.is_established() && slot.closing.is_none() {
            let done = self.workload.advance(Step { slot, meter: &mut self.meter, plan, now });
            if let Some(reason) = done {
                if let Some(conn) = slot.conn.as_mut() {
                    // What quiche has to send leaves before the close: a closing connection sends no CRYPTO
                    // frames, so a close right after the handshake would keep the client's Finished back
                    // and leave both sides waiting.
                    let _ = slot.outbox.flush(conn, &mut slot.sock, false, self.segments);
                    let _ = conn.close(true, error_code::NO_ERROR, reason);
                }
                slot.closing = Some(now);
            }
        }
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
                slot.fail(Error::Io(e.to_string()));
                return;
            }
        };
        // A connection that is one unit of work (a handshake), or cancelled, is done once its close has
        // left (quiche is draining: the CONNECTION_CLOSE went into a packet, and that packet is out). A
        // transfer's waits out quiche's closing period (3 PTO, RFC 9000 §10.2) still reading, so
        // datagrams already under way are counted, not left unread in a closed socket. Neither waits
        // longer than CLOSE_WAIT: a close that cannot leave by then is left to the peer's idle timeout.
        let per_unit = self.workload.one_unit_per_connection();
        let cancelled = plan.cancel.is_cancelled();
        let close_left = conn.is_draining() && !slot.outbox.pending();
        let closed = conn.is_closed()
            || slot.closing.is_some_and(|t| (close_left && (per_unit || cancelled)) || now >= t + CLOSE_WAIT);
        if closed && per_unit && conn.is_established() && !cancelled {
            self.next_connection(i, Instant::now());
        } else if closed {
            slot.finish(cancelled, plan.scenario.settings.idle_timeout_ns);
        }
    }

    /// The connection's close went out: start the slot's next connection, if the budget allows one.
    fn next_connection(&mut self, i: usize, now: Instant) {
        let slot = &mut self.slots[i];
        if !self.plan.may_start_another(now) {
            slot.finish(false, self.plan.scenario.settings.idle_timeout_ns);
            return;
        }
        if let Some(conn) = slot.conn.as_ref() {
            slot.retired.add(&SideCounters::of_connection(conn));
        }
        self.connect(i);
        // The new Initial is sent on the next pass, without waiting for a timer.
        self.slots[i].wake_at = Some(now);
    }
}
