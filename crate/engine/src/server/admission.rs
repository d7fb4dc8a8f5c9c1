//! Admission: what the server does with a datagram that belongs to none of its connections. Everything
//! here is stateless or bounded: a connection is built only for a decryptable Initial of an acceptable size
//! from an allowed source, once its address is validated (Retry) when validation is required, and only
//! while the connection limits have room. Workers share one `Gate`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::initial::{self, transport_error};
use super::stats::{Counters, Dropped};
use super::token::{TokenError, TokenKey, MAX_TOKEN_LEN};
use crate::error::{Error, Result};

/// Smallest datagram that may carry a client Initial, and that may elicit Version Negotiation (RFC 9000
/// §14.1, §5.2.2).
pub const MIN_INITIAL_DATAGRAM: usize = 1200;

/// Shortest Destination Connection ID a client may choose for its first Initial (RFC 9000 §7.2).
pub const MIN_CLIENT_DCID: usize = 8;

/// A connection ID this server issues: 20 bytes, the first copied from the client's first DCID so that
/// every packet of a connection reaches the worker its first Initial reached (see `socket::Group`).
pub type Cid = [u8; quiche::MAX_CONN_ID_LEN];

/// When the server asks for address validation with a Retry (RFC 9000 §8.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryMode {
    /// Every new connection: no state at all before the client proves its address.
    Always,
    /// Once the half-open connections reach the threshold.
    Auto,
    /// Never: unvalidated clients are served within the 3x amplification limit (quiche enforces it).
    Never,
}

impl FromStr for RetryMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<RetryMode> {
        match s {
            "always" => Ok(RetryMode::Always),
            "auto" => Ok(RetryMode::Auto),
            "never" => Ok(RetryMode::Never),
            _ => Err(Error::invalid_field("retry", format!("retry must be always, auto or never, got {s:?}"))),
        }
    }
}

/// Parses an allowed source: `fd00::/64`, `10.0.0.0/8`, or one address (`::1`, `192.0.2.7`).
pub fn parse_prefix(text: &str) -> Result<IpNet> {
    let text = text.trim();
    let parsed = match text.contains('/') {
        true => IpNet::from_str(text).ok(),
        false => IpAddr::from_str(text).ok().map(IpNet::from),
    };
    parsed.map(|n| n.trunc()).ok_or_else(|| {
        Error::invalid_field("allow", format!("not an IP prefix: {text:?} (e.g. fd00::/64, 10.0.0.0/8)"))
    })
}

/// A peer's address as the allowlist sees it: IPv4 clients of a dual-stack socket arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The source prefix whose half-open connections are counted together: the /64 of an IPv6 address (one
/// host's or LAN's allocation), the whole address for IPv4.
pub type SourcePrefix = u128;

pub fn source_prefix(ip: IpAddr) -> SourcePrefix {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 64) - 1),
    }
}

/// A packet header, parsed by quiche and owned (the datagram stays free for quiche to decrypt).
#[derive(Debug)]
pub struct Packet {
    pub ty: quiche::Type,
    pub version: u32,
    pub dcid: quiche::ConnectionId<'static>,
    pub scid: quiche::ConnectionId<'static>,
    pub token: Option<Vec<u8>>,
}

impl Packet {
    pub fn parse(datagram: &mut [u8]) -> Option<Packet> {
        let h = quiche::Header::from_slice(datagram, quiche::MAX_CONN_ID_LEN).ok()?;
        Some(Packet {
            ty: h.ty,
            version: h.version,
            dcid: h.dcid.into_owned(),
            scid: h.scid.into_owned(),
            token: h.token,
        })
    }
}

/// Limits and policies of admission.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Sources that may connect; empty: everyone.
    pub allow: Vec<IpNet>,
    pub retry: RetryMode,
    /// Half-open connections (all sources) from which `RetryMode::Auto` asks for a Retry.
    pub retry_threshold: u64,
    /// Connections with state, half-open ones included.
    pub max_connections: u64,
    /// Half-open connections one source prefix may hold.
    pub max_half_open_per_prefix: u64,
    /// How long a Retry token stays valid.
    pub token_lifetime: std::time::Duration,
}

