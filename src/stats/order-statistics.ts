// Order statistics of one sample behind one interface: the value at each rank of the ascending order and
// what is read from those values (Hyndman-Fan quantiles, the median, distribution-free quantile intervals,
// counts beyond a cut-off, the median absolute deviation). A sorted copy is the reference implementation.
// A large sample is never sorted: a histogram pass plans a second pass that gathers only the values near
// what will be read (histogram.ts), or, where the data do not suit a histogram, a random sample brackets
// the wanted ranks (select.ts). Every path gives the reference's results exactly
// (test/stats/order-statistics.test.ts).
import { StoqError } from '../errors.js';
import { histogramValues } from './histogram.js';
import {
  medianOfMiddle,
  middleRanks,
  quantileAt,
  quantileIntervalAt,
  quantileIntervalRanks,
  quantileRanks,
  selectInPlace,
  type QuantileInterval,
  type QuantileType,
} from './quantile.js';
import { BRACKET_MIN_N, bracketValues, lowerBound } from './select.js';
import type { OrderStatisticsPlan, RankedValues } from './order-plan.js';

export type { OrderBounds, OrderStatisticsPlan } from './order-plan.js';

export interface OrderStatistics {
  /** Sample size. */
  readonly n: number;
  /** How the order statistics were obtained, including any further pass a query needed. */
  readonly method: string;
  /** The value at 0-based `rank` of the ascending order (0: the minimum, n - 1: the maximum). */
  at(rank: number): number;
  /** Sample quantile p in [0, 1] of Hyndman-Fan `type` (7 by default, as R and numpy); NaN outside [0, 1]. */
  quantile(p: number, type?: QuantileType): number;
  /** The median: the middle value, or between the two middle ones as the type-7 quantile 0.5 (numpy's). */
  median(): number;
  /** Distribution-free interval for quantile p at `level` (binomial order statistics); undefined when too few values. */
  interval(p: number, level: number): QuantileInterval | undefined;
  /** How many values lie strictly below v. */
  countBelow(v: number): number;
  /** How many values lie strictly above v. */
  countAbove(v: number): number;
  /** Median absolute deviation about `centre`, unscaled: the median of |x_i - centre|. */
  mad(centre: number): number;
}

/** Samples at least this large take the large-sample path (below, sorting a copy is as fast). */
export const LARGE_SAMPLE = 16384;

/**
 * The order statistics of `values` (finite numbers; not modified). Below LARGE_SAMPLE values a sorted copy;
 * above, the large-sample path planned by `plan`, exact all the same: a histogram, else brackets (from
 * BRACKET_MIN_N values), else a sorted copy.
 * @throws StoqError INVALID_ARGUMENT on an empty sample or a value that is not a finite number
 */
export function orderStatistics(values: ArrayLike<number>, plan: OrderStatisticsPlan = {}): OrderStatistics {
  const x = values instanceof Float64Array ? values : Float64Array.from(values);
  if (x.length < LARGE_SAMPLE) return sortedOrderStatistics(x);
  const ranks = plannedRanks(x.length, plan);
  const histogram = histogramValues(x, ranks, plan);
  if (histogram) return new Derived(histogram);
  if (x.length < BRACKET_MIN_N) return sortedOrderStatistics(x);
  checkFinite(x);
  return new Derived(bracketValues(x, ranks, plan));
}

/**
 * The reference implementation: a sorted copy of `values` (finite numbers; not modified).
 * @throws StoqError INVALID_ARGUMENT on an empty sample or a value that is not a finite number
 */
export function sortedOrderStatistics(values: ArrayLike<number>): OrderStatistics {
  const sorted = Float64Array.from(values);
  checkFinite(sorted);
  sorted.sort();
  return new Derived(new SortedValues(sorted, 'sorted copy'));
}

/** Order statistics over an array the caller already holds in ascending order (finite; not copied). */
export function fromSorted(sorted: Float64Array): OrderStatistics {
  if (sorted.length === 0) throw new StoqError('INVALID_ARGUMENT', 'sample: no values');
  return new Derived(new SortedValues(sorted, 'sorted input'));
}

/** The median of `values` (see OrderStatistics.median); NaN when empty. `values` is not modified. */
export function median(values: ArrayLike<number>): number {
  return medianInPlace(Float64Array.from(values));
}

