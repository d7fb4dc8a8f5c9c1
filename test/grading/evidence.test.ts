// What runs say about a quantity: percentiles only where the run's sample determines them, one-sided bounds
// from the sample extremes, within-run intervals for a single run, and every run that cannot count named.
import { describe, expect, it } from 'vitest';
import { gatherEvidence } from '../../src/grading/evidence.js';
import { minSampleForQuantile } from '../../src/stats/quantile.js';
import { latencyQuantileInterval, summarizeRun } from '../../src/stats/run-model.js';
import { createRng, fakeRecord, fakeSession } from '../stats/make-records.js';

const rng = createRng(77);

describe('percentile determinacy in the run model', () => {
  it('a percentile is absent, with the reason, until the run has the samples a 95% bound needs', () => {
    const small = summarizeRun(fakeRecord(rng, { kind: 'latency', latencyUs: 60, latencySamples: 5 }));
    expect(small.metrics.latencyP99).toBeUndefined();
    expect(small.metrics.latencyP50).toBeUndefined();
    expect(small.undetermined.latencyP99).toBe('5 latency sample(s) in the run cannot bound p99 at 95% (needs n >= 368)');
    expect(small.undetermined.latencyP50).toBe('5 latency sample(s) in the run cannot bound p50 at 95% (needs n >= 6)');
    const enough = summarizeRun(fakeRecord(rng, { kind: 'latency', latencyUs: 60, latencySamples: minSampleForQuantile(0.99, 0.95) }));
    expect(enough.metrics.latencyP99).toBeGreaterThan(0);
    expect(enough.undetermined).toEqual({});
    // the level decides: 300 samples bound p99 at 90% (needs 299), not at 95%
    const r = fakeRecord(rng, { kind: 'latency', latencyUs: 60, latencySamples: 300 });
    expect(summarizeRun(r, { level: 0.9 }).metrics.latencyP99).toBeDefined();
    expect(summarizeRun(r, { level: 0.95 }).metrics.latencyP99).toBeUndefined();
  });

  it('records without raw samples are judged by the count of their histogram', () => {
    const r = fakeRecord(rng, { kind: 'latency' });
    r.end.latency = { unit: 'us', method: 'hdrhistogram-3', n: 5, minUs: 30, meanUs: 120, p50Us: 31, p90Us: 462, p99Us: 462, p999Us: 462, maxUs: 462 };
    const s = summarizeRun(r);
    expect(s.metrics.latencyP99).toBeUndefined();
    expect(s.undetermined.latencyP99).toMatch(/^5 latency sample/);
  });

  it('the sample extremes bound a percentile on one side where a two-sided interval needs more samples', () => {
    const five = Float64Array.from([30, 31, 32, 33, 462]);
    const p99 = latencyQuantileInterval(five, 0.99, 0.95)!;
    // P(all five above p99) = 0.01^5: the smallest bounds p99 from below; 0.99^5 is far above 2.5%: no upper bound
    expect(p99).toMatchObject({ lower: 30, upper: null });
    const p50 = latencyQuantileInterval(five, 0.5, 0.95)!;
    expect(p50).toMatchObject({ lower: null, upper: null });
    expect(latencyQuantileInterval(five, 1, 0.95)).toMatchObject({ lower: 462, upper: null });
  });
});

describe('gathering evidence', () => {
  const summarise = (records: ReturnType<typeof fakeSession>) => records.map((record) => ({ record, summary: summarizeRun(record) }));

  it('one run: the block bootstrap over its steady intervals, or a point when it has too few', () => {
    const long = gatherEvidence(summarise([fakeRecord(rng, { intervals: 30 })]), { kind: 'metric', metric: 'goodput' }, { level: 0.95, kinds: ['download'] });
    expect(long.measured).toMatchObject({ basis: 'run', n: 1 });
    expect(long.measured!.lower).toBeLessThan(long.measured!.upper!);
    const short = gatherEvidence(summarise([fakeRecord(rng, { intervals: 2, warmup: 0 })]), { kind: 'metric', metric: 'goodput' }, { level: 0.95, kinds: ['download'] });
    expect(short.measured).toMatchObject({ basis: 'point', lower: null, upper: null });
  });

  it('names failed and zero runs, and sets other testbeds aside', () => {
    const records = [
      ...fakeSession(rng, 's', 4, { noise: 0.01 }),
      fakeRecord(rng, { session: 's', run: 4, state: 'errored' }),
      fakeRecord(rng, { session: 's', run: 5, levelBps: 0 }),
      fakeRecord(rng, { session: 'x', run: 0, fingerprint: 'tb-2' }),
    ];
    const e = gatherEvidence(summarise(records), { kind: 'metric', metric: 'goodput' }, { level: 0.95, kinds: ['download'] });
    expect(e.failed).toEqual(['run 4 errored']);
    expect(e.zero).toEqual(['run 5']);
    expect(e.setAside).toEqual([{ fingerprint: 'tb-2', runs: 1 }]);
    expect(e.runs).toMatchObject({ total: 6, completed: 5 });
    expect(e.measured!.method).toMatch(/t on the values \(a run measured 0, so not on logs\)/);
  });
});
