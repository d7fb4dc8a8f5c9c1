// The Prometheus endpoint of `stoq-bench monitor` (prom-client, on its own registry): GET /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { StoqError } from '../errors.js';
import { parseAddress } from '../units.js';
import { HEALTH_STATES, type HealthState } from './health.js';

/** RTT buckets, seconds: 10 us to 1 s. */
const RTT_BUCKETS = [10e-6, 25e-6, 50e-6, 75e-6, 100e-6, 150e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1];

export class MonitorMetrics {
  readonly registry = new Registry();
  readonly rtt: Histogram;
  readonly rttWindow: Gauge;
  readonly windowSamples: Gauge;
  readonly goodput: Gauge;
  readonly goodputHistogram: Histogram;
  readonly health: Gauge;
  readonly healthState: Gauge;
  readonly up: Gauge;
  readonly probes: Counter;
  readonly bursts: Counter;
  readonly lastProbe: Gauge;

  constructor(target: string) {
    this.registry.setDefaultLabels({ target });
    const registers = [this.registry];
    this.rtt = new Histogram({ name: 'stoq_bench_monitor_rtt_seconds', help: 'Round-trip time of each probe round trip (QUIC perf request, 64 B each way)', buckets: RTT_BUCKETS, registers });
    this.rttWindow = new Gauge({ name: 'stoq_bench_monitor_rtt_window_seconds', help: 'Round-trip time percentiles over the sliding window (type 7)', labelNames: ['quantile'], registers });
    this.windowSamples = new Gauge({ name: 'stoq_bench_monitor_window_samples', help: 'Round trips in the sliding window', registers });
    this.goodput = new Gauge({ name: 'stoq_bench_monitor_goodput_bits_per_second', help: 'Goodput of the last throughput burst (application payload)', registers });
    this.goodputHistogram = new Histogram({
      name: 'stoq_bench_monitor_burst_goodput_bits_per_second',
      help: 'Goodput of each throughput burst',
      buckets: [1e6, 10e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9, 10e9, 25e9, 50e9, 100e9],
      registers,
    });
    this.health = new Gauge({ name: 'stoq_bench_monitor_health', help: 'Health: 0 Healthy, 1 Degraded, 2 Critical', registers });
    this.healthState = new Gauge({ name: 'stoq_bench_monitor_health_state', help: 'Health as a state set (1 for the current state)', labelNames: ['state'], registers });
    this.up = new Gauge({ name: 'stoq_bench_monitor_target_up', help: '1 when the last probe completed, 0 when it failed', registers });
    this.probes = new Counter({ name: 'stoq_bench_monitor_probes_total', help: 'Probes run, by result', labelNames: ['result'], registers });
    this.bursts = new Counter({ name: 'stoq_bench_monitor_bursts_total', help: 'Throughput bursts run, by result', labelNames: ['result'], registers });
    this.lastProbe = new Gauge({ name: 'stoq_bench_monitor_last_probe_timestamp_seconds', help: 'Unix time of the last probe', registers });
    for (const r of ['ok', 'failed']) {
      this.probes.inc({ result: r }, 0);
      this.bursts.inc({ result: r }, 0);
    }
  }

  setHealth(state: HealthState): void {
    this.health.set(HEALTH_STATES.indexOf(state));
    for (const s of HEALTH_STATES) this.healthState.set({ state: s }, s === state ? 1 : 0);
  }
}

/** Serves the registry on `address` (`[::1]:9464`; port 0 picks one); resolves with the bound address. */
export async function serveMetrics(registry: Registry, address: string): Promise<{ address: string; close(): Promise<void> }> {
  const { host, port } = parseAddress(address, 'listen');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new StoqError('IO', `--metrics ${address}: cannot listen (${error.code ?? error.message})`, { cause: error })),
    );
    server.listen({ host, port }, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return {
    address: shown,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
