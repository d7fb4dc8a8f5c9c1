//! A perf client and server (draft-banks-quic-performance-00) built on quinn, the second independent peer of
//! stoq-bench's interoperability tests. quinn's own perf tool is not published on crates.io, so this is a
//! small stand-in written for the tests: the QUIC stack is quinn with rustls on ring (pinned in
//! Cargo.lock); the application layer follows the draft.
//!
//! ```text
//! quinn-perf server --listen [::1]:0 --cert CERT.pem --key KEY.pem [--payload-size N]
//!     prints {"event":"listening","address":...}, one {"event":"connection",...} line per handshake, one
//!     {"event":"stream",...} line per request stream served (bytes received after the 8-byte header,
//!     bytes sent, the stream the reply went on); exits on SIGINT/SIGTERM or when stdin closes.
//! quinn-perf client --target [::1]:PORT [--upload N] [--download N] [--duration TIME] [--requests N]
//!                   [--inflight N] [--uni] [--connections N] [--timeout TIME] [--payload-size N]
//!                   [--latencies]
//!     --connections handshakes one after another; on each, --requests streams, --inflight at a time,
//!     each uploading --upload bytes and asking for --download bytes (with --duration: for u64::MAX,
//!     ended by STOP_SENDING after that long). Prints {"event":"done",...} with the byte counts it saw;
//!     exit 1 on any error, after an {"event":"error",...} line. With --latencies, "requestMicros" lists
//!     each completed request's time from opening its stream to the response's end, in microseconds.
//! --payload-size N (1200 to 65527) fixes the largest UDP payload sent at N bytes (no path MTU discovery);
//! by default quinn starts at 1200 and discovers up to 1452.
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{RecvStream, SendStream, VarInt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};

/// The perf protocol's ALPN (draft §2.1).
const ALPN: &[u8] = b"perf";
/// Length of the response-size prefix of every request stream (draft §2.3.1).
const HEADER_LEN: usize = 8;
/// A response size meaning "send until the client sends STOP_SENDING".
const UNTIL_STOPPED: u64 = u64::MAX;
/// The perf stream error code 0, no error (all four codes are named by `code_name`).
const NO_ERROR: u32 = 0;

type Result<T> = std::result::Result<T, String>;

/// A stream error code with its perf meaning.
fn code_name(code: VarInt) -> String {
    let name = match code.into_inner() {
        0 => "no error",
        1 => "not implemented",
        2 => "rejected",
        3 => "invalid data",
        _ => "not a perf code",
    };
    format!("{code} ({name})")
}

fn emit(v: Value) {
    println!("{v}");
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let outcome = match parse_args() {
        Ok(Command::Server(args)) => runtime.block_on(server(args)),
        Ok(Command::Client(args)) => runtime.block_on(client(args)),
        Err(e) => Err(e),
    };
    // Not a wait for the blocking read of stdin, which ends only when the parent closes it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(error: String) -> ExitCode {
    emit(json!({"event": "error", "error": error}));
    ExitCode::FAILURE
}

// ---------------------------------------------------------------------------------------------------
// Command line

enum Command {
    Server(ServerArgs),
    Client(ClientArgs),
}

struct ServerArgs {
    listen: SocketAddr,
    payload_size: Option<u16>,
    cert: PathBuf,
    key: PathBuf,
}

struct ClientArgs {
    target: SocketAddr,
    upload: u64,
    download: u64,
    duration: Option<Duration>,
    requests: u64,
    inflight: u64,
    uni: bool,
    connections: u64,
    timeout: Duration,
    payload_size: Option<u16>,
    latencies: bool,
}

const USAGE: &str = "usage: quinn-perf server --listen ADDR --cert PEM --key PEM [--payload-size N]\n       quinn-perf client --target ADDR [--upload N] [--download N] [--duration TIME] [--requests N] [--inflight N] [--uni] [--connections N] [--timeout TIME] [--payload-size N] [--latencies]";