/// What to do with a datagram that belongs to no connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing (counted under its reason).
    Drop,
    /// Send the first `n` bytes of the reply buffer back to the sender: Version Negotiation, a Retry, or a
    /// CONNECTION_CLOSE sent without a connection.
    Reply(usize),
    /// Build a connection. A slot under the limits is reserved (`Gate::release` gives it back).
    Accept(Admitted),
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Admitted {
    /// The connection's ID, derived from the client's current DCID.
    pub cid: Cid,
    /// The DCID of the client's first Initial, when a Retry token proved the address.
    pub odcid: Option<([u8; quiche::MAX_CONN_ID_LEN], usize)>,
    pub prefix: SourcePrefix,
}

/// How much admission work (an Initial decryption, a Version Negotiation reply) a worker may do: token
/// buckets refilled with time, one for all sources and one per source bucket (a source prefix hashed into
/// one of `BUCKETS`). A flood thus costs a bounded share of a core, and a flood from one place leaves room
/// for clients elsewhere. A flood from spoofed addresses spread over many prefixes still takes the whole
/// budget: new clients then get in only now and then (they retransmit), established connections are not
/// affected. What a datagram beyond the budget costs: its read, a look at its header, a counter.
pub struct Budget {
    all: Bucket,
    per_source: Box<[Bucket; BUCKETS]>,
}

const BUCKETS: usize = 64;

/// Admission work per second and worker, for all sources together, and for one source bucket: above the
/// handshakes one core completes (quiche: about 5,700/s, a Retry each doubling the checks for the part
/// beyond the Retry threshold), and a flood from one source costs at most about 5% of a core.
pub const ADMISSIONS_PER_SECOND: f64 = 32_000.0;
pub const ADMISSIONS_PER_SECOND_PER_SOURCE: f64 = 8_000.0;

/// Admission work saved while idle, for all sources and for one: one host opening 1,000 connections at
/// once (each Initial, and again with its Retry token) is served at once, a few milliseconds of work.
pub const ADMISSION_BURST: f64 = 8192.0;
pub const ADMISSION_BURST_PER_SOURCE: f64 = 4096.0;

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64, now: Instant) -> Bucket {
        Bucket { tokens: burst, last: now, rate, burst }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }
}

impl Budget {
    pub fn new(now: Instant) -> Budget {
        Budget {
            all: Bucket::new(ADMISSIONS_PER_SECOND, ADMISSION_BURST, now),
            per_source: Box::new(
                [Bucket::new(ADMISSIONS_PER_SECOND_PER_SOURCE, ADMISSION_BURST_PER_SOURCE, now); BUCKETS],
            ),
        }
    }

    /// Takes one unit of work for a datagram from `prefix`, if both its source's and the overall budget allow.
    pub fn take(&mut self, prefix: SourcePrefix, now: Instant) -> bool {
        let folded = (prefix >> 64) as u64 ^ prefix as u64;
        let bucket = &mut self.per_source[(folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % BUCKETS];
        bucket.refill(now);
        self.all.refill(now);
        if bucket.tokens < 1.0 || self.all.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        self.all.tokens -= 1.0;
        true
    }
}

/// Admission state the workers share.
pub struct Gate {
    pub(crate) counters: Arc<Counters>,
    policy: Policy,
    tokens: TokenKey,
    /// Key of the connection-ID derivation.
    seed: [u8; 32],
    /// What every connection ID of this server carries at bytes 1 to 4 (`derive_cid`).
    cid_tag: u32,
    half_open_by_prefix: Mutex<HashMap<SourcePrefix, u64>>,
}

impl Gate {
    pub(crate) fn new(policy: Policy, counters: Arc<Counters>) -> Gate {
        let mut seed = [0u8; 32];
        crate::random_bytes(&mut seed);
        let tokens = TokenKey::generate(policy.token_lifetime);
        let tag = Sha256::new().chain_update(seed).chain_update(b"tag").finalize();
        let cid_tag = u32::from_be_bytes(tag[..4].try_into().expect("4 bytes"));
        Gate { counters, policy, tokens, seed, cid_tag, half_open_by_prefix: Mutex::new(HashMap::new()) }
    }

