//! Every kind of server certificate a perf peer may present (ECDSA P-256 and P-384, Ed25519, RSA 2048 and
//! 4096 with PSS- or PKCS#1-signed certificates): the engine's server presents each from PEM files and
//! signs its handshake with that key, and the engine's client completes the handshake and the transfer.
//! The same kinds as client certificates, to a server that requires one. The certificates are made at test
//! time by the openssl CLI (test/interop/certificates.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use stoq_engine::{Cancel, Error, RunOptions, RunState, Server, ServerOptions};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("stoq-engine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the repository's certificate script into `dir`; returns the kinds it made.
fn make_certificates(dir: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/interop/certificates.sh");
    let out = Command::new("bash").arg(&script).arg(dir).output().expect("bash runs");
    assert!(
        out.status.success(),
        "{} failed (is the openssl CLI installed?): {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kinds are UTF-8").lines().map(str::to_owned).collect()
}

fn server_presenting(dir: &Path, kind: &str) -> Server {
    let identity = Some((dir.join(format!("{kind}.crt")), dir.join(format!("{kind}.key"))));
    Server::start(ServerOptions { listen: loopback(), identity, ..ServerOptions::default() })
        .unwrap_or_else(|e| panic!("server with a {kind} certificate: {e}"))
}

#[test]
fn the_client_completes_a_transfer_with_a_server_of_every_certificate_kind() {
    let dir = TempDir::new("certificates");
    let kinds = make_certificates(&dir.0);
    assert_eq!(
        kinds,
        ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-pss-2048", "rsa-pss-4096", "rsa-pkcs1-2048", "rsa-pkcs1-4096"]
    );
    let bytes = 100_003u64;
    for kind in &kinds {
        let server = server_presenting(&dir.0, kind);
        let s =
            scenario(&format!(r#"{{"kind":"download","bytes":{bytes},"settings":{{"idleTimeoutNs":3000000000}}}}"#));
        let r = run_bounded(&s, server.local_addr(), &Cancel::default(), Duration::from_secs(15));
        assert_eq!(r.state, RunState::Completed, "{kind}: {:?}", r.error);
        assert_eq!((r.totals.bytes_received, r.totals.bytes_sent), (bytes, 0), "{kind}");
        let st = wait_for_stats(&server, Duration::from_secs(5), |st| st.bytes_sent == bytes && st.closed == 1);
        assert_eq!((st.accepted, st.errored, st.bytes_sent), (1, 0, bytes), "{kind}: the server's view");
    }
}

/// The control: BoringSSL's default client list offers no Ed25519 scheme, and the server then ends the
/// handshake with alert 40 (handshake_failure, transport error 0x128). The engine's client list is what
/// makes the test above pass.
#[test]
fn a_client_with_boringssl_default_schemes_cannot_reach_an_ed25519_server() {
    let dir = TempDir::new("ed25519-control");
    make_certificates(&dir.0);
    let server = server_presenting(&dir.0, "ed25519");
    let mut c = RawClient::start(server.local_addr(), &mut raw_config(2_000));
    c.drive_until(Duration::from_secs(5), |c| c.conn.is_closed() || c.conn.is_established());
    assert!(!c.conn.is_established());
    let err = c.conn.peer_error().expect("the server closed the connection");
    assert_eq!((err.is_app, err.error_code), (false, 0x100 + 40), "{err:?}");
}

/// A certificate for a key of type id-RSASSA-PSS cannot be used by BoringSSL: the server refuses to start
/// and names the file, instead of failing every handshake later.
#[test]
fn a_certificate_boringssl_cannot_use_is_refused_at_start_with_its_path() {
    let dir = TempDir::new("rsassa-pss-key");
    let (cert, key) = (dir.0.join("pss.crt"), dir.0.join("pss.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = Server::start(ServerOptions {
        listen: loopback(),
        identity: Some((cert.clone(), key)),
        ..ServerOptions::default()
    })
    .err()
    .expect("the server refuses the certificate");
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
    assert!(err.message().contains(&cert.display().to_string()), "{}", err.message());
}

/// A server that requires client certificates (`client_ca`) accepts a client certificate of every kind:
/// its TLS context asks for, and verifies, every scheme the engine's client signs with, Ed25519 included.
/// Each self-signed certificate is its own CA here.
#[test]
fn a_server_requiring_client_certificates_accepts_every_certificate_kind() {
    let dir = TempDir::new("client-certificates");
    let kinds = make_certificates(&dir.0);
    let bytes = 100_003u64;
    for kind in &kinds {
        let (cert, key) = (dir.0.join(format!("{kind}.crt")), dir.0.join(format!("{kind}.key")));
        let server = Server::start(ServerOptions {
            listen: loopback(),
            client_ca: Some(cert.clone()),
            ..ServerOptions::default()
        })
        .unwrap_or_else(|e| panic!("server requiring {kind} client certificates: {e}"));
        let s =
            scenario(&format!(r#"{{"kind":"download","bytes":{bytes},"settings":{{"idleTimeoutNs":3000000000}}}}"#));
        let mut options = RunOptions::new(server.local_addr());
        options.client_cert = Some((cert, key));
        let r = stoq_engine::run(&s, &options, &Cancel::default(), &mut |_| {}).expect("the run starts");
        assert_eq!(r.state, RunState::Completed, "{kind}: {:?}", r.error);
        assert_eq!(r.totals.bytes_received, bytes, "{kind}");
        let st = wait_for_stats(&server, Duration::from_secs(5), |st| st.closed == 1);
        assert_eq!((st.accepted, st.closed_cleanly, st.handshake_failures), (1, 1, 0), "{kind}: the server's view");
    }
}
