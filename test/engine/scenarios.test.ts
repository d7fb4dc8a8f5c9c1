// Every scenario kind over [::1] with exact byte accounting, against the embedded server.
import { describe, expect, it } from 'vitest';
import { runScenario, SCHEMA_VERSION, type RunRecord, type ScenarioInput } from '../../src/index.js';

const MiB = 1 << 20;

function expectClean(r: RunRecord) {
  expect(r.end.error).toBeUndefined();
  expect(r.end.state).toBe('completed');
  expect(r.connections.every((c) => c.state === 'completed' && c.streamsFailed === 0)).toBe(true);
}

describe('transfers: bytes requested equal bytes received, every stream FIN-ended', () => {
  const cases: Array<[string, ScenarioInput, { sent: number; received: number; streams: number }]> = [
    ['download', { kind: 'download', bytes: 8 * MiB + 3, connections: 2, streams: 3 }, { sent: 0, received: 8 * MiB + 3, streams: 6 }],
    ['upload', { kind: 'upload', bytes: 6 * MiB + 1, connections: 2, streams: 2 }, { sent: 6 * MiB + 1, received: 0, streams: 4 }],
    ['bidir', { kind: 'bidir', bytes: 4 * MiB, streams: 2 }, { sent: 4 * MiB, received: 4 * MiB, streams: 4 }],
    ['download on uni streams', { kind: 'download', bytes: 3 * MiB + 7, streams: 3, streamType: 'uni' }, { sent: 0, received: 3 * MiB + 7, streams: 3 }],
    ['download of 0 bytes', { kind: 'download', bytes: 0 }, { sent: 0, received: 0, streams: 1 }],
  ];
  for (const [name, scenario, want] of cases) {
    it(name, async () => {
      const { record: r } = await runScenario(scenario);
      expectClean(r);
      expect(r.end.bytesSent).toBe(want.sent);
      expect(r.end.bytesReceived).toBe(want.received);
      expect(r.connections.reduce((n, c) => n + c.streamsCompleted, 0)).toBe(want.streams);
      // The embedded server saw the same bytes from its side.
      expect(r.end.serverStats?.bytesReceived).toBe(want.sent);
      expect(r.end.serverStats?.bytesSent).toBe(want.received);
      // Intervals add up to the totals.
      expect(r.intervals.reduce((n, i) => n + i.bytesReceived, 0)).toBe(want.received);
      expect(r.intervals.reduce((n, i) => n + i.bytesSent, 0)).toBe(want.sent);
      expect(r.end.goodputBps).toBeCloseTo(((want.sent + want.received) * 8) / r.end.durationS, 0);
    });
  }

  it('a duration download ends by STOP_SENDING and counts what arrived', async () => {
    const { record: r } = await runScenario({ kind: 'download', durationNs: 600e6 }, { intervalNs: 100e6 });
    expectClean(r);
    expect(r.end.bytesReceived).toBeGreaterThan(0);
    expect(r.end.durationS).toBeGreaterThanOrEqual(0.6);
    expect(r.end.durationS).toBeLessThan(1.5);
    expect(r.intervals.length).toBeGreaterThanOrEqual(6);
  });
});

describe('requests, latency and handshakes', () => {
  it('requests: every request answered with exactly the response size', async () => {
    const { record: r, samples } = await runScenario({ kind: 'requests', count: 300, inflight: 4, connections: 2, requestSize: 100, responseSize: 5000 });
    expectClean(r);
    expect(r.end.completed).toBe(300);
    expect(r.end.bytesSent).toBe(300 * 100);
    expect(r.end.bytesReceived).toBe(300 * 5000);
    expect(r.end.latency?.n).toBe(300);
    expect(r.end.requestsPerSecond).toBeGreaterThan(0);
    expect(samples.latencyNs).toBeInstanceOf(BigUint64Array);
    expect(samples.latencyNs.length).toBe(300);
    expect(r.samples?.latencyUs.length).toBe(300);
  });

  it('requests on uni streams', async () => {
    const { record: r } = await runScenario({ kind: 'requests', count: 100, inflight: 3, streamType: 'uni', requestSize: 10, responseSize: 700 });
    expectClean(r);
    expect(r.end.bytesReceived).toBe(100 * 700);
    expect(r.end.completed).toBe(100);
  });

  it('latency: one round trip at a time, every one timed, percentiles ordered', async () => {
    const { record: r, samples } = await runScenario({ kind: 'latency', count: 400 });
    expectClean(r);
    const l = r.end.latency!;
    expect(l.n).toBe(400);
    expect(r.end.bytesReceived).toBe(400 * 64);
    // 400 samples bound p50, p90 and p99 at 95% (p99 needs 368), not p99.9 (3688).
    const [p50, p99] = [l.p50Us!, l.p99Us!];
    expect(l.minUs).toBeLessThanOrEqual(p50);
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(l.maxUs);
    expect(l.p999Us).toBeNull();
    expect(l.undetermined).toEqual([expect.objectContaining({ percentile: 'p999', minSamples: 3688 })]);
    // The histogram's p50 is within its 0.1% precision of the raw samples' median.
    const sorted = Array.from(samples.latencyNs, Number).sort((a, b) => a - b);
    const rawMedianUs = sorted[Math.floor((sorted.length - 1) / 2)] / 1e3;
    expect(Math.abs(p50 - rawMedianUs) / rawMedianUs).toBeLessThan(0.01);
  });

  it('handshakes: the count requested, each timed', async () => {
    const { record: r } = await runScenario({ kind: 'handshakes', count: 60, connections: 3 });
    expectClean(r);
    expect(r.end.completed).toBe(60);
    expect(r.end.latency?.n).toBe(60);
    expect(r.end.handshakesPerSecond).toBeGreaterThan(0);
    expect(r.end.serverStats?.accepted).toBe(60);
  });
});

describe('the record', () => {
  it('says which fast-path features were in effect and keys to the scenario', async () => {
    const { record: r } = await runScenario({ kind: 'upload', bytes: 4 * MiB });
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.scenario.id).toMatch(/^[0-9a-f]{16}$/);
    const client = r.environment.client;
    expect(typeof client.gso).toBe('boolean');
    expect(typeof client.gro).toBe('boolean');
    // An upload of 4 MiB goes out in GSO batches when the kernel offers GSO.
    if (client.fastPath.gsoAvailable) expect(client.gso).toBe(true);
    // quiche coalesces handshake packets into shared datagrams: never more datagrams than packets.
    expect(client.fastPath.datagramsSent).toBeLessThanOrEqual(r.end.client.packetsSent);
    expect(client.fastPath.datagramsSent).toBeGreaterThan(r.end.client.packetsSent * 0.9);
    expect(r.end.serverStats?.rssPerConnectionBytes).toBeGreaterThan(0);
  });

  it('streams intervals while running', async () => {
    const seen: number[] = [];
    const { record: r } = await runScenario({ kind: 'download', durationNs: 500e6 }, { intervalNs: 50e6, onInterval: (i) => seen.push(i.index) });
    expect(seen.length).toBeGreaterThanOrEqual(8);
    expect(seen.length + r.end.snapshotsDropped).toBe(r.intervals.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});
