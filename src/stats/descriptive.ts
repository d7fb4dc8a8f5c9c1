// Descriptive statistics of one sample, every figure with its convention named. Names follow tinybench
// (mean, p50, p75, p99, p999, sd, sem, moe, rme); nothing is dropped (outliers are counted, not removed).
import { StoqError } from '../errors.js';
import {
  minSampleForQuantile,
  quantileConvention,
  quantileIntervalRanks,
  quantileRanks,
  quantileSorted,
  selectInPlace,
  type QuantileInterval,
  type QuantileType,
} from './quantile.js';
import { BRACKET_MIN_N, bracketAdd, lowerBound, orderStatistics, planBrackets, resolveBrackets, selectRanks, sortedSample, type Brackets } from './select.js';
import { histogramCore } from './histogram.js';
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
 * The full descriptive summary of one sample. A large sample is never sorted. Usually two cheap passes do
 * everything (src/stats/histogram.ts): a fine histogram with the moments, lag-1 products and batch sums, then
 * a pass gathering only the cells that hold a wanted order statistic, the MAD's neighbourhood or an outlier
 * cut-off. When the data do not suit a histogram (no spread in the bulk), a random sample brackets the same
 * figures in one pass instead. Every shortcut is checked; a figure whose check fails is computed directly.
 * Results equal those computed from a full sort (test/stats/large-sample.test.ts).
 */
