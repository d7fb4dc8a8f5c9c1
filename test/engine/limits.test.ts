// What bounded a run, provoked: each limit is made to bind on loopback (a tiny stream window on a shaped
// loopback, a tiny receive buffer, one request in flight, a sender with all the window it wants on a capped
// CPU) and the diagnosis must name it, with the side whose figures show it. The shaped link (the congestion
// window) is in test/netns/shaping.test.ts.
import { describe, expect, it } from 'vitest';
import { runScenario, runLimit, type RunRecord } from '../../src/index.js';
import { LIMIT_RULES } from '../../src/grading/limits.js';
import { summary } from '../../src/report/text.js';
import { canCapCpu, cliWithCpuQuota } from '../cpu-quota.js';
import { canCreateTestbeds, createShapedLoopback } from '../netns/testbed.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The busiest thread's shares of the time on a CPU and waiting for one, over the transfer. */
function busy(r: RunRecord, side: 'client' | 'server'): { onCpu: number; waiting: number } {
  const ivs = r.intervals.slice(r.intervals.length >= 3 ? 1 : 0);
  const length = ivs.reduce((t, iv) => t + iv.endS - iv.startS, 0);
  const share = (pick: (iv: (typeof ivs)[number]) => number | null) => ivs.reduce((t, iv) => t + (pick(iv) ?? 0), 0) / length;
  return { onCpu: share((iv) => iv[side]!.busiestThreadCpuS), waiting: share((iv) => iv[side]!.busiestThreadRunDelayS) };
}

describe('what bounded a run', () => {
  // On a loopback shaped to 20 Mbit/s no CPU binds, however busy the machine: the window alone decides.
  it.skipIf(!canCreateTestbeds())("a tiny stream window: the sender found the receiver's stream credit exhausted", async () => {
    const host = createShapedLoopback(20e6);
    try {
      const { code, stdout, stderr } = await host.cli(['run', '--bytes', '2MiB', '--stream-window', '16KiB', '--interval', '100ms', '--json']);
      expect(code, stderr).toBe(0);
      const r = JSON.parse(stdout) as RunRecord;
      expect(r.end.state).toBe('completed');
      expect(r.end.bytesReceived).toBe(2 * MiB);
      const limit = runLimit(r);
      expect(limit.kind, limit.evidence.join('; ')).toBe('flow-control');
      expect(limit.side).toBe('server');
      expect(limit.reason).toMatch(/^flow-control window: the sender \(server\) found the client's stream credit of 16\.00 KiB exhausted \d+ times$/);
      // The evidence is in the record: STREAM_DATA_BLOCKED frames the server sent, interval after interval.
      const blocked = r.intervals.filter((iv) => (iv.server?.streamDataBlocked ?? 0) > 0).length;
      expect(blocked / r.intervals.length).toBeGreaterThanOrEqual(LIMIT_RULES.blockedIntervals);
      expect(r.end.server?.streamDataBlocked).toBeGreaterThan(50);
      expect(summary(r)).toContain(`limited by: ${limit.reason}`);
    } finally {
      host.close();
    }
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

  // Capped at a fifth of a core, the process's threads wait for the CPU whatever else the machine does.
  it.skipIf(!canCapCpu)('a sender with all the window it wants on a capped CPU: an I/O thread is CPU-bound', async () => {
    const { code, stdout, stderr } = await cliWithCpuQuota(0.2, ['run', '--duration', '1500ms', '--interval', '250ms', '--json']);
    expect(code, stderr).toBe(0);
    const r = JSON.parse(stdout) as RunRecord;
    expect(r.end.state).toBe('completed');
    const limit = runLimit(r);
    expect(limit.kind, limit.evidence.join('; ')).toBe('cpu');
    // Judged from per-thread time: on a CPU or runnable and waiting for one nearly all the time, or waiting most of it.
    const { onCpu, waiting } = busy(r, limit.side!);
    expect(onCpu + waiting >= LIMIT_RULES.busyShare || waiting >= LIMIT_RULES.waitShare, `${onCpu} on a CPU, ${waiting} waiting`).toBe(true);
    expect(limit.reason).toMatch(/^(sender|receiver) CPU-bound: (server|client) I\/O thread \d+% of a core \(and waiting for a CPU \d+% of the time/);
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
