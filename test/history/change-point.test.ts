import { describe, expect, it } from 'vitest';
import { bestSplit, detectChangePoints, latestChange } from '../../src/history/change-point.js';
import { createRng } from '../../src/stats/rng.js';

function naiveQ(x: number[], tau: number): number {
  const X = x.slice(0, tau);
  const Y = x.slice(tau);
  const m = X.length;
  const n = Y.length;
  let cross = 0;
  for (const a of X) for (const b of Y) cross += Math.abs(a - b);
  let wx = 0;
  for (let i = 0; i < m; i++) for (let k = i + 1; k < m; k++) wx += Math.abs(X[i] - X[k]);
  let wy = 0;
  for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) wy += Math.abs(Y[i] - Y[k]);
  return ((m * n) / (m + n)) * ((2 * cross) / (m * n) - wx / ((m * (m - 1)) / 2) - wy / ((n * (n - 1)) / 2));
}

describe('E-divisive change points', () => {
  it('the O(T^2) split statistic equals the definition', () => {
    const rng = createRng(1);
    const x = Array.from({ length: 25 }, (_, i) => (i < 12 ? 0 : 1) + rng.normal());
    const best = bestSplit(x, 3);
    let bestNaive = { index: -1, q: -Infinity };
    for (let t = 3; t <= x.length - 3; t++) {
      const q = naiveQ(x, t);
      if (q > bestNaive.q) bestNaive = { index: t, q };
    }
    expect(best.index).toBe(bestNaive.index);
    expect(Math.abs(best.q - bestNaive.q)).toBeLessThan(1e-9 * Math.abs(bestNaive.q));
  });

  it('finds a level shift and says it persists; finds nothing in noise', () => {
    const rng = createRng(2);
    const shifted = Array.from({ length: 30 }, (_, i) => (i < 18 ? 10 : 9) + 0.2 * rng.normal());
    const r = latestChange(shifted, { seed: 3 });
    expect(r.change?.index).toBe(18);
    expect(r.persists).toBe(true);
    expect(r.change!.p).toBeLessThanOrEqual(0.05);
    let falseAlarms = 0;
    for (let s = 0; s < 40; s++) {
      const noise = Array.from({ length: 20 }, () => rng.normal());
      if (detectChangePoints(noise, { seed: s, permutations: 99 }).length > 0) falseAlarms++;
    }
    expect(falseAlarms).toBeLessThanOrEqual(8);
  });

  it('a change too recent to persist is reported as such', () => {
    const rng = createRng(4);
    const x = Array.from({ length: 20 }, (_, i) => (i < 18 ? 10 : 7) + 0.1 * rng.normal());
    const r = latestChange(x, { seed: 5 });
    expect(r.change?.index).toBe(18);
    expect(r.pointsAfter).toBe(2);
    expect(r.persists).toBe(false);
  });
});
