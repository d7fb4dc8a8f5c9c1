//! The client's side of the `perf` request streams (draft-banks-quic-performance §2.2): open a stream,
//! send the 8-byte response size, any upload and FIN, and read the reply up to its FIN (or stop it).
//! Shared by every workload that opens streams (transfers, requests).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::worker::Meter;
use super::{Plan, Slot};
use crate::error::Error;
use crate::payload::send_chunk;
use crate::protocol::{encode_request, error_code, stream_id, HEADER_LEN, UNTIL_STOPPED};

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

/// The request streams of one connection.
#[derive(Default)]
pub(crate) struct Streams {
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
    /// Streams not yet opened: (upload, expect).
    queued: VecDeque<(u64, u64)>,
    /// Stopped replies wait for the server's reset until this time.
    pub linger_until: Option<Instant>,
    /// When the run's stop reached this connection: from then on no stream opens, and every endless
    /// reply is stopped, those whose stream appears later included.
    stopped_at: Option<Instant>,
    /// Unidirectional streams (the reply comes on a new server stream).
    uni: bool,
}

impl Streams {
    /// Streams of one connection, `queued` to be opened as stream credit allows.
    pub fn new(uni: bool, queued: VecDeque<(u64, u64)>) -> Streams {
        Streams { uni, queued, ..Streams::default() }
    }

    /// Open or queued streams.
    pub fn unfinished(&self) -> usize {
        self.flows.len() + self.queued.len()
    }

    pub fn open_count(&self) -> usize {
        self.flows.len()
    }

    /// Whether the run's stop has reached these streams.
    pub fn stopped(&self) -> bool {
        self.stopped_at.is_some()
    }

    /// Unidirectional replies that carried fewer bytes than asked for (checked per connection).
    pub fn short_uni_replies(&self) -> Option<Error> {
        (self.uni_expected != self.uni_received).then(|| {
            Error::Peer(format!("unidirectional replies carried {} of {} bytes", self.uni_received, self.uni_expected))
        })
    }
}

impl Slot {
    /// Opens the queued streams as the peer's stream credit allows.
    pub fn open_queued(&mut self) {
        while let Some(&(upload, expect)) = self.streams.queued.front() {
            if !self.open_stream(upload, expect, false) {
                break;
            }
            self.streams.queued.pop_front();
        }
    }

    /// Stream credit the peer gives for the slot's stream type.
    pub fn stream_credit(&self) -> u64 {
        self.conn.as_ref().map_or(0, |c| {
            if self.streams.uni {
                c.peer_streams_left_uni()
            } else {
                c.peer_streams_left_bidi()
            }
        })
    }

    /// Opens one request stream, with as much of its header as quiche takes now; false when the peer's
    /// stream limit is reached or the run's stop has come.
    pub fn open_stream(&mut self, upload: u64, expect: u64, timed: bool) -> bool {
        if self.streams.stopped() || self.stream_credit() == 0 {
            return false;
        }
        let Some(conn) = self.conn.as_mut() else { return false };
        let s = &mut self.streams;
        let uni = s.uni;
        let id = stream_id::nth(if uni { s.opened_uni } else { s.opened_bidi }, true, !uni);
        let header = encode_request(expect);
        let fin = upload == 0;
        // The stream is created in quiche now (even when no header byte fits yet: `Done`): quiche counts a
        // stream against the peer's limit only once it exists, so a stream opened on credit that was
        // never spent would stay unknown to quiche, and out of reach of the stop, until credit returned.
        let header_sent = match conn.stream_send(id, &header, fin) {
            Ok(n) => n,
            Err(quiche::Error::Done) => 0,
            Err(_) => return false,
        };
        if uni {
            s.opened_uni += 1;
            s.awaiting_reply.push_back(id);
        } else {
            s.opened_bidi += 1;
        }
        s.flows.insert(
            id,
            Flow {
                request_id: id,
                reply_id: (!uni).then_some(id),
                header,
                header_sent,
                upload_left: upload,
                fin_sent: fin && header_sent == HEADER_LEN,
                expect,
                received: 0,
                stopped_at: None,
                started: Instant::now(),
                timed,
            },
        );
        true
    }

