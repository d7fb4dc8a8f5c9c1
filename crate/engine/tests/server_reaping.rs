//! Server connections must end and be reaped: `open_connections` returns to 0 after every kind of
//! run, whether the client closes cleanly, abandons a handshake, or is refused; and every connection is
//! counted once under how it ended.

mod common;

use std::time::{Duration, Instant};

use common::*;
use stoq_engine::{Cancel, RunState, Server, ServerOptions, Settings};

#[test]
fn a_transfer_run_leaves_no_open_connection() {
    let server = server();
    let s = scenario(r#"{"kind":"download","bytes":1048576,"connections":3,"streams":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    // The client's close puts the server's connections in draining for 3 PTO (milliseconds here).
    let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.open_connections == 0);
    assert_eq!((st.open_connections, st.accepted, st.closed, st.closed_cleanly, st.errored), (0, 3, 3, 3, 0), "{st:?}");
}

/// Once no connection is left after some ended, the server hands freed memory back to the kernel (glibc's
/// `malloc_trim`, looked at once a second), once: an idle server does not keep a run's peak, and does not
/// trim again until more connections end.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn memory_is_handed_back_once_when_no_connection_is_left() {
    let server = server();
    assert_eq!(server.stats().memory_trims, 0);
    let s = scenario(r#"{"kind":"download","bytes":4194304,"connections":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    let st = wait_for_stats(&server, Duration::from_secs(5), |st| st.open_connections == 0 && st.memory_trims > 0);
    assert_eq!((st.open_connections, st.memory_trims), (0, 1), "{st:?}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.stats().memory_trims, 1, "trimmed again with nothing ended");
}

/// Completes a handshake with a raw client (1 s idle timeout) and closes in the same pass that saw it
/// complete, either after sending what the handshake left to send (the client's Finished) or before.
/// Returns the datagrams the close itself put on the wire.
fn handshake_then_close(server: &Server, flush_finished_first: bool) -> u64 {
    let mut c = RawClient::start(server.local_addr(), &mut raw_config(1_000));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !c.conn.is_established() {
        assert!(Instant::now() < deadline, "no handshake");
        c.receive();
        if !c.conn.is_established() {
            c.flush();
        }
    }
    if flush_finished_first {
        c.flush();
    }
    c.conn.close(true, 0, b"done").unwrap();
    let before = c.sent;
    c.flush();
    c.sent - before
}

#[test]
fn a_connection_closed_right_after_its_handshake_is_reaped_promptly() {
    let server = server();
    let sent = handshake_then_close(&server, true);
    assert!(sent > 0, "the close went out");
    let closed_at = Instant::now();
    // Draining lasts 3 PTO: milliseconds on loopback, far below the 1 s idle timeout.
    let st = wait_for_stats(&server, Duration::from_secs(3), |st| st.open_connections == 0);
    assert_eq!((st.open_connections, st.closed, st.errored), (0, 1, 0), "a clean close: {st:?}");
    assert!(closed_at.elapsed() < Duration::from_millis(500), "reaped after {:?}", closed_at.elapsed());
}

/// A client that closes in the same pass that completed its handshake, before sending anything: quiche
/// sends no CRYPTO frame once the connection is closing, so the client's Finished never leaves, and
/// neither does the close (an application close goes in 1-RTT packets, and quiche picks the Handshake
/// space while the Finished is pending, where there is nothing it may send). The server cannot know: its
/// handshake never completes, and the connection is reaped as a handshake timeout (here the 1 s idle
/// timeout the client asked for comes first), never as an error.
#[test]
fn a_handshake_abandoned_before_the_client_finished_is_reaped_as_a_handshake_timeout() {
    let server = server();
    let sent = handshake_then_close(&server, false);
    assert_eq!(sent, 0, "quiche sent something after all: the Finished or the close");
    let closed_at = Instant::now();
    let st = server.stats();
    assert_eq!((st.open_connections, st.half_open), (1, 1), "{st:?}");
    let st = wait_for_stats(&server, Duration::from_secs(4), |st| st.open_connections == 0);
    assert_eq!(
        (st.open_connections, st.half_open, st.closed, st.handshake_timeouts, st.errored),
        (0, 0, 1, 1, 0),
        "{st:?}"
    );
    assert!(closed_at.elapsed() >= Duration::from_millis(500), "{:?}", closed_at.elapsed());
}

#[test]
fn a_handshakes_run_leaves_no_open_connection() {
    let server = server();
    let s = scenario(r#"{"kind":"handshakes","count":100,"connections":2,"settings":{"idleTimeoutNs":1000000000}}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    let st = wait_for_stats(&server, Duration::from_secs(4), |st| st.open_connections == 0);
    assert_eq!((st.open_connections, st.accepted, st.closed), (0, 100, 100), "{st:?}");
}

/// Each handshake's connection should end cleanly (the client's close reaches the server) and be reaped
/// within milliseconds, not at the idle timeout.
#[test]
fn a_handshakes_run_closes_every_server_connection_cleanly() {
    let server = server();
    let s = scenario(r#"{"kind":"handshakes","count":100,"connections":2}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    let st = wait_for_stats(&server, Duration::from_secs(1), |st| st.open_connections == 0);
    assert_eq!((st.open_connections, st.closed, st.errored), (0, 100, 0), "{st:?}");
}

/// A connection beyond the limit is refused before the server builds anything: a CONNECTION_CLOSE with
/// CONNECTION_REFUSED (transport error 0x2) sent in an Initial without any connection state.
#[test]
fn connections_beyond_the_limit_are_refused_without_state() {
    let server = Server::start(ServerOptions {
        listen: loopback(),
        max_connections: 1,
        settings: Settings { idle_timeout_ns: 2_000_000_000, ..Settings::default() },
        ..ServerOptions::default()
    })
    .unwrap();
    let mut first = RawClient::connect(server.local_addr());
    let mut second = RawClient::start(server.local_addr(), &mut raw_config(2_000));
    let refused = second.drive_until(Duration::from_secs(3), |c| c.conn.peer_error().is_some());
    assert!(refused, "the second connection was not refused");
    let e = second.conn.peer_error().expect("the server's close").clone();
    assert_eq!((e.is_app, e.error_code), (false, 0x2), "CONNECTION_REFUSED: {e:?}");
    assert_eq!(String::from_utf8_lossy(&e.reason), "server at its connection limit");
    let st = server.stats();
    assert_eq!((st.open_connections, st.accepted, st.refused_at_limit), (1, 1, 1), "{st:?}");
    // The first connection still works, and once it closes nothing is open.
    first.send_all(0, &100u64.to_be_bytes(), true);
    first.drive_until(Duration::from_secs(2), |c| c.read(0).is_ok_and(|(_, fin)| fin));
    first.conn.close(true, 0, b"done").unwrap();
    first.flush();
    let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.open_connections == 0 && st.closed == 1);
    assert_eq!((st.open_connections, st.accepted, st.closed, st.refused_at_limit), (0, 1, 1, 1), "{st:?}");
    // With room again, a new connection is served.
    RawClient::connect(server.local_addr());
}

#[test]
fn a_refused_connection_is_an_errored_connection_of_the_run() {
    let server =
        Server::start(ServerOptions { listen: loopback(), max_connections: 2, ..ServerOptions::default() }).unwrap();
    let s = scenario(r#"{"kind":"download","bytes":300000,"connections":3,"streams":1}"#);
    let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(10));
    assert_eq!(r.state, RunState::Errored, "{:?}", r.connections);
    let errored: Vec<_> = r.connections.iter().filter(|c| c.state == RunState::Errored).collect();
    assert_eq!(errored.len(), 1, "{:?}", r.connections);
    let e = errored[0].error.as_ref().expect("an error");
    assert_eq!(e.code, stoq_engine::ErrorCode::Peer, "{e:?}");
    assert!(e.message.contains("transport error 0x2: server at its connection limit"), "{e:?}");
    let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.open_connections == 0);
    assert_eq!(
        (st.open_connections, st.accepted, st.refused_at_limit, st.closed, st.errored),
        (0, 2, 1, 2, 0),
        "{st:?}"
    );
}

/// After a stop, every connection the server accepted is counted once: open ones (established or
/// half-open) as closed at the stop.
#[test]
fn after_a_stop_every_connection_is_accounted_for() {
    let server = server();
    let _established = RawClient::connect(server.local_addr());
    // A half-open one: its first Initial only.
    let _half = RawClient::start(server.local_addr(), &mut raw_config(5_000));
    let st = wait_for_stats(&server, Duration::from_secs(2), |st| st.accepted == 2);
    assert_eq!((st.open_connections, st.half_open), (2, 1), "{st:?}");
    let (st, _) = server.stop();
    assert_eq!(
        (st.open_connections, st.half_open, st.accepted, st.closed, st.closed_at_stop),
        (0, 0, 2, 2, 2),
        "{st:?}"
    );
}
