// What bounded a run, provoked: each limit is made to bind on loopback (a tiny stream window, a tiny receive
// buffer, one request in flight, a sender with all the window it wants) and the diagnosis must name it, with
// the side whose figures show it. The shaped link (the congestion window) is in test/netns/shaping.test.ts.
import { describe, expect, it } from 'vitest';
import { runScenario, runLimit, type RunRecord } from '../../src/index.js';
import { LIMIT_RULES } from '../../src/grading/limits.js';
import { summary } from '../../src/report/text.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The busiest thread's share of the time on a CPU or waiting for one, over the transfer. */
function busy(r: RunRecord, side: 'client' | 'server'): number {
  const ivs = r.intervals.slice(r.intervals.length >= 3 ? 1 : 0);
  const length = ivs.reduce((t, iv) => t + iv.endS - iv.startS, 0);
  return ivs.reduce((t, iv) => t + (iv[side]!.busiestThreadCpuS ?? 0) + (iv[side]!.busiestThreadRunDelayS ?? 0), 0) / length;
}

describe('what bounded a run', () => {
  it('a tiny stream window: the sender found the receiver\'s stream credit exhausted', async () => {
    const { record: r } = await runScenario({ kind: 'download', bytes: 8 * MiB, settings: { streamWindow: 16 * KiB } }, { intervalNs: 100e6 });
    expect(r.end.state).toBe('completed');
    const limit = runLimit(r);
    expect(limit.kind, limit.reason).toBe('flow-control');
    expect(limit.side).toBe('server');
    expect(limit.reason).toMatch(/^flow-control window: the sender \(server\) found the client's stream credit of 16\.00 KiB exhausted \d+ times$/);
    // The evidence is in the record: STREAM_DATA_BLOCKED frames the server sent, interval after interval.
    const blocked = r.intervals.filter((iv) => (iv.server?.streamDataBlocked ?? 0) > 0).length;
    expect(blocked / r.intervals.length).toBeGreaterThanOrEqual(LIMIT_RULES.blockedIntervals);
    expect(r.end.server?.streamDataBlocked).toBeGreaterThan(100);
    expect(summary(r)).toContain(`limited by: ${limit.reason}`);
  });

  it('a tiny receive buffer: the receiver dropped datagrams', async () => {
    const { record: r } = await runScenario({ kind: 'download', bytes: 16 * MiB, settings: { recvBuffer: 4096 } }, { intervalNs: 100e6 });
    expect(r.end.state).toBe('completed');
    expect(r.end.bytesReceived).toBe(16 * MiB);
    const limit = runLimit(r);
    expect(limit.kind, limit.reason).toBe('receive-drops');
    expect(limit.side).toBe('client');
    expect(limit.reason).toMatch(/^receiver dropped datagrams: client socket receive buffer \(8\.00 KiB\) overflowed, \d+ datagrams/);
    expect(r.environment.client.fastPath.socketDrops).toBeGreaterThan(0);
    // What the kernel dropped the sender lost and sent again.
    expect(r.end.server?.lost).toBeGreaterThan(0);
  });

  it('one request in flight: the application waited a round trip for each', async () => {
    const { record: r } = await runScenario({ kind: 'requests', count: 2000, inflight: 1, requestSize: 64, responseSize: 64 });
    expect(r.end.state).toBe('completed');
    const limit = runLimit(r);
    expect(limit.kind, limit.reason).toBe('application');
    expect(limit.reason).toMatch(/^application: 1 request\(s\) in flight per connection/);
  });

  it('a sender with all the window it wants on loopback: an I/O thread is CPU-bound', async () => {
    const { record: r } = await runScenario({ kind: 'download', durationNs: 1.5e9 }, { intervalNs: 250e6 });
    expect(r.end.state).toBe('completed');
    const limit = runLimit(r);
    expect(limit.kind, limit.evidence.join('; ')).toBe('cpu');
    // Judged from per-thread time: on a CPU, or runnable and waiting for one, nearly all the time.
    expect(busy(r, limit.side!)).toBeGreaterThanOrEqual(LIMIT_RULES.busyShare);
    expect(limit.reason).toMatch(/^(sender|receiver) CPU-bound: (server|client) I\/O thread \d+% of a core/);
  });

  it('a remote peer that shares nothing: the sender\'s limit is undetermined, never guessed', async () => {
    const { record } = await runScenario({ kind: 'download', bytes: 4 * MiB, settings: { streamWindow: 16 * KiB } });
    const r = structuredClone(record);
    // As a record against a plain perf server reads: the server's side unknown.
    r.serverView = { source: 'unknown', reason: 'a plain perf server' };
    r.environment.server = null;
    r.end.server = null;
    for (const iv of r.intervals) iv.server = null;
    const limit = runLimit(r);
    expect(limit.kind).toBe('undetermined');
    expect(limit.reason).toBe("undetermined: the sender's (server) figures are unknown (a plain perf server)");
  });
});