    /// The 4 bytes (big-endian) at bytes 1 to 4 of every connection ID of this server: the socket filter
    /// drops a short-header packet without them in the kernel (`filter::program`), so that random bytes
    /// for no connection cost the server nothing. Random per server, so a flood cannot be built to pass it
    /// blind; someone who saw one of the server's IDs can, and then costs what any unknown ID did before.
    pub fn cid_tag(&self) -> u32 {
        self.cid_tag
    }

    /// Whether `ip` may talk to the server at all.
    pub fn allowed(&self, ip: IpAddr) -> bool {
        self.policy.allow.is_empty() || {
            let ip = canonical(ip);
            self.policy.allow.iter().any(|n| n.contains(&ip))
        }
    }

    /// The server's connection ID for a client DCID (`domain` separates Retry IDs from connection IDs).
    /// Its first byte is the DCID's, which keeps the worker (`socket::steer_by_connection_id`); bytes 1 to 4
    /// are the server's `cid_tag`; the other 15 are keyed, so that nobody else can predict them.
    pub fn derive_cid(&self, dcid: &[u8], domain: u8) -> Cid {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update([domain]);
        h.update(dcid);
        let mut cid = [0; quiche::MAX_CONN_ID_LEN];
        cid.copy_from_slice(&h.finalize()[..quiche::MAX_CONN_ID_LEN]);
        cid[0] = dcid.first().copied().unwrap_or(0);
        cid[1..5].copy_from_slice(&self.cid_tag.to_be_bytes());
        cid
    }

    /// Decides about a datagram (`hdr` parsed from it) that matched no connection, once its admission work
    /// was budgeted (`Budget`); `scratch` is room to decrypt in, a reply to send goes into `reply`.
    pub fn admit(
        &self,
        hdr: &Packet,
        datagram: &[u8],
        from: SocketAddr,
        now: Instant,
        scratch: &mut [u8],
        reply: &mut [u8],
    ) -> Verdict {
        let c = &self.counters;
        let drop = |why| {
            c.dropped(why);
            Verdict::Drop
        };
        if hdr.ty == quiche::Type::VersionNegotiation || hdr.ty == quiche::Type::Retry {
            // Never answered (RFC 9000 §6.1: no Version Negotiation in response to one).
            return drop(Dropped::UnknownConnection);
        }
        if hdr.ty != quiche::Type::Short && !quiche::version_is_supported(hdr.version) {
            // RFC 9000 §5.2.2: Version Negotiation only for a datagram that could open a connection.
            if datagram.len() < MIN_INITIAL_DATAGRAM {
                return drop(Dropped::TooShort);
            }
            return match quiche::negotiate_version(&hdr.scid, &hdr.dcid, reply) {
                Ok(n) => {
                    c.version_negotiation_sent.fetch_add(1, Relaxed);
                    Verdict::Reply(n)
                }
                Err(_) => drop(Dropped::Garbage),
            };
        }
        if hdr.ty != quiche::Type::Initial {
            return drop(Dropped::UnknownConnection);
        }
        if datagram.len() < MIN_INITIAL_DATAGRAM {
            return drop(Dropped::TooShort);
        }
        if hdr.dcid.len() < MIN_CLIENT_DCID {
            return drop(Dropped::InvalidInitial);
        }
        if !initial::decrypts(datagram, &hdr.dcid, scratch) {
            return drop(Dropped::InvalidInitial);
        }
        let mut odcid = None;
        match hdr.token.as_deref().filter(|t| !t.is_empty()).map(|t| self.tokens.validate(now, from, &hdr.dcid, t)) {
            None => {}
            Some(Ok(o)) => {
                let mut id = [0u8; quiche::MAX_CONN_ID_LEN];
                id[..o.len()].copy_from_slice(o);
                odcid = Some((id, o.len()));
            }
            Some(Err(TokenError::Invalid)) => {
                // A Retry token of ours that fails: the client will not take another Retry, so it is told
                // at once (RFC 9000 §8.1.2) instead of timing out.
                c.tokens_invalid.fetch_add(1, Relaxed);
                return self.close(hdr, transport_error::INVALID_TOKEN, b"invalid address validation token", reply);
            }
            // Someone else's token (RFC 9000 §8.1.3): as if there were none.
            Some(Err(TokenError::Foreign)) => {
                c.tokens_invalid.fetch_add(1, Relaxed);
            }
        }
        if odcid.is_none() && self.wants_retry() {
            let rscid = self.derive_cid(&hdr.dcid, b'R');
            let mut token = [0u8; MAX_TOKEN_LEN];
            let n = self.tokens.mint(now, from, &hdr.dcid, &rscid, &mut token);
            let rscid = quiche::ConnectionId::from_ref(&rscid);
            return match quiche::retry(&hdr.scid, &hdr.dcid, &rscid, &token[..n], hdr.version, reply) {
                Ok(len) => {
                    c.retries_sent.fetch_add(1, Relaxed);
                    Verdict::Reply(len)
                }
                Err(_) => drop(Dropped::Garbage),
            };
        }
        let prefix = source_prefix(from.ip());
        match self.reserve(prefix) {
            Ok(()) => Verdict::Accept(Admitted { cid: self.derive_cid(&hdr.dcid, b'C'), odcid, prefix }),
            Err(Refusal::AtLimit) => {
                c.refused_at_limit.fetch_add(1, Relaxed);
                self.close(hdr, transport_error::CONNECTION_REFUSED, b"server at its connection limit", reply)
            }
            // A source holding this many half-open connections is flooding: no answer.
            Err(Refusal::Prefix) => {
                c.refused_prefix.fetch_add(1, Relaxed);
                Verdict::Drop
            }
        }
    }

