//! Every run stops. Whatever its size (connections, streams and requests in flight up to their limits)
//! and however it is stopped (a short duration, a count, a byte count, a cancel at any moment), a run
//! either is refused before it starts or returns within the engine's stated bound (`STOP_GRACE +
//! CLOSE_WAIT` after its deadline, `CLOSE_WAIT` after a cancel; checked here with generous slack for a
//! loaded machine), and its record is complete: every connection accounted for, intervals that add up to
//! the totals, a latency sample per completion, and byte counts that agree exactly with the embedded
//! server's wherever both sides must have seen the same bytes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use proptest::test_runner::Config;
use stoq_engine::client::{CLOSE_WAIT, STOP_GRACE};
use stoq_engine::{run, Cancel, ErrorCode, Kind, RunOptions, RunRecord, RunResult, RunState, ServerStats};

/// Added to the stated bounds: setup before the clock starts (binding thousands of sockets), one long
/// pass of the event loop over thousands of connections, thread joins, and a shared 2-core machine.
const SLACK: Duration = Duration::from_secs(3);

/// A count- or byte-limited run ends when its work is done: only a hang is checked. A run that has not
/// returned by then fails the test instead of holding it up.
const HANG: Duration = Duration::from_secs(60);

/// Connections times streams (or requests in flight) per case: each reaches its limit, not all at once.
const FLOWS: u32 = 20_000;

#[derive(Debug, Clone, Copy)]
enum Stop {
    DurationMs(u64),
    Count(u64),
    Bytes(u64),
    /// Cancelled this long after the run is called, with a 10 s duration that it never reaches.
    CancelMs(u64),
}

#[derive(Debug, Clone)]
struct Case {
    kind: Kind,
    connections: u32,
    streams: u32,
    inflight: u32,
    uni: bool,
    response_size: u64,
    stop: Stop,
}