fn parse_args() -> Result<Command> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let command = match p.next().map_err(|e| e.to_string())? {
        Some(Value(v)) => v.string().map_err(|e| e.to_string())?,
        _ => return Err(USAGE.into()),
    };
    let mut listen: SocketAddr = "[::1]:0".parse().expect("literal address");
    let (mut cert, mut key, mut target) = (None, None, None);
    let mut c = ClientArgs {
        target: listen,
        upload: 0,
        download: 0,
        duration: None,
        requests: 1,
        inflight: 1,
        uni: false,
        connections: 1,
        timeout: Duration::from_secs(20),
        payload_size: None,
        latencies: false,
    };
    let server = match command.as_str() {
        "server" => true,
        "client" => false,
        other => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    let number = |p: &mut lexopt::Parser, flag: &str| -> Result<u64> {
        let v = p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?;
        v.parse().map_err(|_| format!("--{flag}: not a non-negative integer: {v:?}"))
    };
    let time = |p: &mut lexopt::Parser, flag: &str| -> Result<Duration> {
        let v = p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?;
        humantime::parse_duration(&v).map_err(|e| format!("--{flag}: {e}: {v:?}"))
    };
    let address = |p: &mut lexopt::Parser, flag: &str| -> Result<SocketAddr> {
        let v = p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?;
        v.parse().map_err(|_| format!("--{flag}: not an address like [::1]:4433: {v:?}"))
    };
    let payload = |p: &mut lexopt::Parser| -> Result<u16> {
        let v = p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?;
        v.parse().ok().filter(|n| (1200..=65527).contains(n)).ok_or(format!("--payload-size: not an integer from 1200 to 65527: {v:?}"))
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("payload-size") => c.payload_size = Some(payload(&mut p)?),
            Long("listen") if server => listen = address(&mut p, "listen")?,
            Long("cert") if server => cert = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
            Long("key") if server => key = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
            Long("target") if !server => target = Some(address(&mut p, "target")?),
            Long("upload") if !server => c.upload = number(&mut p, "upload")?,
            Long("download") if !server => c.download = number(&mut p, "download")?,
            Long("duration") if !server => c.duration = Some(time(&mut p, "duration")?),
            Long("requests") if !server => c.requests = number(&mut p, "requests")?,
            Long("inflight") if !server => c.inflight = number(&mut p, "inflight")?,
            Long("uni") if !server => c.uni = true,
            Long("latencies") if !server => c.latencies = true,
            Long("connections") if !server => c.connections = number(&mut p, "connections")?,
            Long("timeout") if !server => c.timeout = time(&mut p, "timeout")?,
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    if server {
        let (Some(cert), Some(key)) = (cert, key) else {
            return Err("server: --cert and --key are required".into());
        };
        return Ok(Command::Server(ServerArgs { listen, payload_size: c.payload_size, cert, key }));
    }
    c.target = target.ok_or("client: --target is required")?;
    if c.inflight == 0 {
        return Err("--inflight must be at least 1".into());
    }
    Ok(Command::Client(c))
}

// ---------------------------------------------------------------------------------------------------
// Transport

/// The transport both sides use; `payload_size` fixes the UDP payload (quinn's "MTU") and turns off
/// path MTU discovery.
fn transport(payload_size: Option<u16>) -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    if let Some(n) = payload_size {
        t.initial_mtu(n);
        t.mtu_discovery_config(None);
    }
    t.max_idle_timeout(Some(VarInt::from_u32(10_000).into()));
    t.stream_receive_window(VarInt::from_u32(16 << 20));
    t.receive_window(VarInt::from_u32(24 << 20));
    t.send_window(24 << 20);
    t.max_concurrent_bidi_streams(VarInt::from_u32(1_000));
    t.max_concurrent_uni_streams(VarInt::from_u32(1_000));
    Arc::new(t)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS 1.3 signature scheme by its IANA name (RFC 8446 §4.2.3).
fn scheme_name(s: SignatureScheme) -> String {
    match s {
        SignatureScheme::ECDSA_NISTP256_SHA256 => "ecdsa_secp256r1_sha256".into(),
        SignatureScheme::ECDSA_NISTP384_SHA384 => "ecdsa_secp384r1_sha384".into(),
        SignatureScheme::ECDSA_NISTP521_SHA512 => "ecdsa_secp521r1_sha512".into(),
        SignatureScheme::ED25519 => "ed25519".into(),
        SignatureScheme::RSA_PSS_SHA256 => "rsa_pss_rsae_sha256".into(),
        SignatureScheme::RSA_PSS_SHA384 => "rsa_pss_rsae_sha384".into(),
        SignatureScheme::RSA_PSS_SHA512 => "rsa_pss_rsae_sha512".into(),
        other => format!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------------
// Server

async fn server(args: ServerArgs) -> Result<()> {
    let chain = CertificateDer::pem_file_iter(&args.cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", args.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&args.key)
        .map_err(|e| format!("cannot read the private key {}: {e}", args.key.display()))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("cannot use {} with {}: {e}", args.cert.display(), args.key.display()))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| e.to_string())?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport(args.payload_size));
    let endpoint =
        quinn::Endpoint::server(config, args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = endpoint.local_addr().map_err(|e| e.to_string())?;
    emit(json!({"event": "listening", "address": address.to_string(), "alpn": "perf"}));

    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => { tokio::spawn(serve_connection(incoming)); }
                None => break,
            },
            _ = &mut stop => break,
        }
    }
    endpoint.close(VarInt::from_u32(NO_ERROR), b"server stopping");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    Ok(())
}

