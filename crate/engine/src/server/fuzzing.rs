//! Entry points shared by the fuzz targets (`fuzz/`) and the property tests (`tests/fuzz_properties.rs`):
//! each takes arbitrary bytes and must neither panic nor break an invariant (it asserts them).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::admission::{Gate, Policy, RetryMode};
use super::worker::{ConnSettings, Endpoint, Out};
use crate::config::{quiche_config, Identity, Role};
use crate::protocol::{RequestReader, HEADER_LEN};
use crate::scenario::{Scenario, Settings};

/// The perf framing: the bytes of one request stream, delivered in pieces whose sizes the input also
/// chooses, read as the server reads them (header, then payload only counted).
pub fn perf_framing(data: &[u8]) {
    let (sizes, stream) = data.split_at(data.len().min(8));
    let mut r = RequestReader::default();
    let mut at = 0;
    let mut piece = sizes.iter().cycle();
    while at < stream.len() {
        let n = (usize::from(*piece.next().unwrap_or(&1)) % 64 + 1).min(stream.len() - at);
        let left = r.header_left();
        if left == 0 {
            r.skip(n);
        } else {
            let payload = r.feed(&stream[at..at + n]);
            assert_eq!(payload, n.saturating_sub(left));
        }
        at += n;
    }
    assert_eq!(r.uploaded, stream.len().saturating_sub(HEADER_LEN) as u64);
    let expected = stream.get(..HEADER_LEN).map(|h| u64::from_be_bytes(h.try_into().expect("8 bytes")));
    assert_eq!(r.response_size(), expected);
}

/// Scenario JSON: anything is parsed or refused with an error; what parses normalises to a scenario whose
/// own JSON parses back to it, with the same id.
pub fn scenario_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(s) = Scenario::from_json(text) {
        let again = Scenario::from_json(&s.to_json()).expect("a normalised scenario parses");
        assert_eq!(again, s);
        assert_eq!(s.id.len(), 16);
    }
}

/// The server's datagram entry point: the first byte picks the retry mode, the rest is a `Datagrams` input.
pub fn server_datagrams(data: &[u8]) {
    thread_local! {
        static ENDPOINTS: RefCell<Vec<Datagrams>> = RefCell::new(
            [RetryMode::Always, RetryMode::Auto, RetryMode::Never].into_iter().map(Datagrams::new).collect(),
        );
    }
    let Some((mode, ops)) = data.split_first() else { return };
    ENDPOINTS.with(|e| e.borrow_mut()[usize::from(*mode) % 3].run(ops));
}

const SERVER: &str = "[::1]:4433";

/// The server's datagram entry point, driven without sockets: one endpoint per retry mode, kept across
/// inputs (building one loads a certificate), emptied after each input with every connection accounted for.
pub struct Datagrams {
    endpoint: Endpoint,
    gate: Arc<Gate>,
    client_config: quiche::Config,
}

fn identity() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| Identity::self_signed().expect("a self-signed certificate"))
}

/// An endpoint without a socket under `policy` (a self-signed certificate, default settings, 1350-byte
/// payloads, responses up to 1 MiB, a 2 s handshake timeout), and its gate.
pub(crate) fn endpoint(policy: Policy) -> (Endpoint, Arc<Gate>) {
    let gate = Arc::new(Gate::new(policy, Arc::default()));
    let role = Role::Server { identity: identity(), client_ca: None, max_rate: None };
    let config = quiche_config(&Settings::default(), &role).expect("server config");
    let conn = ConnSettings {
        payload_size: 1350,
        qlog_dir: None,
        max_response: 1 << 20,
        handshake_timeout: Duration::from_secs(2),
        max_rate: None,
        share_view: true,
    };
    (Endpoint::new(gate.clone(), config, Arc::new(conn), 1), gate)
}

impl Datagrams {
    pub fn new(retry: RetryMode) -> Datagrams {
        let (endpoint, gate) = endpoint(Policy {
            allow: Vec::new(),
            retry,
            retry_threshold: 2,
            max_connections: 8,
            max_half_open_per_prefix: 4,
            token_lifetime: Duration::from_secs(10),
        });
        let client_config = quiche_config(&Settings::default(), &Role::Client { cert: None }).expect("client config");
        Datagrams { endpoint, gate, client_config }
    }

