//! Every scenario kind over loopback, with exact accounting: what the client asked for is what it got,
//! per connection, per interval and at the server; every stream ends with its FIN; every latency sample
//! is there.

mod common;

use std::time::{Duration, Instant};

use common::*;
use stoq_engine::{Cancel, RunResult, RunState, ServerStats, HANDSHAKES_IN_FLIGHT};

const MIB: u64 = 1 << 20;
const BOUND: Duration = Duration::from_secs(20);

/// Checks the invariants every completed run shares, and returns the server's settled stats.
fn check_completed(r: &RunResult, connections: usize) {
    assert_eq!(r.state, RunState::Completed, "{:?} {:?} {:?}", r.error, r.totals, r.connections);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.connections.len(), connections);
    for (i, c) in r.connections.iter().enumerate() {
        assert_eq!(c.index as usize, i);
        assert_eq!(c.state, RunState::Completed, "{c:?}");
        assert!(c.error.is_none(), "{c:?}");
        assert_eq!(c.streams_failed, 0, "{c:?}");
    }
    let sent: u64 = r.connections.iter().map(|c| c.bytes_sent).sum();
    let received: u64 = r.connections.iter().map(|c| c.bytes_received).sum();
    assert_eq!(sent, r.totals.bytes_sent, "per-connection bytes sent add up to the total");
    assert_eq!(received, r.totals.bytes_received, "per-connection bytes received add up to the total");
    // The transfer's intervals and the closing period together hold every count of the run.
    let periods = || r.intervals.iter().chain(std::iter::once(&r.closing));
    let iv_sent: u64 = periods().map(|i| i.bytes_sent).sum();
    let iv_received: u64 = periods().map(|i| i.bytes_received).sum();
    let iv_completed: u64 = periods().map(|i| i.completed).sum();
    let iv_packets: u64 = periods().map(|i| i.client.counters.packets_received).sum();
    assert_eq!(iv_sent, r.totals.bytes_sent, "intervals add up to the total");
    assert_eq!(iv_received, r.totals.bytes_received, "intervals add up to the total");
    assert_eq!(iv_completed, r.totals.completed, "intervals add up to the total");
    assert_eq!(iv_packets, r.totals.side.packets_received, "intervals add up to the total");
    // The last interval ends with the transfer; the closing period follows it.
    let last = r.intervals.last().expect("at least one interval");
    assert_eq!(last.end_ns, r.duration_ns, "the last interval ends with the transfer");
    assert!(r.closing.start_ns <= r.closing.end_ns && r.closing.start_ns <= r.duration_ns);
    for (k, iv) in r.intervals.iter().enumerate() {
        assert_eq!(iv.index as usize, k, "intervals in order");
    }
}

/// The server's counters match the client's view as soon as the run returns: the server counts what it
/// read and wrote before it sends the packets that let the client finish.
fn check_server(server: &stoq_engine::Server, r: &RunResult, connections: u64, streams: u64) -> ServerStats {
    let st = server.stats();
    assert_eq!(st.bytes_sent, r.totals.bytes_received, "server sent what the client received: {st:?}");
    assert_eq!(st.bytes_received, r.totals.bytes_sent, "server received what the client sent: {st:?}");
    assert_eq!(st.accepted, connections, "{st:?}");
    assert_eq!(st.streams, streams, "request streams the server saw: {st:?}");
    assert_eq!((st.refused_at_limit, st.streams_rejected, st.retries_sent), (0, 0, 0), "{st:?}");
    assert_eq!(st.garbage_datagrams, 0);
    st
}

/// A byte-count transfer: `up`/`down` bytes expected in each direction, `streams` request streams.
fn transfer(json: &str, up: u64, down: u64, connections: u64, streams_per_conn: u64) {
    let server = server();
    let s = scenario(json);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), BOUND);
    check_completed(&r, connections as usize);
    assert_eq!(r.totals.bytes_sent, up, "{json}: bytes uploaded");
    assert_eq!(r.totals.bytes_received, down, "{json}: bytes downloaded");
    for c in &r.connections {
        assert_eq!(c.streams_completed, streams_per_conn, "{json}: every stream ended with FIN: {c:?}");
    }
    assert!(r.latency.is_none() && r.latency_ns.is_empty());
    check_server(&server, &r, connections, connections * streams_per_conn);
}

