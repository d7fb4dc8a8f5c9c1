//! One connection slot of a worker: its socket, the connection (for `handshakes`, one after another),
//! its request streams, and how it ended.

use std::time::Instant;

use super::streams::Streams;
use super::{ConnectionResult, RunState};
use crate::error::{connection_error, duration_words, Error, ErrorInfo};
use crate::metrics::{PathSample, SideCounters};
use crate::socket::{Outbox, Socket};

pub(crate) struct Slot {
    pub index: u32,
    pub sock: Socket,
    pub conn: Option<crate::Connection>,
    pub outbox: Outbox,
    pub wake_at: Option<Instant>,
    pub connect_at: Instant,
    /// The request streams of the connection.
    pub streams: Streams,
    /// When the connection's close was asked for (it leaves as quiche lets it).
    pub closing: Option<Instant>,
    pub finished: bool,
    /// Packets or socket space arrived, or the slot changed, since its last pass.
    pub dirty: bool,
    /// In its worker's queue of slots to visit.
    pub queued: bool,
    /// Its socket became readable since its last pass.
    pub readable: bool,
    /// quiche's next timer, cached after each pass.
    pub timer: Option<Instant>,
    /// The connection's handshake completed (and was noted).
    pub established: bool,
    /// Packets the connection had received at the last interval tick.
    pub received_at_tick: u64,
    /// When the slot failed or was cancelled.
    pub ended_at: Option<Instant>,
    /// When the connection last took a packet from the peer.
    pub heard_at: Option<Instant>,
    /// Counters of connections this slot already closed (handshakes).
    pub retired: SideCounters,
    pub result: ConnectionResult,
}

impl Slot {
    pub fn new(index: u32, sock: Socket, outbox: Outbox, streams: Streams, start: Instant) -> Slot {
        Slot {
            index,
            sock,
            conn: None,
            outbox,
            wake_at: None,
            connect_at: start,
            streams,
            closing: None,
            finished: false,
            dirty: true,
            queued: false,
            readable: false,
            timer: None,
            established: false,
            received_at_tick: 0,
            ended_at: None,
            heard_at: None,
            retired: SideCounters::default(),
            result: ConnectionResult {
                index,
                state: RunState::Completed,
                error: None,
                bytes_sent: 0,
                bytes_received: 0,
                streams_completed: 0,
                streams_failed: 0,
                streams_rejected: 0,
                connect_ns: None,
                handshake_ns: None,
                counters: SideCounters::default(),
                path: None,
            },
        }
    }

    /// Whether the slot is finished, whether it is finished or closing, and whether its connection is
    /// open with its handshake under way.
    pub fn state(&self) -> (bool, bool, bool) {
        (self.finished, self.quiet(), self.conn.is_some() && !self.established && !self.finished)
    }

    /// Finished or closing: its transfer is over.
    pub fn quiet(&self) -> bool {
        self.finished || self.closing.is_some()
    }

    /// When the slot next has work without a packet: quiche's timer, a paced send, the end of a linger or
    /// of its close.
    pub fn next_wake(&self) -> Option<Instant> {
        [self.wake_at, self.timer, self.streams.linger_until, self.closing.map(|t| t + super::CLOSE_WAIT)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Ends the slot with an error that is not the connection's own (a failed connect or send).
    pub fn fail(&mut self, e: Error) {
        self.result.state = RunState::Errored;
        self.result.error.get_or_insert(ErrorInfo::from(&e));
        self.finished = true;
        self.ended_at.get_or_insert_with(Instant::now);
    }

    /// Ends a slot whose connection never opened because the run was cancelled: nothing of it failed.
    pub fn cancel_unopened(&mut self) {
        self.result.state = RunState::Cancelled;
        self.finished = true;
        self.ended_at.get_or_insert_with(Instant::now);
    }

    /// Keeps the first error of the slot (later ones are consequences).
    pub fn note_error(&mut self, e: Error) {
        self.result.error.get_or_insert(ErrorInfo::from(e));
    }

    /// Records how the slot's connection ended (`idle_timeout_ns`: the idle timeout asked for).
    pub fn finish(&mut self, cancelled: bool, idle_timeout_ns: u64) {
        self.finished = true;
        let Some(conn) = self.conn.as_ref() else { return };
        self.result.path = PathSample::of(conn);
        let mut quic = self.retired;
        quic.add(&SideCounters::of_connection(conn));
        quic.add(&self.outbox.pacing());
        self.result.counters = quic;
        let unfinished = self.streams.unfinished();
        let short_uni = self.streams.short_uni_replies();
        let ended = if cancelled { None } else { connection_error(conn) };
        // A timeout says how long the peer was silent: quiche waits the idle timeout or 3 PTO, whichever is
        // longer (RFC 9000 §10.1), about 3 s before any round trip was measured.
        let ended = ended.map(|e| match e {
            Error::Timeout(_) => {
                let since = self.heard_at.unwrap_or(self.connect_at);
                Error::Timeout(format!(
                    "the peer sent nothing for {}{} (the idle timeout, {}, or 3 probe timeouts when longer: RFC 9000 §10.1)",
                    duration_words(since.elapsed().as_nanos() as u64),
                    if self.heard_at.is_none() { " from the connect on" } else { "" },
                    duration_words(idle_timeout_ns),
                ))
            }
            e => e,
        });
        if let Some(e) = short_uni {
            self.note_error(e);
        }
        if cancelled {
            self.result.state = RunState::Cancelled;
        } else if let Some(e) = ended {
            self.result.state = RunState::Errored;
            self.note_error(e);
        } else if unfinished > 0 && self.closing.is_none() {
            self.result.state = RunState::Errored;
            self.note_error(Error::Peer(format!(
                "the server closed the connection with {unfinished} streams unfinished"
            )));
        } else if self.result.error.is_some() {
            self.result.state = RunState::Errored;
        }
        if self.result.state != RunState::Completed {
            self.ended_at.get_or_insert_with(Instant::now);
        }
    }
}