/// Resolves on SIGINT, SIGTERM, or when stdin closes (the parent going away ends the server too).
async fn stop_signal() {
    use tokio::io::AsyncReadExt;
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return;
    };
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = stdin_closed => {}
    }
}

async fn serve_connection(incoming: quinn::Incoming) {
    let remote = incoming.remote_address().to_string();
    let conn = match incoming.await {
        Ok(conn) => conn,
        Err(e) => return emit(json!({"event": "connection", "remote": remote, "error": e.to_string()})),
    };
    emit(json!({"event": "connection", "remote": remote}));
    loop {
        tokio::select! {
            bi = conn.accept_bi() => match bi {
                Ok((send, recv)) => { tokio::spawn(serve_stream(conn.clone(), recv, Some(send))); }
                Err(_) => break,
            },
            uni = conn.accept_uni() => match uni {
                Ok(recv) => { tokio::spawn(serve_stream(conn.clone(), recv, None)); }
                Err(_) => break,
            },
        }
    }
}

/// Serves one request stream: reads the 8-byte response size, drains the upload to FIN, and only then
/// sends the response: on the same stream when bidirectional, on a new unidirectional stream otherwise
/// (draft §2.3.2).
async fn serve_stream(conn: quinn::Connection, mut recv: RecvStream, send: Option<SendStream>) {
    let mut report = json!({
        "event": "stream",
        "remote": conn.remote_address().to_string(),
        "streamId": u64::from(recv.id()),
        "uni": send.is_none(),
    });
    let outcome = serve_request(&conn, &mut recv, send, &mut report).await;
    if let Err(e) = outcome {
        report["error"] = e.into();
    }
    emit(report);
}

async fn serve_request(
    conn: &quinn::Connection,
    recv: &mut RecvStream,
    send: Option<SendStream>,
    report: &mut Value,
) -> Result<()> {
    let mut header = [0u8; HEADER_LEN];
    match recv.read_exact(&mut header).await {
        Ok(()) => {}
        // A stream closed before all 8 bytes arrived is ignored and closed gracefully (draft §2.3.1).
        Err(quinn::ReadExactError::FinishedEarly(n)) => {
            if let Some(mut send) = send {
                let _ = send.finish();
            }
            return Err(format!("the request ended after {n} of {HEADER_LEN} header bytes"));
        }
        Err(quinn::ReadExactError::ReadError(e)) => {
            return Err(format!("reading the response size: {}", read_error(e)))
        }
    }
    let requested = u64::from_be_bytes(header);
    // A string: u64::MAX does not fit a JSON number exactly.
    report["requested"] = requested.to_string().into();
    // The whole upload, FIN included, before any byte of the response.
    let mut uploaded = 0;
    let drained = drain(recv, &mut uploaded).await;
    report["uploadBytes"] = uploaded.into();
    drained?;
    let mut send = match send {
        Some(send) => send,
        None => {
            let send = conn.open_uni().await.map_err(|e| format!("opening the reply stream: {e}"))?;
            report["replyStreamId"] = u64::from(send.id()).into();
            send
        }
    };
    let (sent, outcome) = write_n(&mut send, requested).await;
    report["downloadBytes"] = sent.into();
    match outcome {
        Ok(()) => send.finish().map_err(|e| format!("finishing: {e}")),
        Err(quinn::WriteError::Stopped(code)) => {
            report["stoppedWith"] = code.into_inner().into();
            if requested == UNTIL_STOPPED {
                Ok(())
            } else {
                Err(format!("the client stopped the response with code {}", code_name(code)))
            }
        }
        Err(quinn::WriteError::ConnectionLost(e)) => Err(format!("sending the response: connection lost: {e}")),
        Err(e) => Err(format!("sending the response: {e}")),
    }
}

