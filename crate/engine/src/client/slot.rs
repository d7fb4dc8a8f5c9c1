//! One connection slot of a worker: its socket, the connection (for `handshakes`, one after another),
//! its request streams, and how it ended.

use std::time::Instant;

use super::streams::Streams;
use super::{ConnectionResult, RunState};
use crate::error::{connection_error, Error, ErrorInfo};
use crate::metrics::Counters;
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
    /// quiche's next timer, cached after each pass.
    pub timer: Option<Instant>,
    /// Counters of connections this slot already closed (handshakes).
    pub retired: Counters,
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
            timer: None,
            retired: Counters::default(),
            result: ConnectionResult {
                index,
                state: RunState::Completed,
                error: None,
                bytes_sent: 0,
                bytes_received: 0,
                streams_completed: 0,
                streams_failed: 0,
                streams_rejected: 0,
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
        }
    }

    /// Ends the slot with an error that is not the connection's own (a failed connect or send).
    pub fn fail(&mut self, e: Error) {
        self.result.state = RunState::Errored;
        self.result.error.get_or_insert(ErrorInfo::from(&e));
        self.finished = true;
    }

    /// Keeps the first error of the slot (later ones are consequences).
    pub fn note_error(&mut self, e: Error) {
        self.result.error.get_or_insert(ErrorInfo::from(e));
    }

    /// Records how the slot's connection ended.
    pub fn finish(&mut self, cancelled: bool) {
        self.finished = true;
        let Some(conn) = self.conn.as_ref() else { return };
        if let Some(p) = conn.path_stats().next() {
            self.result.rtt_ns = p.rtt.as_nanos() as u64;
            self.result.min_rtt_ns = p.min_rtt.map_or(0, |d| d.as_nanos() as u64);
            self.result.cwnd = p.cwnd as u64;
            self.result.pmtu = p.pmtu as u64;
        }
        let mut quic = self.retired;
        quic.add(&Counters::of_connection(conn));
        self.result.packets_sent = quic.packets_sent;
        self.result.packets_received = quic.packets_received;
        self.result.lost = quic.lost;
        self.result.retrans = quic.retrans;
        let unfinished = self.streams.unfinished();
        let short_uni = self.streams.short_uni_replies();
        let ended = if cancelled { None } else { connection_error(conn) };
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
    }
}
