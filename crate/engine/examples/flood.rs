//! A bounded UDP flooder for `bench/abuse.ts`: it sends one kind of unwanted traffic at a `perf` server (or,
//! as the control, at a socket nobody reads), on one thread, for a fixed time and at most a fixed count.
//!
//! ```text
//! flood --target ADDR|control --kind garbage|fake|valid|handshakes --duration-ms N [--rate N] [--max N]
//!       [--stop-on-stdin-eof]
//! ```
//! `--target control` is the control: the same flood with the same sender work, at a target that does none
//! of the measured server's work. For datagrams, a socket this process binds on `127.0.0.1` and never reads
//! (the kernel still delivers every datagram to it, and drops what its full buffer cannot take). For
//! handshakes, which an unread socket would never answer (the sender would do a fraction of its work), a
//! `perf` server of the engine's own in this process, with the same defaults: the machine does the same
//! work on both sides of every handshake, only not in the measured server's process.
//! - `garbage`: 1200 random bytes;
//! - `fake`: a version 1 Initial long header (random connection IDs, consistent lengths) over random bytes:
//!   it looks like an Initial but does not decrypt;
//! - `valid`: real Initials never answered: ClientHellos made by quiche's client (`connect` + `send`), each
//!   sealed again under a fresh random Destination Connection ID (RFC 9001 §5.2 keys, as a client would),
//!   so that every datagram opens a new connection attempt;
//! - `handshakes`: complete quiche handshakes, each closed as soon as it is established.
//!
//! `--rate` is datagrams (for `handshakes`: new connections) per second, 0 for as fast as one core sends.
//! With `--stop-on-stdin-eof` it also stops as soon as its standard input closes. It says `sending` on
//! stderr when the flood starts, and prints one JSON line at the end: what was sent, in how long, and the
//! flooder's own CPU time.

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Set when standard input closes (with `--stop-on-stdin-eof`).
static STOP: AtomicBool = AtomicBool::new(false);

fn over(end: Instant) -> bool {
    STOP.load(Relaxed) || Instant::now() >= end
}

use stoq_engine::server::initial::{self, Fields, Side};
use stoq_engine::server::{Server, ServerOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn client_config() -> quiche::Config {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION).expect("quiche config");
    // The engine's groups: a ClientHello in one Initial datagram.
    c.set_curves_list(stoq_engine::config::KEY_EXCHANGE_GROUPS).expect("groups");
    c.set_application_protos(&[b"perf"]).expect("alpn");
    c.verify_peer(false);
    c.set_max_idle_timeout(500);
    c.set_max_recv_udp_payload_size(1500);
    c.set_initial_max_data(1 << 20);
    c.set_initial_max_streams_bidi(10);
    c
}

/// Handshakes under way at once.
const IN_FLIGHT: usize = 1024;

