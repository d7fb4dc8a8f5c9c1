// Descriptive statistics of one sample, every figure with its convention named. Names follow tinybench
// (mean, p50, p75, p99, p999, sd, sem, moe, rme); nothing is dropped (outliers are counted, not removed).
import { StoqError } from '../errors.js';
import {
  minSampleForQuantile,
  quantileConvention,
  quantileIntervalRanks,
  quantileRanks,
  quantileSorted,
  type QuantileInterval,
  type QuantileType,
} from './quantile.js';
import { BRACKET_MIN_N, bracketAdd, orderStatistics, planBrackets, resolveBrackets, selectRanks, sortedSample } from './select.js';
import { drift, effectiveSampleSize, hodgesLehmannCentre, theilSen, type TheilSen } from './series.js';
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

/** Points the drift is fitted on: the series itself when shorter, else this many batch means. */
const DRIFT_POINTS = 200;

export function percentileKey(p: number): string {
  return `p${String(p * 100).replace('.', '')}`;
}

/** Validates and copies numbers into a Float64Array; rejects NaN and infinities with a clear error. */
export function toSample(values: ArrayLike<number> | Iterable<number>, what = 'sample'): Float64Array {
  const a = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new StoqError('INVALID_ARGUMENT', `${what}: value ${i} is not a finite number`);
  }
  return a;
}

/**
 * The full descriptive summary of one sample. Large samples are never sorted: two passes over the data do
 * everything. The order statistics every figure reads (quantiles and the ranks of their intervals) are
 * bracket-selected during the pass that sums the moments; the MAD is selected the same way during the pass
 * that counts outliers, the lag-1 autocovariance and the batch sums of the drift fit. Results equal those
 * computed from a full sort.
 */
