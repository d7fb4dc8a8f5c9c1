// Client records made to order for merge tests: whole byte counts per interval, a clock anchor on the
// wall-clock line, and latencies in integer nanoseconds (with the histogram the engine would attach).
import { histogramOfNs, latencySummary } from '../../src/fleet/histogram.js';
import type { ConnectionRecord, IntervalRecord, RunRecord } from '../../src/record.js';
import { normalizeScenario, type ScenarioInput } from '../../src/scenario.js';

export interface FakeInterval {
  bytesReceived: number;
  bytesSent?: number;
  completed?: number;
  /** Seconds; default 1. */
  lengthS?: number;
}

export interface FakeClient {
  /** CLOCK_REALTIME at the run's clock zero, microseconds since the epoch. */
  anchorUnixUs: number;
  /** The common instant waited for. */
  at?: string;
  toleranceUs?: number;
  intervals: FakeInterval[];
  latencyNs?: number[];
  /** Attach the compressed histogram (default true); false leaves only the raw samples. */
  histogram?: boolean;
  scenario?: ScenarioInput;
  session?: string;
  host?: string;
  state?: RunRecord['end']['state'];
  embeddedServer?: boolean;
  /** Leave `start` out, as records of older versions do. */
  noStart?: boolean;
}

export function fakeClient(f: FakeClient): RunRecord {
  let t = 0;
  const intervals: IntervalRecord[] = f.intervals.map((iv, index) => {
    const startS = t;
    t += iv.lengthS ?? 1;
    const sent = iv.bytesSent ?? 0;
    return {
      index, startS, endS: t, bytesSent: sent, bytesReceived: iv.bytesReceived, goodputBps: ((sent + iv.bytesReceived) * 8) / (t - startS),
      completed: iv.completed ?? 0,
      client: {
        connections: 1, packetsSent: 10, packetsReceived: 20, lost: 1, retrans: 1, dataBlocked: 0, streamDataBlocked: 0, rttUs: 100, minRttUs: 80,
        rttvarUs: 10, cwnd: 100_000, deliveryRateBps: 1e9, pmtu: 1350, pacingRateBps: null, pacingWaitS: 0, cpuS: 0.5, busiestThreadCpuS: 0.5, busiestThreadRunDelayS: 0,
      },
      server: null,
    };
  });
  const sum = (k: 'bytesSent' | 'bytesReceived' | 'completed') => intervals.reduce((s, iv) => s + iv[k], 0);
  const sideSum = (k: 'packetsSent' | 'packetsReceived' | 'lost' | 'retrans') => intervals.reduce((s, iv) => s + iv.client[k], 0);
  const scenario = normalizeScenario(f.scenario ?? { kind: 'requests', count: 1000 });
  const h = f.latencyNs?.length ? histogramOfNs(f.latencyNs) : null;
  const latency = h ? latencySummary(h) : null;
  if (latency && f.histogram === false) delete latency.histogram;
  const lateUs = f.at ? f.anchorUnixUs - Date.parse(f.at) * 1e3 : null;
  const toleranceUs = f.toleranceUs ?? 50_000;
  const state = f.state ?? 'completed';
  const errored = state === 'errored';
  const connection: ConnectionRecord = {
    index: 0, state, ...(errored ? { error: { code: 'TIMEOUT', message: 'the server went silent' } } : {}),
    bytesSent: sum('bytesSent'), bytesReceived: sum('bytesReceived'), streamsCompleted: 1, streamsFailed: 0, streamsRejected: 0, handshakeUs: 900,
    client: { packetsSent: sideSum('packetsSent'), packetsReceived: sideSum('packetsReceived'), lost: sideSum('lost'), retrans: sideSum('retrans'), dataBlocked: 0, streamDataBlocked: 0, rttUs: 100, minRttUs: 80, cwnd: 100_000, pmtu: 1350 },
  };
  return {
    schemaVersion: 4,
    tool: { name: 'stoq-bench', version: '0.1.0' },
    session: { id: f.session ?? `client-${f.anchorUnixUs}`, run: 0, runs: 1 },
    startedAt: new Date(Math.floor(f.anchorUnixUs / 1e3)).toISOString(),
    target: '[fd00::1]:4433',
    embeddedServer: f.embeddedServer ?? false,
    serverView: { source: 'unknown', reason: 'a plain perf server' },
    scenario,
    environment: {
      fingerprint: 'aaaaaaaaaaaaaaaa', hostname: f.host ?? 'client', os: 'linux-x64', kernel: '6.18', cpu: { model: 'test', count: 2 }, node: 'v20',
      build: 'release',
      client: {
        settings: scenario.settings, gso: true, gro: false, pacing: 'user-space',
        fastPath: { gsoAvailable: true, gso: true, gsoMaxSegmentsUsed: 4, groAvailable: true, gro: false, recvmmsg: true, sendmmsg: false, sendBufferBytes: 4 << 20, recvBufferBytes: 4 << 20, buffersForced: false, socketDrops: 0, sendCalls: 5, datagramsSent: 20, recvCalls: 7, datagramsReceived: 30 },
      },
      server: null,
    },
    intervals,
    closing: null,
    connections: [connection],
    end: {
      state,
      ...(errored ? { error: { code: 'TIMEOUT', message: 'the server went silent' } } : {}),
      durationS: t,
      bytesSent: sum('bytesSent'),
      bytesReceived: sum('bytesReceived'),
      goodputBps: ((sum('bytesSent') + sum('bytesReceived')) * 8) / t,
      completed: sum('completed'),
      ...(scenario.kind === 'requests' || scenario.kind === 'latency' ? { requestsPerSecond: sum('completed') / t } : {}),
      ...(latency ? { latency } : {}),
      connections: { total: 1, completed: errored ? 0 : 1, errored: errored ? 1 : 0, cancelled: 0 },
      snapshotsDropped: 0,
      client: {
        packetsSent: sideSum('packetsSent'), packetsReceived: sideSum('packetsReceived'), udpBytesSent: sum('bytesSent') + 100, udpBytesReceived: sum('bytesReceived') + 100,
        lost: sideSum('lost'), retrans: sideSum('retrans'), dataBlocked: 0, streamDataBlocked: 0, pacingWaitS: 0, cpuS: 0.5 * intervals.length, busiestThreadCpuS: 0.5 * intervals.length, busiestThreadRunDelayS: 0,
      },
      server: null,
    },
    ...(f.noStart
      ? {}
      : { start: { anchorUnixUs: f.anchorUnixUs, at: f.at ?? null, lateUs, toleranceUs: f.at ? toleranceUs : null, late: lateUs === null ? null : lateUs > toleranceUs, clock: null } }),
    ...(f.latencyNs?.length ? { samples: { latencyUs: f.latencyNs.map((ns) => ns / 1e3) } } : {}),
  };
}
