//! The `perf` server (draft-banks-quic-performance §2.2), built to be put on a shared network: it keeps no
//! state for a datagram until it is a decryptable Initial that passes admission (`admission`: allowlist,
//! Retry address validation, connection limits), bounds half-open connections and their lifetime, and
//! counts everything it drops (`stats`); what can never be valid for it, the kernel drops (`filter`).
//! Several workers share one port in a reuseport group of their own (`socket::Group`); each owns its socket
//! and its connections (`worker`) and serves the perf protocol on them (`perf`).

mod admission;
pub mod filter;
pub mod fuzzing;
pub mod initial;
mod perf;
mod sharing;
mod stats;
mod token;
mod waiting;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use admission::{parse_prefix, source_prefix, RetryMode, SourcePrefix, MIN_INITIAL_DATAGRAM};
pub use ipnet::IpNet;
pub use stats::ServerStats;

use crate::config::{quiche_config, Identity, Role};
use crate::error::{Error, Result};
use crate::metrics::rss_bytes;
use crate::scenario::Settings;
use crate::socket::{FastPath, Group};
use crate::view::Board;
use admission::{Gate, Policy};
use worker::{ConnSettings, Endpoint, Worker};

pub struct ServerOptions {
    /// Address to listen on; port 0 picks one. @default [::]:4433
    pub listen: SocketAddr,
    /// Accept only IPv6 on an IPv6 address (no IPv4-mapped clients on `[::]`). @default false
    pub ipv6_only: bool,
    /// Worker threads sharing the port. @default 1
    pub threads: u32,
    /// Certificate and key PEM files; a self-signed certificate is generated when absent.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// CA certificates (PEM) that client certificates must chain to; with it, a client without a valid
    /// certificate fails the handshake (TLS alert certificate_required or bad_certificate).
    pub client_ca: Option<PathBuf>,
    /// Transport settings the server uses (congestion control, windows, pacing, payload, idle timeout).
    pub settings: Settings,
    /// Write a qlog per connection into this directory (accepted connections only).
    pub qlog_dir: Option<PathBuf>,
    /// Connections with state, half-open ones included; an Initial beyond this is refused before any state
    /// with a CONNECTION_CLOSE (CONNECTION_REFUSED). @default 100000
    pub max_connections: u64,
    /// Half-open connections one source prefix (an IPv6 /64, an IPv4 address) may hold; Initials beyond
    /// are dropped. @default 1024
    pub max_half_open_per_prefix: u64,
    /// When to ask for address validation with a Retry. @default Auto
    pub retry: RetryMode,
    /// Half-open connections from which `RetryMode::Auto` sends Retries. @default 64
    pub retry_threshold: u64,
    /// A connection whose handshake has not completed after this is dropped. @default 2 s
    pub handshake_timeout: Duration,
    /// Sources that may use the server (IPv6 and IPv4 prefixes); empty: everyone.
    pub allow: Vec<IpNet>,
    /// Largest response a request may ask for, bytes; above it (`u64::MAX` included) the stream is refused
    /// with perf error 2 (rejected). @default unlimited
    pub max_response: Option<u64>,
    /// Send rate cap per connection, bytes per second. @default unlimited
    pub max_rate: Option<u64>,
    /// Share the server's side of a client's connections with that client over ALPN `stoq-bench-view`
    /// (`crate::view`); when off, the server still offers the ALPN and refuses every question, so the client
    /// records why it has no server side. @default true
    pub share_view: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: "[::]:4433".parse().expect("literal address"),
            ipv6_only: false,
            threads: 1,
            identity: None,
            client_ca: None,
            settings: Settings::default(),
            qlog_dir: None,
            max_connections: 100_000,
            max_half_open_per_prefix: 1024,
            retry: RetryMode::Auto,
            retry_threshold: 64,
            handshake_timeout: Duration::from_secs(2),
            allow: Vec::new(),
            max_response: None,
            max_rate: None,
            share_view: true,
        }
    }
}

/// How long a Retry token is accepted: the client answers a Retry at once, one round trip later.
const TOKEN_LIFETIME: Duration = Duration::from_secs(10);

impl ServerOptions {
    /// Whether anyone who reaches the port may use the server: it listens beyond loopback with no
    /// allowlist and no client certificates.
    pub fn is_open_to_anyone(&self) -> bool {
        !self.listen.ip().is_loopback() && self.allow.is_empty() && self.client_ca.is_none()
    }

