//! What a run measures: per-interval snapshots, per-event latencies (raw ns and an HdrHistogram), CPU
//! time and memory. All times are CLOCK_MONOTONIC nanoseconds relative to the run's start.

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// One side's QUIC, pacing and CPU counters (quiche's `Stats` names where they are quiche's), cumulative:
/// an interval's figures are differences of two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SideCounters {
    /// QUIC packets (quiche's `sent`, `recv`).
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets declared lost and retransmitted (quiche's `lost`, `retrans`).
    pub lost: u64,
    pub retrans: u64,
    /// UDP payload bytes of those packets (quiche's `sent_bytes`, `recv_bytes`).
    pub udp_bytes_sent: u64,
    pub udp_bytes_received: u64,
    /// DATA_BLOCKED frames sent: times a send found the peer's connection credit exhausted (quiche's
    /// `data_blocked_sent_count`).
    pub data_blocked: u64,
    /// STREAM_DATA_BLOCKED frames sent: times a send found a stream's credit exhausted (quiche's
    /// `stream_data_blocked_sent_count`).
    pub stream_data_blocked: u64,
    /// Time packets waited for their pacing release time, ns, summed over connections.
    pub pacing_wait_ns: u64,
    /// Packets that followed another packet held for pacing: their bytes, and the span of their release
    /// times (quiche's `SendInfo.at`), ns. Their ratio is the rate of quiche's pacing schedule.
    pub paced_bytes: u64,
    pub paced_span_ns: u64,
    /// CPU time of the side's I/O threads, ns.
    pub cpu_ns: u64,
    /// Time the side's I/O threads were runnable but waited for a CPU, ns (the kernel's `run_delay`).
    pub run_delay_ns: u64,
}

impl SideCounters {
    /// quiche's counters of one connection.
    pub fn of_connection(conn: &crate::Connection) -> SideCounters {
        let st = conn.stats();
        SideCounters {
            packets_sent: st.sent as u64,
            packets_received: st.recv as u64,
            lost: st.lost as u64,
            retrans: st.retrans as u64,
            udp_bytes_sent: st.sent_bytes,
            udp_bytes_received: st.recv_bytes,
            data_blocked: st.data_blocked_sent_count,
            stream_data_blocked: st.stream_data_blocked_sent_count,
            ..SideCounters::default()
        }
    }

    pub fn add(&mut self, o: &SideCounters) {
        self.packets_sent += o.packets_sent;
        self.packets_received += o.packets_received;
        self.lost += o.lost;
        self.retrans += o.retrans;
        self.udp_bytes_sent += o.udp_bytes_sent;
        self.udp_bytes_received += o.udp_bytes_received;
        self.data_blocked += o.data_blocked;
        self.stream_data_blocked += o.stream_data_blocked;
        self.pacing_wait_ns += o.pacing_wait_ns;
        self.paced_bytes += o.paced_bytes;
        self.paced_span_ns += o.paced_span_ns;
        self.cpu_ns += o.cpu_ns;
        self.run_delay_ns += o.run_delay_ns;
    }

    /// The counts since `o` (a counter that went back, as a new connection's does, counts from 0).
    pub fn minus(&self, o: &SideCounters) -> SideCounters {
        SideCounters {
            packets_sent: self.packets_sent.saturating_sub(o.packets_sent),
            packets_received: self.packets_received.saturating_sub(o.packets_received),
            lost: self.lost.saturating_sub(o.lost),
            retrans: self.retrans.saturating_sub(o.retrans),
            udp_bytes_sent: self.udp_bytes_sent.saturating_sub(o.udp_bytes_sent),
            udp_bytes_received: self.udp_bytes_received.saturating_sub(o.udp_bytes_received),
            data_blocked: self.data_blocked.saturating_sub(o.data_blocked),
            stream_data_blocked: self.stream_data_blocked.saturating_sub(o.stream_data_blocked),
            pacing_wait_ns: self.pacing_wait_ns.saturating_sub(o.pacing_wait_ns),
            paced_bytes: self.paced_bytes.saturating_sub(o.paced_bytes),
            paced_span_ns: self.paced_span_ns.saturating_sub(o.paced_span_ns),
            cpu_ns: self.cpu_ns.saturating_sub(o.cpu_ns),
            run_delay_ns: self.run_delay_ns.saturating_sub(o.run_delay_ns),
        }
    }

