//! Holds idle QUIC connections open at a `perf` server, for `bench/scaling.ts`: it opens them (at most
//! `IN_FLIGHT` handshakes under way at once), says `held N` on stdout once all are established, then only
//! answers what the server sends (nothing, for an idle connection) until its standard input closes or the
//! time is up, and closes them all.
//!
//! ```text
//! idle_holder --target ADDR --connections N --seconds S
//! ```
//! Bounded: at most N connections, at most S seconds (and 10 s more to establish them).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);
const IN_FLIGHT: usize = 256;
const ESTABLISH_WITHIN: Duration = Duration::from_secs(10);
const ID_LEN: usize = 16;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn client_config() -> quiche::Config {
    let mut c = quiche::Config::new(quiche::PROTOCOL_VERSION).expect("quiche config");
    c.set_application_protos(&[b"perf"]).expect("alpn");
    c.verify_peer(false);
    // Longer than any hold: an idle connection stays open, and nothing is sent to keep it so.
    c.set_max_idle_timeout(120_000);
    c.set_max_recv_udp_payload_size(1500);
    c.set_initial_max_data(1 << 16);
    c.set_initial_max_streams_bidi(10);
    c
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
    let mut conns: HashMap<[u8; ID_LEN], quiche::Connection> = HashMap::new();
    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
    let mut buf = [0u8; 65_536];
    let mut out = [0u8; 1500];
    let start = Instant::now();
    let mut end = start + ESTABLISH_WITHIN;
    let mut held = false;
    while !STOP.load(Relaxed) && Instant::now() < end {
        let established = conns.values().filter(|c| c.is_established()).count();
        while conns.len() < wanted && conns.len() - established < IN_FLIGHT {
            let mut scid = [0u8; ID_LEN];
            for b in scid.chunks_mut(8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                b.copy_from_slice(&seed.to_le_bytes()[..b.len()]);
            }
            let id = quiche::ConnectionId::from_ref(&scid);
            let conn = quiche::connect(Some("localhost"), &id, local, target, &mut config).expect("connect");
            conns.insert(scid, conn);
        }
        if !held && established == wanted {
            held = true;
            end = Instant::now() + Duration::from_secs(seconds);
            println!("held {wanted}");
            let _ = std::io::stdout().flush();
        }
        let mut received = false;
        while let Ok(n) = sock.recv(&mut buf) {
            received = true;
            let key =
                quiche::Header::from_slice(&mut buf[..n], ID_LEN).ok().and_then(|h| h.dcid.as_ref().try_into().ok());
            if let Some(c) = key.and_then(|k: [u8; ID_LEN]| conns.get_mut(&k)) {
                let _ = c.recv(&mut buf[..n], quiche::RecvInfo { from: target, to: local });
            }
        }
        let now = Instant::now();
        for c in conns.values_mut() {
            if c.timeout_instant().is_some_and(|t| t <= now) {
                c.on_timeout();
            }
            while let Ok((n, _)) = c.send(&mut out) {
                let _ = sock.send_to(&out[..n], target);
            }
        }
        if !received {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if !held {
        eprintln!(
            "idle_holder: {} of {wanted} connections established in {ESTABLISH_WITHIN:?}",
            conns.values().filter(|c| c.is_established()).count()
        );
    }
    for c in conns.values_mut() {
        let _ = c.close(true, 0, b"done");
        while let Ok((n, _)) = c.send(&mut out) {
            let _ = sock.send_to(&out[..n], target);
        }
    }
    std::process::exit(if held { 0 } else { 1 });
}