/// Datagrams sent per `sendmmsg` call.
const BATCH: usize = 32;
const SIZE: usize = 1200;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = arg(&args, "--kind").expect("--kind garbage|fake|valid|handshakes").to_string();
    let control = arg(&args, "--target") == Some("control");
    let unread =
        (control && kind != "handshakes").then(|| UdpSocket::bind("127.0.0.1:0").expect("bind the control socket"));
    let own_server = (control && kind == "handshakes").then(|| {
        let options = ServerOptions { listen: "127.0.0.1:0".parse().expect("literal"), ..ServerOptions::default() };
        Server::start(options).expect("start the control server")
    });
    let target: SocketAddr = match (&unread, &own_server) {
        (Some(s), _) => s.local_addr().expect("local address"),
        (_, Some(s)) => s.local_addr(),
        _ => arg(&args, "--target").and_then(|t| t.parse().ok()).expect("--target [addr]:port or control"),
    };
    let duration =
        Duration::from_millis(arg(&args, "--duration-ms").and_then(|d| d.parse().ok()).expect("--duration-ms N"));
    assert!(duration <= Duration::from_secs(120), "a flood lasts at most 120 s");
    let rate: u64 = arg(&args, "--rate").map_or(0, |r| r.parse().expect("--rate N"));
    let max: u64 = arg(&args, "--max").map_or(u64::MAX, |m| m.parse().expect("--max N"));
    // Loopback only: the bench never floods anything else.
    assert!(target.ip().is_loopback(), "the flooder sends to loopback only");
    let bind = if target.is_ipv6() { "[::1]:0" } else { "127.0.0.1:0" };
    let sock = UdpSocket::bind(bind).expect("bind");
    sock.connect(target).expect("connect");
    if args.iter().any(|a| a == "--stop-on-stdin-eof") {
        std::thread::spawn(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            STOP.store(true, Relaxed);
        });
    }
    eprintln!("sending");
    let cpu0 = cpu_ns();
    let start = Instant::now();
    let (sent, extra) = match kind.as_str() {
        "handshakes" => handshakes(&sock, target, start + duration, rate, max),
        "garbage" | "fake" | "valid" => (datagrams(&sock, target, &kind, start + duration, rate, max), String::new()),
        other => panic!("unknown kind {other}"),
    };
    let elapsed = start.elapsed();
    println!(
        "{{\"kind\":\"{kind}\",\"target\":\"{}\",\"sent\":{sent},\"durationNs\":{},\"ratePerSecond\":{:.0},\"cpuNs\":{}{extra}}}",
        if control { "control".to_string() } else { target.to_string() },
        elapsed.as_nanos(),
        sent as f64 / elapsed.as_secs_f64(),
        cpu_ns() - cpu0
    );
}

/// Sends `kind` datagrams in `sendmmsg` batches until `end` or `max`, paced to `rate` (0: unpaced).
fn datagrams(sock: &UdpSocket, target: SocketAddr, kind: &str, end: Instant, rate: u64, max: u64) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()) ^ start_nanos());
    let hellos = if kind == "valid" { client_hellos(target, 32) } else { Vec::new() };
    let mut bufs = vec![[0u8; SIZE]; BATCH];
    let mut sent = 0u64;
    let start = Instant::now();
    while !over(end) && sent < max {
        let n = BATCH.min((max - sent) as usize);
        for buf in bufs.iter_mut().take(n) {
            match kind {
                "garbage" => rng.fill(buf),
                "fake" => fake_initial(&mut rng, buf),
                _ => valid_initial(&mut rng, &hellos, buf),
            }
        }
        sent += send_batch(sock, &bufs[..n]);
        if rate > 0 {
            // Paced: the next batch leaves when the rate allows it.
            let due = start + Duration::from_secs_f64(sent as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
    }
    sent
}

fn start_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn send_batch(sock: &UdpSocket, bufs: &[[u8; SIZE]]) -> u64 {
    let mut iov: Vec<libc::iovec> =
        bufs.iter().map(|b| libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: SIZE }).collect();
    // SAFETY: zeroed mmsghdr are valid; each points to one live iovec of a live buffer.
    let mut msgs: Vec<libc::mmsghdr> = iov
        .iter_mut()
        .map(|v| {
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    // SAFETY: sendmmsg on a connected socket with `msgs.len()` valid headers.
    let n = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as libc::c_uint, 0) };
    // A full socket buffer (or an unread control socket's ICMP errors) just loses the batch, as on a wire.
    n.max(0) as u64
}

/// A version 1 Initial header with random IDs and a consistent Length, over random bytes.
fn fake_initial(rng: &mut Rng, buf: &mut [u8; SIZE]) {
    rng.fill(buf);
    let mut h = 0;
    buf[h] = 0xc0 | (buf[h] & 0x03);
    h += 1;
    buf[h..h + 4].copy_from_slice(&1u32.to_be_bytes());
    h += 4;
    for len in [8usize, 8] {
        buf[h] = len as u8;
        h += 1 + len;
    }
    buf[h] = 0; // no token
    h += 1;
    let length = SIZE - h - 2;
    buf[h..h + 2].copy_from_slice(&(0x4000 | length as u16).to_be_bytes());
}