    /// Whether the entry point drops `datagram` (from an allowed source) at once: one drop counter more, no
    /// admission work, no reply, no connection. What the socket filter drops must be dropped so here too.
    pub fn dropped_at_once(&mut self, datagram: &[u8]) -> bool {
        let drops = |s: &super::ServerStats| {
            s.zero_length + s.garbage_datagrams + s.unknown_connection + s.too_short + s.invalid_initial
        };
        let (from, to) = ("[::1]:5000".parse().expect("literal"), SERVER.parse().expect("literal"));
        let before = self.gate.counters.snapshot();
        let now = Instant::now();
        self.endpoint.datagram(&mut datagram.to_vec(), from, to, now);
        let mut replies = 0;
        let built = self.endpoint.admit(now, &mut [0u8; 2048], &mut |_, _, _| replies += 1);
        let after = self.gate.counters.snapshot();
        drops(&after) == drops(&before) + 1 && after.shed == before.shed && !built && replies == 0
    }

    /// Runs one input: a sequence of operations `[op, len, bytes...]`, each delivering a raw datagram,
    /// opening a real client (whose Initial quiche builds), delivering a client datagram with one byte
    /// flipped, exchanging one round of datagrams, or sending a request on a stream.
    pub fn run(&mut self, input: &[u8]) {
        let server: SocketAddr = SERVER.parse().expect("literal");
        let mut client: Option<(quiche::Connection, SocketAddr)> = None;
        let mut ops = input;
        let mut reply = vec![0u8; 2048];
        let mut out = Vec::new();
        let mut next_stream = 0u64;
        while let [op, len, rest @ ..] = ops {
            let (bytes, tail) = rest.split_at((*len as usize).min(rest.len()));
            ops = tail;
            let now = Instant::now();
            match op % 5 {
                0 => {
                    let from: SocketAddr =
                        if len % 2 == 0 { "[::1]:5000" } else { "[2001:db8::1]:5000" }.parse().expect("literal");
                    let mut d = bytes.to_vec();
                    // Short inputs are padded to Initial size now and then, so the size checks pass.
                    if len % 3 == 0 {
                        d.resize(1200, 0);
                    }
                    self.endpoint.datagram(&mut d, from, server, now);
                    self.endpoint.admit(now, &mut reply, &mut |_, _, _| {});
                }
                1 => {
                    let mut scid = [0u8; 16];
                    for (s, b) in scid.iter_mut().zip(bytes.iter().chain([*len; 16].iter())) {
                        *s = *b;
                    }
                    let local: SocketAddr = format!("[::1]:{}", 40000 + u16::from(*len)).parse().expect("literal");
                    let conn = quiche::connect(
                        Some("localhost"),
                        &quiche::ConnectionId::from_ref(&scid),
                        local,
                        server,
                        &mut self.client_config,
                    )
                    .expect("a client connection");
                    client = Some((conn, local));
                    next_stream = 0;
                    self.exchange(&mut client, None, &mut reply, &mut out);
                }
                2 => self.exchange(&mut client, Some(bytes), &mut reply, &mut out),
                3 => self.exchange(&mut client, None, &mut reply, &mut out),
                _ => {
                    if let Some((c, _)) = client.as_mut() {
                        let _ = c.stream_send(next_stream, bytes, len % 2 == 0);
                        next_stream += 4;
                    }
                    self.exchange(&mut client, None, &mut reply, &mut out);
                }
            }
        }
        self.endpoint.end_all();
        let st = self.gate.counters.snapshot();
        assert_eq!((st.open_connections, st.half_open), (0, 0), "{st:?}");
        assert_eq!(st.accepted, st.closed, "every connection is accounted for: {st:?}");
        assert_eq!(
            st.closed,
            st.closed_cleanly
                + st.errored
                + st.idle_timeouts
                + st.handshake_timeouts
                + st.handshake_failures
                + st.closed_at_stop,
            "{st:?}"
        );
        assert_eq!(self.gate.prefixes_tracked(), 0);
    }

