//! Nothing unmeasured: a run shorter than the handshake completes and says so, an RTT without an RTT
//! sample is absent, path figures of an interval without traffic are absent, the last interval ends with
//! the transfer and the closing period is kept apart, and the server's side is read where it runs.

mod common;

use std::time::Duration;

use common::*;
use stoq_engine::{Cancel, RunState};

const BOUND: Duration = Duration::from_secs(10);

#[test]
fn a_run_shorter_than_the_handshake_completes_and_is_flagged_too_short() {
    let server = server();
    for ms in [1u64, 2, 5] {
        let s = scenario(&format!(
            r#"{{"kind":"download","durationNs":{},"settings":{{"idleTimeoutNs":2000000000}}}}"#,
            ms * 1_000_000
        ));
        let r = run_embedded(&s, &server, BOUND);
        assert_eq!(r.state, RunState::Completed, "{ms} ms: {:?}", r.error);
        assert!(r.error.is_none(), "{ms} ms: never blamed on the peer: {:?}", r.error);
        let handshake = r.connections[0].handshake_ns.expect("the handshake completed");
        if handshake >= ms * 1_000_000 {
            let why = r.too_short.as_deref().expect("flagged too short");
            assert!(why.contains("ended before 1 of 1 connection(s) completed the handshake"), "{why}");
        }
        // The one interval and the run's totals describe the same bytes over the same time.
        assert_eq!(r.intervals.len(), 1, "{ms} ms: {:?}", r.intervals);
        let iv = &r.intervals[0];
        assert_eq!(iv.end_ns - iv.start_ns, r.duration_ns, "{ms} ms: the interval is the transfer");
        assert_eq!(iv.bytes_received, r.totals.bytes_received);
    }
}

#[test]
fn the_last_interval_ends_with_the_transfer_and_the_closing_period_is_kept_apart() {
    let server = server();
    let s = scenario(r#"{"kind":"download","durationNs":350000000}"#);
    let r = run_embedded(&s, &server, BOUND);
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    // 100 ms intervals: 0-100, 100-200, 200-300, then 300 to the stop (at 350 ms, or later on a loaded
    // machine): never a sliver of an interval after the deadline.
    let (last, whole) = r.intervals.split_last().expect("intervals");
    for (k, iv) in whole.iter().enumerate() {
        assert_eq!((iv.start_ns, iv.end_ns), (k as u64 * 100_000_000, (k as u64 + 1) * 100_000_000), "{iv:?}");
    }
    assert!(whole.len() >= 3, "{:?}", r.intervals);
    assert!(last.end_ns - last.start_ns >= 50_000_000, "{last:?}");
    assert_eq!(last.end_ns, r.duration_ns);
    assert!(r.duration_ns >= 350_000_000);
    // The closing period follows: it has packets (the close, the server's reset) but is no interval.
    let c = &r.closing;
    assert_eq!(c.start_ns, r.duration_ns);
    assert!(c.end_ns > c.start_ns, "{c:?}");
    assert!(c.client.counters.cpu_ns > 0, "its CPU time is kept: {c:?}");
    assert_eq!((c.bytes_sent, c.bytes_received), (0, 0), "{c:?}");
}

#[test]
fn on_a_short_run_the_interval_and_the_run_give_the_same_rate() {
    let server = server();
    let s = scenario(r#"{"kind":"download","bytes":20000000}"#);
    let mut options = stoq_engine::RunOptions::new(server.local_addr());
    options.interval_ns = 10_000_000_000;
    let r = stoq_engine::run(&s, &options, &Cancel::default(), &mut |_| {}).unwrap();
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.intervals.len(), 1);
    let iv = &r.intervals[0];
    assert_eq!((iv.start_ns, iv.end_ns, iv.bytes_received), (0, r.duration_ns, 20_000_000));
}

#[test]
fn an_embedded_server_gives_the_senders_side_of_a_download() {
    let server = server();
    let s = scenario(r#"{"kind":"download","bytes":30000000,"streams":2}"#);
    let r = run_embedded(&s, &server, BOUND);
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.server.source, stoq_engine::view::ViewSource::Embedded);
    let end = r.server.end.as_ref().expect("the server's side at the end");
    let sent = end.totals.counters.packets_sent;
    // The server sent what the client received (the client counts the server's close too).
    assert!(sent > 20_000, "{end:?}");
    assert!(
        r.totals.side.packets_received <= sent + 10
            && r.totals.side.packets_received + end.totals.counters.lost + 10 >= sent,
        "{} vs {end:?}",
        r.totals.side.packets_received
    );
    assert!(end.totals.counters.cpu_ns > 0 && end.totals.busiest_thread.cpu_ns > 0);
    // The server's sockets sent every packet (quiche coalesces a few handshake packets into one datagram).
    assert!(end.fast_path.send_calls > 0 && end.fast_path.datagrams_sent + 5 >= sent, "{end:?}");
    if end.fast_path.gso_available {
        assert!(end.fast_path.gso, "the sender used GSO: {end:?}");
    }
    // Each interval that moved data has the sender's window, grown past the initial 10 packets.
    let busy: Vec<_> = r.intervals.iter().filter(|i| i.bytes_received > 1_000_000).collect();
    assert!(!busy.is_empty());
    for iv in busy {
        let srv = iv.server.as_ref().expect("the server's side of the interval");
        assert!(srv.counters.packets_sent > 0, "{srv:?}");
        assert!(srv.path.connections == 1 && srv.path.cwnd > 13_500, "{iv:?}");
        assert!(srv.path.rtt_ns().is_some(), "{srv:?}");
    }
    let per_interval: u64 =
        r.intervals.iter().chain([&r.closing]).filter_map(|i| i.server.map(|s| s.counters.packets_sent)).sum();
    assert!(
        per_interval <= sent && per_interval + 50 >= sent,
        "the server's intervals add up: {per_interval} of {sent}"
    );
}
