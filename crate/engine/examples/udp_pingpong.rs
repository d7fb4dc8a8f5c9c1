//! A plain UDP ping-pong on loopback: the floor any QUIC round trip on this machine stands on.
//! Prints one JSON line: {"n", "p50Ns", "p99Ns", "minNs"} of `COUNT` 64-byte round trips (default 20000).

use std::net::UdpSocket;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let server = UdpSocket::bind("[::1]:0")?;
    let addr = server.local_addr()?;
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..count {
            let (n, from) = server.recv_from(&mut buf).expect("echo receive");
            server.send_to(&buf[..n], from).expect("echo send");
        }
    });
    let client = UdpSocket::bind("[::1]:0")?;
    client.connect(addr)?;
    let mut buf = [7u8; 64];
    let mut rtts = Vec::with_capacity(count);
    for _ in 0..count {
        let t = Instant::now();
        client.send(&buf)?;
        client.recv(&mut buf)?;
        rtts.push(t.elapsed().as_nanos() as u64);
    }
    echo.join().expect("echo thread");
    rtts.sort_unstable();
    let q = |p: f64| rtts[((rtts.len() - 1) as f64 * p).round() as usize];
    println!(r#"{{"n":{},"p50Ns":{},"p99Ns":{},"minNs":{}}}"#, rtts.len(), q(0.5), q(0.99), rtts[0]);
    Ok(())
}