    /// One I/O thread's time, as a side's CPU counters.
    pub fn of_thread(t: ThreadTime) -> SideCounters {
        SideCounters { cpu_ns: t.cpu_ns, run_delay_ns: t.run_delay_ns, ..SideCounters::default() }
    }

    /// The thread time these counters hold.
    pub fn thread(&self) -> ThreadTime {
        ThreadTime { cpu_ns: self.cpu_ns, run_delay_ns: self.run_delay_ns }
    }
}

/// An I/O thread's time: on a CPU, and runnable but waiting for one. Their sum over a period is the time
/// the thread wanted a CPU: near the whole period, the thread is CPU-bound, however busy the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadTime {
    /// On a CPU, ns (CLOCK_THREAD_CPUTIME_ID).
    pub cpu_ns: u64,
    /// Runnable, waiting for a CPU, ns (`run_delay` of /proc/thread-self/schedstat; 0 where not available).
    pub run_delay_ns: u64,
}

impl ThreadTime {
    /// The calling thread's time so far.
    pub fn now() -> ThreadTime {
        ThreadTime { cpu_ns: thread_cpu_ns(), run_delay_ns: thread_run_delay_ns() }
    }

    pub fn minus(&self, o: &ThreadTime) -> ThreadTime {
        ThreadTime {
            cpu_ns: self.cpu_ns.saturating_sub(o.cpu_ns),
            run_delay_ns: self.run_delay_ns.saturating_sub(o.run_delay_ns),
        }
    }

    /// On a CPU or waiting for one, ns.
    pub fn busy_ns(&self) -> u64 {
        self.cpu_ns + self.run_delay_ns
    }

    /// The busier of two threads.
    pub fn busier(self, o: ThreadTime) -> ThreadTime {
        if o.busy_ns() > self.busy_ns() {
            o
        } else {
            self
        }
    }
}

/// Cumulative counters of one client worker: application bytes and completions, and its side's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Application payload bytes (the 8-byte perf header not included).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Requests, round trips or handshakes completed.
    pub completed: u64,
    /// The client's QUIC, pacing and CPU counters.
    pub side: SideCounters,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        self.completed += o.completed;
        self.side.add(&o.side);
    }

    pub fn minus(&self, o: &Counters) -> Counters {
        Counters {
            bytes_sent: self.bytes_sent - o.bytes_sent,
            bytes_received: self.bytes_received - o.bytes_received,
            completed: self.completed - o.completed,
            side: self.side.minus(&o.side),
        }
    }
}

/// quiche's path state of one connection at one moment (its `PathStats` names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathSample {
    /// Smoothed RTT, ns: quiche's initial guess (333 ms) until the first RTT sample.
    pub rtt_ns: u64,
    /// Smallest RTT seen, ns; None until the first RTT sample.
    pub min_rtt_ns: Option<u64>,
    pub rttvar_ns: u64,
    /// Congestion window, bytes.
    pub cwnd: u64,
    /// Delivery-rate estimate, bytes per second.
    pub delivery_rate: u64,
    /// Path MTU, bytes.
    pub pmtu: u64,
}

impl PathSample {
    pub fn of(conn: &crate::Connection) -> Option<PathSample> {
        conn.path_stats().next().map(|p| PathSample {
            rtt_ns: p.rtt.as_nanos() as u64,
            min_rtt_ns: p.min_rtt.map(|d| d.as_nanos() as u64),
            rttvar_ns: p.rttvar.as_nanos() as u64,
            cwnd: p.cwnd as u64,
            delivery_rate: p.delivery_rate,
            pmtu: p.pmtu as u64,
        })
    }

