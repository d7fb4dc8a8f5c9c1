// BCa against scipy.stats.bootstrap (method="BCa", 40000 resamples): the resampling streams differ, so the
// bounds are compared to a small share of the interval's width; and the interval is reproducible by seed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bcaTwoSample, batchMeansInterval, blockBootstrapMean, createRng, median } from '../../src/stats/index.js';

const ref = JSON.parse(readFileSync(new URL('../fixtures/stats/scipy-reference.json', import.meta.url), 'utf8'));
const stats: Record<string, (a: readonly number[], b: readonly number[]) => number> = {
  meanDiff: (a, b) => b.reduce((s, v) => s + v, 0) / b.length - a.reduce((s, v) => s + v, 0) / a.length,
  logMedianRatio: (a, b) => Math.log(median(b)) - Math.log(median(a)),
};

describe('BCa bootstrap', () => {
  for (const row of ref.bca) {
    it(`matches scipy for ${row.statistic}`, () => {
      const r = bcaTwoSample(row.x as number[], row.y as number[], stats[row.statistic], { resamples: 20000, level: 0.9, seed: 3 });
      const width = row.high - row.low;
      expect(r.estimate).toBeCloseTo(row.estimate, 12);
      // the median is a step function of the data, so its bootstrap quantiles move in steps
      const tolerance = row.statistic === 'meanDiff' ? 0.03 : 0.06;
      expect(Math.abs(r.lower - row.low)).toBeLessThan(tolerance * width);
      expect(Math.abs(r.upper - row.high)).toBeLessThan(tolerance * width);
    });
  }

  it('is reproducible from its seed and changes with it', () => {
    const row = ref.bca[0];
    const a = bcaTwoSample(row.x, row.y, stats.meanDiff, { resamples: 500, seed: 9 });
    const b = bcaTwoSample(row.x, row.y, stats.meanDiff, { resamples: 500, seed: 9 });
    const c = bcaTwoSample(row.x, row.y, stats.meanDiff, { resamples: 500, seed: 10 });
    expect(a).toEqual(b);
    expect(a.lower).not.toBe(c.lower);
  });

  it('single long run: block bootstrap and batch means cover an AR(1) mean about as often as promised', () => {
    const rng = createRng(5);
    let coveredBlock = 0;
    let coveredBatch = 0;
    const sims = 150;
    for (let s = 0; s < sims; s++) {
      let e = 0;
      const xs = Array.from({ length: 200 }, () => {
        e = 0.6 * e + 0.8 * rng.normal();
        return 100 + e;
      });
      const bb = blockBootstrapMean(xs, { level: 0.9, resamples: 400, seed: s });
      const bm = batchMeansInterval(xs, { level: 0.9 });
      if (bb.lower <= 100 && 100 <= bb.upper) coveredBlock++;
      if (bm.lower <= 100 && 100 <= bm.upper) coveredBatch++;
    }
    // nominal 90%; a naive iid interval would cover far less (r1 = 0.6 shrinks the effective n 4-fold)
    expect(coveredBatch / sims).toBeGreaterThan(0.8);
    expect(coveredBlock / sims).toBeGreaterThan(0.75);
  });
});
