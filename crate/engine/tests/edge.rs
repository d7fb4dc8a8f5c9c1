//! The server at the edge of the network, one test per rule, spoken to through plain UDP sockets: RFC 9000
//! §5.2.2 and §6.1 (Version Negotiation), §14.1 (datagram size), §7.2 (client connection IDs), §8.1 (the
//! 3x amplification limit, without and with Retry, and Retry tokens), and the server's own admission rules
//! (no state for a fake Initial, limits, the handshake timeout, the allowlist, IPv6 only).
//!
//! Where a test must show that nothing was sent, it does not wait on a clock: it sends, from the same
//! socket, a datagram that does get an answer, and checks that this answer is the first thing to arrive
//! (the server handles one socket's datagrams in order).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use stoq_engine::server::initial::{self, Fields, Side};
use stoq_engine::server::{parse_prefix, RetryMode};
use stoq_engine::{Server, ServerOptions, Settings};

const WAIT: Duration = Duration::from_secs(3);

fn start(options: ServerOptions) -> Server {
    Server::start(ServerOptions { listen: loopback(), ..options }).expect("server starts")
}

/// A long header of an unknown version, padded to `len` bytes, with the given IDs.
fn unknown_version(len: usize, dcid: &[u8], scid: &[u8]) -> Vec<u8> {
    let mut d = vec![0xc0, 0x1a, 0x2a, 0x3a, 0x4a, dcid.len() as u8];
    d.extend_from_slice(dcid);
    d.push(scid.len() as u8);
    d.extend_from_slice(scid);
    d.resize(len.max(d.len()), 0);
    d.truncate(len);
    d
}

/// The frames of a client's first Initial (its ClientHello, padding stripped), and its DCID and SCID.
fn client_hello(server: SocketAddr, local: SocketAddr, seed: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (d, _) = first_initial(server, local, seed);
    let (_, _, dcid, scid) = long_header(&d);
    let mut scratch = vec![0u8; 2048];
    let mut frames = initial::open(&d, &dcid, Side::Client, &mut scratch).expect("quiche's Initial opens").to_vec();
    while frames.last() == Some(&0) {
        frames.pop();
    }
    (frames, dcid, scid)
}

/// The same ClientHello sealed into a datagram of exactly `len` bytes.
fn initial_of_size(frames: &[u8], dcid: &[u8], scid: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; 2048];
    let n =
        initial::seal(dcid, Side::Client, &Fields { dcid, scid, token: &[] }, 0, frames, Some(len), &mut out).unwrap();
    assert_eq!(n, len);
    out.truncate(n);
    out
}

/// RFC 9000 §5.2.2, §14.1: Version Negotiation only in answer to a datagram that could open a connection
/// (at least 1200 bytes); smaller ones are dropped without a word.
#[test]
fn version_negotiation_only_for_datagrams_of_at_least_1200_bytes() {
    let server = start(ServerOptions::default());
    let raw = Raw::new();
    // The 8-byte one (like the rest) parses: empty connection IDs.
    raw.send(server.local_addr(), &unknown_version(8, &[], &[]));
    for len in [100, 1199] {
        raw.send(server.local_addr(), &unknown_version(len, &[len as u8; 8], &[1; 8]));
    }
    raw.send(server.local_addr(), &unknown_version(1200, &[7; 8], &[9; 5]));
    let vn = raw.recv(WAIT).expect("version negotiation for the 1200-byte datagram");
    let (_, version, dcid, scid) = long_header(&vn);
    assert_eq!(version, 0, "a Version Negotiation packet");
    assert_eq!((dcid, scid), (vec![9; 5], vec![7; 8]), "it answers the 1200-byte datagram, its IDs swapped");
    let versions: Vec<u32> = vn[7 + 5 + 8..].chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect();
    assert!(versions.contains(&1), "it offers QUIC version 1: {versions:x?}");
    // The smaller ones never reach the server: its socket's filter drops them, counted by the kernel.
    let (st, fast) = server.stop();
    assert_eq!((st.too_short, st.version_negotiation_sent, st.accepted), (0, 1, 0), "{st:?}");
    assert_eq!(fast.socket_drops, 3, "{fast:?}");
}

