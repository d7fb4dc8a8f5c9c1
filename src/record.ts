// The run record: what one run measured, as versioned data (schema/run-record.schema.json).
import os from 'node:os';
import type { Scenario } from './scenario.js';
import type { ServerStats } from './server.js';
import { VERSION } from './version.js';
import { fingerprintOf, testbedIdentity } from './environment.js';

export const SCHEMA_VERSION = 1;

/** Which fast-path features were really in effect (not merely available). */
export interface FastPath {
  gsoAvailable: boolean;
  gso: boolean;
  gsoMaxSegmentsUsed: number;
  groAvailable: boolean;
  gro: boolean;
  recvmmsg: boolean;
  sendmmsg: boolean;
  sendBufferBytes: number;
  recvBufferBytes: number;
  buffersForced: boolean;
  socketDrops: number;
  sendCalls: number;
  datagramsSent: number;
  recvCalls: number;
  datagramsReceived: number;
}

export interface Environment {
  /** Hash of what makes two testbeds comparable: CPU, core count, kernel, engine build. */
  fingerprint: string;
  hostname: string;
  os: string;
  kernel: string;
  cpu: { model: string; count: number };
  node: string;
  build: 'release';
  /** UDP GSO / GRO really used by the client in this run. */
  gso: boolean;
  gro: boolean;
  pacing: 'user-space' | 'off';
  fastPath: FastPath;
  /** The embedded server's fast path (absent against a remote target). */
  serverFastPath?: FastPath;
}

export interface IntervalRecord {
  index: number;
  startS: number;
  endS: number;
  bytesSent: number;
  bytesReceived: number;
  /** Application payload, both directions, bits per second. */
  goodputBps: number;
  packetsSent: number;
  packetsReceived: number;
  /** Requests, round trips or handshakes completed in the interval. */
  completed: number;
  /** Open connections and quiche's path stats at the interval's end. */
  connections: number;
  rttUs: number;
  minRttUs: number;
  rttvarUs: number;
  cwnd: number;
  lost: number;
  retrans: number;
  deliveryRateBps: number;
  pmtu: number;
  /** Client CPU time used in the interval, seconds. */
  cpuS: number;
}

export interface LatencyRecord {
  unit: 'us';
  /** Percentiles from an HdrHistogram at 3 significant digits (within 0.1% of the sample quantile). */
  method: 'hdrhistogram-3';
  n: number;
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export interface ErrorRecord {
  code: string;
  message: string;
}

export interface ConnectionRecord {
  index: number;
  state: RunState;
  error?: ErrorRecord;
  bytesSent: number;
  bytesReceived: number;
  streamsCompleted: number;
  streamsFailed: number;
  handshakeUs: number | null;
  packetsSent: number;
  packetsReceived: number;
  lost: number;
  retrans: number;
  rttUs: number;
  minRttUs: number;
  cwnd: number;
  pmtu: number;
}

export type RunState = 'completed' | 'cancelled' | 'errored';

/** What a run counted, as the engine reports it and the record repeats it. */
export interface RunCounters {
  /** Application payload bytes (the 8-byte perf header not included). */
  bytesSent: number;
  bytesReceived: number;
  /** QUIC packets, as quiche counts them. */
  packetsSent: number;
  packetsReceived: number;
  /** UDP payload bytes of those packets: the kernel's interface counters less IP, UDP and L2 headers. */
  udpBytesSent: number;
  udpBytesReceived: number;
  lost: number;
  retrans: number;
  /** Requests, round trips or handshakes completed. */
  completed: number;
}

export interface EndRecord extends RunCounters {
  state: RunState;
  error?: ErrorRecord;
  /** From the first connect until the last byte was confirmed, seconds. */
  durationS: number;
  /** Application payload, both directions, bits per second over `durationS`. */
  goodputBps: number;
  requestsPerSecond?: number;
  handshakesPerSecond?: number;
  latency?: LatencyRecord;
  connections: { total: number; completed: number; errored: number; cancelled: number };
  /** Client CPU time, seconds. */
  cpuS: number;
  /** Interval snapshots not shown live because the consumer lagged (all are in `intervals`). */
  snapshotsDropped: number;
  /** The embedded server's counters, memory per connection included. */
  server?: ServerStats;
}

export interface RunRecord {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'stoq-bench'; version: string };
  session: { id: string; run: number; runs: number };
  startedAt: string;
  target: string;
  embeddedServer: boolean;
  scenario: Scenario;
  environment: Environment;
  intervals: IntervalRecord[];
  connections: ConnectionRecord[];
  end: EndRecord;
  /** Raw latency samples (requests, round trips, handshakes), microseconds, in completion order. */
  samples?: { latencyUs: number[] };
}

/** The engine's result (JSON from the binding), as produced by `stoq_engine::RunResult`. */
export interface EngineResult {
  state: RunState;
  error?: ErrorRecord;
  durationNs: number;
  totals: EngineCounters;
  intervals: EngineInterval[];
  connections: Array<Omit<ConnectionRecord, 'handshakeUs' | 'rttUs' | 'minRttUs'> & {
    handshakeNs: number | null;
    rttNs: number;
    minRttNs: number;
  }>;
  fastPath: FastPath;
  pacing: 'user-space' | 'off';
  latency: null | { n: number; minNs: number; meanNs: number; p50Ns: number; p90Ns: number; p99Ns: number; p999Ns: number; maxNs: number };
}

