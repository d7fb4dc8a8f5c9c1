//! Holds idle QUIC connections open at a `perf` server, for `bench/scaling.ts`: it opens them (at most
//! `IN_FLIGHT` handshakes under way at once, a handshake not done within `GIVE_UP` replaced by a new one),
//! says `held N` on stdout once all are established, then only answers what the server sends (nothing, for an
//! idle connection) until its standard input closes or the time is up; then says `open M`, the connections
//! still open (neither closed nor timed out), and closes them all.
//!
//! While it holds, it sleeps: a connection is looked at only when a packet arrives for it or its timer is
//! due, and the process waits in the kernel until then, so that the holder does not compete for the CPU
//! with the client it is measured beside.
//!
//! ```text
//! idle_holder --target ADDR --connections N --seconds S
//! ```
//! Bounded: at most N connections open at once, at most S seconds of holding (and 20 s more to establish).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);
const IN_FLIGHT: usize = 256;
const ESTABLISH_WITHIN: Duration = Duration::from_secs(20);
/// A handshake still under way after this is replaced: the server drops a half-open connection silently
/// after its handshake timeout (2 s by default), and the client would retry into nothing until its own.
const GIVE_UP: Duration = Duration::from_secs(3);
/// Shortest and longest sleep between two looks at the socket, the timers and the stop flag.
const NAP: Duration = Duration::from_millis(1);
const MAX_SLEEP: Duration = Duration::from_millis(50);
const ID_LEN: usize = 16;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn client_config() -> quiche::Config {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION).expect("quiche config");
    // The engine's groups: a ClientHello in one Initial datagram.
    c.set_curves_list(stoq_engine::config::KEY_EXCHANGE_GROUPS).expect("groups");
    c.set_application_protos(&[b"perf"]).expect("alpn");
    c.verify_peer(false);
    // Longer than any hold: an idle connection stays open (the server's own idle timeout must be too), and
    // nothing is sent to keep it so.
    c.set_max_idle_timeout(120_000);
    c.set_max_recv_udp_payload_size(1500);
    c.set_initial_max_data(1 << 16);
    c.set_initial_max_streams_bidi(10);
    c
}

struct Held {
    conn: quiche::Connection,
    opened: Instant,
}

/// Sends what a connection has to send.
fn flush(c: &mut quiche::Connection, sock: &UdpSocket, out: &mut [u8], target: SocketAddr) {
    while let Ok((n, _)) = c.send(out) {
        let _ = sock.send_to(&out[..n], target);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let target: SocketAddr = arg(&args, "--target").expect("--target ADDR").parse().expect("an address");
    let wanted: usize = arg(&args, "--connections").expect("--connections N").parse().expect("a count");
    let seconds: u64 = arg(&args, "--seconds").expect("--seconds S").parse().expect("seconds");
    std::thread::spawn(|| {
        let mut sink = [0u8; 256];
        while std::io::stdin().read(&mut sink).is_ok_and(|n| n > 0) {}
        STOP.store(true, Relaxed);
    });
    let bind = if target.is_ipv6() { "[::1]:0" } else { "127.0.0.1:0" };
    let sock = UdpSocket::bind(bind).expect("bind");
    sock.set_nonblocking(true).expect("nonblocking");
    let local = sock.local_addr().expect("local address");
    let mut config = client_config();
    let mut conns: HashMap<[u8; ID_LEN], Held> = HashMap::new();
    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
    let mut buf = [0u8; 65_536];
    let mut out = [0u8; 1500];
    let start = Instant::now();
    let mut end = start + ESTABLISH_WITHIN;
    let mut held = false;
    // The earliest timer of any connection, as of the last pass over all of them.
    let mut next_due = start;
    while !STOP.load(Relaxed) && Instant::now() < end {
        let now = Instant::now();
        if !held {
            // Handshakes that failed or stalled make room for new ones.
            conns.retain(|_, h| {
                h.conn.is_established() || (!h.conn.is_closed() && now.duration_since(h.opened) < GIVE_UP)
            });
            let established = conns.values().filter(|h| h.conn.is_established()).count();
            while conns.len() < wanted && conns.len() - established < IN_FLIGHT {
                let mut scid = [0u8; ID_LEN];
                for b in scid.chunks_mut(8) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    b.copy_from_slice(&seed.to_le_bytes()[..b.len()]);
                }
                let id = quiche::ConnectionId::from_ref(&scid);
                let mut conn = quiche::connect(Some("localhost"), &id, local, target, &mut config).expect("connect");
                flush(&mut conn, &sock, &mut out, target);
                if let Some(t) = conn.timeout_instant() {
                    next_due = next_due.min(t);
                }
                conns.insert(scid, Held { conn, opened: now });
            }
            if established == wanted {
                held = true;
                end = now + Duration::from_secs(seconds);
                println!("held {wanted}");
                let _ = std::io::stdout().flush();
            }
        }
        let mut received = false;
        while let Ok(n) = sock.recv(&mut buf) {
            received = true;
            let key =
                quiche::Header::from_slice(&mut buf[..n], ID_LEN).ok().and_then(|h| h.dcid.as_ref().try_into().ok());
            if let Some(h) = key.and_then(|k: [u8; ID_LEN]| conns.get_mut(&k)) {
                let _ = h.conn.recv(&mut buf[..n], quiche::RecvInfo { from: target, to: local });
                flush(&mut h.conn, &sock, &mut out, target);
                // Its timer may now be earlier (an acknowledgment to send).
                if let Some(t) = h.conn.timeout_instant() {
                    next_due = next_due.min(t);
                }
            }
        }
        let now = Instant::now();
        if now >= next_due {
            // A timer changes only when its connection receives, sends or times out, and each of those
            // updates `next_due`: the look at every connection once a second is only a safety net.
            next_due = now + Duration::from_secs(1);
            for h in conns.values_mut() {
                if h.conn.timeout_instant().is_some_and(|t| t <= now) {
                    h.conn.on_timeout();
                    flush(&mut h.conn, &sock, &mut out, target);
                }
                if let Some(t) = h.conn.timeout_instant() {
                    next_due = next_due.min(t);
                }
            }
        }
        if !received {
            // Asleep until a datagram arrives or the next timer is due (looking at the stop flag now and then).
            let wait = next_due.saturating_duration_since(Instant::now()).clamp(NAP, MAX_SLEEP);
            let _ = sock.set_nonblocking(false).and_then(|()| sock.set_read_timeout(Some(wait)));
            let _ = sock.peek(&mut buf[..1]);
            sock.set_nonblocking(true).expect("nonblocking");
        }
    }
    if !held {
        eprintln!(
            "idle_holder: {} of {wanted} connections established in {ESTABLISH_WITHIN:?}",
            conns.values().filter(|h| h.conn.is_established()).count()
        );
    } else {
        let open = conns.values().filter(|h| !h.conn.is_closed() && !h.conn.is_timed_out()).count();
        println!("open {open}");
        let _ = std::io::stdout().flush();
    }
    for h in conns.values_mut() {
        let _ = h.conn.close(true, 0, b"done");
        flush(&mut h.conn, &sock, &mut out, target);
    }
    std::process::exit(if held { 0 } else { 1 });
}
