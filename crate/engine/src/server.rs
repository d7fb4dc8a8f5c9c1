//! The `perf` server (draft-banks-quic-performance §2.2): for each stream it reads the 8-byte response
//! size, drains the upload up to FIN, and only then sends the requested bytes. Several workers share one
//! port through SO_REUSEPORT; each owns its socket and its connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use quinn_udp::RecvMeta;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{quiche_config, Identity, Role};
use crate::error::{connection_error, Error, Result};
use crate::metrics::rss_bytes;
use crate::protocol::{error_code, stream_id, RequestReader, HEADER_LEN};
use crate::scenario::Settings;
use crate::socket::{DropTable, FastPath, Flushed, Outbox, Socket, RECV_BATCH, RECV_SLOT_BYTES};
use crate::{qlog_writer, random_bytes, send_chunk};

pub struct ServerOptions {
    /// Address to listen on; port 0 picks one. @default [::]:4433
    pub listen: SocketAddr,
    /// Worker threads sharing the port. @default 1
    pub threads: u32,
    /// Certificate and key PEM files; a self-signed certificate is generated when absent.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// Transport settings the server uses when it sends (congestion control, windows, pacing, payload).
    pub settings: Settings,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<PathBuf>,
    /// Connections beyond this are refused with application error 2 (rejected), sent as soon as their
    /// handshake completes (an application close sent earlier would reach the client only as transport
    /// error 0x0c, RFC 9000 §10.2.3). @default 100000
    pub max_connections: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: "[::]:4433".parse().expect("literal address"),
            threads: 1,
            identity: None,
            settings: Settings::default(),
            qlog_dir: None,
            max_connections: 100_000,
        }
    }
}

/// Counters the workers share with whoever watches the server.
#[derive(Default)]
struct Shared {
    open: AtomicU64,
    accepted: AtomicU64,
    closed: AtomicU64,
    errored: AtomicU64,
    rejected: AtomicU64,
    streams: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    /// Datagrams that were not QUIC or belonged to no connection.
    garbage: AtomicU64,
    peak_open: AtomicU64,
    rss_at_peak: AtomicU64,
    baseline_rss: AtomicU64,
}

/// The server's state at one moment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// Connections open now.
    pub open_connections: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections closed (cleanly or not).
    pub closed: u64,
    /// Of those, closed with an error.
    pub errored: u64,
    /// Connections refused at the connection limit (application error 2).
    pub rejected: u64,
    /// Requests (streams) served.
    pub streams: u64,
    /// Application payload bytes sent.
    pub bytes_sent: u64,
    /// Application payload bytes received.
    pub bytes_received: u64,
    /// Datagrams that were not QUIC or belonged to no connection.
    pub garbage_datagrams: u64,
    /// Resident memory of the process now, bytes.
    pub rss_bytes: u64,
    /// Resident memory before the first connection, bytes.
    pub baseline_rss_bytes: u64,
    /// Most connections open at once.
    pub peak_connections: u64,
    /// Memory above the baseline per connection when the most were open, bytes; null before any connection.
    pub rss_per_connection_bytes: Option<u64>,
}

pub struct Server {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<FastPath>>,
}