    /// Sends headers, uploads and FINs as flow control allows.
    pub fn write_streams(&mut self, meter: &mut Meter) {
        let Some(conn) = self.conn.as_mut() else { return };
        let mut sent = 0u64;
        // Several uploads share the connection's credit in turns of one chunk, not lowest stream first.
        let sharing = self.streams.flows.values().filter(|f| !f.fin_sent).count() > 1;
        for f in self.streams.flows.values_mut() {
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
        self.result.bytes_sent += sent;
        meter.bytes_sent += sent;
    }

    /// Reads replies; a reply that ends (FIN, or our STOP_SENDING) completes its flow.
    pub fn read_replies(&mut self, meter: &mut Meter, plan: &Plan) {
        let Some(conn) = self.conn.as_mut() else { return };
        let s = &mut self.streams;
        let result = &mut self.result;
        let mut received = 0u64;
        while let Some(id) = conn.stream_readable_next() {
            let request = if stream_id::is_client_initiated(id) {
                Some(id)
            } else if let Some(&r) = s.reply_to_request.get(&id) {
                Some(r)
            } else {
                // A new server uni stream: the reply to the oldest uni request still waiting.
                s.awaiting_reply.pop_front().inspect(|&r| {
                    s.reply_to_request.insert(id, r);
                    if let Some(f) = s.flows.get_mut(&r) {
                        f.reply_id = Some(id);
                    }
                })
            };
            let Some(request) = request else {
                let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, error_code::INVALID_DATA);
                continue;
            };
            // A reply whose flow is over, or a uni reply that appears after its flow was stopped, is stopped
            // now; what it carries is not counted (the transfer ended at the stop).
            let stopped = s.flows.get(&request).is_none_or(|f| f.stopped_at.is_some());
            if stopped {
                let _ = conn.stream_shutdown(id, quiche::Shutdown::Read, error_code::NO_ERROR);
            }
            if !s.flows.contains_key(&request) {
                continue;
            }
            loop {
                // Reply payload is only counted: discarded inside quiche, never copied out.
                match conn.stream_discard(id, usize::MAX) {
                    Ok((n, fin)) => {
                        let Some(f) = s.flows.get_mut(&request) else { break };
                        received += n as u64;
                        f.received += n as u64;
                        if fin {
                            let f = s.flows.remove(&request).expect("present");
                            s.reply_to_request.remove(&id);
                            let uni = !stream_id::is_bidi(request);
                            if uni && f.expect != UNTIL_STOPPED {
                                s.uni_expected += f.expect;
                                s.uni_received += f.received;
                            }
                            if uni || f.expect == UNTIL_STOPPED || f.received == f.expect {
                                result.streams_completed += 1;
                                meter.last_completion = Some(Instant::now());
                                if f.timed {
                                    let now = Instant::now();
                                    meter.complete((now - f.started).as_nanos() as u64, plan.ns_since_start(now));
                                }
                            } else {
                                result.streams_failed += 1;
                                let e = Error::Peer(format!(
                                    "stream {request}: received {} of {} bytes",
                                    f.received, f.expect
                                ));
                                result.error.get_or_insert(e.into());
                            }
                            break;
                        }
                    }
                    Err(quiche::Error::Done) => break,
                    Err(quiche::Error::StreamReset(code)) => {
                        if let Some(f) = s.flows.remove(&request) {
                            if f.stopped_at.is_some() {
                                // The end of an endless reply that we stopped ourselves.
                                result.streams_completed += 1;
                            } else if code == error_code::REJECTED {
                                result.streams_rejected += 1;
                                let e = Error::Peer(format!(
                                    "stream {request} rejected by the server (perf error 2): it refused a request for {}",
                                    describe_size(f.expect)
                                ));
                                result.error.get_or_insert(e.into());
                            } else {
                                result.streams_failed += 1;
                                let e = Error::Peer(format!("stream {request} reset by the server with code {code}"));
                                result.error.get_or_insert(e.into());
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
        // Only stopped replies linger (`linger_until` is set while any does): no clock read otherwise.
        if s.linger_until.is_some() {
            let now = Instant::now();
            s.flows.retain(|_, f| {
                let done = f.fin_sent
                    && f.stopped_at.is_some_and(|t| {
                        now >= t + STOP_LINGER || f.reply_id.is_none_or(|reply| conn.stream_finished(reply))
                    });
                if done {
                    result.streams_completed += 1;
                }
                !done
            });
            if s.flows.values().all(|f| f.stopped_at.is_none()) {
                s.linger_until = None;
            }
        }
        result.bytes_received += received;
        meter.bytes_received += received;
    }

    /// Ends streams at the run's stop (deadline, count budget spent, or cancel): STOP_SENDING on endless
    /// replies, FIN on endless uploads, and from then on nothing new opened (streams in flight finish, so
    /// byte counts stay exact). Once is enough: a stream cannot open afterwards, and an endless reply
    /// whose stream appears later is stopped as it appears (`read_replies`).
    pub fn stop_streams(&mut self, meter: &mut Meter, now: Instant) {
        let s = &mut self.streams;
        s.stopped_at = Some(now);
        s.queued.clear();
        let Some(conn) = self.conn.as_mut() else { return };
        for f in s.flows.values_mut() {
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
                meter.last_completion = Some(now);
                s.linger_until = Some(now + STOP_LINGER);
            }
        }
    }
}

fn describe_size(bytes: u64) -> String {
    match bytes {
        UNTIL_STOPPED => "an endless response (u64::MAX)".into(),
        n => format!("{n} bytes"),
    }
}
