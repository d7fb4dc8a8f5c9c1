// The large-sample paths (a histogram pass and a gathering pass, or bracket selection; never a sort) must
// equal the figures of a full sort.
import { describe, expect, it } from 'vitest';
import { autocorrelation, createRng, drift, fromSorted, quantileInterval, quantileSorted, summarize } from '../../src/stats/index.js';
import { selectRanks } from '../../src/stats/select.js';

function reference(x: Float64Array) {
  const sorted = x.slice().sort();
  const med = quantileSorted(sorted, 0.5);
  return { sorted, med, mad: fromSorted(sorted).mad(med) };
}

const rng = createRng(77);
const cases: Record<string, Float64Array> = {
  lognormal: Float64Array.from({ length: 200_000 }, () => 51 * Math.exp(0.35 * rng.normal())),
  'coarse clock (heavy ties)': Float64Array.from({ length: 150_001 }, () => Math.round(60 * Math.exp(0.3 * rng.normal()))),
  'two values': Float64Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? 5 : 7)),
  'sorted input': Float64Array.from({ length: 120_000 }, (_, i) => i / 7),
  'heavy tail': Float64Array.from({ length: 100_000 }, () => 1 / Math.max(1e-6, rng.next()) ** 0.8),
  'normal with negatives (equal-width cells)': Float64Array.from({ length: 150_000 }, () => rng.normal()),
  bimodal: Float64Array.from({ length: 120_000 }, (_, i) => (i % 4 === 0 ? 500 : 60) * Math.exp(0.1 * rng.normal())),
  // a view into a larger buffer: the bit-pattern cells read the words at the view's offset
  'subarray view': Float64Array.from({ length: 130_007 }, () => 40 * Math.exp(0.5 * rng.normal())).subarray(3, 130_003),
  // nearly constant: the histogram has no range, so the bracket path runs
  'nearly constant': Float64Array.from({ length: 90_000 }, (_, i) => (i % 500 === 0 ? 1 + (i % 7) : 1)),
  // a spike and a far tail: most cells empty, the gathered share large
  'spike and tail': Float64Array.from({ length: 100_000 }, (_, i) => (i % 10 < 7 ? 50 + (i % 3) * 1e-9 : 50 + rng.next() * 1e6)),
};

const paths: string[] = [];

describe('large samples: selection equals sorting', () => {
  for (const [name, x] of Object.entries(cases)) {
    it(name, () => {
      const { sorted, med, mad } = reference(x);
      const s = summarize(x, { level: 0.95 });
      paths.push(`${name}: ${s.conventions.computation}`);
      expect(s.median).toBe(med);
      expect(s.mad).toBe(mad);
      expect(s.q1).toBe(quantileSorted(sorted, 0.25));
      expect(s.q3).toBe(quantileSorted(sorted, 0.75));
      expect(s.min).toBe(sorted[0]);
      expect(s.max).toBe(sorted[sorted.length - 1]);
      for (const [key, p] of Object.entries(s.percentiles)) {
        const ci = quantileInterval(sorted, p.p, 0.95)!;
        expect(p.value, key).toBe(quantileSorted(sorted, p.p));
        expect(p.interval!.lower, key).toBe(ci.lower);
        expect(p.interval!.upper, key).toBe(ci.upper);
      }
      let low = 0;
      let high = 0;
      let modified = 0;
      for (const v of x) {
        if (v < s.q1 - 1.5 * s.iqr) low++;
        else if (v > s.q3 + 1.5 * s.iqr) high++;
        if (mad > 0 && Math.abs(v - med) > (3.5 * mad) / 0.6745) modified++;
      }
      expect(s.outliers.tukey.low).toBe(low);
      expect(s.outliers.tukey.high).toBe(high);
      expect(s.outliers.modifiedZ.count).toBe(mad > 0 ? modified : null);
      const d = drift(x, 0.95);
      expect(s.drift!.slope).toBe(d.slope);
      expect(s.drift!.lower).toBe(d.lower);
      const r = autocorrelation(x, 1);
      if (Number.isFinite(r)) expect(Math.abs(s.lag1! - r)).toBeLessThan(1e-9);
      let mean = 0;
      for (const v of x) mean += v;
      mean /= x.length;
      expect(Math.abs(s.mean - mean) / Math.abs(mean)).toBeLessThan(1e-12);
    });
  }

  it('the histogram path is the usual one; the bracket path and the direct fallbacks are exercised too', () => {
    expect(paths.find((p) => p.startsWith('lognormal'))).toMatch(/^lognormal: two passes: a 4096-cell histogram/);
    expect(paths.find((p) => p.startsWith('heavy tail'))).toMatch(/^heavy tail: two passes/);
    expect(paths.find((p) => p.startsWith('nearly constant'))).toMatch(/^nearly constant: one pass; order statistics selected within brackets/);
    expect(paths.some((p) => /second/.test(p))).toBe(true);
  });

  it('rejects a NaN or an infinity in a large sample', () => {
    const x = Float64Array.from({ length: 100_000 }, () => rng.next());
    x[77_777] = NaN;
    expect(() => summarize(x)).toThrow(/finite/);
    x[77_777] = Infinity;
    expect(() => summarize(x)).toThrow(/finite/);
  });

  it('selectRanks falls back correctly when a bracket misses (adversarial seed, tiny brackets)', () => {
    const x = Float64Array.from({ length: 70_000 }, (_, i) => (i < 69_990 ? 1 : 1000 + i));
    const sorted = x.slice().sort();
    const ranks = [0, 69_989, 69_990, 69_995, 69_999];
    const got = selectRanks(x, ranks, 3);
    for (const r of ranks) expect(got.get(r)).toBe(sorted[r]);
  });
});

describe('brackets planned from a misleading sample', () => {
  it('still give every rank exactly: the ranks a bracket missed are selected directly', () => {
    const x = Float64Array.from({ length: 80_000 }, () => 40 * Math.exp(0.5 * rng.normal()));
    const sorted = x.slice().sort();
    // a planning sample from a distribution shifted and narrowed: most brackets miss their ranks
    const misleading = Float64Array.from({ length: 4096 }, () => 60 * Math.exp(0.1 * rng.normal())).sort();
    const ranks = [0, 1000, 20_000, 40_000, 60_000, 79_000, 79_999];
    const got = selectRanks(x, ranks, 1, undefined, misleading);
    for (const r of ranks) expect(got.get(r), `rank ${r}`).toBe(sorted[r]);
    const centre = sorted[40_000];
    const deviations = Float64Array.from(x, (v) => Math.abs(v - centre)).sort();
    const dev = selectRanks(x, ranks, 1, centre, misleading);
    for (const r of ranks) expect(dev.get(r), `deviation rank ${r}`).toBe(deviations[r]);
  });
});
