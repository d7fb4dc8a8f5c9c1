//! The server's side of a run read from a remote stoq-bench server over its view connection (ALPN
//! `stoq-bench-view`): the same figures as an embedded server's, a refusal recorded as such, and a peer that
//! does not offer the view, or answers garbage, leaving the server's side unknown with the reason while
//! the run itself completes.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{loopback, run_with, scenario, server};
use stoq_engine::client::RemoteView;
use stoq_engine::config::{quiche_config, Identity, Role};
use stoq_engine::view::{ViewReader, ViewSource};
use stoq_engine::{Cancel, RunOptions, RunState, Server, ServerAccess, ServerOptions, Settings};

const BOUND: Duration = Duration::from_secs(30);

fn run_remote(s: &stoq_engine::Scenario, target: SocketAddr) -> stoq_engine::RunResult {
    let mut options = RunOptions::new(target);
    options.server_view = ServerAccess::Remote;
    run_with(s, options, &Cancel::default(), BOUND)
}

#[test]
fn a_remote_server_shares_the_senders_side_of_a_download() {
    let server = server();
    let s = scenario(r#"{"kind":"download","bytes":30000000,"streams":2}"#);
    let r = run_remote(&s, server.local_addr());
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!((r.server.source, r.server.reason.as_deref()), (ViewSource::Fetched, None));
    let end = r.server.end.as_ref().expect("the server's side at the end");
    let sent = end.totals.counters.packets_sent;
    assert!(sent > 20_000, "{end:?}");
    // Every packet the client received came from the run's connection on the server, less its losses.
    assert!(
        r.totals.side.packets_received <= sent + 10
            && r.totals.side.packets_received + end.totals.counters.lost + 10 >= sent,
        "{} vs {end:?}",
        r.totals.side.packets_received
    );
    assert!(end.totals.counters.cpu_ns > 0 && end.fast_path.send_calls > 0, "{end:?}");
    assert_eq!(end.settings.cc, Settings::default().cc);
    let busy: Vec<_> = r.intervals.iter().filter(|i| i.bytes_received > 1_000_000).collect();
    assert!(!busy.is_empty());
    for iv in busy {
        let srv = iv.server.as_ref().expect("the server's side of the interval");
        assert!(srv.path.connections == 1 && srv.path.cwnd > 13_500, "{iv:?}");
        assert!(srv.path.rtt_ns().is_some(), "{srv:?}");
    }
}

#[test]
fn in_an_upload_the_remote_server_is_the_receiver() {
    let server = server();
    let s = scenario(r#"{"kind":"upload","bytes":20000000}"#);
    let r = run_remote(&s, server.local_addr());
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.server.source, ViewSource::Fetched);
    let end = r.server.end.as_ref().expect("the server's side at the end");
    // The server received what the client sent, and sent only acknowledgements and the reply.
    let received = end.totals.counters.packets_received;
    assert!(received <= r.totals.side.packets_sent && received + r.totals.side.lost + 10 >= r.totals.side.packets_sent);
    assert!(end.totals.counters.packets_sent < received, "{end:?}");
}

#[test]
fn a_server_that_does_not_share_its_view_is_recorded_as_refusing() {
    let options = ServerOptions { listen: loopback(), share_view: false, ..ServerOptions::default() };
    let server = Server::start(options).expect("server starts");
    let s = scenario(r#"{"kind":"download","bytes":1000000}"#);
    let r = run_remote(&s, server.local_addr());
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.server.source, ViewSource::Unknown);
    let reason = r.server.reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with("refused by the server: "), "{reason}");
    assert!(r.server.end.is_none() && r.intervals.iter().all(|i| i.server.is_none()));
}

/// A QUIC server for one connection that offers `alpn` and answers the first bytes on stream 0 with
/// `reply`, until stopped (bounded: 10 s).
struct FakeServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(alpn: &'static [u8], reply: Vec<u8>) -> FakeServer {
        let sock = UdpSocket::bind("[::1]:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let address = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let identity = Identity::self_signed().unwrap();
            let role = Role::Server { identity: &identity, client_ca: None, max_rate: None };
            let mut config = quiche_config(&Settings::default(), &role).unwrap();
            config.set_application_protos(&[alpn]).unwrap();
            let mut conn: Option<quiche::Connection> = None;
            let (mut buf, mut out) = (vec![0u8; 65_536], vec![0u8; 1500]);
            let mut answered = false;
            let deadline = Instant::now() + Duration::from_secs(10);
            while !stopped.load(Relaxed) && Instant::now() < deadline {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    if conn.is_none() {
                        let scid = quiche::ConnectionId::from_vec(vec![7; quiche::MAX_CONN_ID_LEN]);
                        conn = Some(quiche::accept(&scid, None, address, from, &mut config).unwrap());
                    }
                    let _ = conn.as_mut().unwrap().recv(&mut buf[..n], quiche::RecvInfo { from, to: address });
                }
                let Some(c) = conn.as_mut() else { continue };
                if c.timeout_instant().is_some_and(|t| t <= Instant::now()) {
                    c.on_timeout();
                }
                if c.stream_recv(0, &mut buf).is_ok() && !answered {
                    answered = true;
                    let _ = c.stream_send(0, &reply, false);
                }
                while let Ok((n, info)) = c.send(&mut out) {
                    let _ = sock.send_to(&out[..n], info.to);
                }
            }
        });
        FakeServer { address, stop, thread: Some(thread) }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        let _ = self.thread.take().map(|t| t.join());
    }
}

#[test]
fn a_peer_without_the_view_leaves_the_servers_side_unknown() {
    let peer = FakeServer::start(b"perf", Vec::new());
    let mut view = RemoteView::connect(peer.address, "localhost", &None).expect("the view's socket");
    let e = view.snapshot(&[], true).expect_err("no view offered");
    assert!(e.contains("does not offer the view (ALPN stoq-bench-view)"), "{e}");
    // Later questions get the same answer at once.
    assert_eq!(view.snapshot(&[], false).expect_err("still none"), e);
}

#[test]
fn garbage_on_the_view_stream_is_an_error_of_the_view_only() {
    for (reply, expected) in [
        (b"this is not json\n".to_vec(), "a message is not JSON"),
        (b"{\"version\":99,\"id\":1}\n".to_vec(), "the peer speaks version 99 of the view, this side 1"),
        (b"{\"version\":1,\"id\":1,\"snapshot\":{\"connections\":7}}\n".to_vec(), "does not fit version 1"),
    ] {
        let peer = FakeServer::start(b"stoq-bench-view", reply);
        let mut view = RemoteView::connect(peer.address, "localhost", &None).expect("the view's socket");
        let e = view.snapshot(&[], true).expect_err("garbage");
        assert!(e.starts_with("the server's view sent a bad message: ") && e.contains(expected), "{e}");
    }
    // The server's side of a run is then unknown, with the reason (the run goes on: see the refusal above).
    let peer = FakeServer::start(b"stoq-bench-view", b"garbage\n".to_vec());
    let view = RemoteView::connect(peer.address, "localhost", &None).expect("the view's socket");
    let reason = stoq_engine::view::ServerSide::new(Box::new(view)).err().expect("no server side");
    assert!(reason.contains("bad message"), "{reason}");
}
