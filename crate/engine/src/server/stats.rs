//! What the server counts: every datagram it drops and why, every reply it sends without a connection,
//! and how every connection it accepted ended. Workers bump shared atomics; `ServerStats` is a snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use schemars::JsonSchema;
use serde::Serialize;

use crate::metrics::rss_bytes;

/// Why a datagram was dropped without reaching a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// An empty datagram.
    ZeroLength,
    /// Not a QUIC packet: no header could be parsed from it.
    Garbage,
    /// A well-formed packet for no connection of this server (short header, Handshake, 0-RTT), or a packet
    /// a server never accepts (Version Negotiation, Retry).
    UnknownConnection,
    /// An Initial, or a packet of an unknown version, in a datagram under 1200 bytes (RFC 9000 §14.1,
    /// §5.2.2): dropped unanswered, no Version Negotiation.
    TooShort,
    /// An Initial that does not decrypt with the keys its DCID gives (a fake), or whose DCID is shorter
    /// than 8 bytes (RFC 9000 §7.2).
    InvalidInitial,
    /// A source address outside `--allow`.
    NotAllowed,
    /// An Initial left unchecked, or a Version Negotiation left unsent, because this pass had spent its
    /// budget of checks and replies (a flood).
    Shed,
}

/// How an accepted connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Closed by either side without an error.
    Cleanly,
    /// Closed with an error after the handshake (by the peer or by quiche).
    Errored,
    /// The peer went silent after the handshake for the idle timeout.
    IdleTimeout,
    /// The handshake did not complete within the handshake timeout; dropped without a word.
    HandshakeTimeout,
    /// The handshake failed (TLS: no or a rejected client certificate, no common ALPN, ...).
    HandshakeFailed,
    /// Still open when the server stopped (closed with application error 0).
    AtStop,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub open: AtomicU64,
    pub half_open: AtomicU64,
    pub peak_open: AtomicU64,
    pub peak_half_open: AtomicU64,
    pub accepted: AtomicU64,
    pub validated: AtomicU64,
    pub closed: AtomicU64,
    pub closed_cleanly: AtomicU64,
    pub errored: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub handshake_timeouts: AtomicU64,
    pub handshake_failures: AtomicU64,
    pub closed_at_stop: AtomicU64,
    pub streams: AtomicU64,
    pub streams_rejected: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub zero_length: AtomicU64,
    pub garbage: AtomicU64,
    pub unknown_connection: AtomicU64,
    pub too_short: AtomicU64,
    pub invalid_initial: AtomicU64,
    pub not_allowed: AtomicU64,
    pub shed: AtomicU64,
    pub version_negotiation_sent: AtomicU64,
    pub retries_sent: AtomicU64,
    pub tokens_invalid: AtomicU64,
    pub refused_at_limit: AtomicU64,
    pub refused_prefix: AtomicU64,
    pub kernel_shed_rules: AtomicU64,
    pub kernel_shed_drops: AtomicU64,
    pub fair_share_waits: AtomicU64,
    pub rss_at_peak: AtomicU64,
    pub baseline_rss: AtomicU64,
    pub trims: AtomicU64,
}

