// Descriptive statistics of one sample, every figure with its convention named. Names follow tinybench
// (mean, p50, p75, p99, p999, sd, sem, moe, rme); nothing is dropped (outliers are counted, not removed).
import { StoqError } from '../errors.js';
import { formatLevel } from '../units.js';
import { moments } from './moments.js';
import { orderStatistics, type OrderBounds } from './order-statistics.js';
import { minSampleForQuantile, quantileConvention, type QuantileInterval, type QuantileType } from './quantile.js';
import { drift, effectiveSampleSize, hodgesLehmannCentre, theilSen, type TheilSen } from './series.js';
import { studentTQuantile } from './special.js';

/** MAD scale factor for consistency with the sd under normality: 1 / Phi^-1(3/4). */
const MAD_NORMAL_SCALE = 1.482602218505602;

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

const DEFAULT_PERCENTILES = [0.5, 0.75, 0.9, 0.99, 0.999];

/** Points the drift is fitted on: the series itself when shorter, else this many batch means. */
const DRIFT_POINTS = 200;

function percentileKey(p: number): string {
  return `p${String(p * 100).replace('.', '')}`;
}

/** Tukey's fences at k IQR beyond the quartiles. */
const TUKEY_K = 1.5;
/** Modified z-score cut (Iglewicz & Hoaglin): |0.6745 (x - median) / MAD| > 3.5. */
const MODIFIED_Z = 3.5;
const Z_FACTOR = MODIFIED_Z / 0.6745;

/**
 * The full descriptive summary of one sample (finite numbers; not modified). One pass gives the moments,
 * the lag-1 autocorrelation and the batch means the drift is fitted on; every order statistic, the MAD
 * and the outlier counts come from one OrderStatistics (order-statistics.ts), which never sorts a large
 * sample and equals a full sort's figures exactly.
 * @throws StoqError INVALID_ARGUMENT on an empty sample or a value that is not a finite number
 */
export function summarize(values: ArrayLike<number>, options: SummaryOptions = {}): Summary {
  const level = options.level ?? 0.95;
  const type = options.quantileType ?? 7;
  const ps = options.percentiles ?? DEFAULT_PERCENTILES;
  const seed = options.seed ?? 1;
  const ordered = options.ordered ?? true;
  const x = values instanceof Float64Array ? values : Float64Array.from(values);
  const n = x.length;
  if (n === 0) throw new StoqError('INVALID_ARGUMENT', 'cannot summarise an empty sample');

  const m = moments(x, ordered && n > DRIFT_POINTS ? DRIFT_POINTS : 0);
  const sd = Math.sqrt(m.variance);
  const sem = sd / Math.sqrt(n);
  const moe = n > 1 ? studentTQuantile((1 + level) / 2, n - 1) * sem : NaN;

  const order = orderStatistics(x, { quantiles: [0.25, 0.5, 0.75, ...ps], type, intervals: [0.5, ...ps], level, mad: true, cutoffs: outlierCutoffs, seed });
  const med = order.quantile(0.5, type);
  const q1 = order.quantile(0.25, type);
  const q3 = order.quantile(0.75, type);
  const iqr = q3 - q1;
  const mad = order.mad(med);
  const madScaled = mad * MAD_NORMAL_SCALE;
  const lowerFence = q1 - TUKEY_K * iqr;
  const upperFence = q3 + TUKEY_K * iqr;
  const tukey = { k: TUKEY_K, low: order.countBelow(lowerFence), high: order.countAbove(upperFence), lowerFence, upperFence };
  const span = mad > 0 ? Z_FACTOR * mad : Infinity;
  const modifiedZ: Summary['outliers']['modifiedZ'] =
    mad > 0
      ? { threshold: MODIFIED_Z, count: order.countBelow(med - span) + order.countAbove(med + span) }
      : { threshold: MODIFIED_Z, count: null, reason: 'MAD is 0 (over half the values are equal)' };

  const percentiles: Record<string, Percentile> = {};
  for (const p of ps) {
    const interval = order.interval(p, level);
    percentiles[percentileKey(p)] = interval
      ? { p, value: order.quantile(p, type), interval }
      : {
          p,
          value: null,
          interval: null,
          reason: `n = ${n} is too small to bound p${+(p * 100).toFixed(4)} at ${formatLevel(level)} (needs n >= ${minSampleForQuantile(p, level)})`,
        };
  }

  // read last: it names every further pass the queries above needed
  const computation = `${order.method}; moments in one pass of their own`;
  const lag1 = ordered ? m.lag1 : null;
  let driftFit: TheilSen | null = null;
  if (ordered && n >= 3) {
    driftFit =
      m.batchMeans.length > 0
        ? { ...theilSen(m.batchMeans, m.batchCentres, level), method: `Theil-Sen on ${m.batchMeans.length} batch means, Sen (1968) interval` }
        : drift(x, level, DRIFT_POINTS);
  }
  return {
    n,
    level,
    conventions: {
      sd: 'sample standard deviation (n - 1)',
      moe: `Student t, n - 1 df, ${formatLevel(level)} two-sided`,
      percentiles: quantileConvention(type),
      intervals: 'distribution-free order-statistic intervals (binomial)',
      mad: `median absolute deviation; madScaled = ${MAD_NORMAL_SCALE} x MAD`,
      outliers: `Tukey fences at ${TUKEY_K} IQR; modified z-score |0.6745 (x - median) / MAD| > ${MODIFIED_Z}; counted, never dropped`,
      lag1: 'ACF estimator sum (x_t - m)(x_t+1 - m) / sum (x_t - m)^2; effectiveN = n (1 - r1) / (1 + r1)',
      computation,
    },
    min: m.min,
    max: m.max,
    mean: m.mean,
    sd,
    variance: m.variance,
    sem,
    moe,
    rme: (moe / Math.abs(m.mean)) * 100,
    median: med,
    medianInterval: order.interval(0.5, level) ?? null,
    percentiles,
    mad,
    madScaled,
    q1,
    q3,
    iqr,
    cv: sd / m.mean,
    robustCv: madScaled / med,
    outliers: { tukey, modifiedZ },
    hodgesLehmann: hodgesLehmannCentre(x, { seed }),
    lag1,
    effectiveN: lag1 !== null ? effectiveSampleSize(n, lag1) : null,
    drift: driftFit,
  };
}

/**
 * Where the outlier cut-offs can fall, from ranges holding the quartiles, the median and the MAD (interval
 * arithmetic): Tukey's fences q1 - k IQR and q3 + k IQR, and median -+ Z_FACTOR x MAD.
 */
function outlierCutoffs(b: OrderBounds): Array<[number, number]> {
  const k = TUKEY_K;
  const [a1, b1] = b.quantile(0.25);
  const [a3, b3] = b.quantile(0.75);
  const [m0, m1] = b.quantile(0.5);
  const [d0, d1] = b.mad();
  return [
    [(1 + k) * a1 - k * b3, (1 + k) * b1 - k * a3],
    [(1 + k) * a3 - k * b1, (1 + k) * b3 - k * a1],
    [m0 - Z_FACTOR * d1, m1 - Z_FACTOR * d0],
    [m0 + Z_FACTOR * d0, m1 + Z_FACTOR * d1],
  ];
}


