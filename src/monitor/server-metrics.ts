// The Prometheus metrics of `stoq-bench server` (prom-client, on its own registry): every counter of the
// server's stats, read from the engine at scrape time, with drops, refusals and connection ends by reason.
import { Counter, Gauge, Registry } from 'prom-client';
import type { LiveServerStats } from '../server.js';

type Counted = Exclude<keyof LiveServerStats, 'rssPerConnectionBytes'>;

/** Datagrams dropped before any connection: label value -> stats field. */
const DROPPED: Record<string, Counted> = {
  zero_length: 'zeroLength',
  garbage: 'garbageDatagrams',
  unknown_connection: 'unknownConnection',
  too_short: 'tooShort',
  invalid_initial: 'invalidInitial',
  not_allowed: 'notAllowed',
  shed: 'shed',
};

/** How connections ended: label value -> stats field. */
const ENDED: Record<string, Counted> = {
  clean: 'closedCleanly',
  errored: 'errored',
  idle_timeout: 'idleTimeouts',
  handshake_timeout: 'handshakeTimeouts',
  handshake_failed: 'handshakeFailures',
  at_stop: 'closedAtStop',
};

/** Initials refused before any state: label value -> stats field. */
const REFUSED: Record<string, Counted> = {
  max_connections: 'refusedAtLimit',
  prefix_half_open: 'refusedPrefix',
};

/** Replies sent without a connection: label value -> stats field. */
const REPLIES: Record<string, Counted> = {
  version_negotiation: 'versionNegotiationSent',
  retry: 'retriesSent',
};

export class ServerMetrics {
  readonly registry = new Registry();

  /** `read` gives the server's stats now; it is called once per scrape. */
  constructor(read: () => LiveServerStats, labels: { address: string }) {
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    let scraped: LiveServerStats | undefined;
    // One read per scrape, shared by every metric (each metric's collect runs in turn).
    const stats = () => (scraped ??= read());
    const counter = (name: string, help: string, field: Counted) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(stats()[field]);
        },
      });
    const byLabel = (name: string, help: string, label: string, fields: Record<string, Counted>) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const [value, field] of Object.entries(fields)) this.inc({ [label]: value }, stats()[field]);
        },
      });
    const gauge = (name: string, help: string, field: Counted) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(stats()[field]);
        },
      });
    // The first metric collected takes a fresh snapshot; the last one lets the next scrape take another.
    new Gauge({
      name: 'stoq_bench_server_up',
      help: '1 while the server serves',
      registers,
      collect() {
        scraped = undefined;
        this.set(1);
      },
    });
    gauge('stoq_bench_server_connections_open', 'Connections with state now, half-open included', 'openConnections');
    gauge('stoq_bench_server_connections_half_open', 'Connections whose handshake has not completed', 'halfOpen');
    counter('stoq_bench_server_connections_accepted_total', 'Connections built (a decryptable Initial that passed admission)', 'accepted');
    counter('stoq_bench_server_connections_validated_total', 'Connections built on a valid Retry token (address validated)', 'validated');
    byLabel('stoq_bench_server_connections_closed_total', 'Connections ended, by how', 'outcome', ENDED);
    byLabel('stoq_bench_server_datagrams_dropped_total', 'Datagrams dropped before any connection, by reason', 'reason', DROPPED);
    byLabel('stoq_bench_server_stateless_replies_total', 'Replies sent without a connection, by kind', 'kind', REPLIES);
    byLabel('stoq_bench_server_initials_refused_total', 'Initials refused before any state, by limit', 'limit', REFUSED);
    counter(
      'stoq_bench_server_kernel_shed_rules_total',
      'Times the socket filter began shedding the Initials of a source flooding beyond its admission budget',
      'kernelShedRules',
    );
    counter(
      'stoq_bench_server_kernel_shed_drops_total',
      "The server sockets' kernel drops while shedding rules were in place (the shed Initials and any other kernel drop then)",
      'kernelShedDrops',
    );
    counter(
      'stoq_bench_server_fair_share_waits_total',
      "Times admission work waited because it had taken its share of a worker's time while connections moved data",
      'fairShareWaits',
    );
    counter('stoq_bench_server_tokens_invalid_total', 'Initials whose address-validation token was not valid', 'tokensInvalid');
    counter('stoq_bench_server_streams_total', 'Requests (perf streams) served', 'streams');
    counter('stoq_bench_server_streams_rejected_total', 'Requests refused with perf error 2 (above the largest response)', 'streamsRejected');
    counter('stoq_bench_server_sent_bytes_total', 'Application payload bytes sent, as handed to QUIC', 'bytesSent');
    counter('stoq_bench_server_received_bytes_total', 'Application payload bytes received', 'bytesReceived');
    gauge('stoq_bench_server_resident_memory_bytes', 'Resident memory of the server process', 'rssBytes');
    counter('stoq_bench_server_memory_trims_total', 'Times freed memory was handed back to the kernel', 'memoryTrims');
  }
}