impl Case {
    fn json(&self) -> String {
        let mut fields = vec![format!(r#""kind":"{}""#, self.kind)];
        let transfer = matches!(self.kind, Kind::Download | Kind::Upload | Kind::Bidir);
        if self.kind != Kind::Latency {
            fields.push(format!(r#""connections":{}"#, self.connections));
        }
        if transfer {
            fields.push(format!(r#""streams":{}"#, self.streams));
        }
        if self.kind == Kind::Requests {
            fields.push(format!(r#""inflight":{}"#, self.inflight));
        }
        if matches!(self.kind, Kind::Requests | Kind::Latency) {
            fields.push(format!(r#""responseSize":{}"#, self.response_size));
        }
        if self.uni && self.kind != Kind::Handshakes && self.kind != Kind::Bidir {
            fields.push(r#""streamType":"uni""#.into());
        }
        fields.push(match self.stop {
            Stop::DurationMs(ms) => format!(r#""durationNs":{}"#, ms * 1_000_000),
            Stop::Count(n) => format!(r#""count":{n}"#),
            Stop::Bytes(b) => format!(r#""bytes":{b}"#),
            Stop::CancelMs(_) => r#""durationNs":10000000000"#.into(),
        });
        format!("{{{}}}", fields.join(","))
    }
}

/// Sizes spread over each range on a log scale, small ones more often (each run costs real time).
fn size(max: u32) -> impl Strategy<Value = u32> {
    prop_oneof![6 => 1..=8u32.min(max), 3 => 1..=500u32.min(max), 1 => 1..=max]
}

fn case() -> impl Strategy<Value = Case> {
    let kind = prop_oneof![
        Just(Kind::Download),
        Just(Kind::Upload),
        Just(Kind::Bidir),
        Just(Kind::Requests),
        Just(Kind::Latency),
        Just(Kind::Handshakes),
    ];
    (kind, size(100_000), size(10_000), size(10_000), any::<bool>(), 0..=65_536u64, any::<u8>(), 0..=500u64).prop_map(
        |(kind, connections, streams, inflight, uni, response_size, pick, at)| {
            let connections = if kind == Kind::Latency { 1 } else { connections };
            let per_connection = (FLOWS / connections).max(1);
            let stop = match (pick % 4, kind) {
                (0, _) => Stop::CancelMs(at),
                (1, Kind::Download | Kind::Upload | Kind::Bidir) => Stop::Bytes(u64::from(pick) * 32 * 1024),
                (1, Kind::Handshakes) => Stop::Count(1 + at / 2),
                (1, _) => Stop::Count(1 + at * 4),
                _ => Stop::DurationMs(10 + at / 2),
            };
            Case {
                kind,
                connections,
                streams: streams.min(per_connection),
                inflight: inflight.min(per_connection),
                uni,
                response_size,
                stop,
            }
        },
    )
}

/// Runs a case against a fresh embedded server; returns the result (or the refusal), how long after its
/// stop condition the run returned, and the server's final counters.
fn run_case(case: &Case) -> (stoq_engine::Result<RunResult>, Duration, ServerStats) {
    let server = server();
    let scenario = scenario(&case.json());
    let mut options = RunOptions::new(server.local_addr());
    options.interval_ns = 50_000_000;
    let cancel = Cancel::default();
    let cancelled_at = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let canceller = match case.stop {
        Stop::CancelMs(ms) => {
            let (cancel, at, done) = (cancel.clone(), cancelled_at.clone(), done.clone());
            Some(std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_millis(ms);
                while Instant::now() < until && !done.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                *at.lock().unwrap() = Some(Instant::now());
                cancel.cancel();
            }))
        }
        _ => None,
    };
    let called = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let running = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let _ = tx.send((run(&scenario, &options, &cancel, &mut |_| {}), Instant::now()));
        })
    };
    let (result, returned) =
        rx.recv_timeout(HANG).unwrap_or_else(|_| panic!("{case:?} did not return within {HANG:?}"));
    running.join().unwrap();
    done.store(true, Relaxed);
    if let Some(c) = canceller {
        c.join().unwrap();
    }
    let stopped = match case.stop {
        Stop::DurationMs(ms) => called + Duration::from_millis(ms),
        Stop::CancelMs(_) => cancelled_at.lock().unwrap().expect("cancelled"),
        Stop::Count(_) | Stop::Bytes(_) => called,
    };
    let (stats, _) = server.stop();
    (result, returned.saturating_duration_since(stopped), stats)
}

/// The record's own accounts: connections, intervals, latency samples.
fn check_complete(case: &Case, r: &RunResult) {
    assert_eq!(r.connections.len(), case.connections as usize);
    for (i, c) in r.connections.iter().enumerate() {
        assert_eq!(c.index as usize, i);
    }
    let sum = |f: fn(&stoq_engine::ConnectionResult) -> u64| r.connections.iter().map(f).sum::<u64>();
    assert_eq!(sum(|c| c.bytes_sent), r.totals.bytes_sent, "connections add up to the total sent");
    assert_eq!(sum(|c| c.bytes_received), r.totals.bytes_received, "connections add up to the total received");
    for (i, iv) in r.intervals.iter().enumerate() {
        assert_eq!(iv.index as usize, i, "intervals in order, none missing");
        assert!(iv.start_ns <= iv.end_ns);
    }
    // The transfer's intervals and the closing period together hold every count of the run.
    let iv = |f: fn(&stoq_engine::metrics::Interval) -> u64| r.intervals.iter().chain([&r.closing]).map(f).sum::<u64>();
    assert_eq!(iv(|i| i.bytes_sent), r.totals.bytes_sent, "intervals add up to the total sent");
    assert_eq!(iv(|i| i.bytes_received), r.totals.bytes_received, "intervals add up to the total received");
    assert_eq!(iv(|i| i.completed), r.totals.completed, "intervals add up to the completions");
    assert_eq!(iv(|i| i.client.counters.packets_received), r.totals.side.packets_received);
    if case.kind.spec().latency {
        assert_eq!(r.latency_ns.len() as u64, r.totals.completed, "a latency sample per completion");
        assert_eq!(r.latency_at_ns.len(), r.latency_ns.len());
        assert_eq!(r.latency.as_ref().map_or(0, |l| l.n), r.totals.completed);
    }
    let context = serde_json::from_value(serde_json::json!({
        "toolVersion": "test", "session": { "id": "s", "run": 0, "runs": 1 }, "startedAt": "2026-01-01T00:00:00Z",
        "target": "[::1]:1", "embeddedServer": true,
        "host": { "fingerprint": "0", "hostname": "h", "os": "linux-x64", "kernel": "k",
                  "cpu": { "model": "m", "count": 1 }, "node": "v20", "build": "release" }
    }))
    .expect("a record context");
    let record = RunRecord::new(&scenario(&case.json()), r, context, 0);
    let end = &record.end;
    assert_eq!(end.connections.total, u64::from(case.connections));
    assert_eq!(end.connections.completed + end.connections.errored + end.connections.cancelled, end.connections.total);
    assert_eq!(
        (end.bytes_sent, end.bytes_received, end.completed),
        (r.totals.bytes_sent, r.totals.bytes_received, r.totals.completed)
    );
    assert_eq!(record.intervals.len(), r.intervals.len());
}

/// How the run ended, and the byte counts both sides must agree on.
fn check_outcome(case: &Case, r: &RunResult, server: &ServerStats) {
    let t = &r.totals;
    match case.stop {
        Stop::CancelMs(_) => {
            assert_eq!(r.state, RunState::Cancelled, "{:?}", r.error);
            // A slot whose connection had just finished its unit of work (a handshake) completes.
            assert!(r.connections.iter().all(|c| c.state != RunState::Errored), "{:?}", r.connections);
        }
        _ => {
            // A loaded machine may not finish the work in flight (a handshake, a request) in time, or open
            // every connection (at most 256 handshakes under way) before the stop: the stop then cuts it
            // off, and says so. Nothing else may go wrong against a local server.
            for c in r.connections.iter().filter(|c| c.state == RunState::Errored) {
                let e = c.error.as_ref().expect("an errored connection says why");
                assert_eq!(e.code, ErrorCode::Timeout, "{c:?}");
                let cut_off = ["after the run's stop condition", "the run stopped before this connection opened"];
                assert!(cut_off.iter().any(|why| e.message.contains(why)), "{c:?}");
            }
            assert_ne!(r.state, RunState::Cancelled);
        }
    }
    // Neither side can count more than the other sent.
    assert!(server.bytes_received <= t.bytes_sent, "server received {} of {}", server.bytes_received, t.bytes_sent);
    assert!(t.bytes_received <= server.bytes_sent, "client received {} of {}", t.bytes_received, server.bytes_sent);
    if r.state != RunState::Completed {
        return;
    }
    // Uploads end with FIN and requests are answered in full: the server read every byte sent. Replies
    // are received in full, except endless downloads, stopped with bytes still under way.
    assert_eq!(server.bytes_received, t.bytes_sent, "the server read every byte the client sent");
    let endless_download =
        matches!(case.stop, Stop::DurationMs(_)) && matches!(case.kind, Kind::Download | Kind::Bidir);
    if !endless_download {
        assert_eq!(t.bytes_received, server.bytes_sent, "the client received every byte the server sent");
    }
    match (case.stop, case.kind) {
        (Stop::Bytes(b), Kind::Download) => assert_eq!((t.bytes_received, t.bytes_sent), (b, 0)),
        (Stop::Bytes(b), Kind::Upload) => assert_eq!((t.bytes_sent, t.bytes_received), (b, 0)),
        (Stop::Bytes(b), Kind::Bidir) => assert_eq!((t.bytes_sent, t.bytes_received), (b, b)),
        (Stop::Count(n), Kind::Handshakes) => assert_eq!((t.completed, server.accepted), (n, n)),
        (Stop::Count(n), _) => {
            assert_eq!(t.completed, n);
            assert_eq!(t.bytes_received, n * case.response_size);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(Config { cases: 16, max_shrink_iters: 8, failure_persistence: None, ..Config::default() })]

    #[test]
    fn every_run_stops_in_time_with_a_complete_record(case in case()) {
        let (result, after_stop, server) = run_case(&case);
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                // Refused before anything was measured: too many connections for this process's
                // descriptors, named as the field at fault.
                prop_assert_eq!((e.code(), e.field()), (ErrorCode::InvalidArgument, Some("connections")), "{:?}", e);
                prop_assert_eq!(server.accepted, 0);
                return Ok(());
            }
        };
        let bound = match case.stop {
            Stop::DurationMs(_) => STOP_GRACE + CLOSE_WAIT + SLACK,
            Stop::CancelMs(_) => CLOSE_WAIT + SLACK,
            Stop::Count(_) | Stop::Bytes(_) => HANG,
        };
        prop_assert!(after_stop <= bound, "returned {after_stop:?} after its stop condition, bound {bound:?}: {:?} {:?}", r.state, r.error);
        check_complete(&case, &r);
        check_outcome(&case, &r, &server);
    }
}

/// The run of the report that found the bug: a download of 2,500 streams, more than the server lets a
/// connection open at once (1,000), for a short duration; the streams opened when credit came back used
/// to download forever.
#[test]
fn streams_beyond_the_peers_limit_stop_with_the_rest() {
    for uni in [false, true] {
        let case = Case {
            kind: Kind::Download,
            connections: 1,
            streams: 2500,
            inflight: 1,
            uni,
            response_size: 0,
            stop: Stop::DurationMs(300),
        };
        let (result, after_stop, server) = run_case(&case);
        let r = result.expect("the run starts");
        assert!(after_stop <= STOP_GRACE + CLOSE_WAIT + SLACK, "{after_stop:?}");
        assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
        check_complete(&case, &r);
        check_outcome(&case, &r, &server);
    }
}

/// A cancel that comes after the deadline, while the run is still closing, still closes every connection.
#[test]
fn a_cancel_after_the_deadline_still_closes() {
    let server = server();
    // Requests in flight at the deadline finish (large responses take a while); the cancel cuts them.
    let s =
        scenario(r#"{"kind":"requests","durationNs":100000000,"connections":4,"inflight":64,"responseSize":4000000}"#);
    let cancel = Cancel::default();
    let c = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        c.cancel();
        Instant::now()
    });
    let r = run_bounded(&s, server.local_addr(), &cancel, Duration::from_secs(10));
    let after = canceller.join().unwrap().elapsed();
    assert!(after <= CLOSE_WAIT + SLACK, "{after:?} after the cancel");
    assert_eq!(r.state, RunState::Cancelled);
    // The server saw every connection close, not time out.
    let st = wait_for_stats(&server, Duration::from_secs(3), |st| st.open_connections == 0);
    assert_eq!((st.open_connections, st.closed), (0, 4), "{st:?}");
}

#[test]
fn connections_that_never_opened_before_the_stop_are_reported_with_the_reason() {
    // A peer that never answers: no handshake completes, so only the first HANDSHAKES_IN_FLIGHT connections
    // ever open; at the stop the others end as errored, each saying why, none left out of the result.
    let silent = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let n = stoq_engine::HANDSHAKES_IN_FLIGHT + 3;
    let s = scenario(&format!(r#"{{"kind":"download","durationNs":200000000,"connections":{n}}}"#));
    let r = run_bounded(&s, silent.local_addr().unwrap(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Errored);
    assert_eq!(r.connections.len(), n);
    let (opened, unopened): (Vec<_>, Vec<_>) = r.connections.iter().partition(|c| c.connect_ns.is_some());
    assert_eq!((opened.len(), unopened.len()), (stoq_engine::HANDSHAKES_IN_FLIGHT, 3));
    for c in &r.connections {
        assert_eq!(c.state, RunState::Errored, "{c:?}");
        assert!(c.handshake_ns.is_none(), "{c:?}");
        let message = &c.error.as_ref().expect("each says why").message;
        let why =
            if c.connect_ns.is_some() { "the handshake still unfinished" } else { "before this connection opened" };
        assert!(message.contains(why), "{message}");
    }
}

#[test]
fn connections_that_never_opened_before_a_cancel_are_cancelled() {
    // The same silent peer, cancelled by the user instead of stopped by the deadline: nothing failed, so
    // every connection, opened or not, ends cancelled and without an error.
    let silent = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let n = stoq_engine::HANDSHAKES_IN_FLIGHT + 3;
    let s = scenario(&format!(r#"{{"kind":"download","durationNs":10000000000,"connections":{n}}}"#));
    let cancel = Cancel::default();
    let c = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        c.cancel();
    });
    let r = run_bounded(&s, silent.local_addr().unwrap(), &cancel, Duration::from_secs(10));
    canceller.join().unwrap();
    assert_eq!(r.state, RunState::Cancelled, "{:?}", r.error);
    assert_eq!(r.connections.iter().filter(|c| c.connect_ns.is_none()).count(), 3);
    for c in &r.connections {
        assert_eq!((c.state, c.error.as_ref()), (RunState::Cancelled, None), "{c:?}");
    }
}