    fn wants_retry(&self) -> bool {
        match self.policy.retry {
            RetryMode::Always => true,
            RetryMode::Never => false,
            RetryMode::Auto => self.counters.half_open.load(Relaxed) >= self.policy.retry_threshold,
        }
    }

    /// A CONNECTION_CLOSE in an Initial, sealed with the keys the client's DCID gives: no connection state.
    fn close(&self, hdr: &Packet, error: u64, reason: &[u8], reply: &mut [u8]) -> Verdict {
        let ours = self.derive_cid(&hdr.dcid, b'X');
        match initial::seal_close(&hdr.dcid, &hdr.scid, &ours, error, reason, reply) {
            Some(n) => Verdict::Reply(n),
            None => Verdict::Drop,
        }
    }

    /// Takes a slot for a new connection under both limits, or says which one is full.
    fn reserve(&self, prefix: SourcePrefix) -> std::result::Result<(), Refusal> {
        let c = &self.counters;
        c.open
            .fetch_update(Relaxed, Relaxed, |o| (o < self.policy.max_connections).then_some(o + 1))
            .map_err(|_| Refusal::AtLimit)?;
        let mut map = self.half_open_by_prefix.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(prefix).or_insert(0);
        if *n >= self.policy.max_half_open_per_prefix {
            if *n == 0 {
                map.remove(&prefix);
            }
            c.open.fetch_sub(1, Relaxed);
            return Err(Refusal::Prefix);
        }
        *n += 1;
        drop(map);
        let half_open = c.half_open.fetch_add(1, Relaxed) + 1;
        c.peak_half_open.fetch_max(half_open, Relaxed);
        Ok(())
    }

    /// The half-open connection of `prefix` completed its handshake or ended.
    pub fn no_longer_half_open(&self, prefix: SourcePrefix) {
        self.counters.half_open.fetch_sub(1, Relaxed);
        let mut map = self.half_open_by_prefix.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&prefix) {
            *n -= 1;
            if *n == 0 {
                map.remove(&prefix);
            }
        }
    }

    /// Gives back a reservation whose connection could not be built.
    pub fn release(&self, prefix: SourcePrefix) {
        self.no_longer_half_open(prefix);
        self.counters.open.fetch_sub(1, Relaxed);
    }

    /// Source prefixes holding half-open connections now (bounded by the half-open connections).
    pub fn prefixes_tracked(&self) -> usize {
        self.half_open_by_prefix.lock().map(|m| m.len()).unwrap_or(0)
    }
}

