// Every statistic matched against scipy/numpy (fixtures from scripts/make-stats-fixtures.py) to 1e-9 relative.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  autocorrelation,
  benjaminiHochberg,
  binomialCdf,
  fromSorted,
  hodgesLehmannCentre,
  hodgesLehmannShift,
  mannWhitney,
  normalCdf,
  normalQuantile,
  normalSf,
  quantileInterval,
  quantileSorted,
  studentTQuantile,
  studentTSf,
  summarize,
  theilSen,
  welch,
  type QuantileType,
} from '../../src/stats/index.js';

const ref = JSON.parse(readFileSync(new URL('../fixtures/stats/scipy-reference.json', import.meta.url), 'utf8'));
const samples: Record<string, number[]> = ref.samples;

/** Relative closeness (absolute near zero). */
function close(actual: number, expected: number, rel = 1e-9, abs = 1e-300): void {
  if (expected === 0 || Math.abs(expected) < abs) {
    expect(Math.abs(actual)).toBeLessThanOrEqual(Math.max(abs, 1e-15));
    return;
  }
  const err = Math.abs(actual - expected) / Math.abs(expected);
  if (!(err <= rel)) throw new Error(`expected ${expected}, got ${actual} (relative error ${err.toExponential(2)} > ${rel})`);
}

describe('special functions vs scipy', () => {
  it('normal sf, cdf and ppf', () => {
    const { z, sf, cdf, p, ppf } = ref.special.normal;
    z.forEach((v: number, i: number) => {
      close(normalSf(v), sf[i]);
      close(normalCdf(v), cdf[i]);
    });
    p.forEach((v: number, i: number) => close(normalQuantile(v), ppf[i]));
  });
  it('Student t sf and ppf, fractional df included', () => {
    for (const row of ref.special.t) {
      row.t.forEach((v: number, i: number) => close(studentTSf(v, row.df), row.sf[i]));
      row.p.forEach((v: number, i: number) => close(studentTQuantile(v, row.df), row.ppf[i]));
    }
  });
  it('binomial cdf (order-statistic intervals rest on it)', () => {
    for (const row of ref.special.binomial) {
      row.k.forEach((k: number, i: number) => close(binomialCdf(k, row.n, row.p), row.cdf[i], 1e-9, 1e-280));
    }
  });
});

describe('quantiles vs numpy.quantile, all continuous Hyndman-Fan types', () => {
  for (const row of ref.quantiles) {
    it(`${row.sample} type ${row.type}`, () => {
      const sorted = Float64Array.from(samples[row.sample]).sort();
      row.p.forEach((p: number, i: number) => close(quantileSorted(sorted, p, row.type as QuantileType), row.q[i]));
    });
  }
});

describe('descriptive statistics vs scipy', () => {
  for (const row of ref.descriptive) {
    it(row.sample, () => {
      const x = samples[row.sample];
      const s = summarize(x, { level: 0.95 });
      expect(s.n).toBe(row.n);
      close(s.mean, row.mean);
      close(s.min, row.min);
      close(s.max, row.max);
      close(s.median, row.median);
      close(s.mad, row.mad);
      close(s.madScaled, row.madScaled);
      close(s.iqr, row.iqr);
      if (row.sd !== undefined) {
        close(s.sd, row.sd);
        close(s.sem, row.sem);
        close(s.moe, row.moe);
      }
      if (row.lag1 !== undefined && row.lag1 !== null) close(autocorrelation(x, 1), row.lag1);
      if (row.medianInterval95) {
        const ci = quantileInterval(Float64Array.from(x).sort(), 0.5, 0.95)!;
        close(ci.lower, row.medianInterval95[0]);
        close(ci.upper, row.medianInterval95[1]);
        expect(ci.coverage).toBeGreaterThanOrEqual(0.95);
      }
      if (row.p90Interval90) {
        const ci = quantileInterval(Float64Array.from(x).sort(), 0.9, 0.9)!;
        close(ci.lower, row.p90Interval90[0]);
        close(ci.upper, row.p90Interval90[1]);
      }
      if (row.hodgesLehmann !== undefined) close(hodgesLehmannCentre(x).value, row.hodgesLehmann);
      if (row.theilSen) {
        const t = theilSen(x, undefined, 0.95);
        close(t.slope, row.theilSen.slope, 1e-9, 1e-12);
        close(t.intercept, row.theilSen.intercept, 1e-9, 1e-12);
        close(t.lower, row.theilSen.low, 1e-9, 1e-12);
        close(t.upper, row.theilSen.high, 1e-9, 1e-12);
      }
      expect(fromSorted(Float64Array.from(x).sort()).mad(s.median)).toBe(s.mad);
    });
  }
});

describe('two-sample tests vs scipy', () => {
  ref.twoSample.forEach((row: any, i: number) => {
    it(`#${i} m=${row.m} n=${row.n}${row.ties ? ' with ties' : ''}`, () => {
      const asym = mannWhitney(row.x, row.y, { method: 'asymptotic' });
      close(asym.u1, row.u1);
      close(asym.p, row.pAsymptotic);
      close(hodgesLehmannShift(row.x, row.y).estimate, row.hlEstimate, 1e-9, 1e-15);
      if (row.ties) {
        expect(mannWhitney(row.x, row.y).method).toBe('asymptotic');
        return;
      }
      const exact = mannWhitney(row.x, row.y, { method: 'exact' });
      close(exact.p, row.pExact);
      expect(mannWhitney(row.x, row.y).method).toBe('exact');
      for (const level of [0.9, 0.95]) {
        const expected = row[`hlInterval${level * 100}`];
        const hl = hodgesLehmannShift(row.x, row.y, level);
        if (expected === null) {
          expect(Number.isNaN(hl.lower)).toBe(true);
        } else {
          close(hl.lower, expected[0], 1e-9, 1e-15);
          close(hl.upper, expected[1], 1e-9, 1e-15);
          expect(hl.coverage).toBeGreaterThanOrEqual(level);
        }
      }
      const w = welch(row.x, row.y, 0.9);
      close(w.t, row.welch.t);
      close(w.p, row.welch.p);
      close(w.df, row.welch.df);
      close(w.lower, row.welch.low90);
      close(w.upper, row.welch.high90);
    });
  });
});

describe('Benjamini-Hochberg vs scipy.stats.false_discovery_control', () => {
  ref.bh.forEach((row: any, i: number) => {
    it(`set ${i}`, () => {
      benjaminiHochberg(row.p).forEach((v, k) => close(v, row.adjusted[k]));
    });
  });
});
