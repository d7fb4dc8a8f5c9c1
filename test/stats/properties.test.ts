// Invariants, checked on generated samples (fast-check, seeded).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, hodgesLehmannShift, mannWhitney, quantileSorted, summarize, type QuantileType } from '../../src/stats/index.js';

const grid = fc.integer({ min: -5000, max: 5000 }).map((v) => v / 100);
const sample = fc.array(grid, { minLength: 1, maxLength: 60 });
const opts = { numRuns: 200, seed: 7 };

describe('properties', () => {
  it('quantiles are monotone in p and stay within [min, max], for every type', () => {
    fc.assert(
      fc.property(sample, fc.constantFrom<QuantileType>(4, 5, 6, 7, 8, 9), (xs, type) => {
        const s = Float64Array.from(xs).sort();
        let prev = -Infinity;
        for (let p = 0; p <= 1.0000001; p += 0.05) {
          const q = quantileSorted(s, Math.min(p, 1), type);
          if (q < prev - 1e-12 || q < s[0] || q > s[s.length - 1]) return false;
          prev = q;
        }
        return true;
      }),
      opts,
    );
  });

  it('summaries are affine equivariant: centres and spreads move with a x + b', () => {
    fc.assert(
      fc.property(fc.array(grid, { minLength: 3, maxLength: 60 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: -100, max: 100 }), (xs, a, b) => {
        const s1 = summarize(xs);
        const s2 = summarize(xs.map((v) => a * v + b));
        const close = (u: number, v: number) => Math.abs(u - v) <= 1e-9 * Math.max(1, Math.abs(v));
        return (
          close(s2.mean, a * s1.mean + b) &&
          close(s2.median, a * s1.median + b) &&
          close(s2.mad, a * s1.mad) &&
          close(s2.sd, a * s1.sd) &&
          close(s2.iqr, a * s1.iqr) &&
          s2.outliers.tukey.low === s1.outliers.tukey.low &&
          s2.outliers.tukey.high === s1.outliers.tukey.high
        );
      }),
      opts,
    );
  });

  it('Mann-Whitney: U1 + U2 = mn, p in [0, 1], symmetric in its samples', () => {
    fc.assert(
      fc.property(fc.array(grid, { minLength: 1, maxLength: 25 }), fc.array(grid, { minLength: 1, maxLength: 25 }), (x, y) => {
        const a = mannWhitney(x, y);
        const b = mannWhitney(y, x);
        return a.u1 + a.u2 === x.length * y.length && a.p >= 0 && a.p <= 1 && Math.abs(a.p - b.p) < 1e-12 && a.u1 === b.u2;
      }),
      opts,
    );
  });

  it('Hodges-Lehmann shift is equivariant to shifting the candidate', () => {
    fc.assert(
      fc.property(fc.array(grid, { minLength: 2, maxLength: 20 }), fc.array(grid, { minLength: 2, maxLength: 20 }), fc.integer({ min: -300, max: 300 }), (x, y, c) => {
        const a = hodgesLehmannShift(x, y, 0.9);
        const b = hodgesLehmannShift(x, y.map((v) => v + c), 0.9);
        return Math.abs(b.estimate - (a.estimate + c)) < 1e-9;
      }),
      opts,
    );
  });

  it('Benjamini-Hochberg: adjusted >= raw, <= 1, and order preserving', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), (p) => {
        const adj = benjaminiHochberg(p);
        for (let i = 0; i < p.length; i++) {
          if (adj[i] < p[i] - 1e-15 || adj[i] > 1) return false;
          for (let j = 0; j < p.length; j++) if (p[i] < p[j] && adj[i] > adj[j] + 1e-15) return false;
        }
        return true;
      }),
      opts,
    );
  });

  it('summarize rejects non-finite values with a clear error', () => {
    expect(() => summarize([1, NaN, 3])).toThrow(/finite/);
    expect(() => summarize([1, Infinity])).toThrow(/finite/);
    expect(() => summarize([])).toThrow(/empty/);
  });
});
