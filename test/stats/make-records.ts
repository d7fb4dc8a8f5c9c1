// Synthetic run records for tests: AR(1) interval goodput around a level, a slow-start ramp, optional
// latency samples; seeded so every test is reproducible.
import { createHash } from 'node:crypto';
import type { FastPath, RunRecord, SideEnvironment, SideRecord, SideTotals } from '../../src/record.js';
import { normalizeScenario } from '../../src/scenario.js';
import { createRng, type Rng } from '../../src/stats/rng.js';

/** A scenario id (16 hex digits, like the engine's content hashes) named by a label, for fake records. */
export function fakeScenarioId(label: string): string {
  return createHash('sha256').update(label).digest('hex').slice(0, 16);
}

const FAST_PATH: FastPath = {
  gsoAvailable: true, gso: true, gsoMaxSegmentsUsed: 10, groAvailable: true, gro: false, recvmmsg: true, sendmmsg: false,
  sendBufferBytes: 8 << 20, recvBufferBytes: 8 << 20, buffersForced: true, socketDrops: 0, sendCalls: 0, datagramsSent: 0,
  recvCalls: 0, datagramsReceived: 0,
};

/** One side of an interval: nothing lost or blocked, the given path figures (null where not given). */
function fakeSide(figures: Partial<SideRecord> = {}): SideRecord {
  return {
    connections: 1, packetsSent: 0, packetsReceived: 0, lost: 0, retrans: 0, dataBlocked: 0, streamDataBlocked: 0,
    rttUs: null, minRttUs: null, rttvarUs: null, cwnd: null, deliveryRateBps: null, pmtu: 1350, pacingRateBps: null,
    pacingWaitS: 0, cpuS: 0, busiestThreadCpuS: figures.cpuS ?? 0, busiestThreadRunDelayS: 0, ...figures,
  };
}

function fakeTotals(cpuS: number): SideTotals {
  return {
    packetsSent: 0, packetsReceived: 0, udpBytesSent: 0, udpBytesReceived: 0, lost: 0, retrans: 0, dataBlocked: 0,
    streamDataBlocked: 0, pacingWaitS: 0, cpuS, busiestThreadCpuS: cpuS, busiestThreadRunDelayS: 0,
  };
}

function fakeEnvironment(): SideEnvironment {
  const scenario = normalizeScenario({ kind: 'download' });
  return { settings: scenario.settings, pacing: 'user-space', gso: true, gro: false, fastPath: FAST_PATH };
}

export interface FakeRun {
  session?: string;
  run?: number;
  runs?: number;
  kind?: RunRecord['scenario']['kind'];
  scenarioId?: string;
  fingerprint?: string;
  levelBps?: number;
  /** Relative sd of interval noise. */
  noise?: number;
  /** Lag-1 autocorrelation of interval noise. */
  phi?: number;
  intervals?: number;
  warmup?: number;
  /** Relative drift over the whole run (e.g. -0.3 for a 30% decline). */
  drift?: number;
  latencyUs?: number;
  latencySamples?: number;
  state?: RunRecord['end']['state'];
  startedAt?: string;
}

export function fakeRecord(rng: Rng, f: FakeRun = {}): RunRecord {
  const level = f.levelBps ?? 9e9;
  const n = f.intervals ?? 20;
  const warm = f.warmup ?? 2;
  const phi = f.phi ?? 0.5;
  const noise = f.noise ?? 0.02;
  const intervals: RunRecord['intervals'] = [];
  let e = 0;
  for (let i = 0; i < n; i++) {
    e = phi * e + Math.sqrt(1 - phi * phi) * rng.normal();
    const ramp = i < warm ? (i + 1) / (warm + 2) : 1;
    const trend = 1 + (f.drift ?? 0) * (i / Math.max(1, n - 1));
    const goodput = level * ramp * trend * (1 + noise * e);
    intervals.push({
      index: i, startS: i, endS: i + 1, bytesSent: 0, bytesReceived: Math.round(goodput / 8), goodputBps: goodput, completed: 0,
      client: fakeSide({ cpuS: 0.5 }),
      server: fakeSide({ rttUs: 60, minRttUs: 50, rttvarUs: 5, cwnd: 1e6, deliveryRateBps: Math.round(goodput), cpuS: 0.5 }),
    });
  }
  const total = intervals.reduce((s, iv) => s + iv.goodputBps, 0);
  const kind = f.kind ?? 'download';
  const rec: RunRecord = {
    schemaVersion: 4,
    tool: { name: 'stoq-bench', version: '0.1.0' },
    session: { id: f.session ?? 's1', run: f.run ?? 0, runs: f.runs ?? 1 },
    startedAt: f.startedAt ?? '2026-11-28T12:00:00.000Z',
    target: '[::1]:4433',
    embeddedServer: true,
    serverView: { source: 'embedded' },
    scenario: { ...normalizeScenario({ kind }), id: fakeScenarioId(f.scenarioId ?? 'scn-download-1') },
    environment: {
      fingerprint: f.fingerprint ?? 'tb-1', hostname: 'test', os: 'linux-x64', kernel: '6.18.0', cpu: { model: 'x', count: 2 },
      node: 'v20.19.0', build: 'release', client: fakeEnvironment(), server: fakeEnvironment(),
    },
    intervals,
    closing: null,
    connections: [],
    end: {
      state: f.state ?? 'completed', durationS: n, bytesSent: 0, bytesReceived: Math.round(total / 8), goodputBps: total / n, completed: 0,
      connections: { total: 0, completed: 0, errored: 0, cancelled: 0 }, snapshotsDropped: 0,
      client: fakeTotals(n / 2), server: fakeTotals(n / 2),
    },
  };
  if (f.latencyUs !== undefined) {
    const k = f.latencySamples ?? 500;
    const xs = Array.from({ length: k }, () => f.latencyUs! * Math.exp(0.3 * rng.normal()));
    rec.samples = { latencyUs: xs };
  }
  return rec;
}

/** A session of `runs` records with a per-session offset (between-session noise). */
export function fakeSession(rng: Rng, id: string, runs: number, f: FakeRun = {}, sessionNoise = 0): RunRecord[] {
  const offset = 1 + sessionNoise * rng.normal();
  return Array.from({ length: runs }, (_, i) =>
    fakeRecord(rng, { ...f, session: id, run: i, runs, levelBps: (f.levelBps ?? 9e9) * offset }),
  );
}

export { createRng };
