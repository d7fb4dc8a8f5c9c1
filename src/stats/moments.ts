// The moment statistics of a sample in one pass: extremes, mean, variance, the lag-1 autocorrelation and
// contiguous batch means, from sums about a central shift in two levels (blocks of 1024), so rounding error
// grows with 1024 + n / 1024 rather than n. Batch sums add the values in order, as series.batchMeans does,
// so a drift fitted on them is the same to the last bit.
import { StoqError } from '../errors.js';
import { median } from './order-statistics.js';

export interface Moments {
  n: number;
  min: number;
  max: number;
  mean: number;
  /** Sample variance (n - 1); NaN for one value. */
  variance: number;
  /** Lag-1 autocorrelation (the ACF estimator, as statsmodels and R's acf); null when undefined (n <= 2, no spread). */
  lag1: number | null;
  /** Means of the contiguous batches and their centres (0-based index units); empty unless asked. */
  batchMeans: Float64Array;
  batchCentres: Float64Array;
}

/**
 * Moments of `x` in one pass, with the means of `batches` contiguous batches (sizes differing by at most
 * one, as series.batchMeans).
 * @throws StoqError INVALID_ARGUMENT on an empty sample or a value that is not a finite number
 */
export function moments(x: Float64Array, batches = 0): Moments {
  const n = x.length;
  if (n === 0) throw new StoqError('INVALID_ARGUMENT', 'cannot summarise an empty sample');
  // shift: the median of 33 evenly spaced values keeps the shifted sums small whatever comes first
  const probes = Math.min(n, 33);
  const shift = median(Float64Array.from({ length: probes }, (_, k) => x[probes === 1 ? 0 : Math.floor((k * (n - 1)) / (probes - 1))]));
  const batchSums = new Float64Array(batches);
  const batchEnd = (b: number) => (b + 1 < batches ? Math.floor(((b + 1) * n) / batches) : n);
  let batch = 0;
  let nextBatch = batches > 0 ? batchEnd(0) : n;
  let batchAcc = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let ss = 0;
  let lagged = 0;
  let prev = 0;
  // segments end at every block boundary (a multiple of 1024) and every batch boundary
  for (let i = 0; i < n; ) {
    const end = Math.min((i | 1023) + 1, nextBatch);
    let blockSum = 0;
    let blockSs = 0;
    let blockLag = 0;
    for (; i < end; i++) {
      const v = x[i];
      if (v < min) min = v;
      if (v > max) max = v;
      const d = v - shift;
      blockSum += d;
      blockSs += d * d;
      blockLag += prev * d;
      prev = d;
      batchAcc += v;
    }
    sum += blockSum;
    ss += blockSs;
    lagged += blockLag;
    if (i === nextBatch && batch < batches) {
      batchSums[batch++] = batchAcc;
      batchAcc = 0;
      nextBatch = batch < batches ? batchEnd(batch) : n;
    }
  }
  // a NaN fails both comparisons but poisons the sums; an infinity reaches min or max
  if (!Number.isFinite(min) || !Number.isFinite(max) || Number.isNaN(ss)) throw new StoqError('INVALID_ARGUMENT', 'sample: values must be finite numbers');

  const dm = sum / n;
  const variance = n > 1 ? Math.max(0, (ss - n * dm * dm) / (n - 1)) : NaN;
  // lag-1 autocovariance about the mean from the shifted sums: sum (d_i - dm)(d_i+1 - dm)
  const cross = lagged - dm * (2 * sum - (x[0] - shift) - (x[n - 1] - shift)) + (n - 1) * dm * dm;
  const den = variance * (n - 1);
  const r1 = n > 2 && den > 0 ? cross / den : NaN;
  const batchMeans = new Float64Array(batches);
  const batchCentres = new Float64Array(batches);
  for (let b = 0; b < batches; b++) {
    const start = Math.floor((b * n) / batches);
    const end = Math.floor(((b + 1) * n) / batches);
    batchMeans[b] = batchSums[b] / (end - start);
    batchCentres[b] = (start + end - 1) / 2;
  }
  return { n, min, max, mean: shift + dm, variance, lag1: Number.isFinite(r1) ? r1 : null, batchMeans, batchCentres };
}
