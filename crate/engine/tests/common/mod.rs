//! Helpers shared by the engine's integration tests: an embedded server on [::1], scenarios built from
//! JSON, bounded waits.
#![allow(dead_code, reason = "each test binary uses some of these helpers, none uses all")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stoq_engine::{
    run, Cancel, RunOptions, RunResult, Scenario, Server, ServerAccess, ServerOptions, ServerStats, Settings,
};

/// Loopback with a port the kernel picks.
pub fn loopback() -> SocketAddr {
    "[::1]:0".parse().expect("literal address")
}

pub fn server_with(settings: Settings) -> Server {
    Server::start(ServerOptions { listen: loopback(), settings, ..ServerOptions::default() }).expect("server starts")
}

pub fn server() -> Server {
    server_with(Settings::default())
}

/// Parses a scenario; `idle_timeout_ns` is shortened so a failure cannot hang a test for long.
pub fn scenario(json: &str) -> Scenario {
    Scenario::from_json(json).unwrap_or_else(|e| panic!("scenario {json}: {e}"))
}

/// Runs a scenario against `target` with 100 ms intervals, checking that it returns within `bound`.
pub fn run_bounded(s: &Scenario, target: SocketAddr, cancel: &Cancel, bound: Duration) -> RunResult {
    run_with(s, RunOptions::new(target), cancel, bound)
}

/// Runs a scenario against an embedded `server`, reading its side of the run, with 100 ms intervals.
pub fn run_embedded(s: &Scenario, server: &Server, bound: Duration) -> RunResult {
    let mut options = RunOptions::new(server.local_addr());
    options.server_view = ServerAccess::Embedded(server.board());
    run_with(s, options, &Cancel::default(), bound)
}

/// Runs a scenario with `options` (100 ms intervals), checking that it returns within `bound`.
pub fn run_with(s: &Scenario, mut options: RunOptions, cancel: &Cancel, bound: Duration) -> RunResult {
    options.interval_ns = 100_000_000;
    let started = Instant::now();
    let result = run(s, &options, cancel, &mut |_| {}).expect("the run starts");
    let took = started.elapsed();
    assert!(
        took < bound,
        "run took {took:?}, bound {bound:?}: {:?} {:?} {:?}",
        result.state,
        result.error,
        result.totals
    );
    result
}

