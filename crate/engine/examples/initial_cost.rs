//! What one Initial costs the server, by kind, on this machine (one thread):
//! - a fake Initial (right header, random content): the decryption check that rejects it;
//! - a real Initial: the same check, passed;
//! - a real Initial accepted: `quiche::accept`, its first `recv` and the server's first flight (what the
//!   check keeps fakes from costing), and the memory a half-open connection holds.
//!
//! ```text
//! cargo run --release -p stoq-engine --example initial_cost [-- N]
//! ```

use std::net::SocketAddr;
use std::time::Instant;

use stoq_engine::server::initial::{self, Fields, Side};

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
        * 1024
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let server: SocketAddr = "[::1]:4433".parse().unwrap();
    let client: SocketAddr = "[::1]:40000".parse().unwrap();
    let mut cconfig = quiche::Config::new(quiche::PROTOCOL_VERSION).unwrap();
    cconfig.set_application_protos(&[b"perf"]).unwrap();
    cconfig.verify_peer(false);
    // One real ClientHello, sealed under `n` fresh DCIDs: real Initials, each for a new connection.
    let scid = [7u8; 16];
    let mut conn =
        quiche::connect(Some("localhost"), &quiche::ConnectionId::from_ref(&scid), client, server, &mut cconfig)
            .unwrap();
    let mut out = [0u8; 1500];
    let (len, _) = conn.send(&mut out).unwrap();
    let dcid = conn.destination_id().to_vec();
    let mut scratch = vec![0u8; 2048];
    let mut frames = initial::open(&out[..len], &dcid, Side::Client, &mut scratch).unwrap().to_vec();
    while frames.last() == Some(&0) {
        frames.pop();
    }
    let real: Vec<(Vec<u8>, [u8; 8])> = (0..n as u64)
        .map(|i| {
            let d = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555).to_le_bytes();
            let mut buf = vec![0u8; 1200];
            initial::seal(
                &d,
                Side::Client,
                &Fields { dcid: &d, scid: &scid, token: &[] },
                0,
                &frames,
                Some(1200),
                &mut buf,
            )
            .unwrap();
            (buf, d)
        })
        .collect();
    let fake: Vec<(Vec<u8>, [u8; 8])> = real
        .iter()
        .map(|(d, id)| {
            let mut f = d.clone();
            for b in &mut f[40..] {
                *b = b.wrapping_mul(31).wrapping_add(7);
            }
            (f, *id)
        })
        .collect();

    let time = |what: &str, set: &[(Vec<u8>, [u8; 8])], expect: bool| {
        let mut scratch = vec![0u8; 2048];
        let t = Instant::now();
        for (d, id) in set {
            assert_eq!(initial::decrypts(d, id, &mut scratch), expect);
        }
        let ns = t.elapsed().as_nanos() as f64 / set.len() as f64;
        println!("{what}: {ns:.0} ns per Initial (one thread), {} checked", set.len());
    };
    time("fake Initial, decryption check (rejected)", &fake, false);
    time("real Initial, decryption check (passed)", &real, true);

    // What a real Initial costs once accepted: a quiche connection, its first recv and first flight.
    let id = stoq_engine_identity();
    let mut sconfig = quiche::Config::new(quiche::PROTOCOL_VERSION).unwrap();
    sconfig.set_application_protos(&[b"perf"]).unwrap();
    sconfig.load_cert_chain_from_pem_file(id.0.to_str().unwrap()).unwrap();
    sconfig.load_priv_key_from_pem_file(id.1.to_str().unwrap()).unwrap();
    sconfig.set_initial_max_data(24 << 20);
    sconfig.set_initial_max_stream_data_bidi_remote(16 << 20);
    sconfig.set_initial_max_streams_bidi(1000);
    let accepted = n.min(2000);
    let before = rss();
    let t = Instant::now();
    let mut conns = Vec::with_capacity(accepted);
    for (i, (d, _)) in real.iter().take(accepted).enumerate() {
        let mut cid = [0u8; 20];
        cid[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let mut c = quiche::accept(&quiche::ConnectionId::from_ref(&cid), None, server, client, &mut sconfig).unwrap();
        let mut d = d.clone();
        c.recv(&mut d, quiche::RecvInfo { from: client, to: server }).unwrap();
        while c.send(&mut out).is_ok() {}
        conns.push(c);
    }
    let us = t.elapsed().as_micros() as f64 / accepted as f64;
    let per_conn = rss().saturating_sub(before) / accepted as u64;
    println!("real Initial, accepted (quiche::accept, recv, first flight): {us:.0} us each; {per_conn} bytes resident per half-open connection ({accepted} held)");
    let _ = std::fs::remove_dir_all(id.0.parent().unwrap());
}

/// A self-signed certificate and key in a temporary directory.
fn stoq_engine_identity() -> (std::path::PathBuf, std::path::PathBuf) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("stoq-initial-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert, key)
}
