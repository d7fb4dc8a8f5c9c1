// The sorted copy is the reference for order statistics; the large-sample paths (histogram, brackets) must
// answer every query exactly as it does, on generated samples of every shape (fast-check, seeded). The
// reference itself is checked against the definitions, by brute force.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramValues } from '../../src/stats/histogram.js';
import {
  createRng,
  fromSorted,
  LARGE_SAMPLE,
  median,
  medianInPlace,
  orderStatistics,
  quantileSorted,
  sortedOrderStatistics,
  type OrderBounds,
  type OrderStatistics,
  type OrderStatisticsPlan,
  type QuantileType,
} from '../../src/stats/index.js';
import type { RankedValues } from '../../src/stats/order-plan.js';
import { plannedRanks } from '../../src/stats/order-statistics.js';
import { BRACKET_MIN_N, bracketValues } from '../../src/stats/select.js';

const SHAPES = ['lognormal', 'normal', 'coarse clock', 'few values', 'spike and tail', 'ascending', 'heavy tail', 'bimodal', 'nearly constant'] as const;
type Shape = (typeof SHAPES)[number];

/** A sample of a shape seen in measurements (or built to defeat a histogram), from a seed. */
function makeSample(shape: Shape, n: number, seed: number, scale: number): Float64Array {
  const rng = createRng(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    switch (shape) {
      case 'lognormal':
        x[i] = scale * Math.exp(0.35 * z);
        break;
      case 'normal':
        x[i] = scale * z;
        break;
      case 'coarse clock':
        x[i] = Math.round(60 * Math.exp(0.3 * z));
        break;
      case 'few values':
        x[i] = scale * (1 + rng.int(3));
        break;
      case 'spike and tail':
        x[i] = rng.next() < 0.7 ? scale : scale + rng.next() * scale * 1e4;
        break;
      case 'ascending':
        x[i] = (i - n / 3) * scale;
        break;
      case 'heavy tail':
        x[i] = scale / Math.max(1e-6, rng.next()) ** 0.8;
        break;
      case 'bimodal':
        x[i] = (rng.next() < 0.25 ? 8 : 1) * scale * Math.exp(0.1 * z);
        break;
      case 'nearly constant':
        x[i] = rng.next() < 0.002 ? scale * (2 + rng.int(5)) : scale;
        break;
    }
  }
  return x;
}

const TUKEY_K = 1.5;
const Z_FACTOR = 3.5 / 0.6745;
/** The summary's outlier cut-offs, as a plan declares them. */
function cutoffs(b: OrderBounds): Array<[number, number]> {
  const [a1, b1] = b.quantile(0.25);
  const [a3, b3] = b.quantile(0.75);
  const [m0, m1] = b.quantile(0.5);
  const [d0, d1] = b.mad();
  return [
    [(1 + TUKEY_K) * a1 - TUKEY_K * b3, (1 + TUKEY_K) * b1 - TUKEY_K * a3],
    [(1 + TUKEY_K) * a3 - TUKEY_K * b1, (1 + TUKEY_K) * b3 - TUKEY_K * a1],
    [m0 - Z_FACTOR * d1, m1 - Z_FACTOR * d0],
    [m0 + Z_FACTOR * d0, m1 + Z_FACTOR * d1],
  ];
}

const planArb = fc.record({
  quantiles: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
  type: fc.constantFrom<QuantileType>(4, 5, 6, 7, 8, 9),
  intervals: fc.array(fc.constantFrom(0.5, 0.75, 0.9, 0.99, 0.999, 0.01), { maxLength: 4 }),
  level: fc.constantFrom(0.8, 0.9, 0.95, 0.99),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});
const sampleArb = fc.record({
  shape: fc.constantFrom(...SHAPES),
  n: fc.integer({ min: LARGE_SAMPLE, max: 140_000 }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  scale: fc.constantFrom(1e-6, 0.37, 51, 9.4e9),
});
/** Where a cut-off may be asked: a fraction of the way between two ranks, or exactly on a value. */
const probeArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -0.5, max: 1.5, noNaN: true })), { minLength: 3, maxLength: 8 });

