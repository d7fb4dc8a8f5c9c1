// Serial dependence and drift of a series: lag-1 autocorrelation with the effective sample size it implies,
// Theil-Sen slope with Sen's (1968) interval, batch means. These decide whether a run was steady and how
// many independent points its intervals are worth.
import { fromSorted, median, medianInPlace } from './order-statistics.js';
import { createRng } from './rng.js';
import { normalQuantile } from './special.js';

/** Neumaier-compensated mean. */
export function mean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let sum = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const t = sum + v;
    c += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  return (sum + c) / n;
}

/** Sample variance (n - 1), two-pass with the compensating correction term. */
export function variance(values: ArrayLike<number>, m: number = mean(values)): number {
  const n = values.length;
  if (n < 2) return NaN;
  let ss = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - m;
    ss += d * d;
    comp += d;
  }
  return (ss - (comp * comp) / n) / (n - 1);
}

/**
 * Lag-k autocorrelation, the standard ACF estimator (as statsmodels.tsa.acf and R's acf):
 * sum_{t} (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2.
 */
export function autocorrelation(values: ArrayLike<number>, lag = 1, knownMean?: number): number {
  const n = values.length;
  if (n <= lag + 1) return NaN;
  const m = knownMean ?? mean(values);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - m;
    den += d * d;
    if (i + lag < n) num += d * (values[i + lag] - m);
  }
  return den === 0 ? NaN : num / den;
}

/**
 * Effective sample size under an AR(1) model: n (1 - r1) / (1 + r1), kept within [1, n].
 * 27 one-second intervals with r1 = 0.6 are worth about 7 independent points.
 */
export function effectiveSampleSize(n: number, r1: number): number {
  if (!Number.isFinite(r1)) return n;
  const r = Math.min(Math.max(r1, -0.999), 0.999);
  return Math.min(n, Math.max(1, (n * (1 - r)) / (1 + r)));
}

export interface TheilSen {
  /** Median of pairwise slopes (per unit of x). */
  slope: number;
  /** median(y) - slope * median(x) (scipy's method="separate"). */
  intercept: number;
  /** Sen's (1968) interval for the slope. */
  lower: number;
  upper: number;
  level: number;
  /** Points the slope was computed on (batch means when the series was long). */
  points: number;
  method: string;
}

/** Theil-Sen estimator with Sen's confidence interval; matches scipy.stats.theilslopes. */
export function theilSen(y: ArrayLike<number>, x?: ArrayLike<number>, level = 0.95): TheilSen {
  const n = y.length;
  const xs = x ?? Float64Array.from({ length: n }, (_, i) => i);
  const all = new Float64Array((n * (n - 1)) / 2 + 1);
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dx = xs[i] - xs[j];
      if (dx > 0) all[count++] = (y[i] - y[j]) / dx;
    }
  }
  const sorted = all.subarray(0, count).sort();
  const nt = sorted.length;
  const slope = nt > 0 ? fromSorted(sorted).median() : NaN;
  const intercept = median(y) - slope * median(xs);
  const z = normalQuantile((1 - level) / 2);
  const reps = (v: ArrayLike<number>) => {
    const counts = new Map<number, number>();
    for (let i = 0; i < v.length; i++) counts.set(v[i], (counts.get(v[i]) ?? 0) + 1);
    let s = 0;
    for (const k of counts.values()) if (k > 1) s += k * (k - 1) * (2 * k + 5);
    return s;
  };
  const sigsq = (n * (n - 1) * (2 * n + 5) - reps(xs) - reps(y)) / 18;
  const sigma = Math.sqrt(sigsq);
  const ru = Math.min(roundHalfEven((nt - z * sigma) / 2), nt - 1);
  const rl = Math.max(roundHalfEven((nt + z * sigma) / 2) - 1, 0);
  const ok = nt > 0 && Number.isFinite(sigma);
  return {
    slope,
    intercept,
    lower: ok ? sorted[rl] : NaN,
    upper: ok ? sorted[ru] : NaN,
    level,
    points: n,
    method: "Theil-Sen, Sen (1968) interval",
  };
}

/**
 * Theil-Sen drift of a possibly long series: exact on up to `maxPoints` points, otherwise on that many batch
 * means (x = batch centre), so the cost stays bounded.
 */
export function drift(values: ArrayLike<number>, level = 0.95, maxPoints = 200): TheilSen {
  const n = values.length;
  if (n <= maxPoints) return theilSen(values, undefined, level);
  const { means, centres } = batchMeans(values, maxPoints);
  const t = theilSen(means, centres, level);
  return { ...t, method: `Theil-Sen on ${maxPoints} batch means, Sen (1968) interval` };
}

/** Splits a series into `k` contiguous batches (sizes differing by at most one) and returns their means. */
export function batchMeans(values: ArrayLike<number>, k: number): { means: Float64Array; centres: Float64Array } {
  const n = values.length;
  const means = new Float64Array(k);
  const centres = new Float64Array(k);
  for (let b = 0; b < k; b++) {
    const start = Math.floor((b * n) / k);
    const end = Math.floor(((b + 1) * n) / k);
    let s = 0;
    for (let i = start; i < end; i++) s += values[i];
    means[b] = s / (end - start);
    centres[b] = (start + end - 1) / 2;
  }
  return { means, centres };
}

/** Round half to even, as numpy.round. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One-sample Hodges-Lehmann centre: the median of the Walsh averages (x_i + x_j)/2, i <= j. Exact up to
 * `exactLimit` values (default 2000); beyond, the median of `sampledPairs` (default 50,000) Walsh averages
 * of random pairs drawn with the seeded generator (approximate).
 */
export function hodgesLehmannCentre(
  values: ArrayLike<number>,
  options: { exactLimit?: number; sampledPairs?: number; seed?: number } = {},
): { value: number; method: string } {
  const n = values.length;
  if (n === 0) return { value: NaN, method: 'empty' };
  const exactLimit = options.exactLimit ?? 2000;
  if (n <= exactLimit) {
    const w = new Float64Array((n * (n + 1)) / 2);
    let k = 0;
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) w[k++] = (values[i] + values[j]) / 2;
    return { value: medianInPlace(w), method: 'median of all Walsh averages' };
  }
  const pairs = options.sampledPairs ?? 50_000;
  const w = new Float64Array(pairs);
  // one 32-bit draw per index: the sampling must not cost more than the selection
  const rng = createRng(options.seed ?? 1);
  const scale = n / 2 ** 32;
  for (let k = 0; k < pairs; k++) w[k] = (values[Math.floor(rng.uint32() * scale)] + values[Math.floor(rng.uint32() * scale)]) / 2;
  return { value: medianInPlace(w), method: `median of ${pairs} seeded random Walsh averages (n > ${exactLimit}; approximate)` };
}