#[test]
fn download_one_connection_one_stream() {
    transfer(r#"{"kind":"download","bytes":3145728}"#, 0, 3 * MIB, 1, 1);
}

#[test]
fn download_several_connections_and_streams_with_an_uneven_split() {
    // 2 MiB + 7 bytes over 6 streams: the remainder goes to the first streams, nothing is lost.
    transfer(
        r#"{"kind":"download","bytes":2097159,"connections":2,"streams":3,"settings":{"threads":2}}"#,
        0,
        2 * MIB + 7,
        2,
        3,
    );
}

#[test]
fn download_on_unidirectional_streams() {
    transfer(r#"{"kind":"download","bytes":1048583,"connections":2,"streams":2,"streamType":"uni"}"#, 0, MIB + 7, 2, 2);
}

#[test]
fn upload_exact_bytes() {
    transfer(r#"{"kind":"upload","bytes":2097152,"streams":2}"#, 2 * MIB, 0, 1, 2);
}

#[test]
fn upload_on_unidirectional_streams_several_connections() {
    transfer(r#"{"kind":"upload","bytes":1048579,"connections":3,"streamType":"uni"}"#, MIB + 3, 0, 3, 1);
}

#[test]
fn bidir_moves_the_bytes_both_ways() {
    // Each direction carries `bytes`: every stream pair is one download stream and one upload stream.
    transfer(r#"{"kind":"bidir","bytes":1048577,"connections":2,"streams":2}"#, MIB + 1, MIB + 1, 2, 4);
}

#[test]
fn zero_bytes_still_completes_every_stream() {
    transfer(r#"{"kind":"download","bytes":0,"streams":3}"#, 0, 0, 1, 3);
    transfer(r#"{"kind":"upload","bytes":0,"connections":2}"#, 0, 0, 2, 1);
    transfer(r#"{"kind":"download","bytes":0,"streamType":"uni"}"#, 0, 0, 1, 1);
}

/// Requests and round trips: counts and sizes exact, one latency sample each.
fn request_response(json: &str, count: u64, request: u64, response: u64, connections: u64) {
    let server = server();
    let s = scenario(json);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), BOUND);
    check_completed(&r, connections as usize);
    assert_eq!(r.totals.completed, count, "{json}");
    assert_eq!(r.totals.bytes_sent, count * request, "{json}");
    assert_eq!(r.totals.bytes_received, count * response, "{json}");
    let completed: u64 = r.connections.iter().map(|c| c.streams_completed).sum();
    assert_eq!(completed, count, "{json}: every request's reply ended with FIN");
    let lat = r.latency.as_ref().expect("latency summary");
    assert_eq!(lat.n, count, "{json}");
    assert_eq!(r.latency_ns.len() as u64, count);
    assert_eq!(r.latency_at_ns.len() as u64, count);
    assert!(r.latency_ns.iter().all(|&ns| ns > 0));
    assert!(lat.min_ns <= lat.p50_ns && lat.p50_ns <= lat.p99_ns && lat.p99_ns <= lat.max_ns);
    check_server(&server, &r, connections, count);
}

#[test]
fn requests_with_several_in_flight_on_several_connections() {
    request_response(
        r#"{"kind":"requests","count":120,"connections":2,"inflight":4,"requestSize":100,"responseSize":3000}"#,
        120,
        100,
        3000,
        2,
    );
}

#[test]
fn requests_on_unidirectional_streams() {
    request_response(
        r#"{"kind":"requests","count":60,"inflight":3,"requestSize":10,"responseSize":2500,"streamType":"uni"}"#,
        60,
        10,
        2500,
        1,
    );
}

#[test]
fn requests_with_empty_bodies() {
    request_response(r#"{"kind":"requests","count":40,"inflight":2,"requestSize":0,"responseSize":0}"#, 40, 0, 0, 1);
}

#[test]
fn latency_round_trips_are_all_counted() {
    request_response(r#"{"kind":"latency","count":50}"#, 50, 64, 64, 1);
}

#[test]
fn handshakes_are_all_counted() {
    let server = server();
    let count = 40;
    let s = scenario(r#"{"kind":"handshakes","count":40,"connections":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), BOUND);
    check_completed(&r, 2);
    assert_eq!(r.totals.completed, count);
    assert_eq!(r.totals.bytes_sent + r.totals.bytes_received, 0, "handshakes carry no payload");
    assert_eq!(r.latency.as_ref().expect("latency").n, count);
    assert_eq!(r.latency_ns.len() as u64, count);
    assert!(r.connections.iter().all(|c| c.handshake_ns.is_some_and(|ns| ns > 0)));
    let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.accepted == count);
    assert_eq!(st.accepted, count, "one server connection per handshake: {st:?}");
    assert_eq!(st.streams, 0);
}

#[test]
fn duration_download_ends_every_endless_stream_with_stop_sending() {
    let server = server();
    let s = scenario(r#"{"kind":"download","durationNs":600000000,"connections":2,"streams":2}"#);
    let started = Instant::now();
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(6));
    assert!(started.elapsed() >= Duration::from_millis(600), "ran for its duration");
    check_completed(&r, 2);
    assert!(r.totals.bytes_received > 0);
    assert_eq!(r.totals.bytes_sent, 0);
    for c in &r.connections {
        assert_eq!(c.streams_completed, 2, "{c:?}");
        assert!(c.bytes_received > 0, "{c:?}");
    }
    // The server may have sent more than arrived before STOP_SENDING, never less; and then it stops.
    let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.bytes_sent >= r.totals.bytes_received);
    assert!(st.bytes_sent >= r.totals.bytes_received, "{st:?}");
    assert_eq!(st.streams, 4);
    std::thread::sleep(Duration::from_millis(200));
    let later = server.stats().bytes_sent;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.stats().bytes_sent, later, "the server stopped sending after STOP_SENDING");
}

#[test]
fn duration_upload_delivers_every_byte_sent() {
    let server = server();
    let s = scenario(r#"{"kind":"upload","durationNs":400000000,"connections":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(6));
    check_completed(&r, 2);
    assert!(r.totals.bytes_sent > 0);
    assert!(r.connections.iter().all(|c| c.streams_completed == 1));
    // The upload ends with FIN at the deadline and the server answers only after draining it: exact.
    check_server(&server, &r, 2, 2);
}

#[test]
fn duration_requests_complete_what_they_start() {
    let server = server();
    let s = scenario(r#"{"kind":"requests","durationNs":300000000,"inflight":4,"requestSize":200,"responseSize":700}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(6));
    check_completed(&r, 1);
    let n = r.totals.completed;
    assert!(n > 0);
    assert_eq!(r.totals.bytes_sent, n * 200);
    assert_eq!(r.totals.bytes_received, n * 700);
    assert_eq!(r.latency.as_ref().expect("latency").n, n);
    check_server(&server, &r, 1, n);
}

#[test]
fn a_multi_threaded_server_and_client_keep_exact_accounting() {
    let server =
        stoq_engine::Server::start(stoq_engine::ServerOptions { listen: loopback(), threads: 2, ..Default::default() })
            .unwrap();
    let s = scenario(r#"{"kind":"bidir","bytes":1048576,"connections":4,"streams":2,"settings":{"threads":2}}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), BOUND);
    check_completed(&r, 4);
    assert_eq!((r.totals.bytes_sent, r.totals.bytes_received), (MIB, MIB));
    check_server(&server, &r, 4, 16);
    let (st, _) = server.stop();
    assert_eq!(st.open_connections, 0, "{st:?}");
}

#[test]
fn connections_beyond_the_handshakes_in_flight_open_as_handshakes_complete_and_move_exact_bytes() {
    // Over two client threads, so that each worker's share of the bound is exercised too.
    let n = HANDSHAKES_IN_FLIGHT as u64 + 44;
    let bytes = n * 4000 + 7;
    let server = server();
    let json = format!(r#"{{"kind":"download","bytes":{bytes},"connections":{n},"settings":{{"threads":2}}}}"#);
    let r = run_bounded(&scenario(&json), server.local_addr(), &Cancel::default(), BOUND);
    check_completed(&r, n as usize);
    assert_eq!(r.totals.bytes_received, bytes);
    for c in &r.connections {
        // The first `bytes % n` connections carry one byte more.
        assert_eq!(c.bytes_received, 4000 + u64::from(u64::from(c.index) < 7), "{c:?}");
        assert_eq!(c.streams_completed, 1, "{c:?}");
    }
    // Each connection's handshake spans [connect, connect + handshake]: never more than the bound at once.
    let mut edges: Vec<(u64, i64)> = r
        .connections
        .iter()
        .flat_map(|c| {
            let at = c.connect_ns.expect("every connection opened");
            [(at, 1), (at + c.handshake_ns.expect("every handshake completed"), -1)]
        })
        .collect();
    // At one instant an end comes before a start: a slot opens when another's handshake is seen complete.
    edges.sort();
    let (mut under_way, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        under_way += d;
        most = most.max(under_way);
    }
    assert!(most <= HANDSHAKES_IN_FLIGHT as i64, "{most} handshakes under way at once");
    let first_done = r.connections.iter().map(|c| c.connect_ns.unwrap() + c.handshake_ns.unwrap()).min().unwrap();
    let opened_later = r.connections.iter().filter(|c| c.connect_ns.unwrap() >= first_done).count();
    assert!(opened_later >= 44, "only {opened_later} connections opened after the first handshake completed");
    // Above its Retry threshold the server asks some of them to validate their address: allowed here.
    let st = server.stats();
    assert_eq!((st.bytes_sent, st.accepted, st.streams), (bytes, n, n), "{st:?}");
    assert_eq!((st.refused_prefix, st.refused_at_limit, st.shed), (0, 0, 0), "no Initial refused or shed: {st:?}");
}

#[test]
fn more_streams_than_the_initial_stream_limit() {
    // The server allows 1000 concurrent streams; the rest open as credit returns (MAX_STREAMS).
    transfer(r#"{"kind":"download","bytes":1201000,"streams":1201}"#, 0, 1_201_000, 1, 1201);
    transfer(r#"{"kind":"upload","bytes":1100,"streams":1100,"streamType":"uni"}"#, 1100, 0, 1, 1100);
}

#[test]
fn more_requests_than_the_initial_stream_limit() {
    request_response(
        r#"{"kind":"requests","count":2500,"inflight":16,"requestSize":1,"responseSize":1,"settings":{"threads":2},"connections":2}"#,
        2500,
        1,
        1,
        2,
    );
    request_response(
        r#"{"kind":"requests","count":2500,"inflight":16,"requestSize":0,"responseSize":3,"streamType":"uni"}"#,
        2500,
        0,
        3,
        1,
    );
}

#[test]
fn handshakes_for_a_duration() {
    let server = server();
    let s = scenario(r#"{"kind":"handshakes","durationNs":300000000}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(5));
    check_completed(&r, 1);
    let n = r.totals.completed;
    assert!(n > 0);
    assert_eq!(r.latency.as_ref().expect("latency").n, n);
    let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.accepted >= n);
    // The last connection may have been opened at the deadline and not completed.
    assert!(st.accepted == n || st.accepted == n + 1, "{st:?} vs {n}");
}

#[test]
fn duration_runs_of_every_transfer_shape_complete_every_stream() {
    // One upload stream per connection: see `duration_uploads_on_several_streams_end_every_stream`.
    duration_runs(&[
        (r#"{"kind":"download","durationNs":500000000,"streams":2,"streamType":"uni"}"#, 2),
        (r#"{"kind":"upload","durationNs":500000000,"streamType":"uni"}"#, 1),
        (r#"{"kind":"bidir","durationNs":500000000}"#, 2),
        (r#"{"kind":"latency","durationNs":500000000}"#, 0),
    ]);
}

/// A duration upload ends each endless stream with a FIN at the deadline. The client writes that FIN
/// as an empty STREAM frame; quiche 0.29 loses an empty FIN queued after the stream's data went out
/// if the data's ACK is processed before the FIN leaves (the stream counts as complete and is
/// collected: see `protocol_rules::quiche_loses_an_empty_fin_queued_before_the_data_is_acknowledged`).
/// The client's writer also gives all send capacity to the lowest stream ID, so the other streams
/// sit with all their data sent and unacknowledged: their FIN is lost, the server never answers,
/// and the run ends in TIMEOUT. Seen in about 1 run in 10 on a loaded machine.
#[test]
fn duration_uploads_on_several_streams_end_every_stream() {
    for _ in 0..10 {
        duration_runs(&[
            (r#"{"kind":"upload","durationNs":500000000,"streams":2,"streamType":"uni"}"#, 2),
            (r#"{"kind":"upload","durationNs":500000000,"streams":3}"#, 3),
            (r#"{"kind":"bidir","durationNs":500000000,"streams":2}"#, 4),
        ]);
    }
}

fn duration_runs(cases: &[(&str, u64)]) {
    for &(json, streams) in cases {
        let server = server();
        eprintln!("{json}");
        let s = scenario(json);
        let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(5));
        check_completed(&r, 1);
        // (A run whose handshake outlasts its duration moves nothing: the duration counts from the start.)
        assert!(r.totals.bytes_sent + r.totals.bytes_received > 0, "{json}: {:?}", r.connections[0]);
        if streams > 0 {
            assert_eq!(r.connections[0].streams_completed, streams, "{json}: {:?}", r.connections[0]);
        } else {
            assert_eq!(r.connections[0].streams_completed, r.totals.completed, "{json}");
        }
        // Uploads end with FIN, so the server got every byte sent.
        let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.bytes_received == r.totals.bytes_sent);
        assert_eq!(st.bytes_received, r.totals.bytes_sent, "{json}: {st:?}");
        assert!(st.bytes_sent >= r.totals.bytes_received, "{json}: {st:?}");
        let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.open_connections == 0);
        assert_eq!(st.open_connections, 0, "{json}: {st:?}");
    }
}

#[test]
fn transport_settings_do_not_change_the_accounting() {
    for settings in [
        // Flow control far below the transfer: every byte waits for window updates.
        r#"{"connectionWindow":65536,"streamWindow":32768}"#,
        r#"{"payloadSize":1200,"pacing":false,"gso":false}"#,
        r#"{"payloadSize":16000,"cc":"reno"}"#,
        r#"{"cc":"bbr2","pacing":false}"#,
    ] {
        let parsed: stoq_engine::Settings = serde_json::from_str(settings).unwrap();
        let server = server_with(parsed);
        for (kind, up, down) in [("download", 0, MIB + 5), ("upload", MIB + 5, 0), ("bidir", MIB + 5, MIB + 5)] {
            let json = format!(r#"{{"kind":"{kind}","bytes":1048581,"streams":2,"settings":{settings}}}"#);
            let s = scenario(&json);
            let r = run_bounded(&s, server.local_addr(), &Cancel::default(), BOUND);
            check_completed(&r, 1);
            assert_eq!((r.totals.bytes_sent, r.totals.bytes_received), (up, down), "{json}");
        }
        let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.bytes_received == 2 * (MIB + 5));
        assert_eq!(
            (st.bytes_sent, st.bytes_received, st.streams),
            (2 * (MIB + 5), 2 * (MIB + 5), 8),
            "{settings}: {st:?}"
        );
    }
}