/// RFC 9000 §6.1: a Version Negotiation packet is never answered with one.
#[test]
fn no_version_negotiation_in_answer_to_version_negotiation() {
    let server = start(ServerOptions::default());
    let raw = Raw::new();
    let mut vn = vec![0xc0, 0, 0, 0, 0, 8];
    vn.extend([3u8; 8]);
    vn.push(8);
    vn.extend([4u8; 8]);
    // Supported versions, a whole number of them, to at least 1200 bytes.
    while vn.len() < 1200 {
        vn.extend([0x1a, 0x2a, 0x3a, 0x4a]);
    }
    raw.send(server.local_addr(), &vn);
    raw.send(server.local_addr(), &unknown_version(1200, &[7; 8], &[9; 8]));
    let first = raw.recv(WAIT).expect("an answer to the probe");
    assert_eq!(long_header(&first).2, vec![9; 8], "the first reply answers the probe, not the VN packet");
    // The server's socket filter drops it in the kernel.
    let (st, fast) = server.stop();
    assert_eq!((st.unknown_connection, st.version_negotiation_sent, fast.socket_drops), (0, 1, 1), "{st:?} {fast:?}");
}

/// RFC 9000 §14.1: an Initial in a datagram under 1200 bytes is discarded; the same ClientHello in 1200
/// bytes opens a connection, and the server's own Initial datagrams are at least 1200 bytes long.
#[test]
fn an_initial_under_1200_bytes_is_dropped_and_at_1200_it_is_served() {
    let server = start(ServerOptions { retry: RetryMode::Never, ..ServerOptions::default() });
    let raw = Raw::new();
    let (frames, dcid, scid) = client_hello(server.local_addr(), raw.local, 1);
    raw.send(server.local_addr(), &initial_of_size(&frames, &dcid, &scid, 1199));
    raw.send(server.local_addr(), &initial_of_size(&frames, &dcid, &scid, 1200));
    let reply = raw.recv(WAIT).expect("the server's Initial");
    let (ty, version, to, _) = long_header(&reply);
    assert_eq!((ty, version, to), (INITIAL, 1, scid.clone()), "a server Initial to the client");
    assert!(reply.len() >= 1200, "a server datagram with an ack-eliciting Initial is padded: {} bytes", reply.len());
    assert!(initial::open(&reply, &dcid, Side::Server, &mut [0u8; 2048]).is_some(), "sealed with the keys of the DCID");
    let st = server.stats();
    assert_eq!((st.too_short, st.accepted, st.half_open), (0, 1, 1), "{st:?}");
    let (_, fast) = server.stop();
    assert_eq!(fast.socket_drops, 1, "the 1199-byte Initial, dropped by the socket's filter: {fast:?}");
}

