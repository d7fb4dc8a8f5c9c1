// No invented numbers: every figure in a record moves with what was measured. A constant, a default
// standing in for a missing measurement, or a figure computed from the request instead of the wire fails
// here.
import { describe, expect, it } from 'vitest';
import { runScenario, type RunRecord } from '../../src/index.js';

/** The measured (not requested) figures of a record. */
function measured(r: RunRecord): Record<string, number> {
  const l = r.end.latency!;
  return {
    durationS: r.end.durationS,
    goodputBps: r.end.goodputBps,
    cpuS: r.end.client.cpuS,
    requestsPerSecond: r.end.requestsPerSecond!,
    meanUs: l.meanUs,
    maxUs: l.maxUs,
    handshakeUs: r.connections[0].handshakeUs!,
    rttUs: r.connections[0].client.rttUs!,
  };
}

describe('no invented numbers', () => {
  it('two runs of one scenario give different raw samples and different measured figures', async () => {
    const scenario = { kind: 'latency' as const, count: 300 };
    const a = await runScenario(scenario);
    const b = await runScenario(scenario);
    // The workload is identical...
    expect(a.record.scenario.id).toBe(b.record.scenario.id);
    expect(a.record.end.bytesReceived).toBe(b.record.end.bytesReceived);
    // ...what was measured is not.
    expect(Array.from(a.samples.latencyNs)).not.toEqual(Array.from(b.samples.latencyNs));
    const ma = measured(a.record);
    const mb = measured(b.record);
    for (const key of Object.keys(ma)) {
      expect(ma[key], key).toBeGreaterThan(0);
      expect(ma[key], key).not.toBe(mb[key]);
    }
  });

  it('the summary agrees with the raw samples it came from', async () => {
    const { record: r, samples } = await runScenario({ kind: 'requests', count: 400, inflight: 4 });
    const raw = Array.from(samples.latencyNs, (ns) => Number(ns) / 1e3).sort((x, y) => x - y);
    const l = r.end.latency!;
    expect(l.n).toBe(raw.length);
    // HdrHistogram at 3 significant digits: within 0.1% (plus one unit of its lowest bucket).
    const close = (hist: number, exact: number) => expect(Math.abs(hist - exact)).toBeLessThanOrEqual(exact * 0.001 + 0.001);
    close(l.minUs, raw[0]);
    close(l.maxUs, raw[raw.length - 1]);
    expect(Math.abs(l.meanUs - raw.reduce((s, x) => s + x, 0) / raw.length) / l.meanUs).toBeLessThan(0.002);
    // Rates come from counts over measured time, not from the request.
    expect(r.end.requestsPerSecond).toBeCloseTo(r.end.completed / r.end.durationS, 6);
    expect(r.end.goodputBps).toBeCloseTo(((r.end.bytesSent + r.end.bytesReceived) * 8) / r.end.durationS, 3);
  });

  it('nothing is reported that was not measured', async () => {
    const { record: r } = await runScenario({ kind: 'download', bytes: 1 << 20 });
    // A transfer times no requests: no latency figures, no request rate, no samples.
    expect(r.end.latency).toBeUndefined();
    expect(r.end.requestsPerSecond).toBeUndefined();
    expect(r.end.handshakesPerSecond).toBeUndefined();
    expect(r.samples).toBeUndefined();
    // Intervals add up to the totals the connections report.
    const fromIntervals = r.intervals.reduce((s, i) => s + i.bytesReceived, 0);
    const fromConnections = r.connections.reduce((s, c) => s + c.bytesReceived, 0);
    expect(fromIntervals).toBe(r.end.bytesReceived);
    expect(fromConnections).toBe(r.end.bytesReceived);
    // The transfer's intervals and the closing period hold every packet of each side.
    const periods = [...r.intervals, r.closing!];
    expect(periods.reduce((s, i) => s + i.client.packetsReceived, 0)).toBe(r.end.client.packetsReceived);
    expect(periods.reduce((s, i) => s + i.server!.packetsSent, 0)).toBeLessThanOrEqual(r.end.server!.packetsSent);
  });
});
