// Resampling intervals: a seeded BCa bootstrap for two groups of independent units (runs), a moving-block
// bootstrap and batch means for one long autocorrelated series (the intervals of a single run).
import { createRng } from './rng.js';
import { quantileSorted } from './quantile.js';
import { autocorrelation, batchMeans, mean, variance } from './series.js';
import { normalCdf, normalQuantile, studentTQuantile } from './special.js';

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  method: string;
}

/**
 * BCa (bias-corrected and accelerated, Efron 1987) interval for a statistic of two independent groups of
 * units; each group is resampled with replacement on its own (stratified), the acceleration comes from
 * the leave-one-unit-out jackknife over both groups (as scipy.stats.bootstrap does for several samples).
 */
export function bcaTwoSample<T>(
  x: readonly T[],
  y: readonly T[],
  statistic: (x: readonly T[], y: readonly T[]) => number,
  options: { resamples?: number; level?: number; seed?: number } = {},
): Interval {
  const B = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const rng = createRng(options.seed ?? 1);
  const theta = statistic(x, y);
  const reps = new Float64Array(B);
  const bx: T[] = new Array(x.length);
  const by: T[] = new Array(y.length);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < x.length; i++) bx[i] = x[rng.int(x.length)];
    for (let i = 0; i < y.length; i++) by[i] = y[rng.int(y.length)];
    reps[b] = statistic(bx, by);
  }
  const jack: number[] = [];
  for (let i = 0; i < x.length; i++) jack.push(statistic(x.filter((_, k) => k !== i), y));
  for (let i = 0; i < y.length; i++) jack.push(statistic(x, y.filter((_, k) => k !== i)));
  return bcaFromReplicates(theta, reps, jack, level, `BCa bootstrap, ${B} stratified resamples of units, seed ${options.seed ?? 1}`);
}

/** The BCa interval from bootstrap replicates and jackknife values. */
function bcaFromReplicates(theta: number, replicates: Float64Array, jackknife: number[], level: number, method: string): Interval {
  const finite = replicates.filter(Number.isFinite).sort();
  const B = finite.length;
  let below = 0;
  let equal = 0;
  for (let i = 0; i < B; i++) {
    if (finite[i] < theta) below++;
    else if (finite[i] === theta) equal++;
  }
  const z0 = normalQuantile(Math.min(Math.max((below + equal / 2) / B, 0.5 / B), 1 - 0.5 / B));
  const jm = mean(jackknife);
  let num = 0;
  let den = 0;
  for (const v of jackknife) {
    const d = jm - v;
    num += d ** 3;
    den += d * d;
  }
  const a = den > 0 ? num / (6 * den ** 1.5) : 0;
  const adjust = (alpha: number) => {
    const z = normalQuantile(alpha);
    return normalCdf(z0 + (z0 + z) / (1 - a * (z0 + z)));
  };
  const tail = (1 - level) / 2;
  return {
    estimate: theta,
    lower: quantileSorted(finite, adjust(tail)),
    upper: quantileSorted(finite, adjust(1 - tail)),
    level,
    method,
  };
}

/**
 * Moving-block bootstrap percentile interval for the mean of one autocorrelated series (Kuensch 1989).
 * Block length from the lag-1 autocorrelation (Buehlmann's AR(1) rule (1.5 n)^(1/3) (2r/(1-r^2))^(2/3)),
 * at least 1 and at most n/3.
 */
export function blockBootstrapMean(
  values: ArrayLike<number>,
  options: { level?: number; resamples?: number; seed?: number; blockLength?: number } = {},
): Interval & { blockLength: number } {
  const n = values.length;
  const level = options.level ?? 0.95;
  const B = options.resamples ?? 2000;
  const r = autocorrelation(values, 1);
  const rr = Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.95) : 0;
  const auto = Math.round((1.5 * n) ** (1 / 3) * ((2 * rr) / (1 - rr * rr)) ** (2 / 3));
  const L = Math.max(1, Math.min(Math.floor(n / 3) || 1, options.blockLength ?? auto));
  const rng = createRng(options.seed ?? 1);
  const blocks = Math.ceil(n / L);
  const reps = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    let count = 0;
    for (let k = 0; k < blocks; k++) {
      const start = rng.int(n - L + 1);
      for (let i = 0; i < L && count < n; i++, count++) s += values[start + i];
    }
    reps[b] = s / n;
  }
  reps.sort();
  const tail = (1 - level) / 2;
  return {
    estimate: mean(values),
    lower: quantileSorted(reps, tail),
    upper: quantileSorted(reps, 1 - tail),
    level,
    blockLength: L,
    method: `moving-block bootstrap, block length ${L}, ${B} resamples, seed ${options.seed ?? 1}`,
  };
}

/** Batch-means t interval for the mean of one long series: k contiguous batches, t with k - 1 df. */
export function batchMeansInterval(values: ArrayLike<number>, options: { level?: number; batches?: number } = {}): Interval {
  const n = values.length;
  const level = options.level ?? 0.95;
  const k = Math.min(options.batches ?? 10, Math.floor(n / 2));
  if (k < 2) return { estimate: mean(values), lower: NaN, upper: NaN, level, method: 'batch means: too few points' };
  const { means } = batchMeans(values, k);
  const m = mean(means);
  const half = studentTQuantile((1 + level) / 2, k - 1) * Math.sqrt(variance(means, m) / k);
  return { estimate: mean(values), lower: m - half, upper: m + half, level, method: `batch means, ${k} batches, t with ${k - 1} df` };
}
