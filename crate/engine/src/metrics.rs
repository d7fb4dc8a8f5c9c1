//! What a run measures: per-interval snapshots, per-event latencies (raw ns and an HdrHistogram), CPU
//! time and memory. All times are CLOCK_MONOTONIC nanoseconds relative to the run's start.

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Cumulative counters of one worker; intervals are differences of two of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Application payload bytes (the 8-byte perf header not included).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// QUIC packets (quiche's count).
    pub packets_sent: u64,
    pub packets_received: u64,
    pub lost: u64,
    pub retrans: u64,
    /// UDP payload bytes of those packets (what the kernel counts, less IP/UDP/L2 headers).
    pub udp_bytes_sent: u64,
    pub udp_bytes_received: u64,
    /// Requests, round trips or handshakes completed.
    pub completed: u64,
    /// CPU time used by the worker thread, ns.
    pub cpu_ns: u64,
}

impl Counters {
    /// quiche's packet counts for one connection.
    pub fn of_connection(conn: &crate::Connection) -> Counters {
        let st = conn.stats();
        Counters {
            packets_sent: st.sent as u64,
            packets_received: st.recv as u64,
            lost: st.lost as u64,
            retrans: st.retrans as u64,
            udp_bytes_sent: st.sent_bytes,
            udp_bytes_received: st.recv_bytes,
            ..Counters::default()
        }
    }

    pub fn add(&mut self, o: &Counters) {
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        self.packets_sent += o.packets_sent;
        self.packets_received += o.packets_received;
        self.lost += o.lost;
        self.retrans += o.retrans;
        self.udp_bytes_sent += o.udp_bytes_sent;
        self.udp_bytes_received += o.udp_bytes_received;
        self.completed += o.completed;
        self.cpu_ns += o.cpu_ns;
    }

    pub fn minus(&self, o: &Counters) -> Counters {
        Counters {
            bytes_sent: self.bytes_sent - o.bytes_sent,
            bytes_received: self.bytes_received - o.bytes_received,
            packets_sent: self.packets_sent.saturating_sub(o.packets_sent),
            packets_received: self.packets_received.saturating_sub(o.packets_received),
            lost: self.lost.saturating_sub(o.lost),
            retrans: self.retrans.saturating_sub(o.retrans),
            udp_bytes_sent: self.udp_bytes_sent.saturating_sub(o.udp_bytes_sent),
            udp_bytes_received: self.udp_bytes_received.saturating_sub(o.udp_bytes_received),
            completed: self.completed - o.completed,
            cpu_ns: self.cpu_ns.saturating_sub(o.cpu_ns),
        }
    }
}

/// quiche's path statistics at one moment, summed or averaged over a worker's open connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathGauges {
    /// Open connections the gauges cover.
    pub connections: u32,
    /// Smoothed RTT, mean over connections, ns.
    pub rtt_ns: u64,
    /// Smallest RTT seen on any connection, ns (0 when none yet).
    pub min_rtt_ns: u64,
    /// RTT variation, mean over connections, ns.
    pub rttvar_ns: u64,
    /// Congestion windows, summed, bytes.
    pub cwnd: u64,
    /// Delivery-rate estimates, summed, bytes per second.
    pub delivery_rate: u64,
    /// Path MTU (smallest over connections), bytes.
    pub pmtu: u64,
}

impl PathGauges {
    pub fn of(conns: impl Iterator<Item = quiche::PathStats>) -> PathGauges {
        let mut g = PathGauges::default();
        let (mut rtt, mut var) = (0u128, 0u128);
        for p in conns {
            g.connections += 1;
            rtt += p.rtt.as_nanos();
            var += p.rttvar.as_nanos();
            if let Some(m) = p.min_rtt {
                let m = m.as_nanos() as u64;
                g.min_rtt_ns = if g.min_rtt_ns == 0 { m } else { g.min_rtt_ns.min(m) };
            }
            g.cwnd += p.cwnd as u64;
            g.delivery_rate += p.delivery_rate;
            g.pmtu = if g.pmtu == 0 { p.pmtu as u64 } else { g.pmtu.min(p.pmtu as u64) };
        }
        if g.connections > 0 {
            g.rtt_ns = (rtt / g.connections as u128) as u64;
            g.rttvar_ns = (var / g.connections as u128) as u64;
        }
        g
    }

