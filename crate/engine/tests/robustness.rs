//! The engine under abuse: garbage on the server's port, a server that stops or vanishes mid-run, a
//! cancel mid-run, and no server at all. Every case must end, within a bound, with an honest result.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use stoq_engine::{Cancel, RunState};

/// Idle timeout of the runs that must fail: 1 s.
const IDLE: &str = r#""settings":{"idleTimeoutNs":1000000000}"#;

fn check_exact_download(server: &stoq_engine::Server, bytes: u64) {
    let s = scenario(&format!(r#"{{"kind":"download","bytes":{bytes},"streams":2}}"#));
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Completed, "{r:?}");
    assert_eq!(r.totals.bytes_received, bytes);
    assert_eq!(r.connections[0].streams_completed, 2);
}

#[test]
fn garbage_datagrams_are_counted_and_the_server_keeps_serving() {
    let server = server();
    let target = server.local_addr();
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    let mut rng = Rng(0x5eed_1234_abcd);
    // Well-formed QUIC for no connection of the server: Handshake packets under random connection IDs, with
    // random payloads; the server looks them up and drops them.
    let mut unknown: Vec<Vec<u8>> = Vec::new();
    for _ in 0..60 {
        let mut ids = [0u8; 16];
        rng.fill(&mut ids);
        let mut d = vec![0xe0, 0, 0, 0, 1, 8];
        d.extend_from_slice(&ids[..8]);
        d.push(8);
        d.extend_from_slice(&ids[8..]);
        let mut payload = vec![0u8; 20 + rng.below(1300) as usize];
        rng.fill(&mut payload);
        d.extend(payload);
        unknown.push(d);
    }
    // Not QUIC at all, too short for any header, or short headers whose connection ID the server never
    // issued (random bytes): the socket's filter drops these in the kernel.
    let mut garbage: Vec<Vec<u8>> = vec![vec![0x40], vec![0x00, 1, 2], vec![0x4f; 20]];
    for _ in 0..60 {
        let mut d = vec![0u8; 21 + rng.below(1380) as usize];
        rng.fill(&mut d);
        d[0] = 0x40 | (d[0] & 0x3f);
        garbage.push(d);
    }
    // Truncated long headers: version cut, connection ID cut, source ID length missing, ID too long.
    garbage.push(vec![0xc0, 0, 0]);
    garbage.push(vec![0xc0, 0, 0, 0, 1]);
    garbage.push(vec![0xc0, 0, 0, 0, 1, 20, 1, 2, 3]);
    garbage.push(vec![0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    let mut long_id = vec![0xc0, 0, 0, 0, 1, 21];
    long_id.extend([9u8; 40]);
    garbage.push(long_id);
    // An empty datagram.
    sock.send_to(&[], target).unwrap();
    for d in garbage.iter().chain(&unknown) {
        sock.send_to(d, target).unwrap();
    }
    let (n, u) = (garbage.len() as u64, unknown.len() as u64);
    let st = wait_for_stats(&server, Duration::from_secs(3), |st| st.zero_length == 1 && st.unknown_connection == u);
    assert_eq!((st.zero_length, st.garbage_datagrams, st.unknown_connection), (1, 0, u), "{st:?}");
    assert_eq!(
        (st.accepted, st.open_connections, st.version_negotiation_sent),
        (0, 0, 0),
        "nothing built or sent: {st:?}"
    );
    // The server still serves, and its byte counters are the run's alone.
    check_exact_download(&server, 1 << 20);
    let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.bytes_sent == 1 << 20);
    assert_eq!((st.garbage_datagrams, st.unknown_connection, st.bytes_sent), (0, u, 1 << 20), "{st:?}");
    // The garbage is counted by the kernel, with the socket's drops.
    let (_, fast) = server.stop();
    assert_eq!(fast.socket_drops, n, "{fast:?}");
}

#[test]
fn an_unknown_version_gets_version_negotiation() {
    let server = server();
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // An Initial of a reserved (greased) version, padded like a real one.
    let mut d = vec![0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 4, 9, 9, 9, 9];
    d.resize(1200, 0);
    sock.send_to(&d, server.local_addr()).unwrap();
    let mut buf = [0u8; 1500];
    let (len, _) = sock.recv_from(&mut buf).expect("a version negotiation packet");
    assert!(len >= 7 && buf[0] & 0x80 != 0, "a long header");
    assert_eq!(&buf[1..5], &[0, 0, 0, 0], "version 0: version negotiation");
    let st = server.stats();
    assert_eq!((st.accepted, st.garbage_datagrams), (0, 0), "{st:?}");
    check_exact_download(&server, 100_000);
}

#[test]
fn a_server_stopped_mid_run_gives_an_errored_result_not_a_hang() {
    let server = server_with(stoq_engine::Settings { idle_timeout_ns: 1_000_000_000, ..Default::default() });
    let target = server.local_addr();
    // Stopped once data flows (bounded), whatever the machine's load.
    let stopper = std::thread::spawn(move || {
        wait_for_stats(&server, Duration::from_secs(3), |st| st.bytes_sent > 1_000_000);
        std::thread::sleep(Duration::from_millis(100));
        server.stop()
    });
    let s = scenario(&format!(r#"{{"kind":"download","durationNs":10000000000,"connections":2,{IDLE}}}"#));
    let started = Instant::now();
    let r = run_bounded(&s, target, &Cancel::default(), Duration::from_secs(4));
    let (stats, _) = stopper.join().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(r.state, RunState::Errored, "{:?} {:?}", r.error, r.connections);
    // The server's CONNECTION_CLOSE arrived (not an idle timeout), even though a full-rate transfer had
    // filled the congestion window when the server stopped.
    let e = r.error.as_ref().expect("an error");
    assert!(e.message.contains("unfinished"), "{e:?}");
    assert!(r.totals.bytes_received > 0, "it measured before the server went away");
    assert!(r.connections.iter().all(|c| c.state == RunState::Errored), "{:?}", r.connections);
    assert_eq!(stats.accepted, 2);
}

/// A UDP relay between a client and a server that can be cut: the server then vanishes without a word.
struct Relay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    fn start(server: SocketAddr) -> Relay {
        let front = Arc::new(UdpSocket::bind("[::1]:0").unwrap());
        let back = Arc::new(UdpSocket::bind("[::1]:0").unwrap());
        back.connect(server).unwrap();
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        }
        let (cut, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let addr = front.local_addr().unwrap();
        let up = {
            let (front, back, cut, stop, client) =
                (front.clone(), back.clone(), cut.clone(), stop.clone(), client.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Relaxed) {
                    if let Ok((n, from)) = front.recv_from(&mut buf) {
                        *client.lock().unwrap() = Some(from);
                        if !cut.load(Relaxed) {
                            let _ = back.send(&buf[..n]);
                        }
                    }
                }
            })
        };
        let down = {
            let (cut, stop) = (cut.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Relaxed) {
                    if let Ok(n) = back.recv(&mut buf) {
                        let to = *client.lock().unwrap();
                        if let (false, Some(to)) = (cut.load(Relaxed), to) {
                            let _ = front.send_to(&buf[..n], to);
                        }
                    }
                }
            })
        };
        Relay { addr, cut, stop, threads: vec![up, down] }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn a_server_that_vanishes_mid_run_errors_within_the_idle_timeout() {
    let server = server();
    let relay = Relay::start(server.local_addr());
    let cut = relay.cut.clone();
    let cutter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        cut.store(true, Relaxed);
        Instant::now()
    });
    let s =
        scenario(r#"{"kind":"download","durationNs":10000000000,"settings":{"idleTimeoutNs":1000000000,"gso":false}}"#);
    let r = run_bounded(&s, relay.addr, &Cancel::default(), Duration::from_secs(5));
    let ended = Instant::now();
    let cut_at = cutter.join().unwrap();
    let silent = ended - cut_at;
    assert!(silent >= Duration::from_millis(900), "ended {silent:?} after the cut: sooner than the idle timeout");
    assert!(silent < Duration::from_millis(2500), "ended {silent:?} after the cut");
    assert_eq!(r.state, RunState::Errored, "{r:?}");
    assert_eq!(r.error.as_ref().map(|e| e.code), Some(stoq_engine::ErrorCode::Timeout), "{r:?}");
    assert!(r.totals.bytes_received > 0);
    // The message gives the silence measured and the true bound.
    let message = &r.error.as_ref().unwrap().message;
    assert!(message.contains("the peer sent nothing for 1") && message.contains("3 probe timeouts"), "{message}");
    // Intervals that heard nothing show no path figures: the last RTT does not repeat into them.
    let cut_s = r.intervals.iter().position(|i| i.start_ns > r.intervals[0].start_ns + 600_000_000).unwrap();
    for iv in &r.intervals[cut_s..] {
        let p = &iv.client.path;
        assert_eq!(iv.client.counters.packets_received, 0, "{iv:?}");
        assert_eq!((p.connections, p.rtt_ns(), p.min_rtt_ns, p.pmtu), (0, None, None, None), "{iv:?}");
    }
    let before = &r.intervals[1].client.path;
    assert!(before.connections == 1 && before.rtt_ns().is_some(), "measured while data flowed: {before:?}");
}