interface EngineCounters extends RunCounters {
  cpuNs: number;
}

export interface EngineInterval extends EngineCounters {
  index: number;
  startNs: number;
  endNs: number;
  connections: number;
  rttNs: number;
  minRttNs: number;
  rttvarNs: number;
  cwnd: number;
  deliveryRate: number;
  pmtu: number;
}

const us = (ns: number) => ns / 1e3;
const bps = (bytes: number, ns: number) => (ns > 0 ? (bytes * 8 * 1e9) / ns : 0);

export function intervalRecord(i: EngineInterval): IntervalRecord {
  const dt = i.endNs - i.startNs;
  return {
    index: i.index,
    startS: i.startNs / 1e9,
    endS: i.endNs / 1e9,
    bytesSent: i.bytesSent,
    bytesReceived: i.bytesReceived,
    goodputBps: bps(i.bytesSent + i.bytesReceived, dt),
    packetsSent: i.packetsSent,
    packetsReceived: i.packetsReceived,
    completed: i.completed,
    connections: i.connections,
    rttUs: us(i.rttNs),
    minRttUs: us(i.minRttNs),
    rttvarUs: us(i.rttvarNs),
    cwnd: i.cwnd,
    lost: i.lost,
    retrans: i.retrans,
    deliveryRateBps: i.deliveryRate * 8,
    pmtu: i.pmtu,
    cpuS: i.cpuNs / 1e9,
  };
}

export interface RecordContext {
  scenario: Scenario;
  target: string;
  embeddedServer: boolean;
  startedAt: Date;
  session: { id: string; run: number; runs: number };
  snapshotsDropped: number;
  latencyNs: BigUint64Array;
  server?: { stats: ServerStats; fastPath: FastPath };
}

/** Turns the engine's result into a run record. */
export function buildRecord(result: EngineResult, ctx: RecordContext): RunRecord {
  const t = result.totals;
  const kind = ctx.scenario.kind;
  const rate = result.durationNs > 0 ? (t.completed * 1e9) / result.durationNs : 0;
  const count = (state: RunState) => result.connections.filter((c) => c.state === state).length;
  const l = result.latency;
  const end: EndRecord = {
    state: result.state,
    ...(result.error ? { error: result.error } : {}),
    durationS: result.durationNs / 1e9,
    bytesSent: t.bytesSent,
    bytesReceived: t.bytesReceived,
    goodputBps: bps(t.bytesSent + t.bytesReceived, result.durationNs),
    packetsSent: t.packetsSent,
    packetsReceived: t.packetsReceived,
    udpBytesSent: t.udpBytesSent,
    udpBytesReceived: t.udpBytesReceived,
    lost: t.lost,
    retrans: t.retrans,
    completed: t.completed,
    ...(kind === 'requests' || kind === 'latency' ? { requestsPerSecond: rate } : {}),
    ...(kind === 'handshakes' ? { handshakesPerSecond: rate } : {}),
    ...(l
      ? {
          latency: {
            unit: 'us',
            method: 'hdrhistogram-3',
            n: l.n,
            minUs: us(l.minNs),
            meanUs: us(l.meanNs),
            p50Us: us(l.p50Ns),
            p90Us: us(l.p90Ns),
            p99Us: us(l.p99Ns),
            p999Us: us(l.p999Ns),
            maxUs: us(l.maxNs),
          } satisfies LatencyRecord,
        }
      : {}),
    connections: {
      total: result.connections.length,
      completed: count('completed'),
      errored: count('errored'),
      cancelled: count('cancelled'),
    },
    cpuS: t.cpuNs / 1e9,
    snapshotsDropped: ctx.snapshotsDropped,
    ...(ctx.server ? { server: ctx.server.stats } : {}),
  };
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'stoq-bench', version: VERSION },
    session: ctx.session,
    startedAt: ctx.startedAt.toISOString(),
    target: ctx.target,
    embeddedServer: ctx.embeddedServer,
    scenario: ctx.scenario,
    environment: environment(result, ctx.server?.fastPath),
    intervals: result.intervals.map(intervalRecord),
    connections: result.connections.map(({ handshakeNs, rttNs, minRttNs, ...c }) => ({
      ...c,
      handshakeUs: handshakeNs === null ? null : us(handshakeNs),
      rttUs: us(rttNs),
      minRttUs: us(minRttNs),
    })),
    end,
    ...(ctx.latencyNs.length > 0 ? { samples: { latencyUs: Array.from(ctx.latencyNs, (ns) => Number(ns) / 1e3) } } : {}),
  };
}

function environment(result: EngineResult, serverFastPath?: FastPath): Environment {
  // The fingerprint is computed in one place (src/environment.ts), shared with `stoq-bench env`.
  const id = testbedIdentity();
  return {
    fingerprint: fingerprintOf(id),
    hostname: os.hostname(),
    os: `${id.os}-${id.arch}`,
    kernel: id.kernel,
    cpu: id.cpu,
    node: process.version,
    build: id.build,
    gso: result.fastPath.gso,
    gro: result.fastPath.gro,
    pacing: result.pacing,
    fastPath: result.fastPath,
    ...(serverFastPath ? { serverFastPath } : {}),
  };
}