    /// Combines two workers' gauges (weights by connection count).
    pub fn merge(&mut self, o: &PathGauges) {
        let n = self.connections + o.connections;
        if n == 0 {
            return;
        }
        let w = |a: u64, b: u64| {
            ((a as u128 * self.connections as u128 + b as u128 * o.connections as u128) / n as u128) as u64
        };
        self.rtt_ns = w(self.rtt_ns, o.rtt_ns);
        self.rttvar_ns = w(self.rttvar_ns, o.rttvar_ns);
        let min_nonzero = |a: u64, b: u64| {
            if a == 0 {
                b
            } else if b == 0 {
                a
            } else {
                a.min(b)
            }
        };
        self.min_rtt_ns = min_nonzero(self.min_rtt_ns, o.min_rtt_ns);
        self.pmtu = min_nonzero(self.pmtu, o.pmtu);
        self.cwnd += o.cwnd;
        self.delivery_rate += o.delivery_rate;
        self.connections = n;
    }
}

/// One interval of a run, all workers combined.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    pub index: u32,
    /// Start and end, ns since the run started.
    pub start_ns: u64,
    pub end_ns: u64,
    /// Counts within this interval.
    #[serde(flatten)]
    pub delta: Counters,
    /// Path state at the interval's end.
    #[serde(flatten)]
    pub path: PathGauges,
}

/// Latency samples of one worker: raw ns (kept in order) and an HdrHistogram.
pub struct Latencies {
    pub raw_ns: Vec<u64>,
    /// When each sample completed, ns since the run started.
    pub at_ns: Vec<u64>,
    pub histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            raw_ns: Vec::new(),
            at_ns: Vec::new(),
            // 1 ns to 1 hour at 3 significant digits.
            histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds"),
        }
    }
}

impl Latencies {
    pub fn record(&mut self, ns: u64, at_ns: u64) {
        self.raw_ns.push(ns);
        self.at_ns.push(at_ns);
        self.histogram.saturating_record(ns.max(1));
    }

    pub fn append(&mut self, mut o: Latencies) {
        self.raw_ns.append(&mut o.raw_ns);
        self.at_ns.append(&mut o.at_ns);
        self.histogram.add(&o.histogram).expect("histograms share bounds");
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        (!h.is_empty()).then(|| LatencySummary {
            n: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            histogram: encode_histogram(h),
        })
    }
}

/// A histogram in HdrHistogram's standard compressed V2 encoding (the V2 payload deflated with zlib, cookie
/// 0x1c849304), in base64: the "HISTFAAA..." text the Java, C, Rust and JavaScript implementations all read.
/// None only if the encoder fails, which writing into memory does not.
pub fn encode_histogram(h: &Histogram<u64>) -> Option<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Latency percentiles from the HdrHistogram (values within 0.1% of the exact sample quantile).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    pub n: u64,
    pub min_ns: u64,
    pub mean_ns: f64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Every sample's bucket: the histogram (ns, 1 ns to 1 hour, 3 significant digits) in the compressed V2
    /// encoding, base64 ([`encode_histogram`]). Summing these gives the exact histogram of many runs.
    pub histogram: Option<String>,
}

/// CPU time used by the calling thread, ns.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> u64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    fn decode(text: &str) -> Histogram<u64> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).expect("base64");
        Deserializer::new().deserialize(&mut bytes.as_slice()).expect("a V2 histogram")
    }

    #[test]
    fn the_summary_carries_the_histogram_in_the_compressed_v2_encoding() {
        let mut l = Latencies::default();
        for (i, ns) in [1u64, 999, 51_234, 51_240, 7_000_000, 3_599_999_999_999].into_iter().enumerate() {
            l.record(ns, i as u64);
        }
        let text = l.summary().expect("samples").histogram.expect("encoded");
        // base64 of the compressed V2 cookie 0x1c849304
        assert!(text.starts_with("HISTFAAA"), "{text}");
        let back = decode(&text);
        assert_eq!(back, l.histogram);
        assert_eq!(back.len(), 6);
    }

    #[test]
    fn reads_the_encoding_of_another_implementation() {
        // A histogram of the same range and precision as a merge writes it (hdr-histogram-js 3.0.1, its header
        // written as Java writes it; test/fleet/histogram.test.ts makes the same text):
        // 1 ns once, 999 ns twice, 51234 ns three times, 7 ms four times, 3_599_999_999_999 ns once.
        let js = "HISTFAAAADF4nJNpmSzMwMDAzwABzFCakYGB2c1gxwIG+w9QEaaT/CwbI9kuF3LsXc/EBAC0dAkE";
        let h = decode(js);
        let mut ours = Latencies::default().histogram;
        for (ns, n) in [(1u64, 1u64), (999, 2), (51_234, 3), (7_000_000, 4), (3_599_999_999_999, 1)] {
            ours.record_n(ns, n).expect("in range");
        }
        assert_eq!(h.len(), 11);
        for v in ours.iter_recorded() {
            assert_eq!(h.count_at(v.value_iterated_to()), v.count_at_value(), "bucket of {}", v.value_iterated_to());
        }
        assert_eq!(h.value_at_quantile(0.5), ours.value_at_quantile(0.5));
    }
}