/** The median of `a`, reordering `a` in place (no copy). NaN when empty. */
export function medianInPlace(a: Float64Array): number {
  const n = a.length;
  if (n === 0) return NaN;
  const hi = selectInPlace(a, n >> 1);
  if (n % 2 === 1) return hi;
  // the lower middle value is the largest of the lower half, which selection left below rank n/2
  let lo = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i] > lo) lo = a[i];
  return medianOfMiddle(lo, hi);
}

/** The 0-based ranks a plan reads in a sample of n. */
export function plannedRanks(n: number, plan: OrderStatisticsPlan): number[] {
  const type = plan.type ?? 7;
  const ranks: number[] = [];
  for (const p of plan.quantiles ?? []) ranks.push(...quantileRanks(n, p, type));
  for (const p of plan.intervals ?? []) {
    const r = quantileIntervalRanks(n, p, plan.level ?? 0.95);
    if (r) ranks.push(r.ranks[0] - 1, r.ranks[1] - 1);
  }
  if (plan.mad) ranks.push(...middleRanks(n));
  return [...new Set(ranks)].sort((a, b) => a - b);
}

class Derived implements OrderStatistics {
  readonly n: number;
  constructor(private readonly values: RankedValues) {
    this.n = values.n;
  }

  get method(): string {
    return this.values.method;
  }

  at(rank: number): number {
    if (!(Number.isInteger(rank) && rank >= 0 && rank < this.n)) {
      throw new StoqError('INVALID_ARGUMENT', `rank ${rank} is outside 0..${this.n - 1}`);
    }
    return this.values.at(rank);
  }

  quantile(p: number, type: QuantileType = 7): number {
    return quantileAt(this.n, (r) => this.values.at(r), p, type);
  }

  median(): number {
    return this.quantile(0.5);
  }

  interval(p: number, level: number): QuantileInterval | undefined {
    return quantileIntervalAt(this.n, (r) => this.values.at(r), p, level);
  }

  countBelow(v: number): number {
    return Number.isNaN(v) ? 0 : this.values.countBelow(v);
  }

  countAbove(v: number): number {
    return Number.isNaN(v) ? 0 : this.values.countAbove(v);
  }

  mad(centre: number): number {
    return Number.isNaN(centre) ? NaN : this.values.mad(centre);
  }
}

/** A sorted array read directly: the reference. */
class SortedValues implements RankedValues {
  readonly n: number;
  constructor(
    private readonly sorted: Float64Array,
    readonly method: string,
  ) {
    this.n = sorted.length;
  }

  at(rank: number): number {
    return this.sorted[rank];
  }

  countBelow(v: number): number {
    return lowerBound(this.sorted, v);
  }

  countAbove(v: number): number {
    return this.n - lowerBound(this.sorted, v, true);
  }

  /** The deviations |x - centre| in ascending order come from merging the two sides of centre: O(n). */
  mad(centre: number): number {
    const s = this.sorted;
    const n = this.n;
    let left = lowerBound(s, centre) - 1; // centre - s[left] grows as left falls
    let right = left + 1; // s[right] - centre grows as right rises
    const k = middleRanks(n)[0];
    let lower = NaN;
    for (let i = 0; ; i++) {
      const dl = left >= 0 ? centre - s[left] : Infinity;
      const dr = right < n ? s[right] - centre : Infinity;
      const d = dl <= dr ? dl : dr;
      if (dl <= dr) left--;
      else right++;
      if (i === k) {
        if (n % 2 === 1) return d;
        lower = d;
      } else if (i === k + 1) return medianOfMiddle(lower, d);
    }
  }
}

/** Rejects a value that is not a finite number (NaN, an infinity) with a clear error naming its index. */
function checkFinite(x: Float64Array): void {
  if (x.length === 0) throw new StoqError('INVALID_ARGUMENT', 'sample: no values');
  // v * 0 is 0 for every finite v and NaN otherwise: one branch-free pass, then a search only on failure
  let poison = 0;
  for (let i = 0; i < x.length; i++) poison += x[i] * 0;
  if (poison === 0) return;
  const i = x.findIndex((v) => !Number.isFinite(v));
  throw new StoqError('INVALID_ARGUMENT', `sample: value ${i} is not a finite number`);
}