/// Counts into `n` what arrives on `recv` until its FIN (no copy: the chunks are dropped).
async fn drain(recv: &mut RecvStream, n: &mut u64) -> Result<()> {
    loop {
        match recv.read_chunk(usize::MAX, true).await {
            Ok(Some(chunk)) => *n += chunk.bytes.len() as u64,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("reading after {n} bytes: {}", read_error(e))),
        }
    }
}

fn read_error(e: quinn::ReadError) -> String {
    match e {
        quinn::ReadError::Reset(code) => format!("reset by the peer with code {}", code_name(code)),
        quinn::ReadError::ConnectionLost(e) => format!("connection lost: {e}"),
        other => other.to_string(),
    }
}

/// Writes `n` bytes (`UNTIL_STOPPED`: until the peer stops the stream) from one preallocated buffer;
/// returns how many the stream accepted, which is the stream's final size if it is then reset.
async fn write_n(send: &mut SendStream, n: u64) -> (u64, std::result::Result<(), quinn::WriteError>) {
    static PAYLOAD: [u8; 64 * 1024] = [0x5a; 64 * 1024];
    let mut sent = 0u64;
    while sent < n {
        let len = (n - sent).min(PAYLOAD.len() as u64) as usize;
        match send.write(&PAYLOAD[..len]).await {
            Ok(k) => sent += k as u64,
            Err(e) => return (sent, Err(e)),
        }
    }
    (sent, Ok(()))
}

// ---------------------------------------------------------------------------------------------------
// Client

/// Accepts any certificate (a benchmark measures transport, not identity) but checks the handshake
/// signature with the certificate's key, and notes the scheme the server signed with.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
    signed_with: Mutex<Option<SignatureScheme>>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("QUIC is TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let valid = rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )?;
        *self.signed_with.lock().expect("not poisoned") = Some(dss.scheme);
        Ok(valid)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Default)]
struct Tally {
    streams: u64,
    stopped: u64,
    upload: u64,
    download: u64,
    /// Each completed request's time from opening its stream to the response's end, microseconds.
    request_us: Vec<f64>,
}

