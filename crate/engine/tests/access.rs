//! Who may use the server and how much: client certificates (the perf draft's mitigation), the largest
//! response (perf error 2, reported by the client as a rejected stream), the send rate cap, and the
//! server's own idle timeout.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use stoq_engine::{Cancel, RunOptions, RunResult, RunState, Scenario, Server, ServerOptions, Settings};

const BOUND: Duration = Duration::from_secs(15);

/// A CA and a client certificate it signed, as PEM files in `dir`: (ca, cert, key).
fn pki(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("{name} CA"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, format!("{name} client"));
    let cert = params.signed_by(&key, &ca).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-client.pem")),
        dir.join(format!("{name}-client.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn run_with(s: &Scenario, target: std::net::SocketAddr, client_cert: Option<(PathBuf, PathBuf)>) -> RunResult {
    let mut options = RunOptions::new(target);
    options.interval_ns = 100_000_000;
    options.client_cert = client_cert;
    stoq_engine::run(s, &options, &Cancel::default(), &mut |_| {}).expect("the run starts")
}

#[test]
fn with_a_client_ca_only_clients_with_a_certificate_it_signed_are_served() {
    let dir = std::env::temp_dir().join(format!("stoq-access-pki-{}", std::process::id()));
    let (ca, cert, key) = pki(&dir, "ours");
    let (_, other_cert, other_key) = pki(&dir, "theirs");
    let server =
        Server::start(ServerOptions { listen: loopback(), client_ca: Some(ca), ..ServerOptions::default() }).unwrap();
    let s = scenario(r#"{"kind":"download","bytes":100000,"settings":{"idleTimeoutNs":2000000000}}"#);

    let r = run_with(&s, server.local_addr(), Some((cert, key)));
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.totals.bytes_received, 100_000);

    for (who, client_cert, alert) in [
        ("no certificate", None, "certificate_required"),
        ("another CA's", Some((other_cert, other_key)), "unknown_ca"),
    ] {
        let r = run_with(&s, server.local_addr(), client_cert);
        assert_eq!(r.state, RunState::Errored, "{who}: {r:?}");
        let e = r.error.as_ref().expect("an error");
        assert_eq!(e.code, stoq_engine::ErrorCode::Tls, "{who}: {e:?}");
        assert!(e.message.contains(alert), "{who}: {e:?}");
        assert_eq!(r.totals.bytes_received, 0, "{who}");
    }
    let st = wait_for_stats(&server, BOUND, |st| st.open_connections == 0);
    assert_eq!((st.accepted, st.closed_cleanly, st.handshake_failures, st.streams), (3, 1, 2, 1), "{st:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_certificate_that_cannot_be_loaded_fails_the_run_before_it_starts() {
    let mut options = RunOptions::new("[::1]:9".parse().unwrap());
    options.client_cert = Some(("/nonexistent/c.pem".into(), "/nonexistent/k.pem".into()));
    let e = stoq_engine::run(&scenario(r#"{"kind":"latency","count":1}"#), &options, &Cancel::default(), &mut |_| {})
        .expect_err("refused");
    assert_eq!(e.code(), stoq_engine::ErrorCode::InvalidArgument);
    assert!(e.message().contains("/nonexistent/c.pem"), "{e}");
}

fn capped(max_response: u64) -> Server {
    Server::start(ServerOptions { listen: loopback(), max_response: Some(max_response), ..ServerOptions::default() })
        .unwrap()
}

/// A request above the largest response, `u64::MAX` included, is refused with perf error 2; the client
/// reports those streams as rejected, apart from failed ones, and the connection as errored.
#[test]
fn requests_above_the_largest_response_are_rejected_and_reported_as_such() {
    let server = capped(1000);
    for (json, rejected) in [
        (r#"{"kind":"download","bytes":4000,"streams":2}"#, 2),
        (r#"{"kind":"download","durationNs":500000000}"#, 1),
        (r#"{"kind":"download","bytes":4000,"streams":2,"streamType":"uni"}"#, 2),
        (r#"{"kind":"requests","count":3,"responseSize":1001,"streamType":"uni"}"#, 3),
    ] {
        let r = run_bounded(&scenario(json), server.local_addr(), &Cancel::default(), BOUND);
        assert_eq!(r.state, RunState::Errored, "{json}: {r:?}");
        let c = &r.connections[0];
        assert_eq!((c.streams_rejected, c.streams_failed, c.streams_completed), (rejected, 0, 0), "{json}: {c:?}");
        let e = c.error.as_ref().expect("an error");
        assert!(e.message.contains("rejected by the server (perf error 2)"), "{json}: {e:?}");
        assert_eq!(r.totals.bytes_received, 0, "{json}");
    }
    let st = server.stats();
    assert_eq!(st.streams_rejected, 8, "{st:?}");
    // At the limit, a request is served.
    let r = run_bounded(
        &scenario(r#"{"kind":"requests","count":5,"responseSize":1000}"#),
        server.local_addr(),
        &Cancel::default(),
        BOUND,
    );
    assert_eq!(r.state, RunState::Completed, "{:?}", r.error);
    assert_eq!(r.totals.bytes_received, 5000);
}

/// The rate cap holds whatever the congestion control (quiche's own max pacing rate is honoured by BBR2
/// only): a download never gets more than the cap allows in the time it ran.
#[test]
fn the_send_rate_cap_holds_for_every_congestion_control() {
    let rate = 4_000_000u64; // bytes per second
    for cc in ["cubic", "reno", "bbr2"] {
        let server = Server::start(ServerOptions {
            listen: loopback(),
            max_rate: Some(rate),
            settings: Settings { cc: serde_json::from_str(&format!("\"{cc}\"")).unwrap(), ..Settings::default() },
            ..ServerOptions::default()
        })
        .unwrap();
        let r = run_bounded(
            &scenario(r#"{"kind":"download","durationNs":700000000}"#),
            server.local_addr(),
            &Cancel::default(),
            BOUND,
        );
        assert_eq!(r.state, RunState::Completed, "{cc}: {:?}", r.error);
        let allowed = rate as f64 * r.duration_ns as f64 / 1e9 + 64_000.0;
        assert!(
            (r.totals.bytes_received as f64) <= allowed,
            "{cc}: {} bytes in {} ns",
            r.totals.bytes_received,
            r.duration_ns
        );
        assert!(r.totals.bytes_received > 0, "{cc}");
    }
}

/// The server's idle timeout applies to its connections (the lower of both sides' counts): a silent client
/// is closed and counted as an idle timeout, apart from errors.
#[test]
fn the_server_idle_timeout_closes_silent_clients() {
    let server = Server::start(ServerOptions {
        listen: loopback(),
        settings: Settings { idle_timeout_ns: 300_000_000, ..Settings::default() },
        ..ServerOptions::default()
    })
    .unwrap();
    let _silent = RawClient::connect(server.local_addr());
    let st = wait_for_stats(&server, BOUND, |st| st.closed == 1);
    assert_eq!((st.closed, st.idle_timeouts, st.errored, st.open_connections), (1, 1, 0, 0), "{st:?}");
}