export function summarize(values: ArrayLike<number>, options: SummaryOptions = {}): Summary {
  const level = options.level ?? 0.95;
  const type = options.quantileType ?? 7;
  // validated in the first pass below (no separate pass, no copy of a Float64Array)
  const x = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
  const n = x.length;
  if (n === 0) throw new StoqError('INVALID_ARGUMENT', 'cannot summarise an empty sample');
  const ps = options.percentiles ?? DEFAULT_PERCENTILES;

  // the ranks every figure reads: quantiles and the ranks of their distribution-free intervals
  const intervalRanks = new Map<number, { ranks: [number, number]; coverage: number } | undefined>();
  for (const p of [0.5, ...ps]) if (!intervalRanks.has(p)) intervalRanks.set(p, quantileIntervalRanks(n, p, level));
  const ranks: number[] = [];
  for (const p of [0.25, 0.5, 0.75, ...ps]) ranks.push(...quantileRanks(n, p, type));
  for (const r of intervalRanks.values()) if (r) ranks.push(r.ranks[0] - 1, r.ranks[1] - 1);
  const seed = options.seed ?? 1;
  const large = n >= BRACKET_MIN_N;
  const br = large ? planBrackets(sortedSample(x, seed), n, ranks) : undefined;

  // pass 1: validity, min, max, sums of deviations from a shift K = x[0] (compensated: an accurate variance
  // without a second pass), and for large samples the bracket selection of the order statistics
  let min = Infinity;
  let max = -Infinity;
  const shift = x[0];
  // two-level summation (blocks of 1024), so rounding error grows with 1024 + n/1024, not n
  let sum = 0;
  let ss = 0;
  let blockSum = 0;
  let blockSs = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v < min) min = v;
    if (v > max) max = v;
    const d = v - shift;
    blockSum += d;
    blockSs += d * d;
    if ((i & 1023) === 1023) {
      sum += blockSum;
      ss += blockSs;
      blockSum = 0;
      blockSs = 0;
    }
    if (br) bracketAdd(br, v);
  }
  sum += blockSum;
  ss += blockSs;
  if (!Number.isFinite(min) || !Number.isFinite(max) || Number.isNaN(ss)) throw new StoqError('INVALID_ARGUMENT', 'sample: values must be finite numbers');
  const dm = sum / n;
  const m = shift + dm;
  const variance = n > 1 ? Math.max(0, (ss - n * dm * dm) / (n - 1)) : NaN;
  const sd = Math.sqrt(variance);
  const sem = sd / Math.sqrt(n);
  const moe = n > 1 ? studentTQuantile((1 + level) / 2, n - 1) * sem : NaN;

  const selected = br ? resolveBrackets(br, () => x.slice()) : selectRanks(x, ranks, seed);
  selected.set(0, min);
  selected.set(n - 1, max);
  const w = orderStatistics(n, selected);
  const q = (p: number) => quantileSorted(w, p, type);
  const interval = (p: number): QuantileInterval | null => {
    const r = intervalRanks.get(p);
    return r
      ? { lower: w[r.ranks[0] - 1], upper: w[r.ranks[1] - 1], level, coverage: r.coverage, ranks: r.ranks, method: 'order statistics (binomial, distribution-free)' }
      : null;
  };
  const med = q(0.5);
  const q1 = q(0.25);
  const q3 = q(0.75);
  const iqr = q3 - q1;

  // pass 2: the MAD (median of |x - median|, bracket-selected without materialising the deviations),
  // outliers (counted, never dropped: Tukey fences at 1.5 IQR, modified z-score |0.6745 (x - median) / MAD|
  // > 3.5 after Iglewicz & Hoaglin), the lag-1 autocovariance (its denominator, the sum of squares, is known)
  // and the batch sums the drift is fitted on
  const mid = n % 2 === 1 ? [(n - 1) / 2] : [n / 2 - 1, n / 2];
  const k = 1.5;
  const lowerFence = q1 - k * iqr;
  const upperFence = q3 + k * iqr;
  const threshold = 3.5;
  const zFactor = threshold / 0.6745;
  const ordered = options.ordered ?? true;
  const batches = ordered && n > DRIFT_POINTS ? DRIFT_POINTS : 0;
  const batchSums = new Float64Array(batches);
  const madBr = large ? planBrackets(sortedSample(x, seed + 1, med), n, mid) : undefined;
  // deviations beyond the smallest possible modified-z cut-off are kept, so the count needs no extra pass
  const tailCut = madBr && madBr.lowers[0] > 0 ? zFactor * madBr.lowers[0] : Infinity;
  let tail = new Float64Array(large ? 1024 : 0);
  let tailFill = 0;
  let low = 0;
  let high = 0;
  let cross = 0;
  let prev = x[0] - m;
  let batch = 0;
  let nextBoundary = batches > 0 ? Math.floor(n / batches) : Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v < lowerFence) low++;
    else if (v > upperFence) high++;
    if (madBr) {
      const dev = Math.abs(v - med);
      bracketAdd(madBr, dev);
      if (dev > tailCut) {
        if (tailFill === tail.length) {
          const grown = new Float64Array(tail.length * 2);
          grown.set(tail);
          tail = grown;
        }
        tail[tailFill++] = dev;
      }
    }
    const d = v - m;
    if (i > 0) cross += prev * d;
    prev = d;
    if (i === nextBoundary) {
      batch++;
      nextBoundary = Math.floor(((batch + 1) * n) / batches);
    }
    if (batches > 0) batchSums[batch] += v;
  }
  const devStats = madBr
    ? resolveBrackets(madBr, () => Float64Array.from(x, (v) => Math.abs(v - med)))
    : selectRanks(x, mid, seed + 1, med);
  const mad = mid.length === 1 ? (devStats.get(mid[0]) as number) : ((devStats.get(mid[0]) as number) + (devStats.get(mid[1]) as number)) / 2;
  const madScaled = mad * MAD_NORMAL_SCALE;
  const span = mad > 0 ? zFactor * mad : Infinity;
  let modified = 0;
  if (span >= tailCut) {
    for (let i = 0; i < tailFill; i++) if (tail[i] > span) modified++;
  } else {
    for (let i = 0; i < n; i++) if (Math.abs(x[i] - med) > span) modified++;
  }

  const percentiles: Record<string, Percentile> = {};
  for (const p of ps) {
    const iv = interval(p);
    percentiles[percentileKey(p)] = iv
      ? { p, value: q(p), interval: iv }
      : {
          p,
          value: null,
          interval: null,
          reason: `n = ${n} is too small to bound p${+(p * 100).toFixed(4)} at ${fmtLevel(level)} (needs n >= ${minSampleForQuantile(p, level)})`,
        };
  }

  const modifiedZ: Summary['outliers']['modifiedZ'] =
    mad > 0 ? { threshold, count: modified } : { threshold, count: null, reason: 'MAD is 0 (over half the values are equal)' };

  const den = variance * (n - 1);
  const lag1 = ordered && n > 2 && den > 0 ? cross / den : null;
  let driftFit: TheilSen | null = null;
  if (ordered && n >= 3) {
    if (batches > 0) {
      const means = new Float64Array(batches);
      const centres = new Float64Array(batches);
      for (let b = 0; b < batches; b++) {
        const start = Math.floor((b * n) / batches);
        const end = Math.floor(((b + 1) * n) / batches);
        means[b] = batchSums[b] / (end - start);
        centres[b] = (start + end - 1) / 2;
      }
      driftFit = { ...theilSen(means, centres, level), method: `Theil-Sen on ${batches} batch means, Sen (1968) interval` };
    } else driftFit = drift(x, level, DRIFT_POINTS);
  }
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
    min,
    max,
    mean: m,
    sd,
    variance,
    sem,
    moe,
    rme: (moe / Math.abs(m)) * 100,
    median: med,
    medianInterval: interval(0.5),
    percentiles,
    mad,
    madScaled,
    q1,
    q3,
    iqr,
    cv: sd / m,
    robustCv: madScaled / med,
    outliers: { tukey: { k, low, high, lowerFence, upperFence }, modifiedZ },
    hodgesLehmann: hodgesLehmannCentre(x, { seed: options.seed ?? 1 }),
    lag1: lag1 !== null && Number.isFinite(lag1) ? lag1 : null,
    effectiveN: lag1 !== null && Number.isFinite(lag1) ? effectiveSampleSize(n, lag1) : null,
    drift: driftFit,
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

export function fmtLevel(level: number): string {
  return `${+(level * 100).toFixed(4)}%`;
}