/// Polls the server's stats until `done` holds or `bound` passes; returns the last stats either way.
pub fn wait_for_stats(server: &Server, bound: Duration, done: impl Fn(&ServerStats) -> bool) -> ServerStats {
    let deadline = Instant::now() + bound;
    loop {
        let st = server.stats();
        if done(&st) || Instant::now() >= deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A minimal `perf` client over a plain `UdpSocket`, driven step by step, so tests control exactly what
/// goes on the wire and when.
pub struct RawClient {
    pub sock: std::net::UdpSocket,
    pub conn: quiche::Connection,
    pub local: SocketAddr,
    /// Datagrams sent so far.
    pub sent: u64,
    buf: Vec<u8>,
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Key exchange groups of a post-quantum client (as browsers and quic-go offer by default): its ClientHello
/// spans two Initial datagrams.
pub const POST_QUANTUM_GROUPS: &str = "X25519MLKEM768:X25519";

pub fn raw_config(idle_timeout_ms: u64) -> quiche::Config {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION).expect("quiche config");
    // The engine's groups: a ClientHello in one Initial datagram.
    c.set_curves_list(stoq_engine::config::KEY_EXCHANGE_GROUPS).expect("groups");
    c.set_application_protos(&[b"perf"]).expect("alpn");
    c.verify_peer(false);
    c.set_max_idle_timeout(idle_timeout_ms);
    c.set_max_recv_udp_payload_size(65_527);
    c.set_max_send_udp_payload_size(1350);
    c.set_initial_max_data(16 << 20);
    c.set_initial_max_stream_data_bidi_local(8 << 20);
    c.set_initial_max_stream_data_bidi_remote(8 << 20);
    c.set_initial_max_stream_data_uni(8 << 20);
    c.set_initial_max_streams_bidi(100);
    c.set_initial_max_streams_uni(100);
    c.set_disable_active_migration(true);
    c
}

impl RawClient {
    /// Starts a connection to `server` and drives it until the handshake completes (bounded: 5 s).
    pub fn connect(server: SocketAddr) -> RawClient {
        let mut c = RawClient::start(server, &mut raw_config(5_000));
        let ok = c.drive_until(Duration::from_secs(5), |c| c.conn.is_established());
        assert!(ok, "handshake with {server} did not complete: {:?}", c.conn.peer_error());
        c
    }

    /// Sends the first Initial only.
    pub fn start(server: SocketAddr, config: &mut quiche::Config) -> RawClient {
        let sock = std::net::UdpSocket::bind("[::1]:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(5))).expect("timeout");
        let local = sock.local_addr().expect("local address");
        let mut scid = [0u8; quiche::MAX_CONN_ID_LEN];
        Rng(local.port() as u64 * 0x9e37_79b9 + 1).fill(&mut scid);
        let scid = quiche::ConnectionId::from_vec(scid.to_vec());
        let conn = quiche::connect(Some("localhost"), &scid, local, server, config).expect("connect");
        let mut c = RawClient { sock, conn, local, sent: 0, buf: vec![0u8; 65_536] };
        c.flush();
        c
    }

    /// Sends everything quiche has to send now.
    pub fn flush(&mut self) {
        let mut out = [0u8; 1500];
        loop {
            match self.conn.send(&mut out) {
                Ok((n, info)) => {
                    self.sock.send_to(&out[..n], info.to).expect("send");
                    self.sent += 1;
                }
                Err(quiche::Error::Done) => return,
                Err(e) => panic!("quiche send: {e:?}"),
            }
        }
    }

    /// Receives what has arrived (waiting up to 5 ms), runs timers, and sends.
    pub fn step(&mut self) {
        self.receive();
        self.flush();
    }

    /// Receives what has arrived (waiting up to 5 ms) and runs timers, sending nothing.
    pub fn receive(&mut self) {
        while let Ok((n, from)) = self.sock.recv_from(&mut self.buf) {
            let _ = self.conn.recv(&mut self.buf[..n], quiche::RecvInfo { from, to: self.local });
            self.sock.set_nonblocking(true).expect("nonblocking");
        }
        self.sock.set_nonblocking(false).expect("blocking");
        if self.conn.timeout_instant().is_some_and(|t| t <= Instant::now()) {
            self.conn.on_timeout();
        }
    }

    /// Steps until `done` holds (true) or `bound` passes (false).
    pub fn drive_until(&mut self, bound: Duration, mut done: impl FnMut(&mut RawClient) -> bool) -> bool {
        let deadline = Instant::now() + bound;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline || self.conn.is_closed() {
                return done(self);
            }
            self.step();
        }
    }

    /// Steps for `d`, calling `check` after each step.
    pub fn drive_for(&mut self, d: Duration, mut check: impl FnMut(&mut RawClient)) {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            self.step();
            check(self);
        }
    }

    /// Writes all of `data` on `stream` (driving the connection while flow control blocks), bounded.
    pub fn send_all(&mut self, stream: u64, data: &[u8], fin: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut off = 0;
        loop {
            match self.conn.stream_send(stream, &data[off..], fin) {
                Ok(n) => off += n,
                Err(quiche::Error::Done) => {}
                Err(e) => panic!("stream_send({stream}): {e:?}"),
            }
            self.flush();
            if off == data.len() {
                return;
            }
            assert!(Instant::now() < deadline, "could not send {} bytes on stream {stream}", data.len());
            self.step();
        }
    }

    /// Reads everything readable on `stream`: (bytes, fin seen), or the reset code.
    pub fn read(&mut self, stream: u64) -> Result<(usize, bool), quiche::Error> {
        let (mut total, mut fin) = (0, false);
        loop {
            match self.conn.stream_recv(stream, &mut self.buf) {
                Ok((n, f)) => {
                    total += n;
                    fin |= f;
                    if f {
                        return Ok((total, fin));
                    }
                }
                Err(quiche::Error::Done) => return Ok((total, fin)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A plain UDP socket on [::1] for the edge cases: datagrams exactly as a test builds them.
pub struct Raw {
    pub sock: std::net::UdpSocket,
    pub local: SocketAddr,
}

impl Raw {
    pub fn new() -> Raw {
        Raw::bind("[::1]:0")
    }

    pub fn bind(addr: &str) -> Raw {
        let sock = std::net::UdpSocket::bind(addr).expect("bind");
        let local = sock.local_addr().expect("local address");
        Raw { sock, local }
    }

    pub fn send(&self, to: SocketAddr, d: &[u8]) {
        self.sock.send_to(d, to).expect("send");
    }

    /// The next datagram, waiting at most `wait`.
    pub fn recv(&self, wait: Duration) -> Option<Vec<u8>> {
        self.sock.set_read_timeout(Some(wait)).expect("timeout");
        let mut buf = vec![0u8; 65_536];
        self.sock.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
    }

    /// Every datagram that arrives until `quiet` passes without one (bounded by `bound`).
    pub fn drain(&self, quiet: Duration, bound: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + bound;
        let mut all = Vec::new();
        while Instant::now() < deadline {
            match self.recv(quiet) {
                Some(d) => all.push(d),
                None => break,
            }
        }
        all
    }
}

/// A client's first Initial, as quiche builds it (1200 bytes), and the client that built it.
pub fn first_initial(server: SocketAddr, local: SocketAddr, seed: u64) -> (Vec<u8>, quiche::Connection) {
    let mut scid = [0u8; 16];
    Rng(seed).fill(&mut scid);
    let mut conn = quiche::connect(
        Some("localhost"),
        &quiche::ConnectionId::from_ref(&scid),
        local,
        server,
        &mut raw_config(5_000),
    )
    .expect("connect");
    let mut out = vec![0u8; 1500];
    let (n, _) = conn.send(&mut out).expect("an Initial");
    out.truncate(n);
    (out, conn)
}

/// The fields of a long header: (type bits, version, DCID, SCID).
pub fn long_header(d: &[u8]) -> (u8, u32, Vec<u8>, Vec<u8>) {
    let ty = (d[0] >> 4) & 0x03;
    let version = u32::from_be_bytes(d[1..5].try_into().unwrap());
    let dl = d[5] as usize;
    let dcid = d[6..6 + dl].to_vec();
    let sl = d[6 + dl] as usize;
    let scid = d[7 + dl..7 + dl + sl].to_vec();
    (ty, version, dcid, scid)
}

/// Long-header packet types (RFC 9000 §17.2).
pub const INITIAL: u8 = 0;
pub const RETRY: u8 = 3;