export function summarize(values: ArrayLike<number>, options: SummaryOptions = {}): Summary {
  const level = options.level ?? 0.95;
  const type = options.quantileType ?? 7;
  // validated in the pass below (no separate pass, no copy of a Float64Array)
  const x = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>);
  const n = x.length;
  if (n === 0) throw new StoqError('INVALID_ARGUMENT', 'cannot summarise an empty sample');
  const ps = options.percentiles ?? DEFAULT_PERCENTILES;
  const seed = options.seed ?? 1;
  const ordered = options.ordered ?? true;

  // the ranks every figure reads: quantiles and the ranks of their distribution-free intervals
  const intervalRanks = new Map<number, { ranks: [number, number]; coverage: number } | undefined>();
  for (const p of [0.5, ...ps]) if (!intervalRanks.has(p)) intervalRanks.set(p, quantileIntervalRanks(n, p, level));
  const ranks: number[] = [];
  for (const p of [0.25, 0.5, 0.75, ...ps]) ranks.push(...quantileRanks(n, p, type));
  for (const r of intervalRanks.values()) if (r) ranks.push(r.ranks[0] - 1, r.ranks[1] - 1);
  const mid = n % 2 === 1 ? [(n - 1) / 2] : [n / 2 - 1, n / 2];
  const threshold = 3.5;
  const zFactor = threshold / 0.6745;
  const k = 1.5;

  // ---- plan (large samples): brackets from a sorted random sample
  const large = n >= BRACKET_MIN_N;
  const batches = ordered && n > DRIFT_POINTS ? DRIFT_POINTS : 0;
  const q1Ranks = quantileRanks(n, 0.25, type);
  const q3Ranks = quantileRanks(n, 0.75, type);
  // the usual large-sample path: a histogram pass and a gathering pass (exact); else brackets in one pass
  const core = large ? histogramCore(x, { ranks, q1Ranks, q3Ranks, mid, k, zFactor, batches, seed }) : undefined;
  const sample = large && !core ? sortedSample(x, seed) : undefined;
  const br = sample ? planBrackets(sample, n, ranks) : undefined;
  let plan: FastPlan | undefined;
  if (sample && br) plan = planFast(sample, br, n, q1Ranks, q3Ranks, mid, zFactor, k);
  const shift = core ? core.shift : plan ? plan.shift : x[0];

  // ---- the pass (already made by the histogram path when it applies). Its moment and batch sums repeat
  // histogram.ts's pass 1 on purpose: each stays one fused loop over x, with this one's bracket work inside.
  const batchSums = core ? core.batchSums : new Float64Array(batches);
  let batch = 0;
  let batchAcc = 0;
  let nextBoundary = batches > 0 ? Math.floor(n / batches) : Infinity;
  let min = Infinity;
  let max = -Infinity;
  // two-level summation (blocks of 1024): rounding error grows with 1024 + n/1024, not n
  let sum = 0;
  let ss = 0;
  let lagged = 0;
  let blockSum = 0;
  let blockSs = 0;
  let blockLag = 0;
  let prev = 0;
  const madLo = plan ? plan.madLo : 0;
  const madHi = plan ? plan.madHi : -1;
  const inLo = plan ? plan.inLo : 0;
  const inHi = plan ? plan.inHi : 0;
  const lowCut = plan ? plan.lowCut : -Infinity;
  const highCut = plan ? plan.highCut : Infinity;
  // buffers sized from the sample (x 1.3 + slack), grown only if the sample under-estimated
  const expect = (count: number) => (sample ? Math.ceil((Math.max(0, count) / sample.length) * n * 1.3) + 1024 : 0);
  const at = (v: number, strict = false) => (sample ? lowerBound(sample, v, strict) : 0);
  const inside = inLo < inHi ? at(inHi) - at(inLo, true) : 0; // sample values with inLo < v < inHi
  let madBuf: Float64Array = new Float64Array(expect(at(madHi, true) - at(madLo) - inside));
  let lowTail: Float64Array = new Float64Array(expect(at(lowCut)));
  let highTail: Float64Array = new Float64Array(expect((sample?.length ?? 0) - at(highCut, true)));
  let madFill = 0;
  let lowFill = 0;
  let highFill = 0;
  let certainIn = 0;
  if (core) {
    ({ min, max, sum, ss, lagged } = core);
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v < min) min = v;
      if (v > max) max = v;
      const d = v - shift;
      blockSum += d;
      blockSs += d * d;
      blockLag += prev * d;
      prev = d;
      if ((i & 1023) === 1023) {
        sum += blockSum;
        ss += blockSs;
        lagged += blockLag;
        blockSum = 0;
        blockSs = 0;
        blockLag = 0;
      }
      if (i === nextBoundary) {
        batchSums[batch++] = batchAcc;
        batchAcc = 0;
        nextBoundary = Math.floor(((batch + 1) * n) / batches);
      }
      batchAcc += v;
      if (br) {
        bracketAdd(br, v);
        if (v >= madLo && v <= madHi) {
          if (v > inLo && v < inHi) certainIn++;
          else {
            if (madFill === madBuf.length) madBuf = grow(madBuf);
            madBuf[madFill++] = v;
          }
        }
        if (v < lowCut) {
          if (lowFill === lowTail.length) lowTail = grow(lowTail);
          lowTail[lowFill++] = v;
        } else if (v > highCut) {
          if (highFill === highTail.length) highTail = grow(highTail);
          highTail[highFill++] = v;
        }
      }
    }
    sum += blockSum;
    ss += blockSs;
    lagged += blockLag;
    if (batches > 0) batchSums[batch] = batchAcc;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max) || Number.isNaN(ss)) throw new StoqError('INVALID_ARGUMENT', 'sample: values must be finite numbers');
  const dm = sum / n;
  const m = shift + dm;
  const variance = n > 1 ? Math.max(0, (ss - n * dm * dm) / (n - 1)) : NaN;
  const sd = Math.sqrt(variance);
  const sem = sd / Math.sqrt(n);
  const moe = n > 1 ? studentTQuantile((1 + level) / 2, n - 1) * sem : NaN;
  // lag-1 autocovariance about the mean, from the shifted sums: sum (d_i - dm)(d_i+1 - dm)
  const dFirst = x[0] - shift;
  const dLast = x[n - 1] - shift;
  const cross = lagged - dm * (2 * sum - dFirst - dLast) + (n - 1) * dm * dm;

  // ---- order statistics
  const selected = core ? new Map(core.order) : br ? resolveBrackets(br, () => x.slice()) : selectRanks(x, ranks, seed);
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
  const lowerFence = q1 - k * iqr;
  const upperFence = q3 + k * iqr;

  // ---- MAD: from the values collected around median +- MAD, when the plan's bounds held
  let mad: number | undefined = core ? core.mad(med) : undefined;
  if (mad === undefined && plan && med >= plan.medLo && med <= plan.medHi) {
    // deviations of the collected values, in place: below dl are counted, [dl, dh] kept as candidates
    let below = certainIn;
    let kept = 0;
    const dl = plan.dl;
    const dh = plan.dh;
    for (let i = 0; i < madFill; i++) {
      const dv = Math.abs(madBuf[i] - med);
      if (dv < dl) below++;
      else if (dv <= dh) madBuf[kept++] = dv;
    }
    const local = mid.map((r) => r - below);
    if (local.every((r) => r >= 0 && r < kept)) {
      const c = madBuf.subarray(0, kept);
      const got = local.map((r) => selectInPlace(c, r));
      mad = got.length === 1 ? got[0] : (got[0] + got[1]) / 2;
      if (!(mad >= plan.dl && mad <= plan.dh)) mad = undefined;
    }
  }
  let passes = core
    ? 'two passes: a 4096-cell histogram, then only the cells holding a wanted rank, the MAD or an outlier cut-off are gathered (exact)'
    : large
      ? 'one pass; order statistics selected within brackets from a seeded random sample'
      : 'sorted copy (small sample)';
  if (mad === undefined) {
    if (large) passes += '; MAD by a second selection';
    const devStats = selectRanks(x, mid, seed + 1, med);
    mad = mid.length === 1 ? (devStats.get(mid[0]) as number) : ((devStats.get(mid[0]) as number) + (devStats.get(mid[1]) as number)) / 2;
  }
  const madScaled = mad * MAD_NORMAL_SCALE;
  const span = mad > 0 ? zFactor * mad : Infinity;

  // ---- outliers: counted, never dropped (from the collected tails when the cut-offs fell inside them)
  let low = 0;
  let high = 0;
  let modified = 0;
  const zLow = med - span;
  const zHigh = med + span;
  const fromCore = core?.outliers({ lowerFence, upperFence, zLow, zHigh });
  if (fromCore) {
    ({ low, high, modified } = fromCore);
  } else if (plan && lowerFence <= lowCut && upperFence >= highCut && zLow <= lowCut && zHigh >= highCut) {
    // values between the cuts are beyond no cut-off; each kept value is checked against all of them
    for (const tail of [lowTail.subarray(0, lowFill), highTail.subarray(0, highFill)]) {
      for (const v of tail) {
        if (v < lowerFence) low++;
        else if (v > upperFence) high++;
        if (v < zLow || v > zHigh) modified++;
      }
    }
  } else {
    if (large) passes += '; outliers counted in a second pass';
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v < lowerFence) low++;
      else if (v > upperFence) high++;
      if (v < zLow || v > zHigh) modified++;
    }
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
      computation: passes,
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
    // large samples: random Walsh averages drawn from the (cache-resident) seeded random sample
    hodgesLehmann: (core?.sample ?? sample)
      ? {
          ...hodgesLehmannCentre((core?.sample ?? sample) as Float64Array, { seed, exactLimit: 0 }),
          method: `median of 50000 random Walsh averages of a ${(core?.sample ?? sample)!.length}-point seeded random subsample (n > 2000; approximate)`,
        }
      : hodgesLehmannCentre(x, { seed }),
    lag1: lag1 !== null && Number.isFinite(lag1) ? lag1 : null,
    effectiveN: lag1 !== null && Number.isFinite(lag1) ? effectiveSampleSize(n, lag1) : null,
    drift: driftFit,
  };
}