async fn client(args: ClientArgs) -> Result<()> {
    let verifier = Arc::new(AnyCertificate { provider: provider(), signed_with: Mutex::new(None) });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?));
    config.transport_config(transport(args.payload_size));
    let bind: SocketAddr = if args.target.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse().expect("literal address");
    let mut endpoint = quinn::Endpoint::client(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    endpoint.set_default_client_config(config);

    let start = Instant::now();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut alpn = None;
    let work = async {
        for _ in 0..args.connections {
            let conn = endpoint
                .connect(args.target, "localhost")
                .map_err(|e| format!("connect: {e}"))?
                .await
                .map_err(|e| format!("handshake with {}: {e}", args.target))?;
            alpn = conn
                .handshake_data()
                .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
                .and_then(|d| d.protocol)
                .map(|p| String::from_utf8_lossy(&p).into_owned());
            let stopped_before = tally.lock().expect("not poisoned").stopped;
            let outcome = run_requests(&conn, &args, &tally).await;
            let stopped = tally.lock().expect("not poisoned").stopped - stopped_before;
            let outcome = match outcome {
                Ok(()) => await_resets(&conn, stopped).await,
                Err(e) => Err(e),
            };
            conn.close(VarInt::from_u32(NO_ERROR), b"");
            outcome?;
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(args.timeout, work).await {
        Ok(outcome) => outcome?,
        Err(_) => return Err(format!("not done within --timeout {}", humantime::format_duration(args.timeout))),
    }
    let seconds = start.elapsed().as_secs_f64();
    // The last CONNECTION_CLOSE reaches the server before the process exits.
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    let t = tally.lock().expect("not poisoned");
    let signed_with = verifier.signed_with.lock().expect("not poisoned").map(scheme_name);
    emit(json!({
        "event": "done",
        "alpn": alpn,
        "signatureScheme": signed_with,
        "connections": args.connections,
        "streams": t.streams,
        "stoppedStreams": t.stopped,
        "uploadBytes": t.upload,
        "downloadBytes": t.download,
        "seconds": seconds,
        "requestMicros": if args.latencies { json!(t.request_us) } else { Value::Null },
    }));
    Ok(())
}

/// Waits until the server has answered each STOP_SENDING with a RESET_STREAM (RFC 9000 §3.5), so that the
/// connection is closed only after the server saw every stop; quinn signals no such event, so its frame
/// count is polled, bounded at 5 s.
async fn await_resets(conn: &quinn::Connection, stopped: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.stats().frame_rx.reset_stream < stopped {
        if Instant::now() >= deadline {
            let got = conn.stats().frame_rx.reset_stream;
            return Err(format!("{got} RESET_STREAM for {stopped} STOP_SENDING within 5 s"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// `--requests` requests on one connection, at most `--inflight` at once.
async fn run_requests(conn: &quinn::Connection, args: &ClientArgs, tally: &Arc<Mutex<Tally>>) -> Result<()> {
    let mut running = tokio::task::JoinSet::new();
    let mut started = 0;
    loop {
        while started < args.requests && (running.len() as u64) < args.inflight {
            let (conn, tally) = (conn.clone(), tally.clone());
            let (uni, upload, download, duration) = (args.uni, args.upload, args.download, args.duration);
            running.spawn(async move { request(&conn, uni, upload, download, duration, &tally).await });
            started += 1;
        }
        match running.join_next().await {
            Some(joined) => joined.map_err(|e| format!("request task: {e}"))??,
            None => return Ok(()),
        }
    }
}

/// One request: the 8-byte response size, the upload, FIN, then the response read to its end, or, with a
/// duration, read for that long and ended with STOP_SENDING (code 0, no error).
async fn request(
    conn: &quinn::Connection,
    uni: bool,
    upload: u64,
    download: u64,
    duration: Option<Duration>,
    tally: &Mutex<Tally>,
) -> Result<()> {
    let requested = if duration.is_some() { UNTIL_STOPPED } else { download };
    let start = Instant::now();
    let (mut send, recv) = if uni {
        (conn.open_uni().await.map_err(|e| format!("open stream: {e}"))?, None)
    } else {
        let (send, recv) = conn.open_bi().await.map_err(|e| format!("open stream: {e}"))?;
        (send, Some(recv))
    };
    send.write_all(&requested.to_be_bytes()).await.map_err(|e| format!("request: {e}"))?;
    let (uploaded, outcome) = write_n(&mut send, upload).await;
    tally.lock().expect("not poisoned").upload += uploaded;
    outcome.map_err(|e| format!("upload after {uploaded} bytes: {e}"))?;
    send.finish().map_err(|e| format!("FIN: {e}"))?;
    let mut recv = match recv {
        Some(recv) => recv,
        // The reply comes on a stream the server opens; with several in flight, any reply will do.
        None => conn.accept_uni().await.map_err(|e| format!("waiting for the reply stream: {e}"))?,
    };
    let mut received = 0u64;
    let outcome = match duration {
        None => drain(&mut recv, &mut received).await,
        Some(d) => {
            let ended = tokio::select! {
                ended = drain(&mut recv, &mut received) => Some(ended),
                _ = tokio::time::sleep(d) => None,
            };
            match ended {
                // What arrived before the stop is counted, nothing after it.
                None => recv.stop(VarInt::from_u32(NO_ERROR)).map_err(|e| format!("STOP_SENDING: {e}")),
                Some(Ok(())) => {
                    Err(format!("the response to u64::MAX ended after {received} bytes, before STOP_SENDING"))
                }
                Some(Err(e)) => Err(e),
            }
        }
    };
    let mut t = tally.lock().expect("not poisoned");
    if outcome.is_ok() {
        t.request_us.push(start.elapsed().as_secs_f64() * 1e6);
    }
    t.download += received;
    t.streams += 1;
    t.stopped += u64::from(duration.is_some());
    drop(t);
    outcome.map_err(|e| format!("download: {e}"))
}
