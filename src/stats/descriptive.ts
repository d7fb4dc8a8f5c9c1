// Descriptive statistics of one sample, every figure with its convention named. Names follow tinybench
// (mean, p50, p75, p99, p999, sd, sem, moe, rme); nothing is dropped (outliers are counted, not removed).
import { StoqError } from '../errors.js';
import { createRng } from './rng.js';
import {
  minSampleForQuantile,
  quantileConvention,
  quantileInterval,
  quantileSorted,
  type QuantileInterval,
  type QuantileType,
} from './quantile.js';
import { autocorrelation, drift, effectiveSampleSize, hodgesLehmannCentre, mean as meanOf, type TheilSen } from './series.js';
import { studentTQuantile } from './special.js';

/** MAD scale factor for consistency with the sd under normality: 1 / Phi^-1(3/4). */
export const MAD_NORMAL_SCALE = 1.482602218505602;

export interface Percentile {
  p: number;
  /** null when the sample is too small to bound this percentile at the summary's level. */
  value: number | null;
  interval: QuantileInterval | null;
  reason?: string;
}

export interface SummaryOptions {
  /** Two-sided confidence level of every interval (default 0.95). */
  level?: number;
  quantileType?: QuantileType;
  percentiles?: number[];
  /** Seed for the sampled Hodges-Lehmann centre on large samples. */
  seed?: number;
  /** Skip the O(n) series statistics (autocorrelation, drift) when the order of values is meaningless. */
  ordered?: boolean;
}

export interface Summary {
  n: number;
  level: number;
  conventions: Record<string, string>;
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
  variance: number;
  sem: number;
  /** Margin of error of the mean: t_{(1+level)/2, n-1} x sem. */
  moe: number;
  /** Relative margin of error, percent of the mean (tinybench's rme). */
  rme: number;
  median: number;
  medianInterval: QuantileInterval | null;
  percentiles: Record<string, Percentile>;
  mad: number;
  madScaled: number;
  q1: number;
  q3: number;
  iqr: number;
  /** sd / mean. */
  cv: number;
  /** madScaled / median. */
  robustCv: number;
  outliers: {
    tukey: { k: number; low: number; high: number; lowerFence: number; upperFence: number };
    modifiedZ: { threshold: number; count: number | null; reason?: string };
  };
  hodgesLehmann: { value: number; method: string };
  lag1: number | null;
  effectiveN: number | null;
  drift: TheilSen | null;
}

export const DEFAULT_PERCENTILES = [0.5, 0.75, 0.9, 0.99, 0.999];

export function percentileKey(p: number): string {
  return `p${String(p * 100).replace('.', '')}`;
}

/** Validates and copies numbers into a Float64Array; rejects NaN and infinities with a clear error. */
export function toSample(values: ArrayLike<number> | Iterable<number>, what = 'sample'): Float64Array {
  const a = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new StoqError('INVALID_ARGUMENT', `${what}: value ${i} is not a finite number`);
  }
  return a;
}