/// A datagram that merely looks like an Initial (right header, size and version, random content) builds
/// nothing: no connection, no reply, no qlog file; nor does a real Initial whose DCID is under 8 bytes
/// (RFC 9000 §7.2).
#[test]
fn fake_initials_build_no_state_and_write_no_qlog() {
    let qlog = std::env::temp_dir().join(format!("stoq-edge-qlog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&qlog);
    let server = start(ServerOptions { qlog_dir: Some(qlog.clone()), ..ServerOptions::default() });
    let raw = Raw::new();
    let mut rng = Rng(0xfa4e);
    let fakes = 50;
    for _ in 0..fakes {
        let (mut d, _) = first_initial(server.local_addr(), raw.local, rng.next());
        // Everything after the header (the protected packet number and payload) replaced at random.
        let (_, _, dcid, scid) = long_header(&d);
        let header = 1 + 4 + 1 + dcid.len() + 1 + scid.len() + 1 + 2;
        rng.fill(&mut d[header..]);
        raw.send(server.local_addr(), &d);
    }
    let (frames, _, scid) = client_hello(server.local_addr(), raw.local, 2);
    raw.send(server.local_addr(), &initial_of_size(&frames, &[5; 7], &scid, 1200));
    let st = wait_for_stats(&server, WAIT, |st| st.invalid_initial == fakes + 1);
    assert_eq!((st.invalid_initial, st.accepted, st.open_connections), (fakes + 1, 0, 0), "{st:?}");
    assert!(raw.recv(Duration::from_millis(1)).is_none(), "no reply");
    let files = std::fs::read_dir(&qlog).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "no qlog file for a datagram that built no connection");
    // A real connection gets its qlog.
    let mut c = RawClient::connect(server.local_addr());
    c.conn.close(true, 0, b"done").unwrap();
    c.flush();
    drop(server);
    assert_eq!(std::fs::read_dir(&qlog).unwrap().count(), 1);
    std::fs::remove_dir_all(&qlog).unwrap();
}

/// RFC 9000 §8.1: before the client's address is validated, the server sends at most three times the
/// bytes it received, retransmissions included, however long it waits for an answer.
#[test]
fn an_unvalidated_client_gets_at_most_three_times_what_it_sent() {
    let server = start(ServerOptions {
        retry: RetryMode::Never,
        handshake_timeout: Duration::from_millis(1500),
        ..ServerOptions::default()
    });
    let raw = Raw::new();
    let (d, _) = first_initial(server.local_addr(), raw.local, 3);
    raw.send(server.local_addr(), &d);
    // Until the server gives up on the handshake: its loss timers fire meanwhile.
    let st = wait_for_stats(&server, WAIT, |st| st.handshake_timeouts == 1);
    assert_eq!((st.handshake_timeouts, st.open_connections), (1, 0), "{st:?}");
    let sent: usize = raw.drain(Duration::from_millis(1), WAIT).iter().map(Vec::len).sum();
    assert!(sent > 0, "the server answered");
    assert!(sent <= 3 * d.len(), "{sent} bytes sent for {} received", d.len());
}

/// RFC 9000 §8.1.2: with Retry, an Initial without a token gets a Retry and nothing else (no state), well
/// inside the 3x limit; a client that answers with the token is served, its address validated.
#[test]
fn with_retry_the_only_answer_before_the_token_is_a_retry() {
    let server = start(ServerOptions { retry: RetryMode::Always, ..ServerOptions::default() });
    let raw = Raw::new();
    let (d, _) = first_initial(server.local_addr(), raw.local, 4);
    let (_, _, dcid, scid) = long_header(&d);
    raw.send(server.local_addr(), &d);
    let retry = raw.recv(WAIT).expect("a Retry");
    let (ty, _, to, rscid) = long_header(&retry);
    assert_eq!((ty, to), (RETRY, scid), "a Retry to the client");
    assert_ne!(rscid, dcid, "with a connection ID of the server's choosing");
    assert!(retry.len() <= 3 * d.len());
    let st = server.stats();
    assert_eq!((st.retries_sent, st.accepted, st.open_connections), (1, 0, 0), "no state before the token: {st:?}");
    // quiche's client follows the Retry with the token; the handshake completes.
    let c = RawClient::connect(server.local_addr());
    assert!(c.conn.is_established());
    let st = wait_for_stats(&server, WAIT, |st| st.half_open == 0);
    assert_eq!((st.retries_sent, st.accepted, st.validated, st.tokens_invalid), (2, 1, 1, 0), "{st:?}");
}

/// A post-quantum client (X25519MLKEM768 first, as browsers and quic-go offer) sends a ClientHello that
/// spans two Initial datagrams: without Retry and with it (each Initial without a token gets its Retry,
/// RFC 9000 §8.1.2; the client follows the first), one connection is opened and a request is served on it.
#[test]
fn a_client_hello_over_two_initials_opens_one_connection() {
    for retry in [RetryMode::Never, RetryMode::Always] {
        let server = start(ServerOptions { retry, ..ServerOptions::default() });
        let mut config = raw_config(5_000);
        config.set_curves_list(POST_QUANTUM_GROUPS).expect("groups");
        let mut c = RawClient::start(server.local_addr(), &mut config);
        assert!(c.sent >= 2, "{retry:?}: the ClientHello took {} Initial datagram(s)", c.sent);
        assert!(c.drive_until(WAIT, |c| c.conn.is_established()), "{retry:?}: {:?}", c.conn.peer_error());
        c.send_all(0, &[0, 0, 0, 0, 0, 0, 0, 10], true);
        let mut got = 0;
        assert!(c.drive_until(WAIT, |c| matches!(c.read(0), Ok((n, fin)) if { got += n; fin })), "{retry:?}");
        let st = wait_for_stats(&server, WAIT, |st| st.half_open == 0);
        // Validated: its address proven by a Retry token.
        let validated = u64::from(matches!(retry, RetryMode::Always));
        assert_eq!((got, st.accepted, st.validated, st.tokens_invalid), (10, 1, validated, 0), "{retry:?}: {st:?}");
    }
}

/// RFC 9000 §8.1.2-§8.1.4: a Retry token is bound to the address it was given to. From another address
/// it is refused at once with INVALID_TOKEN (the client would not take a second Retry).
#[test]
fn a_retry_token_is_bound_to_the_client_address() {
    let server = start(ServerOptions { retry: RetryMode::Always, ..ServerOptions::default() });
    let (a, b) = (Raw::new(), Raw::new());
    let (d, mut client) = first_initial(server.local_addr(), a.local, 5);
    a.send(server.local_addr(), &d);
    let mut retry = a.recv(WAIT).expect("a Retry");
    client.recv(&mut retry, quiche::RecvInfo { from: server.local_addr(), to: a.local }).expect("the client takes it");
    let mut out = vec![0u8; 1500];
    let (n, _) = client.send(&mut out).expect("the Initial with the token");
    // Sent from another address.
    b.send(server.local_addr(), &out[..n]);
    let mut close = b.recv(WAIT).expect("a CONNECTION_CLOSE");
    let _ = client.recv(&mut close, quiche::RecvInfo { from: server.local_addr(), to: a.local });
    let e = client.peer_error().expect("the client read the server's close");
    assert_eq!((e.is_app, e.error_code), (false, 0x0b), "INVALID_TOKEN: {e:?}");
    let st = server.stats();
    assert_eq!((st.tokens_invalid, st.accepted, st.open_connections), (1, 0, 0), "{st:?}");
}

/// `--retry auto`: Retries start once the half-open connections reach the threshold.
#[test]
fn auto_retry_starts_at_the_half_open_threshold() {
    let server = start(ServerOptions { retry: RetryMode::Auto, retry_threshold: 2, ..ServerOptions::default() });
    let mut kinds = Vec::new();
    let mut sockets = Vec::new();
    for seed in 0..3 {
        let raw = Raw::new();
        let (d, _) = first_initial(server.local_addr(), raw.local, 10 + seed);
        raw.send(server.local_addr(), &d);
        kinds.push(long_header(&raw.recv(WAIT).expect("an answer")).0);
        sockets.push(raw);
    }
    assert_eq!(kinds, [INITIAL, INITIAL, RETRY]);
    let st = server.stats();
    assert_eq!((st.half_open, st.retries_sent), (2, 1), "{st:?}");
}

/// Half-open connections are capped per source prefix: beyond the cap, an Initial builds nothing and gets
/// no answer. The limit counts state, so a source whose handshakes complete is not held back.
#[test]
fn half_open_connections_are_capped_per_source_prefix() {
    let server =
        start(ServerOptions { retry: RetryMode::Never, max_half_open_per_prefix: 2, ..ServerOptions::default() });
    let mut sockets = Vec::new();
    for seed in 0..3 {
        let raw = Raw::new();
        let (d, _) = first_initial(server.local_addr(), raw.local, 20 + seed);
        raw.send(server.local_addr(), &d);
        sockets.push(raw);
    }
    let st = wait_for_stats(&server, WAIT, |st| st.refused_prefix == 1);
    assert_eq!((st.half_open, st.accepted, st.refused_prefix), (2, 2, 1), "{st:?}");
    assert!(sockets[0].recv(WAIT).is_some() && sockets[1].recv(WAIT).is_some());
    assert!(sockets[2].recv(Duration::from_millis(1)).is_none(), "the third got no answer");
}

/// A handshake that never completes is dropped at the handshake timeout, long before the idle timeout, and
/// counted as a handshake timeout, not an error.
#[test]
fn an_incomplete_handshake_ends_at_the_handshake_timeout() {
    let server = start(ServerOptions {
        retry: RetryMode::Never,
        handshake_timeout: Duration::from_millis(300),
        settings: Settings { idle_timeout_ns: 30_000_000_000, ..Settings::default() },
        ..ServerOptions::default()
    });
    let raw = Raw::new();
    let (d, _) = first_initial(server.local_addr(), raw.local, 30);
    raw.send(server.local_addr(), &d);
    let st = wait_for_stats(&server, WAIT, |st| st.closed == 1);
    assert_eq!(
        (st.open_connections, st.half_open, st.handshake_timeouts, st.errored, st.idle_timeouts),
        (0, 0, 1, 0, 0),
        "{st:?}"
    );
}

/// `--allow`: a source outside every prefix gets nothing, not even Version Negotiation.
#[test]
fn sources_outside_the_allowlist_get_no_answer() {
    let elsewhere =
        start(ServerOptions { allow: vec![parse_prefix("fd00::/64").unwrap()], ..ServerOptions::default() });
    let raw = Raw::new();
    let (d, _) = first_initial(elsewhere.local_addr(), raw.local, 40);
    raw.send(elsewhere.local_addr(), &d);
    raw.send(elsewhere.local_addr(), &unknown_version(1200, &[7; 8], &[9; 8]));
    let st = wait_for_stats(&elsewhere, WAIT, |st| st.not_allowed == 2);
    assert_eq!((st.not_allowed, st.accepted, st.version_negotiation_sent), (2, 0, 0), "{st:?}");
    assert!(raw.recv(Duration::from_millis(1)).is_none());
    let here = start(ServerOptions {
        allow: vec![parse_prefix("fd00::/64").unwrap(), parse_prefix("::1").unwrap()],
        ..ServerOptions::default()
    });
    RawClient::connect(here.local_addr());
}

/// `--ipv6-only`: on `[::]`, IPv4 clients do not reach the server at all (the kernel answers them "port
/// unreachable"); by default they are served.
#[test]
fn ipv6_only_keeps_ipv4_clients_out() {
    for ipv6_only in [false, true] {
        let server =
            Server::start(ServerOptions { listen: "[::]:0".parse().unwrap(), ipv6_only, ..ServerOptions::default() })
                .unwrap();
        let port = server.local_addr().port();
        let v4 = Raw::bind("127.0.0.1:0");
        // Connected, so that the kernel's ICMP "port unreachable" comes back as ECONNREFUSED.
        v4.sock.connect(("127.0.0.1", port)).unwrap();
        let (d, _) = first_initial(format!("127.0.0.1:{port}").parse().unwrap(), v4.local, 50);
        v4.sock.send(&d).unwrap();
        v4.sock.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 2048];
        match v4.sock.recv(&mut buf) {
            Ok(_) => assert!(!ipv6_only, "an IPv4 client was served by an IPv6-only server"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => assert!(ipv6_only, "refused: {e}"),
            Err(e) => panic!("ipv6_only {ipv6_only}: {e}"),
        }
        assert_eq!(server.stats().accepted, u64::from(!ipv6_only));
    }
}