    /// One round: the client's datagrams to the server (the first with one byte flipped, if `flip` says
    /// where), the server's pass, and what it sent (and replied) back to the client.
    fn exchange(
        &mut self,
        client: &mut Option<(quiche::Connection, SocketAddr)>,
        flip: Option<&[u8]>,
        reply: &mut [u8],
        out: &mut Vec<(Vec<u8>, SocketAddr)>,
    ) {
        let server: SocketAddr = SERVER.parse().expect("literal");
        let Some((c, local)) = client.as_mut() else { return };
        let mut buf = [0u8; 1500];
        let mut first = true;
        while let Ok((n, _)) = c.send(&mut buf) {
            let d = &mut buf[..n];
            if let (true, Some([hi, lo, x, ..])) = (first, flip) {
                let at = usize::from(u16::from_be_bytes([*hi, *lo])) % n;
                d[at] ^= x | 1;
            }
            first = false;
            self.endpoint.receive(d, n, *local, server, Instant::now());
        }
        let mut replies = Vec::new();
        self.endpoint.admit(Instant::now(), reply, &mut |d, _, _| replies.push(d.to_vec()));
        for mut r in replies {
            let _ = c.recv(&mut r, quiche::RecvInfo { from: server, to: *local });
        }
        let mut scratch = vec![0u8; 64 * 1024];
        out.clear();
        self.endpoint.pass(Out::Collect(out), &mut scratch, false);
        for (d, to) in out.iter_mut() {
            if to == local {
                let _ = c.recv(d, quiche::RecvInfo { from: server, to: *local });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness reaches past admission: a real client's handshake completes and its request is served.
    #[test]
    fn a_scripted_input_completes_a_handshake_and_a_request() {
        let mut d = Datagrams::new(RetryMode::Never);
        // New client; three exchanges; a request for 10 bytes with FIN; one more exchange.
        d.run(&[1, 0, 3, 0, 3, 0, 3, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 10, 3, 0]);
        let st = d.gate.counters.snapshot();
        assert_eq!((st.accepted, st.streams, st.bytes_sent, st.closed_at_stop), (1, 1, 10, 1), "{st:?}");
        // With Retry, the client follows it and is validated.
        let mut d = Datagrams::new(RetryMode::Always);
        d.run(&[1, 0, 3, 0, 3, 0, 3, 0]);
        let st = d.gate.counters.snapshot();
        assert_eq!((st.retries_sent, st.accepted, st.validated), (1, 1, 1), "{st:?}");
    }

    /// A client's Initial that arrives after its connection's handshake (a retransmission that waited for
    /// admission, or was late) goes to that connection: no second connection is opened for the same client.
    #[test]
    fn a_late_initial_goes_to_its_established_connection() {
        let mut d = Datagrams::new(RetryMode::Never);
        let (server, local): (SocketAddr, SocketAddr) = (SERVER.parse().unwrap(), "[::1]:40001".parse().unwrap());
        let scid = quiche::ConnectionId::from_ref(&[9; 16]);
        let mut conn = quiche::connect(Some("localhost"), &scid, local, server, &mut d.client_config).unwrap();
        let mut initial = vec![0u8; 1500];
        let (n, _) = conn.send(&mut initial).unwrap();
        initial.truncate(n);
        let mut client = Some((conn, local));
        let (mut reply, mut out) = (vec![0u8; 2048], Vec::new());
        d.endpoint.datagram(&mut initial.clone(), local, server, Instant::now());
        for _ in 0..3 {
            d.exchange(&mut client, None, &mut reply, &mut out);
        }
        assert!(client.as_ref().unwrap().0.is_established());
        d.endpoint.datagram(&mut initial, local, server, Instant::now());
        d.endpoint.admit(Instant::now(), &mut reply, &mut |_, _, _| panic!("no reply to a late Initial"));
        let st = d.gate.counters.snapshot();
        assert_eq!((st.accepted, st.open_connections), (1, 1), "{st:?}");
    }

    /// Once a connection carries data, its upload is taken in as each datagram arrives, before the next pass
    /// (quiche's stream buffers then hold one datagram's data at most).
    #[test]
    fn an_upload_is_taken_in_as_it_arrives() {
        let mut d = Datagrams::new(RetryMode::Never);
        let (server, local): (SocketAddr, SocketAddr) = (SERVER.parse().unwrap(), "[::1]:40000".parse().unwrap());
        let scid = quiche::ConnectionId::from_ref(&[7; 16]);
        let conn = quiche::connect(Some("localhost"), &scid, local, server, &mut d.client_config).unwrap();
        let mut client = Some((conn, local));
        let (mut reply, mut out) = (vec![0u8; 2048], Vec::new());
        for _ in 0..3 {
            d.exchange(&mut client, None, &mut reply, &mut out);
        }
        let received = |d: &Datagrams| d.gate.counters.snapshot().bytes_received;
        // A request's header and the start of its upload: the pass that reads them finds data moving.
        let (c, _) = client.as_mut().unwrap();
        c.stream_send(0, &[0; HEADER_LEN + 100], false).unwrap();
        d.exchange(&mut client, None, &mut reply, &mut out);
        assert_eq!(received(&d), 100);
        let (c, _) = client.as_mut().unwrap();
        c.stream_send(0, &[1; 3000], true).unwrap();
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = c.send(&mut buf) {
            d.endpoint.receive(&mut buf[..n], n, local, server, Instant::now());
        }
        assert_eq!(received(&d), 3100, "read as it arrived, with no pass since");
    }
}