/** The full descriptive summary of one sample. */
export function summarize(values: ArrayLike<number>, options: SummaryOptions = {}): Summary {
  const level = options.level ?? 0.95;
  const type = options.quantileType ?? 7;
  const x = toSample(values);
  const n = x.length;
  if (n === 0) throw new StoqError('INVALID_ARGUMENT', 'cannot summarise an empty sample');
  const sorted = x.slice().sort();
  const m = meanOf(x);
  let ss = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - m;
    ss += d * d;
    comp += d;
  }
  const variance = n > 1 ? (ss - (comp * comp) / n) / (n - 1) : NaN;
  const sd = Math.sqrt(variance);
  const sem = sd / Math.sqrt(n);
  const moe = n > 1 ? studentTQuantile((1 + level) / 2, n - 1) * sem : NaN;
  const q = (p: number) => quantileSorted(sorted, p, type);
  const med = q(0.5);
  const mad = madSorted(sorted, med);
  const q1 = q(0.25);
  const q3 = q(0.75);
  const iqr = q3 - q1;

  const percentiles: Record<string, Percentile> = {};
  for (const p of options.percentiles ?? DEFAULT_PERCENTILES) {
    const interval = quantileInterval(sorted, p, level) ?? null;
    percentiles[percentileKey(p)] = interval
      ? { p, value: q(p), interval }
      : {
          p,
          value: null,
          interval: null,
          reason: `n = ${n} is too small to bound p${p * 100} at ${fmtLevel(level)} (needs n >= ${minSampleForQuantile(p, level)})`,
        };
  }

  const k = 1.5;
  const lowerFence = q1 - k * iqr;
  const upperFence = q3 + k * iqr;
  const threshold = 3.5;
  const madScaled = mad * MAD_NORMAL_SCALE;
  let modifiedZ: Summary['outliers']['modifiedZ'];
  if (mad > 0) {
    // |0.6745 (x - median) / MAD| > 3.5  (Iglewicz & Hoaglin)
    const span = (threshold * mad) / 0.6745;
    modifiedZ = { threshold, count: countBelow(sorted, med - span, false) + countAbove(sorted, med + span, false) };
  } else {
    modifiedZ = { threshold, count: null, reason: 'MAD is 0 (over half the values are equal)' };
  }
  const ordered = options.ordered ?? true;
  const lag1 = ordered && n > 2 ? autocorrelation(x, 1) : null;
  const rng = createRng(options.seed ?? 1);
  return {
    n,
    level,
    conventions: {
      sd: 'sample standard deviation (n - 1)',
      moe: `Student t, n - 1 df, ${fmtLevel(level)} two-sided`,
      percentiles: quantileConvention(type),
      intervals: 'distribution-free order-statistic intervals (binomial)',
      mad: `median absolute deviation; madScaled = ${MAD_NORMAL_SCALE} x MAD`,
      outliers: 'Tukey fences at 1.5 IQR; modified z-score |0.6745 (x - median) / MAD| > 3.5; counted, never dropped',
      lag1: 'ACF estimator sum (x_t - m)(x_t+1 - m) / sum (x_t - m)^2; effectiveN = n (1 - r1) / (1 + r1)',
    },
    min: sorted[0],
    max: sorted[n - 1],
    mean: m,
    sd,
    variance,
    sem,
    moe,
    rme: (moe / Math.abs(m)) * 100,
    median: med,
    medianInterval: quantileInterval(sorted, 0.5, level) ?? null,
    percentiles,
    mad,
    madScaled,
    q1,
    q3,
    iqr,
    cv: sd / m,
    robustCv: madScaled / med,
    outliers: {
      tukey: { k, low: countBelow(sorted, lowerFence, false), high: countAbove(sorted, upperFence, false), lowerFence, upperFence },
      modifiedZ,
    },
    hodgesLehmann: hodgesLehmannCentre(x, { random: rng.next }),
    lag1: lag1 !== null && Number.isFinite(lag1) ? lag1 : null,
    effectiveN: lag1 !== null && Number.isFinite(lag1) ? effectiveSampleSize(n, lag1) : null,
    drift: ordered && n >= 3 ? drift(x, level) : null,
  };
}

/** Median absolute deviation from `centre`, by merging the two sorted halves of deviations: O(n). */
export function madSorted(sorted: ArrayLike<number>, centre: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  // first index with value >= centre
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < centre) lo = mid + 1;
    else hi = mid;
  }
  let left = lo - 1; // deviations centre - sorted[left], increasing as left decreases
  let right = lo; // deviations sorted[right] - centre, increasing
  const kth = (k: number): [number, number] => {
    // returns the k-th and (k+1)-th smallest deviations (0-based k)
    let prev = NaN;
    for (let i = 0; i <= k + 1; i++) {
      const dl = left >= 0 ? centre - sorted[left] : Infinity;
      const dr = right < n ? sorted[right] - centre : Infinity;
      let d: number;
      if (dl <= dr) {
        d = dl;
        left--;
      } else {
        d = dr;
        right++;
      }
      if (i === k) prev = d;
      if (i === k + 1) return [prev, d];
    }
    return [prev, prev];
  };
  if (n % 2 === 1) return kth((n - 1) / 2)[0];
  const [a, b] = kth(n / 2 - 1);
  return (a + b) / 2;
}

function countBelow(sorted: ArrayLike<number>, v: number, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (inclusive ? sorted[mid] <= v : sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countAbove(sorted: ArrayLike<number>, v: number, inclusive: boolean): number {
  return sorted.length - countBelow(sorted, v, !inclusive);
}

export function fmtLevel(level: number): string {
  return `${+(level * 100).toFixed(4)}%`;
}