/// A real ClientHello sealed in an Initial under a fresh random DCID: decryptable, never answered.
fn valid_initial(rng: &mut Rng, hellos: &[(Vec<u8>, Vec<u8>)], buf: &mut [u8; SIZE]) {
    let (frames, scid) = &hellos[(rng.next() % hellos.len() as u64) as usize];
    let dcid = rng.next().to_le_bytes();
    let f = Fields { dcid: &dcid, scid, token: &[] };
    initial::seal(&dcid, Side::Client, &f, 0, frames, Some(SIZE), buf).expect("a ClientHello fits");
}

/// ClientHellos (the frames of a first Initial) made by quiche's client, with their SCIDs.
fn client_hellos(target: SocketAddr, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut config = client_config();
    let local: SocketAddr = if target.is_ipv6() { "[::1]:9" } else { "127.0.0.1:9" }.parse().expect("literal");
    let mut rng = Rng(start_nanos() | 1);
    (0..n)
        .map(|_| {
            let mut scid = [0u8; 16];
            rng.fill(&mut scid);
            let mut conn =
                quiche::connect(Some("localhost"), &quiche::ConnectionId::from_ref(&scid), local, target, &mut config)
                    .expect("connect");
            let mut out = [0u8; 1500];
            let (len, _) = conn.send(&mut out).expect("an Initial");
            let dcid = conn.destination_id().to_vec();
            let mut scratch = [0u8; 1500];
            let mut frames = initial::open(&out[..len], &dcid, Side::Client, &mut scratch).expect("opens").to_vec();
            while frames.last() == Some(&0) {
                frames.pop();
            }
            (frames, scid.to_vec())
        })
        .collect()
}

/// Complete handshakes, each connection closed once established; at most `IN_FLIGHT` under way at once
/// (an unanswered one gives up after the 500 ms idle timeout).
fn handshakes(sock: &UdpSocket, target: SocketAddr, end: Instant, rate: u64, max: u64) -> (u64, String) {
    let mut config = client_config();
    let local = sock.local_addr().expect("local address");
    sock.set_nonblocking(true).expect("nonblocking");
    let mut rng = Rng(start_nanos() | 1);
    let mut conns: HashMap<Vec<u8>, quiche::Connection> = HashMap::new();
    let (mut started, mut completed) = (0u64, 0u64);
    let mut buf = [0u8; 65_536];
    let mut out = [0u8; 1500];
    let start = Instant::now();
    while !over(end) && started < max {
        let due = rate == 0 || started < (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if conns.len() < IN_FLIGHT && due {
            let mut scid = [0u8; 16];
            rng.fill(&mut scid);
            let conn =
                quiche::connect(Some("localhost"), &quiche::ConnectionId::from_ref(&scid), local, target, &mut config)
                    .expect("connect");
            conns.insert(scid.to_vec(), conn);
            started += 1;
        }
        while let Ok(n) = sock.recv(&mut buf) {
            let Ok(hdr) = quiche::Header::from_slice(&mut buf[..n], 16) else { continue };
            let key = hdr.dcid.to_vec();
            if let Some(c) = conns.get_mut(&key) {
                let _ = c.recv(&mut buf[..n], quiche::RecvInfo { from: target, to: local });
            }
        }
        conns.retain(|_, c| {
            if c.timeout_instant().is_some_and(|t| t <= Instant::now()) {
                c.on_timeout();
            }
            if c.is_established() && !c.is_closed() && c.local_error().is_none() {
                // The client's Finished leaves before the close (a closing quiche connection sends no CRYPTO
                // frames), so the server's handshake completes.
                while let Ok((n, _)) = c.send(&mut out) {
                    let _ = sock.send(&out[..n]);
                }
                completed += 1;
                let _ = c.close(true, 0, b"flood");
            }
            while let Ok((n, _)) = c.send(&mut out) {
                let _ = sock.send(&out[..n]);
            }
            // Gone once closed, or once its own close has been sent.
            !(c.is_closed() || c.local_error().is_some())
        });
        if conns.len() >= IN_FLIGHT || !due {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    (started, format!(",\"handshakesCompleted\":{completed}"))
}
