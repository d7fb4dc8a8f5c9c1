import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/stats/rng.js';
import { mserTruncation, summarizeRun } from '../../src/stats/run-model.js';
import { effectiveSampleSize } from '../../src/stats/series.js';
import { fakeRecord } from './make-records.js';

describe('run model', () => {
  it('omits the slow-start ramp and reports time-weighted goodput of the steady part', () => {
    const rec = fakeRecord(createRng(3), { warmup: 3, intervals: 30, noise: 0.005, phi: 0.2 });
    const s = summarizeRun(rec);
    expect(s.warmup.omittedIntervals).toBeGreaterThanOrEqual(3);
    expect(s.warmup.omittedIntervals).toBeLessThanOrEqual(15);
    expect(s.metrics.goodput! / 9e9).toBeGreaterThan(0.99);
    expect(s.metrics.goodput! / 9e9).toBeLessThan(1.01);
    expect(s.steadiness.status).toBe('steady');
    // the whole-run average (warm-up included) is lower: omitting it matters
    expect(rec.end.goodputBps).toBeLessThan(s.metrics.goodput!);
  });

  it('honours a fixed warm-up', () => {
    const s = summarizeRun(fakeRecord(createRng(4), { warmup: 2 }), { warmupS: 5 });
    expect(s.warmup.omittedIntervals).toBe(5);
    expect(s.warmup.method).toMatch(/fixed/);
  });

  it('flags (never drops) a drifting run', () => {
    const s = summarizeRun(fakeRecord(createRng(5), { drift: -0.3, intervals: 30, noise: 0.01 }));
    expect(s.steadiness.status).toBe('unsteady');
    expect(s.steadiness.reasons.join()).toMatch(/drift/);
    expect(s.metrics.goodput).toBeDefined();
  });

  it('flags a wandering level (autocorrelation)', () => {
    const rec = fakeRecord(createRng(6), { phi: 0.99, intervals: 60, noise: 0.05 });
    const s = summarizeRun(rec, { maxDrift: 10, maxLag1: 0.8 });
    expect(s.steadiness.lag1!).toBeGreaterThan(0.8);
    expect(s.steadiness.status).toBe('unsteady');
    expect(s.steadiness.reasons.join()).toMatch(/autocorrelation/);
    expect(summarizeRun(rec, { maxDrift: 10 }).steadiness.status).toBe('steady');
  });

  it("the run's short empty tail (the close after a timed transfer) is no steady-state sample", () => {
    const rec = fakeRecord(createRng(8), { intervals: 10, noise: 0.005 });
    const last = rec.intervals.at(-1)!;
    const tail = { ...last, index: last.index + 1, startS: last.endS, endS: last.endS + 0.03, bytesSent: 0, bytesReceived: 0, goodputBps: 0 };
    const withTail = summarizeRun({ ...rec, intervals: [...rec.intervals, tail] });
    const without = summarizeRun(rec);
    expect(withTail.steadiness.status).toBe('steady');
    expect(withTail.metrics.goodput).toBe(without.metrics.goodput);
    // a full-length interval of nothing is a real sample: it is kept, and the run is flagged
    const stalled = summarizeRun({ ...rec, intervals: [...rec.intervals, { ...tail, endS: last.endS + 1 }, { ...tail, index: last.index + 2, startS: last.endS + 1, endS: last.endS + 2 }] });
    expect(stalled.metrics.goodput!).toBeLessThan(without.metrics.goodput!);
  });

  it('a too-short run is unchecked, not unsteady', () => {
    const s = summarizeRun(fakeRecord(createRng(7), { intervals: 3, warmup: 1 }));
    expect(s.steadiness.status).toBe('unchecked');
  });

  it('per-run latency percentiles come from raw samples', () => {
    const s = summarizeRun(fakeRecord(createRng(8), { latencyUs: 60, latencySamples: 1000 }));
    expect(s.metrics.latencyP50!).toBeGreaterThan(50);
    expect(s.metrics.latencyP99!).toBeGreaterThan(s.metrics.latencyP50!);
  });

  it('single-run interval from block bootstrap and batch means covers the level', () => {
    const s = summarizeRun(fakeRecord(createRng(9), { intervals: 60, phi: 0.6, noise: 0.02 }));
    const bb = s.withinRun!.blockBootstrap;
    expect(bb.lower).toBeLessThan(bb.estimate);
    expect(bb.upper).toBeGreaterThan(bb.estimate);
    expect(s.withinRun!.batchMeans.upper - s.withinRun!.batchMeans.lower).toBeGreaterThan(0);
  });

  it('27 intervals at r1 = 0.6 are worth about 7 points', () => {
    expect(effectiveSampleSize(27, 0.6)).toBeCloseTo(6.75, 10);
  });

  it('MSER keeps a stationary series nearly whole', () => {
    const rng = createRng(10);
    const xs = Array.from({ length: 40 }, () => 100 + rng.normal());
    expect(mserTruncation(xs)).toBeLessThanOrEqual(20);
    expect(mserTruncation([1, 2, 50, 51, 49, 50, 50, 51])).toBe(2);
  });
});