enum Refusal {
    AtLimit,
    Prefix,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_match_both_families() {
        let v6 = parse_prefix("fd00::/64").unwrap();
        let v4 = parse_prefix("10.0.0.0/8").unwrap();
        let one = parse_prefix("::1").unwrap();
        assert_eq!(parse_prefix("10.1.2.3/8").unwrap(), v4, "host bits are cleared");
        let gate = |allow: Vec<IpNet>| {
            let policy = Policy {
                allow,
                retry: RetryMode::Never,
                retry_threshold: 1,
                max_connections: 1,
                max_half_open_per_prefix: 1,
                token_lifetime: std::time::Duration::from_secs(1),
            };
            Gate::new(policy, Arc::default())
        };
        let g = gate(vec![v6, v4, one]);
        for (ip, ok) in [
            ("fd00::5", true),
            ("fd00:0:0:1::5", false),
            ("::1", true),
            ("::2", false),
            ("10.9.9.9", true),
            ("::ffff:10.9.9.9", true),
            ("11.0.0.1", false),
            ("::ffff:11.0.0.1", false),
        ] {
            assert_eq!(g.allowed(ip.parse().unwrap()), ok, "{ip}");
        }
        assert!(gate(vec![]).allowed("2001:db8::1".parse().unwrap()), "no list: everyone");
        for bad in ["", "fd00::/129", "10.0.0.0/33", "example.com", "fd00::/x"] {
            assert!(parse_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_prefixes_group_an_ipv6_64_and_one_ipv4_address() {
        let p = |s: &str| source_prefix(s.parse().unwrap());
        assert_eq!(p("2001:db8:1:2::1"), p("2001:db8:1:2:ffff::9"));
        assert_ne!(p("2001:db8:1:2::1"), p("2001:db8:1:3::1"));
        assert_eq!(p("192.0.2.1"), p("::ffff:192.0.2.1"));
        assert_ne!(p("192.0.2.1"), p("192.0.2.2"));
    }

    #[test]
    fn one_source_takes_at_most_its_share_of_the_admission_budget() {
        let t0 = Instant::now();
        let mut budget = Budget::new(t0);
        let flood = source_prefix("2001:db8::1".parse().unwrap());
        let burst = ADMISSION_BURST_PER_SOURCE as usize;
        assert_eq!((0..10_000).filter(|_| budget.take(flood, t0)).count(), burst, "its burst");
        let other = source_prefix("192.0.2.1".parse().unwrap());
        assert!(budget.take(other, t0), "another source still gets in");
        // Refilled with time, at its rate.
        let later = t0 + std::time::Duration::from_millis(5);
        let refilled = (0..10_000).filter(|_| budget.take(flood, later)).count();
        assert!((39..=40).contains(&refilled), "5 ms at 8,000/s: {refilled}");
        // Many sources share the overall budget, no more.
        let mut budget = Budget::new(t0);
        let taken =
            (0..100_000u32).filter(|i| budget.take(source_prefix(std::net::Ipv4Addr::from(*i).into()), t0)).count();
        assert_eq!(taken, ADMISSION_BURST as usize);
    }

    #[test]
    fn derived_ids_keep_the_first_byte_and_differ_by_domain() {
        let g = Gate::new(
            Policy {
                allow: vec![],
                retry: RetryMode::Auto,
                retry_threshold: 1,
                max_connections: 1,
                max_half_open_per_prefix: 1,
                token_lifetime: std::time::Duration::from_secs(1),
            },
            Arc::default(),
        );
        let a = g.derive_cid(&[0x37, 1, 2, 3, 4, 5, 6, 7], b'C');
        assert_eq!(a[0], 0x37);
        assert_eq!(a[1..5], g.cid_tag().to_be_bytes());
        assert_eq!(g.derive_cid(&[9; 20], b'R')[1..5], g.cid_tag().to_be_bytes());
        assert_ne!(a, g.derive_cid(&[0x37, 1, 2, 3, 4, 5, 6, 7], b'R'));
        assert_eq!(a, g.derive_cid(&[0x37, 1, 2, 3, 4, 5, 6, 7], b'C'));
    }
}