    fn check(&self) -> Result<()> {
        if self.handshake_timeout.is_zero() {
            return Err(Error::invalid_field("handshakeTimeoutNs", "the handshake timeout must be more than 0"));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid_field("maxConnections", "the connection limit must be at least 1"));
        }
        if self.max_half_open_per_prefix == 0 {
            return Err(Error::invalid_field("maxHalfOpenPerPrefix", "the half-open limit must be at least 1"));
        }
        if self.max_rate == Some(0) {
            return Err(Error::invalid_field("maxRate", "the rate cap must be more than 0"));
        }
        if self.ipv6_only && !self.listen.is_ipv6() {
            let message = format!("IPv6 only, but the listen address {} is IPv4", self.listen);
            return Err(Error::invalid_field("ipv6Only", message));
        }
        if let Some(ca) = &self.client_ca {
            if !ca.is_file() {
                return Err(Error::invalid_field("clientCa", format!("client CA file not found: {}", ca.display())));
            }
        }
        Ok(())
    }
}

pub struct Server {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    gate: Arc<Gate>,
    board: Arc<Board>,
    workers: Vec<JoinHandle<FastPath>>,
}

impl Server {
    pub fn start(options: ServerOptions) -> Result<Server> {
        options.check()?;
        let identity = match &options.identity {
            Some((cert, key)) => Identity::from_files(cert.clone(), key.clone())?,
            None => Identity::self_signed()?,
        };
        if let Some(dir) = &options.qlog_dir {
            std::fs::create_dir_all(dir)?;
        }
        let threads = options.threads.clamp(1, 256) as usize;
        let mut group = Group::bind(options.listen, threads, options.ipv6_only, options.settings.gso)?;
        if let Some(bytes) = options.settings.recv_buffer {
            for sock in &mut group.sockets {
                sock.set_recv_buffer(bytes).map_err(|e| Error::Io(format!("cannot size a receive buffer: {e}")))?;
            }
        }
        let board = Arc::new(Board::new(Settings { threads: threads as u32, ..options.settings.clone() }));
        let local_addr = group.local;
        let policy = Policy {
            allow: options.allow.clone(),
            retry: options.retry,
            retry_threshold: options.retry_threshold,
            max_connections: options.max_connections,
            max_half_open_per_prefix: options.max_half_open_per_prefix,
            token_lifetime: TOKEN_LIFETIME,
        };
        let gate = Arc::new(Gate::new(policy, Arc::default()));
        gate.counters.baseline_rss.store(rss_bytes(), Relaxed);
        for sock in &group.sockets {
            filter::attach(&sock.io, gate.cid_tag(), &[])
                .map_err(|e| Error::Io(format!("cannot filter the server socket: {e}")))?;
        }
        let settings = Arc::new(ConnSettings {
            payload_size: options.settings.payload_size as usize,
            qlog_dir: options.qlog_dir.clone(),
            max_response: options.max_response.unwrap_or(u64::MAX),
            handshake_timeout: options.handshake_timeout,
            max_rate: options.max_rate,
            share_view: options.share_view,
        });
        let role =
            Role::Server { identity: &identity, client_ca: options.client_ca.as_deref(), max_rate: options.max_rate };
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for (i, sock) in group.sockets.into_iter().enumerate() {
            let config = quiche_config(&options.settings, &role)?;
            let segments = sock.batch_segments(settings.payload_size);
            let worker = Worker {
                sock,
                endpoint: Endpoint::new(gate.clone(), config, settings.clone(), segments),
                stop: stop.clone(),
                pacing: options.settings.pacing,
                index: i,
                board: board.clone(),
                answered: 0,
                kernel_drops: None,
            };
            let handle = std::thread::Builder::new()
                .name(format!("stoq-server-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| Error::Io(format!("cannot start a server thread: {e}")))?;
            workers.push(handle);
        }
        Ok(Server { local_addr, stop, gate, board, workers })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server shares of its connections, threads and sockets (the server's side of a run).
    pub fn board(&self) -> Arc<Board> {
        self.board.clone()
    }

    pub fn stats(&self) -> ServerStats {
        self.gate.counters.snapshot()
    }

    /// Closes every connection (application error 0) and joins the workers. Every connection accepted is
    /// then counted in `closed`.
    pub fn stop(mut self) -> (ServerStats, FastPath) {
        self.stop.store(true, Relaxed);
        let mut fast = FastPath::default();
        for w in self.workers.drain(..) {
            if let Ok(f) = w.join() {
                fast.merge(&f);
            }
        }
        (self.stats(), fast)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