    /// quiche has measured an RTT: until then `rtt_ns` is its initial guess, not a measurement.
    pub fn has_rtt_sample(&self) -> bool {
        self.min_rtt_ns.is_some()
    }
}

/// Path state at an interval's end, over the connections that received packets in the interval (a
/// connection that heard nothing has nothing measured behind its figures). RTTs only from connections with
/// an RTT sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathGauges {
    /// Connections the figures cover: those that received packets in the interval.
    pub connections: u32,
    /// Of those, connections with an RTT sample.
    pub rtt_connections: u32,
    /// Smoothed RTTs and RTT variations, summed over `rtt_connections`, ns.
    pub rtt_sum_ns: u64,
    pub rttvar_sum_ns: u64,
    /// Smallest RTT seen, ns.
    pub min_rtt_ns: Option<u64>,
    /// Congestion windows, summed, bytes.
    pub cwnd: u64,
    /// Delivery-rate estimates, summed, bytes per second.
    pub delivery_rate: u64,
    /// Path MTU, smallest, bytes.
    pub pmtu: Option<u64>,
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl PathGauges {
    /// Adds one connection that received packets in the interval.
    pub fn add(&mut self, p: &PathSample) {
        self.connections += 1;
        if p.has_rtt_sample() {
            self.rtt_connections += 1;
            self.rtt_sum_ns += p.rtt_ns;
            self.rttvar_sum_ns += p.rttvar_ns;
            self.min_rtt_ns = min_some(self.min_rtt_ns, p.min_rtt_ns);
        }
        self.cwnd += p.cwnd;
        self.delivery_rate += p.delivery_rate;
        self.pmtu = min_some(self.pmtu, Some(p.pmtu));
    }

    /// Combines two workers' gauges.
    pub fn merge(&mut self, o: &PathGauges) {
        self.connections += o.connections;
        self.rtt_connections += o.rtt_connections;
        self.rtt_sum_ns += o.rtt_sum_ns;
        self.rttvar_sum_ns += o.rttvar_sum_ns;
        self.min_rtt_ns = min_some(self.min_rtt_ns, o.min_rtt_ns);
        self.cwnd += o.cwnd;
        self.delivery_rate += o.delivery_rate;
        self.pmtu = min_some(self.pmtu, o.pmtu);
    }

    /// Mean smoothed RTT, ns; None without an RTT sample.
    pub fn rtt_ns(&self) -> Option<u64> {
        (self.rtt_connections > 0).then(|| self.rtt_sum_ns / self.rtt_connections as u64)
    }

    /// Mean RTT variation, ns; None without an RTT sample.
    pub fn rttvar_ns(&self) -> Option<u64> {
        (self.rtt_connections > 0).then(|| self.rttvar_sum_ns / self.rtt_connections as u64)
    }
}

/// One side of an interval: its counts in the interval, the time of its busiest I/O thread, and its path
/// state at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideInterval {
    pub counters: SideCounters,
    /// The side's busiest I/O thread in the interval (the most time on a CPU or waiting for one).
    pub busiest_thread: ThreadTime,
    pub path: PathGauges,
}

/// One interval of a run, all workers combined.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    pub index: u32,
    /// Start and end, ns since the run started.
    pub start_ns: u64,
    pub end_ns: u64,
    /// Application payload bytes and completions within this interval (the client's).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub completed: u64,
    pub client: SideInterval,
    /// The server's side, when the server shares it.
    pub server: Option<SideInterval>,
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

/// Time the calling thread was runnable but waited for a CPU, ns (`run_delay`, the second field of
/// /proc/thread-self/schedstat); 0 where the kernel does not keep it.
pub fn thread_run_delay_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
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