/** The queries both sides answer without the derived layer: values at ranks, counts, the MAD. */
function samePrimitives(got: RankedValues, ref: OrderStatistics, ranks: readonly number[], values: readonly number[], centres: readonly number[]): void {
  for (const r of ranks) expect(got.at(r), `rank ${r} (${got.method})`).toBe(ref.at(r));
  for (const v of values) {
    expect(got.countBelow(v), `below ${v} (${got.method})`).toBe(ref.countBelow(v));
    expect(got.countAbove(v), `above ${v} (${got.method})`).toBe(ref.countAbove(v));
  }
  for (const c of centres) expect(got.mad(c), `MAD about ${c} (${got.method})`).toBe(ref.mad(c));
}

describe('order statistics: every large-sample path equals the sorted reference', () => {
  const paths = new Set<string>();

  it('on generated samples, every query, planned or not', () => {
    fc.assert(
      fc.property(sampleArb, planArb, probeArb, (s, p, probes) => {
        const x = makeSample(s.shape, s.n, s.seed, s.scale);
        const ref = sortedOrderStatistics(x);
        const plan: OrderStatisticsPlan = { ...p, mad: true, cutoffs };
        const n = x.length;
        const med = ref.quantile(0.5, p.type);
        const mad = ref.mad(med);
        // planned ranks, a few unplanned ones, cut-offs on and between values, the summary's fences
        const ranks = [...plannedRanks(n, plan), 0, n - 1, ...probes.map(([u]) => Math.floor(u * (n - 1)))];
        const q1 = ref.quantile(0.25, p.type);
        const q3 = ref.quantile(0.75, p.type);
        const values = [
          ...probes.map(([u, f]) => ref.at(Math.floor(u * (n - 1))) + f * (ref.at(Math.ceil(u * (n - 1))) - ref.at(Math.floor(u * (n - 1))))),
          q1 - TUKEY_K * (q3 - q1),
          q3 + TUKEY_K * (q3 - q1),
          med - Z_FACTOR * mad,
          med + Z_FACTOR * mad,
          -Infinity,
          Infinity,
        ];
        const centres = [med, med + mad / 3, ref.at(0)];

        const got = orderStatistics(x, plan);
        paths.add(got.method.split(';')[0]);
        for (const q of [...p.quantiles, 0.25, 0.5, 0.75]) expect(got.quantile(q, p.type), `quantile ${q}`).toBe(ref.quantile(q, p.type));
        for (const q of p.intervals) expect(got.interval(q, p.level), `interval ${q}`).toEqual(ref.interval(q, p.level));
        expect(got.median()).toBe(ref.median());
        const ranked: RankedValues = { n, method: got.method, at: (r) => got.at(r), countBelow: (v) => got.countBelow(v), countAbove: (v) => got.countAbove(v), mad: (c) => got.mad(c) };
        samePrimitives(ranked, ref, ranks, values, centres);

        // each path on its own, where it applies
        const planned = plannedRanks(n, plan);
        const histogram = histogramValues(x, planned, plan);
        if (histogram) samePrimitives(histogram, ref, ranks, values, centres);
        if (n >= BRACKET_MIN_N) samePrimitives(bracketValues(x, planned, plan), ref, ranks, values, centres);
      }),
      { numRuns: 40, seed: 11 },
    );
    // the generated shapes reach the histogram, the brackets and the sorted copy a histogram declined
    expect([...paths].sort()).toEqual(['one pass', 'sorted copy', 'two passes: a 4096-cell histogram, then only the cells holding a wanted rank, the MAD or a counted cut-off are gathered (exact)']);
  });

  it('names every further pass an unplanned query took', () => {
    const x = makeSample('lognormal', 100_000, 3, 51);
    const o = orderStatistics(x, { quantiles: [0.5], mad: true, cutoffs });
    expect(o.method).toMatch(/^two passes: a 4096-cell histogram/);
    expect(o.method).not.toMatch(/further|second/);
    const ref = sortedOrderStatistics(x);
    expect(o.quantile(0.123)).toBe(ref.quantile(0.123));
    expect(o.countBelow(ref.quantile(0.3))).toBe(ref.countBelow(ref.quantile(0.3)));
    expect(o.mad(ref.quantile(0.9))).toBe(ref.mad(ref.quantile(0.9)));
    expect(o.method).toMatch(/an unplanned rank by a further selection/);
    expect(o.method).toMatch(/counts by a further pass/);
    expect(o.method).toMatch(/MAD by a second selection/);
  });
});