#[test]
fn a_cancel_mid_run_returns_a_partial_cancelled_result() {
    let server = server();
    for json in [
        r#"{"kind":"download","durationNs":10000000000,"connections":2,"streams":2}"#,
        r#"{"kind":"upload","bytes":1099511627776}"#,
        r#"{"kind":"requests","count":100000000,"inflight":8,"responseSize":20000}"#,
    ] {
        let cancel = Cancel::default();
        let c = cancel.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            c.cancel();
        });
        let s = scenario(json);
        let r = run_bounded(&s, server.local_addr(), &cancel, Duration::from_secs(3));
        canceller.join().unwrap();
        assert_eq!(r.state, RunState::Cancelled, "{json}: {r:?}");
        assert!(r.totals.bytes_sent + r.totals.bytes_received > 0, "{json}: a partial result");
        assert!(r.connections.iter().all(|c| c.state == RunState::Cancelled), "{json}: {:?}", r.connections);
        assert!(!r.intervals.is_empty(), "{json}");
        let iv: u64 = r.intervals.iter().chain([&r.closing]).map(|i| i.bytes_sent + i.bytes_received).sum();
        assert_eq!(iv, r.totals.bytes_sent + r.totals.bytes_received, "{json}");
    }
}

#[test]
fn connecting_to_a_port_with_no_server_times_out() {
    let closed = {
        let probe = UdpSocket::bind("[::1]:0").unwrap();
        probe.local_addr().unwrap()
    };
    let s = scenario(&format!(r#"{{"kind":"download","bytes":1000,{IDLE}}}"#));
    let started = Instant::now();
    // With no answer the RTT stays at its initial 333 ms, and the idle timeout is at least 3 PTO
    // (RFC 9000 §10.1): about 3 s, whatever shorter idle timeout was asked for.
    let r = run_bounded(&s, closed, &Cancel::default(), Duration::from_millis(4500));
    assert!(started.elapsed() >= Duration::from_millis(900), "gave up before the idle timeout");
    assert_eq!(r.state, RunState::Errored, "{r:?}");
    assert_eq!(r.error.as_ref().map(|e| e.code), Some(stoq_engine::ErrorCode::Timeout), "{r:?}");
    assert_eq!(r.totals.bytes_received, 0);
    assert!(r.connections[0].handshake_ns.is_none());
    // Nothing was measured: no RTT (quiche's 333 ms initial guess is never shown), no path figures.
    assert!(r.connections[0].path.is_some_and(|p| !p.has_rtt_sample()), "{:?}", r.connections[0].path);
    for iv in &r.intervals {
        assert_eq!((iv.client.path.connections, iv.client.path.rtt_ns()), (0, None), "{iv:?}");
    }
    let message = &r.error.as_ref().unwrap().message;
    assert!(message.contains("from the connect on"), "{message}");
}
