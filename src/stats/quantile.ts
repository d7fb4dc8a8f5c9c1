// Sample quantiles (Hyndman & Fan 1996 types 4-9; type 7 by default, as R and numpy default to), order-
// statistic selection, and distribution-free confidence intervals for quantiles.
import { binomialCdf } from './special.js';

export type QuantileType = 4 | 5 | 6 | 7 | 8 | 9;

/** The (alpha, beta) plotting positions of each continuous Hyndman-Fan type. */
const PLOTTING: Record<QuantileType, [number, number]> = {
  4: [0, 1],
  5: [0.5, 0.5],
  6: [0, 0],
  7: [1, 1],
  8: [1 / 3, 1 / 3],
  9: [3 / 8, 3 / 8],
};

/** How a quantile type is named in output, with numpy's name for the same rule. */
export function quantileConvention(type: QuantileType): string {
  const numpy: Record<QuantileType, string> = {
    4: 'interpolated_inverted_cdf', 5: 'hazen', 6: 'weibull', 7: 'linear', 8: 'median_unbiased', 9: 'normal_unbiased',
  };
  return `Hyndman-Fan type ${type} (numpy method="${numpy[type]}")`;
}

/** numpy's virtual index (0-based) of quantile p in a sample of n, before clamping. */
function virtualIndex(n: number, p: number, type: QuantileType): number {
  const [alpha, beta] = PLOTTING[type];
  return type === 7 ? (n - 1) * p : n * p + (alpha + p * (1 - alpha - beta)) - 1;
}

/** The 0-based ranks (order statistics) that quantile p of a sample of n reads. */
export function quantileRanks(n: number, p: number, type: QuantileType = 7): number[] {
  const h = virtualIndex(n, p, type);
  if (h <= 0) return [0];
  if (h >= n - 1) return [n - 1];
  const lo = Math.floor(h);
  return [lo, lo + 1];
}

/** The 0-based middle rank(s) of a sample of n (what its median reads): one for odd n, two for even n. */
export function middleRanks(n: number): number[] {
  return n % 2 === 1 ? [(n - 1) / 2] : [n / 2 - 1, n / 2];
}

/** The median from the value(s) at `middleRanks(n)`: the one, or between the two as the type-7 p50. */
export function medianOfMiddle(lower: number, upper: number = lower): number {
  return lerp(lower, upper, 0.5);
}

/**
 * Quantile p of a sample of n from its order statistics `at(rank)` (0-based): only the one or two ranks
 * `quantileRanks(n, p, type)` are read. NaN for an empty sample or p outside [0, 1].
 */
export function quantileAt(n: number, at: (rank: number) => number, p: number, type: QuantileType = 7): number {
  if (n === 0 || !(p >= 0 && p <= 1)) return NaN;
  const h = virtualIndex(n, p, type);
  if (h <= 0) return at(0);
  if (h >= n - 1) return at(n - 1);
  const lo = Math.floor(h);
  return lerp(at(lo), at(lo + 1), h - lo);
}

/** a + t (b - a) as numpy's _lerp: exact at both ends, no overshoot. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Quantile p of an ascending-sorted sample (or of any array whose order statistics at
 * `quantileRanks(n, p, type)` are in place, e.g. after `multiSelect`).
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number, type: QuantileType = 7): number {
  return quantileAt(sorted.length, (r) => sorted[r], p, type);
}

/**
 * Puts the order statistics at the given 0-based ranks in place (as a full sort would), in O(n log k):
 * select the middle rank, then recurse on each side with the ranks that fall there.
 */
export function multiSelect(a: Float64Array, ranks: readonly number[]): void {
  const sorted = [...new Set(ranks)].filter((r) => r >= 0 && r < a.length).sort((x, y) => x - y);
  const rec = (left: number, right: number, lo: number, hi: number) => {
    if (lo >= hi || left > right) return;
    const mid = (lo + hi) >>> 1;
    const k = sorted[mid];
    selectInPlace(a, k, left, right);
    rec(left, k - 1, lo, mid);
    rec(k + 1, right, mid + 1, hi);
  };
  rec(0, a.length - 1, 0, sorted.length);
}

/** k-th smallest (0-based) of `a`, in place (Floyd-Rivest-style quickselect with median-of-three). */
export function selectInPlace(a: Float64Array, k: number, left = 0, right = a.length - 1): number {
  while (right > left) {
    const mid = (left + right) >>> 1;
    // median of three as pivot
    if (a[mid] < a[left]) swap(a, mid, left);
    if (a[right] < a[left]) swap(a, right, left);
    if (a[right] < a[mid]) swap(a, right, mid);
    const pivot = a[mid];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

export interface QuantileInterval {
  lower: number;
  upper: number;
  /** The nominal two-sided level asked for. */
  level: number;
  /** The exact coverage of the chosen order statistics (>= level). */
  coverage: number;
  /** 1-based ranks of the order statistics used. */
  ranks: [number, number];
  method: string;
}

/**
 * The smallest number of observations for which a two-sided distribution-free interval for quantile p at
 * `level` exists: the sample extremes must cover with probability >= level, i.e.
 * max(p, 1-p)^n <= (1 - level)/2. (p99 at 95% needs 368.)
 */
export function minSampleForQuantile(p: number, level: number): number {
  const tail = (1 - level) / 2;
  return Math.ceil(Math.log(tail) / Math.log(Math.max(p, 1 - p)) - 1e-12);
}

/**
 * Distribution-free confidence interval for quantile p from order statistics (binomial), with each tail
 * holding at most (1 - level)/2. Returns undefined when the sample is too small to bound it.
 */
export function quantileInterval(sorted: ArrayLike<number>, p: number, level: number): QuantileInterval | undefined {
  return quantileIntervalAt(sorted.length, (r) => sorted[r], p, level);
}

/** The distribution-free interval for quantile p from the order statistics `at(rank)` of a sample of n. */
export function quantileIntervalAt(n: number, at: (rank: number) => number, p: number, level: number): QuantileInterval | undefined {
  const r = quantileIntervalRanks(n, p, level);
  if (!r) return undefined;
  return {
    lower: at(r.ranks[0] - 1),
    upper: at(r.ranks[1] - 1),
    level,
    coverage: r.coverage,
    ranks: r.ranks,
    method: 'order statistics (binomial, distribution-free)',
  };
}

/** The 1-based ranks of the distribution-free interval for quantile p, and their exact coverage. */
export function quantileIntervalRanks(n: number, p: number, level: number): { ranks: [number, number]; coverage: number } | undefined {
  if (n === 0 || n < minSampleForQuantile(p, level)) return undefined;
  const tail = (1 - level) / 2;
  // lower rank l: the largest l with P(B <= l - 1) <= tail (B ~ Bin(n, p)); upper rank u: the smallest u
  // with P(B <= u - 1) >= 1 - tail.
  const cdf = (k: number) => binomialCdf(k, n, p);
  let lo = 0;
  let hi = n; // search l in [0, n]; l = 0 means no lower bound
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (cdf(mid - 1) <= tail) lo = mid;
    else hi = mid - 1;
  }
  const l = lo;
  lo = 1;
  hi = n + 1; // u = n + 1 means no upper bound
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf(mid - 1) >= 1 - tail) hi = mid;
    else lo = mid + 1;
  }
  const u = lo;
  if (l < 1 || u > n) return undefined;
  return { ranks: [l, u], coverage: cdf(u - 1) - cdf(l - 1) };
}
