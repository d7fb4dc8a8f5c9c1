// The distributed session, simulated in network namespaces (no cluster): every client node runs its pod's
// command line from the rendered Job, all start at the rendered instant, and `fleet merge` of what they
// recorded must equal the server's own byte counters exactly, with the merged latency histogram equal,
// bucket for bucket, to the histogram of every raw sample.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buckets, decodeHistogram, histogramOfNs } from '../../src/fleet/histogram.js';
import { podCommand } from '../../src/fleet/render.js';
import { readClientLog } from '../../src/fleet/logs.js';
import { recordSchema } from '../helpers.js';
import { canCreateTestbeds } from '../netns/testbed.js';
import { simulateFleet, type Simulation } from './simulation.js';

const CLIENTS = 3;

describe.skipIf(!canCreateTestbeds())('a session of 3 client nodes and one server node on a bridge', () => {
  let sim: Simulation;
  beforeAll(async () => {
    sim = await simulateFleet({
      clients: CLIENTS,
      // bounded by count: every client's requests are answered in full, so the server's counters are final
      scenario: ['--scenario', 'requests', '--count', '10000', '--connections', '2', '--inflight', '4', '--request-size', '100', '--response-size', '1000', '--interval', '100ms'],
      startInMs: 2500,
      dir: mkdtempSync(join(tmpdir(), 'stoq-simulation-')),
    });
  }, 120_000);

  it("each node ran its pod's command line, and every client completed", () => {
    for (let i = 0; i < CLIENTS; i++) expect(sim.commands[i]).toEqual(podCommand(sim.job, i));
    expect(sim.exitCodes).toEqual([0, 0, 0]);
    const records = sim.logs.map((log, i) => readClientLog(log, `client ${i}`).records);
    expect(records.map((r) => r.length)).toEqual([1, 1, 1]);
    const annotations = sim.job.spec!.template.metadata!.annotations!;
    for (const [r] of records) {
      expect(recordSchema.errors(r)).toBeUndefined();
      expect(r.scenario.id).toBe(annotations['stoq-bench.dev/scenario-id']);
      // each started for the rendered instant, said how late by its own clock, and what it knows of that clock
      expect(r.start!.at).toBe(annotations['stoq-bench.dev/start-at']);
      expect(r.start!.late).toBe(r.start!.lateUs! > r.start!.toleranceUs!);
      expect(r.start!.anchorUnixUs).toBe(Date.parse(r.start!.at!) * 1e3 + r.start!.lateUs!);
      expect(r.start!.clock).toEqual(expect.objectContaining({ detail: expect.any(String) }));
    }
    expect(recordSchema.errors(sim.merged)).toBeUndefined();
    expect(sim.merged.fleet.alignment).toBe('clock-anchor');
    expect(sim.merged.fleet.startAt).toBe(annotations['stoq-bench.dev/start-at']);
    expect(sim.merged.end.state).toBe('completed');
    expect(sim.merged.fleet.clients).toHaveLength(CLIENTS);
  });

  it("the merged bytes equal the server's own counters exactly", () => {
    // the server received the requests' payload and sent the responses'
    expect(sim.merged.end.bytesSent).toBe(sim.server.bytesReceived);
    expect(sim.merged.end.bytesReceived).toBe(sim.server.bytesSent);
    expect(sim.merged.end.bytesSent).toBe(CLIENTS * 10000 * 100);
    expect(sim.merged.end.bytesReceived).toBe(CLIENTS * 10000 * 1000);
    expect(sim.merged.end.completed).toBe(CLIENTS * 10000);
    // Each client's two connections and its view connection (ALPN stoq-bench-view).
    expect(sim.server.accepted).toBe(CLIENTS * 3);
  });

  it("the merged latency histogram (the engine's, summed) is the histogram of every raw sample", () => {
    expect(sim.merged.fleet.latencyFrom).toBe('merged-histograms');
    const raw = sim.logs.flatMap((log, i) => readClientLog(log, `client ${i}`).records[0].samples!.latencyUs.map((us) => Math.round(us * 1e3)));
    expect(raw).toHaveLength(CLIENTS * 10000);
    const merged = decodeHistogram(sim.merged.end.latency!.histogram!, 'merged');
    expect(buckets(merged)).toEqual(buckets(histogramOfNs(raw)));
    expect(sim.merged.end.latency!.n).toBe(CLIENTS * 10000);
  });

  it('a steady span where all ran, with intervals, a rate and the fairness of the shares', () => {
    const f = sim.merged.fleet;
    expect(f.steady).not.toBeNull();
    expect(f.steady!.durationS).toBeGreaterThan(0);
    for (const c of f.clients) {
      expect(c.startS!).toBeLessThanOrEqual(f.steady!.startS + 1e-9);
      expect(c.endS!).toBeGreaterThanOrEqual(f.steady!.endS - 1e-9);
    }
    expect(sim.merged.intervals.length).toBeGreaterThan(0);
    expect(sim.merged.end.requestsPerSecond).toBeGreaterThan(0);
    expect(f.fairness!.n).toBe(CLIENTS);
    expect(f.fairness!.index).toBeGreaterThanOrEqual(1 / CLIENTS);
    expect(f.fairness!.index).toBeLessThanOrEqual(1);
  });
});