/** Bounds, from the random sample, that the single pass collects between. */
interface FastPlan {
  /** Shift for the sums: the sample median (keeps the shifted sums small). */
  shift: number;
  /** The median lies in [medLo, medHi]; the MAD in [dl, dh] (checked after the pass). */
  medLo: number;
  medHi: number;
  dl: number;
  dh: number;
  /** Values in [madLo, madHi] are collected unless certainly within dl of the median (inLo < v < inHi). */
  madLo: number;
  madHi: number;
  inLo: number;
  inHi: number;
  /** Values below lowCut / above highCut are kept: every outlier cut-off lies beyond them. */
  lowCut: number;
  highCut: number;
}

function bracketBounds(br: Brackets, ranks: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of ranks) {
    const j = br.ranks.findIndex((list) => list.includes(r));
    if (j < 0) return [-Infinity, Infinity];
    lo = Math.min(lo, br.lowers[j]);
    hi = Math.max(hi, br.uppers[j]);
  }
  return [lo, hi];
}

function planFast(
  sample: Float64Array,
  br: Brackets,
  n: number,
  q1Ranks: number[],
  q3Ranks: number[],
  mid: number[],
  zFactor: number,
  k: number,
): FastPlan | undefined {
  const [medLo, medHi] = bracketBounds(br, mid);
  const [a1, b1] = bracketBounds(br, q1Ranks);
  const [a3, b3] = bracketBounds(br, q3Ranks);
  if (![medLo, medHi, a1, b1, a3, b3].every(Number.isFinite)) return undefined;
  const ms = quantileSorted(sample, 0.5);
  // the MAD of the sample around its own median, bracketed; |x - med| and |x - ms| differ by at most e
  const devSample = new Float64Array(sample.length);
  for (let i = 0; i < sample.length; i++) devSample[i] = Math.abs(sample[i] - ms);
  devSample.sort();
  const madBr = planBrackets(devSample, n, mid);
  if (madBr.count !== 1 || !Number.isFinite(madBr.uppers[0])) return undefined;
  const e = Math.max(Math.abs(medLo - ms), Math.abs(medHi - ms));
  const dl = Math.max(0, madBr.lowers[0] - e);
  const dh = madBr.uppers[0] + e;
  // outlier cut-offs: q1 - k IQR <= (1 + k) b1 - k a3; median - zFactor MAD <= medHi - zFactor dl
  let lowCut = Math.max((1 + k) * b1 - k * a3, medHi - zFactor * dl);
  let highCut = Math.min((1 + k) * a3 - k * b1, medLo + zFactor * dl);
  if (!(lowCut < highCut)) {
    // degenerate (e.g. a MAD bracket reaching 0): keep nothing; the counts take their own pass
    lowCut = -Infinity;
    highCut = Infinity;
  }
  return { shift: ms, medLo, medHi, dl, dh, madLo: medLo - dh, madHi: medHi + dh, inLo: medHi - dl, inHi: medLo + dl, lowCut, highCut };
}

/** A buffer twice as large holding the same values. */
function grow(buf: Float64Array): Float64Array {
  const grown = new Float64Array(buf.length * 2 + 1024);
  grown.set(buf);
  return grown;
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