describe('the sorted reference against the definitions', () => {
  const values = fc.array(fc.oneof(fc.integer({ min: -20, max: 20 }), fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 80 });
  const asc = (xs: number[]) => [...xs].sort((a, b) => a - b);

  it('at, counts, median and MAD are what their definitions say', () => {
    fc.assert(
      fc.property(values, fc.double({ min: -1e9, max: 1e9, noNaN: true }), (xs, c) => {
        const o = sortedOrderStatistics(xs);
        const s = asc(xs);
        s.forEach((v, r) => expect(o.at(r) === v).toBe(true));
        for (const v of [...xs, c]) {
          expect(o.countBelow(v)).toBe(xs.filter((w) => w < v).length);
          expect(o.countAbove(v)).toBe(xs.filter((w) => w > v).length);
        }
        expect(o.median()).toBe(quantileSorted(s, 0.5));
        expect(median(xs)).toBe(o.median());
        expect(medianInPlace(Float64Array.from(xs))).toBe(o.median());
        expect(o.mad(c)).toBe(quantileSorted(asc(xs.map((v) => Math.abs(v - c))), 0.5));
        expect(o.mad(o.median())).toBe(quantileSorted(asc(xs.map((v) => Math.abs(v - o.median()))), 0.5));
        // a sorted array read in place gives the same answers
        expect(fromSorted(Float64Array.from(s)).mad(c)).toBe(o.mad(c));
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('quantiles and intervals are those of the sorted values', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom<QuantileType>(4, 5, 6, 7, 8, 9), (xs, p, type) => {
        const o = sortedOrderStatistics(xs);
        const s = Float64Array.from(xs).sort();
        expect(o.quantile(p, type)).toBe(quantileSorted(s, p, type));
        const iv = o.interval(p, 0.9);
        if (iv) {
          expect(iv.lower).toBe(s[iv.ranks[0] - 1]);
          expect(iv.upper).toBe(s[iv.ranks[1] - 1]);
          expect(iv.coverage).toBeGreaterThanOrEqual(0.9);
        }
      }),
      { numRuns: 300, seed: 6 },
    );
  });
});

describe('bad input gets a clear error', () => {
  it('rejects NaN and infinities on every path, naming the value', () => {
    for (const n of [10, LARGE_SAMPLE + 5, BRACKET_MIN_N + 5]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const x = makeSample('lognormal', n, 9, 51);
        x[7] = bad;
        expect(() => orderStatistics(x, { quantiles: [0.5] }), `n ${n}, ${bad}`).toThrow(/value 7 is not a finite number/);
      }
    }
    // a constant sample declines the histogram before its pass: the brackets check too
    const y = new Float64Array(BRACKET_MIN_N + 5).fill(1);
    y[60_000] = NaN;
    expect(() => orderStatistics(y)).toThrow(/value 60000 is not a finite number/);
  });

  it('rejects an empty sample and a rank outside the sample', () => {
    expect(() => sortedOrderStatistics([])).toThrow(/no values/);
    expect(() => orderStatistics([])).toThrow(/no values/);
    const o = sortedOrderStatistics([3, 1, 2]);
    expect(() => o.at(3)).toThrow(/rank 3 is outside 0..2/);
    expect(() => o.at(-1)).toThrow(/outside/);
    expect(() => o.at(0.5)).toThrow(/outside/);
    expect(o.at(0)).toBe(1);
  });

  it('answers NaN queries without throwing: no value is below or above NaN', () => {
    const o = orderStatistics(makeSample('lognormal', LARGE_SAMPLE * 2, 4, 51), { quantiles: [0.5] });
    expect(o.countBelow(NaN)).toBe(0);
    expect(o.countAbove(NaN)).toBe(0);
    expect(o.mad(NaN)).toBeNaN();
    expect(o.quantile(1.5)).toBeNaN();
    expect(median([])).toBeNaN();
  });
});