impl Server {
    pub fn start(options: ServerOptions) -> Result<Server> {
        let identity = match &options.identity {
            Some((cert, key)) => Identity::from_files(cert.clone(), key.clone())?,
            None => Identity::self_signed()?,
        };
        if let Some(dir) = &options.qlog_dir {
            std::fs::create_dir_all(dir)?;
        }
        let threads = options.threads.clamp(1, 256);
        let shared = Arc::new(Shared::default());
        shared.baseline_rss.store(rss_bytes(), Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let mut seed = [0u8; 32];
        random_bytes(&mut seed);
        let mut addr = options.listen;
        let mut workers = Vec::new();
        let mut local_addr = None;
        for i in 0..threads {
            let sock = Socket::bind(addr, threads > 1, options.settings.gso)
                .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
            // Later workers join the port the first one was given.
            addr = sock.local;
            local_addr.get_or_insert(sock.local);
            let config = quiche_config(&options.settings, Role::Server(&identity))?;
            let worker = Worker {
                sock,
                config,
                seed,
                shared: shared.clone(),
                stop: stop.clone(),
                pacing: options.settings.pacing,
                payload_size: options.settings.payload_size as usize,
                qlog_dir: options.qlog_dir.clone(),
                max_connections: options.max_connections,
                conns: HashMap::new(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("stoq-server-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| Error::Io(format!("cannot start a server thread: {e}")))?;
            workers.push(handle);
        }
        Ok(Server { local_addr: local_addr.expect("at least one worker"), stop, shared, workers })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> ServerStats {
        let s = &self.shared;
        let baseline = s.baseline_rss.load(Relaxed);
        let peak = s.peak_open.load(Relaxed);
        ServerStats {
            open_connections: s.open.load(Relaxed),
            accepted: s.accepted.load(Relaxed),
            closed: s.closed.load(Relaxed),
            errored: s.errored.load(Relaxed),
            rejected: s.rejected.load(Relaxed),
            streams: s.streams.load(Relaxed),
            bytes_sent: s.bytes_sent.load(Relaxed),
            bytes_received: s.bytes_received.load(Relaxed),
            garbage_datagrams: s.garbage.load(Relaxed),
            rss_bytes: rss_bytes(),
            baseline_rss_bytes: baseline,
            peak_connections: peak,
            rss_per_connection_bytes: (peak > 0).then(|| s.rss_at_peak.load(Relaxed).saturating_sub(baseline) / peak),
        }
    }

    /// Closes every connection (application error 0) and joins the workers.
    pub fn stop(mut self) -> (ServerStats, FastPath) {
        self.stop.store(true, Relaxed);
        let mut fast = FastPath::default();
        for w in self.workers.drain(..) {
            if let Ok(f) = w.join() {
                fast.merge(&f);
            }
        }
        (self.stats(), fast)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

struct Stream {
    reader: RequestReader,
    /// Where the reply goes: the same stream (bidi) or a new server unidirectional stream.
    reply_id: u64,
    remaining: u64,
    responding: bool,
}

struct Conn {
    conn: crate::Connection,
    outbox: Outbox,
    streams: HashMap<u64, Stream>,
    next_uni: u64,
    wake_at: Option<Instant>,
    /// quiche's next timer, cached after each pass over the connection.
    timer: Option<Instant>,
    /// Packets arrived since the last pass (or it is new).
    dirty: bool,
    /// Beyond the connection limit: closed with application error 2 once established, and not counted
    /// as open, closed or errored.
    refused: bool,
}

impl Conn {
    /// Whether this pass has work for the connection: only those are visited, so idle connections
    /// cost nothing per packet.
    fn due(&self, now: Instant) -> bool {
        self.dirty
            || self.timer.is_some_and(|t| t <= now)
            || self.wake_at.is_some_and(|t| t <= now + crate::socket::PACING_SLACK)
    }
}

/// A connection ID this server issued.
type Cid = [u8; quiche::MAX_CONN_ID_LEN];

struct Worker {
    sock: Socket,
    config: quiche::Config,
    seed: [u8; 32],
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    pacing: bool,
    payload_size: usize,
    qlog_dir: Option<PathBuf>,
    max_connections: u64,
    conns: HashMap<Cid, Conn>,
}

const SOCKET: Token = Token(0);
const STOP_CHECK: Duration = Duration::from_millis(50);
/// How long a stopping server waits for its CONNECTION_CLOSE frames to leave.
const SHUTDOWN_LINGER: Duration = Duration::from_millis(500);
/// `recvmmsg` batches read before the connections are served again.
const RECV_BATCHES_PER_PASS: usize = 4;

impl Worker {
    fn run(mut self) -> FastPath {
        let mut poll = match Poll::new() {
            Ok(p) => p,
            Err(_) => return self.sock.finish(&DropTable::read()),
        };
        if self.sock.register(poll.registry(), SOCKET).is_err() {
            return self.sock.finish(&DropTable::read());
        }
        let mut events = Events::with_capacity(64);
        let mut rx = vec![0u8; RECV_BATCH * RECV_SLOT_BYTES];
        let mut meta = vec![RecvMeta::default(); RECV_BATCH];
        let mut scratch = vec![0u8; 64 * 1024];
        let segments = self.sock.batch_segments(self.payload_size);
        let mut backlog = false;
        while !self.stop.load(Relaxed) {
            let timeout = match backlog {
                // Datagrams are still queued: look for events without waiting.
                true => Duration::ZERO,
                false => self.next_wake().map_or(STOP_CHECK, |t| t.saturating_duration_since(Instant::now())),
            };
            let _ = poll.poll(&mut events, Some(timeout.min(STOP_CHECK)));
            // Only a readable socket is read: a wake-up for a timer or for buffer space costs no recvmmsg.
            if backlog || events.iter().any(|e| e.is_readable() || e.is_error()) {
                backlog = self.receive(&mut rx, &mut meta, &mut scratch, segments);
            }
            self.pass(&mut scratch, segments);
            let _ = self.sock.watch_writable(poll.registry(), SOCKET);
        }
        self.close_all(segments);
        // Refused connections were never counted as open.
        let open = self.conns.values().filter(|c| !c.refused).count() as u64;
        self.shared.open.fetch_sub(open, Relaxed);
        self.sock.finish(&DropTable::read())
    }

    /// Closes every connection and waits, bounded, until each CONNECTION_CLOSE has left. quiche sends the
    /// close only when the congestion window has room, and a closing connection ignores the ACKs that would
    /// make room: after a full-rate transfer only the loss-detection timer (PTO) lets it out, so the timers
    /// run here until every close is sent.
    fn close_all(&mut self, segments: usize) {
        for c in self.conns.values_mut() {
            let _ = c.conn.close(true, error_code::NO_ERROR, b"server stopping");
        }
        let give_up = Instant::now() + SHUTDOWN_LINGER;
        loop {
            let now = Instant::now();
            let mut waiting = false;
            for c in self.conns.values_mut() {
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

    fn next_wake(&self) -> Option<Instant> {
        self.conns.values().filter_map(|c| [c.timer, c.wake_at].into_iter().flatten().min()).min()
    }

    /// Visits every connection with work: timers, requests, responses, sending, and the end.
    fn pass(&mut self, scratch: &mut [u8], segments: usize) {
        let now = Instant::now();
        let mut closed = false;
        for c in self.conns.values_mut().filter(|c| c.due(now)) {
            c.dirty = false;
            if c.timer.is_some_and(|t| t <= now) {
                c.conn.on_timeout();
            }
            if c.refused {
                if c.conn.is_established() {
                    // A no-op once the close is under way.
                    let _ = c.conn.close(true, error_code::REJECTED, b"server at its connection limit");
                }
            } else if c.conn.is_established() || c.conn.is_in_early_data() {
                let mut received = 0;
                while let Some(id) = c.conn.stream_readable_next() {
                    received += read_request(c, id, scratch, &self.shared);
                }
                let sent = write_responses(c);
                // Counted before the flush: once the client has the reply, the stats already show it.
                if received > 0 {
                    self.shared.bytes_received.fetch_add(received, Relaxed);
                }
                if sent > 0 {
                    self.shared.bytes_sent.fetch_add(sent, Relaxed);
                }
            }
            c.wake_at = match c.outbox.flush(&mut c.conn, &mut self.sock, self.pacing, segments) {
                Ok((Flushed::Paced(at), _)) => Some(at),
                Ok((Flushed::More, _)) => Some(Instant::now()),
                // A full socket: retry on the next pass (the WRITABLE event wakes the loop).
                Ok((Flushed::Blocked, _)) => {
                    c.dirty = true;
                    None
                }
                _ => None,
            };
            c.timer = c.conn.timeout_instant();
            closed |= c.conn.is_closed();
        }
        if closed {
            self.reap();
        }
    }

    /// Reads a bounded number of batches, so that answers go out between them (a flood of Initials must
    /// not hold back every handshake reply). Returns whether datagrams may still be queued.
    fn receive(&mut self, rx: &mut [u8], meta: &mut [RecvMeta], scratch: &mut [u8], segments: usize) -> bool {
        for _ in 0..RECV_BATCHES_PER_PASS {
            let n = match self.sock.recv(rx, meta) {
                Ok(n) => n,
                Err(_) => return false,
            };
            for (slot, m) in meta[..n].iter().enumerate() {
                let to = self.sock.arrival_addr(m);
                let data = &mut rx[slot * RECV_SLOT_BYTES..slot * RECV_SLOT_BYTES + m.len];
                for seg in data.chunks_mut(m.stride.max(1)) {
                    self.datagram(seg, m.addr, to, scratch, segments);
                }
            }
            // A short batch drained the queue; a later arrival raises a new (edge-triggered) event.
            if n < RECV_BATCH {
                return false;
            }
        }
        true
    }

    fn datagram(&mut self, seg: &mut [u8], from: SocketAddr, to: SocketAddr, scratch: &mut [u8], segments: usize) {
        let Ok(hdr) = quiche::Header::from_slice(seg, quiche::MAX_CONN_ID_LEN) else {
            self.shared.garbage.fetch_add(1, Relaxed);
            return;
        };
        // Our connection IDs are all MAX_CONN_ID_LEN bytes: a fixed-size key, copied, not allocated.
        let direct = Cid::try_from(hdr.dcid.as_ref()).ok().filter(|k| self.conns.contains_key(k));
        let key = match direct {
            Some(k) => k,
            None => {
                // Repeated Initials carry the client's chosen DCID: derive our SCID from it so they map here.
                let derived = self.derive_cid(&hdr.dcid);
                if !self.conns.contains_key(&derived) {
                    if hdr.ty != quiche::Type::Initial {
                        self.shared.garbage.fetch_add(1, Relaxed);
                        return;
                    }
                    if !quiche::version_is_supported(hdr.version) {
                        if let Ok(len) = quiche::negotiate_version(&hdr.scid, &hdr.dcid, scratch) {
                            let _ = self.sock.send(from, to, &scratch[..len], len);
                        }
                        return;
                    }
                    if self.accept(derived, from, to, segments).is_none() {
                        return;
                    }
                }
                derived
            }
        };
        if let Some(c) = self.conns.get_mut(&key) {
            let _ = c.conn.recv(seg, quiche::RecvInfo { from, to });
            c.dirty = true;
        }
    }

    fn derive_cid(&self, dcid: &quiche::ConnectionId<'_>) -> Cid {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(dcid.as_ref());
        let mut cid = [0; quiche::MAX_CONN_ID_LEN];
        cid.copy_from_slice(&h.finalize()[..quiche::MAX_CONN_ID_LEN]);
        cid
    }

    fn accept(&mut self, cid: Cid, from: SocketAddr, to: SocketAddr, segments: usize) -> Option<()> {
        let scid = quiche::ConnectionId::from_ref(&cid);
        let mut conn = quiche::accept_with_buf_factory(&scid, None, to, from, &mut self.config).ok()?;
        // Refusal waits for the handshake: closing now, before the Initial is even processed, would drop
        // the connection without a word (quiche closes silently when nothing was received yet), every
        // retransmitted Initial would be refused again, and the client would only see a timeout.
        let refused = self.shared.open.load(Relaxed) >= self.max_connections;
        if refused {
            self.shared.rejected.fetch_add(1, Relaxed);
        } else {
            if let Some(dir) = &self.qlog_dir {
                if let Some(w) = qlog_writer(dir, "server", conn.trace_id()) {
                    conn.set_qlog(w, "stoq-bench server".into(), format!("perf server connection {}", conn.trace_id()));
                }
            }
            self.shared.accepted.fetch_add(1, Relaxed);
            let open = self.shared.open.fetch_add(1, Relaxed) + 1;
            if open > self.shared.peak_open.load(Relaxed) {
                self.shared.peak_open.store(open, Relaxed);
                self.shared.rss_at_peak.store(rss_bytes(), Relaxed);
            }
        }
        let outbox = Outbox::new(self.payload_size.max(1200), segments);
        self.conns.insert(
            cid,
            Conn {
                conn,
                outbox,
                streams: HashMap::new(),
                next_uni: 0,
                wake_at: None,
                timer: None,
                dirty: true,
                refused,
            },
        );
        Some(())
    }

    fn reap(&mut self) {
        let shared = &self.shared;
        self.conns.retain(|_, c| {
            if !c.conn.is_closed() {
                return true;
            }
            // A refused connection was never counted as open. (Its close code cannot tell: quiche turns an
            // application close sent before the handshake completes into transport error 0x0c.)
            if !c.refused {
                shared.open.fetch_sub(1, Relaxed);
                shared.closed.fetch_add(1, Relaxed);
                if connection_error(&c.conn).is_some() {
                    shared.errored.fetch_add(1, Relaxed);
                }
            }
            false
        });
    }
}

/// Drains a request stream; at FIN, starts the response. Returns upload payload bytes read.
fn read_request(c: &mut Conn, id: u64, scratch: &mut [u8], shared: &Shared) -> u64 {
    let mut payload = 0u64;
    loop {
        // The header is read; the upload after it is only counted, discarded inside quiche without a copy.
        let header_left = c.streams.get(&id).map_or(HEADER_LEN, |s| s.reader.header_left());
        let read = match header_left {
            0 => c.conn.stream_discard(id, usize::MAX),
            _ => c.conn.stream_recv(id, &mut scratch[..header_left]),
        };
        let (n, fin) = match read {
            Ok(r) => r,
            Err(quiche::Error::Done) => return payload,
            // Reset by the client: nothing to answer.
            Err(_) => {
                c.streams.remove(&id);
                return payload;
            }
        };
        let next_uni = &mut c.next_uni;
        let s = c.streams.entry(id).or_insert_with(|| {
            shared.streams.fetch_add(1, Relaxed);
            let reply_id = if stream_id::is_bidi(id) {
                id
            } else {
                let reply = stream_id::nth(*next_uni, false, false);
                *next_uni += 1;
                reply
            };
            Stream { reader: RequestReader::default(), reply_id, remaining: 0, responding: false }
        });
        payload += match header_left {
            0 => {
                s.reader.skip(n);
                n as u64
            }
            _ => s.reader.feed(&scratch[..n]) as u64,
        };
        if fin {
            // The upload is drained, FIN included: only now may the response start (draft §2.2).
            match s.reader.response_size() {
                Some(size) => {
                    s.remaining = size;
                    s.responding = true;
                }
                None => {
                    // Fewer than 8 bytes before FIN: not a valid request (draft §2.4, code 3).
                    if stream_id::is_bidi(id) {
                        let _ = c.conn.stream_shutdown(id, quiche::Shutdown::Write, error_code::INVALID_DATA);
                    }
                    c.streams.remove(&id);
                }
            }
            return payload;
        }
    }
}

/// Sends response bytes on every stream that has one due. Returns payload bytes handed to quiche.
fn write_responses(c: &mut Conn) -> u64 {
    let mut sent = 0u64;
    let conn = &mut c.conn;
    c.streams.retain(|_, s| {
        if !s.responding {
            return true;
        }
        loop {
            match send_chunk(conn, s.reply_id, &mut s.remaining) {
                Ok(step) => {
                    sent += step.bytes as u64;
                    if step.finished || step.blocked {
                        return !step.finished;
                    }
                }
                Err(quiche::Error::Done) | Err(quiche::Error::StreamLimit) => return true,
                // STOP_SENDING from the client ends an endless response (quiche answers with RESET_STREAM).
                Err(_) => return false,
            }
        }
    });
    sent
}