impl Counters {
    pub fn dropped(&self, why: Dropped) {
        let counter = match why {
            Dropped::ZeroLength => &self.zero_length,
            Dropped::Garbage => &self.garbage,
            Dropped::UnknownConnection => &self.unknown_connection,
            Dropped::TooShort => &self.too_short,
            Dropped::InvalidInitial => &self.invalid_initial,
            Dropped::NotAllowed => &self.not_allowed,
            Dropped::Shed => &self.shed,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// A connection was built in a slot `Gate::admit` reserved (`validated`: its address proven by a Retry
    /// token). It is half-open until its handshake completes.
    pub fn opened(&self, validated: bool) {
        self.accepted.fetch_add(1, Relaxed);
        if validated {
            self.validated.fetch_add(1, Relaxed);
        }
        let open = self.open.load(Relaxed);
        if open > self.peak_open.fetch_max(open, Relaxed) {
            self.rss_at_peak.store(rss_bytes(), Relaxed);
        }
    }

    /// A connection is gone (its half-open slot, if it still held one, was given back to the `Gate`).
    pub fn ended(&self, how: Ended) {
        self.open.fetch_sub(1, Relaxed);
        self.closed.fetch_add(1, Relaxed);
        let counter = match how {
            Ended::Cleanly => &self.closed_cleanly,
            Ended::Errored => &self.errored,
            Ended::IdleTimeout => &self.idle_timeouts,
            Ended::HandshakeTimeout => &self.handshake_timeouts,
            Ended::HandshakeFailed => &self.handshake_failures,
            Ended::AtStop => &self.closed_at_stop,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> ServerStats {
        let g = |c: &AtomicU64| c.load(Relaxed);
        let baseline = g(&self.baseline_rss);
        let peak = g(&self.peak_open);
        ServerStats {
            open_connections: g(&self.open),
            half_open: g(&self.half_open),
            accepted: g(&self.accepted),
            validated: g(&self.validated),
            closed: g(&self.closed),
            closed_cleanly: g(&self.closed_cleanly),
            errored: g(&self.errored),
            idle_timeouts: g(&self.idle_timeouts),
            handshake_timeouts: g(&self.handshake_timeouts),
            handshake_failures: g(&self.handshake_failures),
            closed_at_stop: g(&self.closed_at_stop),
            streams: g(&self.streams),
            streams_rejected: g(&self.streams_rejected),
            bytes_sent: g(&self.bytes_sent),
            bytes_received: g(&self.bytes_received),
            zero_length: g(&self.zero_length),
            garbage_datagrams: g(&self.garbage),
            unknown_connection: g(&self.unknown_connection),
            too_short: g(&self.too_short),
            invalid_initial: g(&self.invalid_initial),
            not_allowed: g(&self.not_allowed),
            shed: g(&self.shed),
            version_negotiation_sent: g(&self.version_negotiation_sent),
            retries_sent: g(&self.retries_sent),
            tokens_invalid: g(&self.tokens_invalid),
            refused_at_limit: g(&self.refused_at_limit),
            refused_prefix: g(&self.refused_prefix),
            kernel_shed_rules: g(&self.kernel_shed_rules),
            kernel_shed_drops: g(&self.kernel_shed_drops),
            fair_share_waits: g(&self.fair_share_waits),
            rss_bytes: rss_bytes(),
            baseline_rss_bytes: baseline,
            peak_connections: peak,
            peak_half_open: g(&self.peak_half_open),
            rss_per_connection_bytes: (peak > 0).then(|| g(&self.rss_at_peak).saturating_sub(baseline) / peak),
            memory_trims: g(&self.trims),
        }
    }
}

/// The server's counters at one moment (counts since start). Datagram counts are the server's own view after
/// the kernel (its socket drops are in the fast-path record, with the datagrams the socket filter drops:
/// those that can never be valid for the server, see `filter`). Every accepted connection is open or counted
/// once in `closed`, which splits into `closedCleanly`, `errored`, `idleTimeouts`, `handshakeTimeouts`,
/// `handshakeFailures` and `closedAtStop`. A counter that may be null is null only in a record upgraded from
/// schemaVersion 2 or older: that server did not count it.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// Connections with state now, half-open ones included.
    pub open_connections: u64,
    /// Connections whose handshake has not completed.
    #[schemars(with = "Option<u64>")]
    pub half_open: u64,
    /// Connections built, each on a decryptable Initial that passed every limit.
    pub accepted: u64,
    /// Of those, built on a valid Retry token (address validated).
    pub validated: u64,
    /// Connections ended, however they ended.
    pub closed: u64,
    /// Of those, closed by either side without an error.
    #[schemars(with = "Option<u64>")]
    pub closed_cleanly: u64,
    /// Ended with an error after the handshake (idle timeouts are apart).
    pub errored: u64,
    /// Established connections whose peer went silent for the idle timeout.
    #[schemars(with = "Option<u64>")]
    pub idle_timeouts: u64,
    /// Connections whose handshake did not complete within the handshake timeout (dropped without a word).
    #[schemars(with = "Option<u64>")]
    pub handshake_timeouts: u64,
    /// Connections whose handshake failed (TLS: no or a rejected client certificate, no common ALPN).
    #[schemars(with = "Option<u64>")]
    pub handshake_failures: u64,
    /// Connections still open when the server stopped (closed with application error 0).
    #[schemars(with = "Option<u64>")]
    pub closed_at_stop: u64,
    /// Requests (streams) served.
    pub streams: u64,
    /// Requests refused with perf error 2 (rejected: above the largest response allowed).
    pub streams_rejected: u64,
    /// Application payload bytes sent, as handed to QUIC. A response the client stopped (STOP_SENDING)
    /// counts also what QUIC still held then and discarded unsent, at most the client's stream window:
    /// quiche does not report how much (its qlog shows the RESET_STREAM final size, what really left).
    pub bytes_sent: u64,
    /// Application payload bytes received.
    pub bytes_received: u64,
    /// Empty datagrams dropped.
    #[schemars(with = "Option<u64>")]
    pub zero_length: u64,
    /// Datagrams dropped that are not QUIC: no header could be parsed.
    #[schemars(with = "Option<u64>")]
    pub garbage_datagrams: u64,
    /// Well-formed packets dropped that belong to no connection of the server (short header, Handshake,
    /// 0-RTT), or that a server never accepts (Version Negotiation, Retry).
    #[schemars(with = "Option<u64>")]
    pub unknown_connection: u64,
    /// Initials, and packets of unknown versions, dropped in datagrams under 1200 bytes (RFC 9000 §14.1,
    /// §5.2.2).
    #[schemars(with = "Option<u64>")]
    pub too_short: u64,
    /// Initials dropped that do not decrypt with the keys their DCID gives, or whose DCID is shorter than
    /// 8 bytes (RFC 9000 §7.2).
    #[schemars(with = "Option<u64>")]
    pub invalid_initial: u64,
    /// Datagrams dropped from sources outside the allowlist.
    pub not_allowed: u64,
    /// Initials left unchecked, or Version Negotiations left unsent, once the admission budget was spent.
    pub shed: u64,
    /// Version Negotiation packets sent.
    #[schemars(with = "Option<u64>")]
    pub version_negotiation_sent: u64,
    /// Retry packets sent.
    pub retries_sent: u64,
    /// Initials whose token was not valid (answered with INVALID_TOKEN when it was a Retry token of ours).
    pub tokens_invalid: u64,
    /// Initials refused before any state at the connection limit (a CONNECTION_CLOSE with
    /// CONNECTION_REFUSED).
    pub refused_at_limit: u64,
    /// Initials dropped at the half-open cap of their source prefix (an IPv6 /64, an IPv4 address).
    pub refused_prefix: u64,
    /// Times the socket filter began shedding the Initials of a source that flooded the server faster than
    /// twice its admission budget (`filter::Shed`).
    #[schemars(with = "Option<u64>")]
    pub kernel_shed_rules: u64,
    /// Datagrams the kernel dropped on the server's sockets while shedding rules were in place: the shed
    /// Initials, and any other drop of the socket filter or of a full receive buffer in that time (the kernel
    /// counts them together: `/proc/net/udp6`).
    #[schemars(with = "Option<u64>")]
    pub kernel_shed_drops: u64,
    /// Times admission work (Initials to check, connections to build) waited for a later pass because it had
    /// taken its share of a worker's time while established connections had data to move (10%).
    #[schemars(with = "Option<u64>")]
    pub fair_share_waits: u64,
    /// Resident memory of the process now, bytes.
    pub rss_bytes: u64,
    /// Resident memory before the first connection, bytes.
    pub baseline_rss_bytes: u64,
    /// Most connections open at once.
    pub peak_connections: u64,
    /// Most half-open connections at once.
    #[schemars(with = "Option<u64>")]
    pub peak_half_open: u64,
    /// Memory above the baseline per connection when the most were open, bytes; null before any connection.
    pub rss_per_connection_bytes: Option<u64>,
    /// Times freed memory was handed back to the kernel (`malloc_trim`) after connections ended: once the
    /// server was idle, or most of a large population of connections was gone.
    pub memory_trims: u64,
}
