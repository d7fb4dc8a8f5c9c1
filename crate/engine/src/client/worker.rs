//! A client worker: one I/O thread driving its connection slots. The event loop reads what arrived,
//! lets the scenario's workload advance each established connection, sends what quiche has (paced),
//! handles the end of each connection, and reports an interval tick on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use mio::{Events, Poll, Token};
use quinn_udp::RecvMeta;

use super::streams::Streams;
use super::{client_role, ConnectionResult, Plan, Report, Slot, Tick, CLOSE_WAIT, STOP_GRACE};
use crate::config::quiche_config;
use crate::error::Error;
use crate::metrics::{thread_cpu_ns, Counters, Latencies, PathGauges};
use crate::protocol::error_code;
use crate::qlog::qlog_writer;
use crate::rng::random_bytes;
use crate::scenario::StreamType;
use crate::socket::{DropTable, FastPath, Flushed, Outbox, Socket, PACING_SLACK, RECV_BATCH, RECV_SLOT_BYTES};
use crate::workload::{Step, Workload};

/// Longest sleep of a worker between looks at the cancel flag.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

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
    pub end_ns: u64,
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
}

impl Worker {
    pub fn new(id: usize, plan: Arc<Plan>, socks: Vec<(u32, Socket)>, tx: Sender<Report>) -> Worker {
        let s = &plan.scenario;
        let workload = s.kind.spec().workload;
        let payload_size = s.settings.payload_size as usize;
        let segments = socks.first().map(|(_, sock)| sock.batch_segments(payload_size)).unwrap_or(1);
        let config = quiche_config(&s.settings, &client_role(&plan.client_cert)).expect("checked by run()");
        let uni = s.stream_type == StreamType::Uni;
        let slots = socks
            .into_iter()
            .map(|(index, sock)| {
                let streams = Streams::new(uni, workload.streams(s, index));
                Slot::new(index, sock, Outbox::new(payload_size, segments), streams, plan.start)
            })
            .collect();
        Worker { id, plan, workload, slots, tx, meter: Meter::default(), config, segments }
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
        let cpu_start = thread_cpu_ns();
        let mut last = Counters::default();
        let mut tick_index = 0u32;
        let mut next_tick = self.plan.start + self.plan.interval;
        // When the run's stop condition came: its deadline, or when this worker saw the count budget spent
        // or the cancel.
        let mut stopped_at: Option<Instant> = None;

        for i in 0..self.slots.len() {
            if !self.workload.one_unit_per_connection() || self.plan.may_start_another(Instant::now()) {
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
            if stopped_at.is_none() && self.plan.budget_over(now) {
                stopped_at = Some(self.plan.deadline.filter(|&d| d <= now).unwrap_or(now));
            }
            // Applied on every pass, not once: a connection or stream that comes later is stopped too, and
            // a cancel that comes after the deadline still closes every connection.
            if let Some(at) = stopped_at {
                let cancelled = self.plan.cancel.is_cancelled();
                let overdue = now >= at + STOP_GRACE;
                for i in 0..self.slots.len() {
                    self.stop(i, now, cancelled, overdue);
                }
            }
            for i in 0..self.slots.len() {
                let s = &self.slots[i];
                let due = s.dirty
                    || [s.timer, s.streams.linger_until, s.closing.map(|t| t + CLOSE_WAIT)]
                        .into_iter()
                        .flatten()
                        .any(|t| t <= now)
                    || s.wake_at.is_some_and(|t| t <= now + PACING_SLACK);
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
            // The next moment the stop changes something: the deadline, then the end of the grace.
            let stop = match stopped_at {
                None => self.plan.deadline,
                Some(at) => Some(at + STOP_GRACE).filter(|&t| t > now),
            };
            let wake = [Some(next_tick), stop]
                .into_iter()
                .chain(
                    self.slots
                        .iter()
                        .filter(|s| !s.finished)
                        .flat_map(|s| [s.wake_at, s.timer, s.streams.linger_until, s.closing.map(|t| t + CLOSE_WAIT)]),
                )
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
        let end_ns = self.plan.ns_since_start(self.meter.last_completion.unwrap_or(end));
        WorkerResult {
            connections: self.slots.into_iter().map(|s| s.result).collect(),
            totals,
            fast_path,
            latencies: self.meter.latencies,
            end_ns,
        }
    }

    /// Cumulative counters of this worker (live connections plus those already closed).
    fn counters(&self, cpu_start: u64) -> Counters {
        let mut c = Counters {
            bytes_sent: self.meter.bytes_sent,
            bytes_received: self.meter.bytes_received,
            completed: self.meter.completed,
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
                slot.closing = None;
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

    /// The run's stop condition came: the slot's streams stop (those in flight finish), a cancel closes
    /// the connection at once, and a connection still busy `STOP_GRACE` after the stop is closed, what it
    /// left unfinished becoming its error. Idempotent: called on every pass from the stop on.
    fn stop(&mut self, i: usize, now: Instant, cancelled: bool, overdue: bool) {
        let slot = &mut self.slots[i];
        if slot.finished || slot.closing.is_some() {
            return;
        }
        if !slot.streams.stopped() {
            slot.stop_streams(&mut self.meter, now);
            slot.dirty = true;
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
        if conn.is_established() && slot.closing.is_none() {
            let done = self.workload.advance(Step { slot, meter: &mut self.meter, plan, now, segments: self.segments });
            if let Some(reason) = done {
                if let Some(conn) = slot.conn.as_mut() {
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
            slot.finish(cancelled);
        }
    }

    /// The connection's close went out: start the slot's next connection, if the budget allows one.
    fn next_connection(&mut self, i: usize, now: Instant) {
        let slot = &mut self.slots[i];
        if !self.plan.may_start_another(now) {
            slot.finish(false);
            return;
        }
        if let Some(conn) = slot.conn.as_ref() {
            slot.retired.add(&Counters::of_connection(conn));
        }
        self.connect(i);
        // The new Initial is sent on the next pass, without waiting for a timer.
        self.slots[i].wake_at = Some(now);
    }
}
