// What the order-statistics paths share: the plan of what will be read from a sample, the ranges known
// before the data are, and what each path (sorted copy, histogram, brackets) answers itself.
import type { QuantileType } from './quantile.js';

/**
 * What will be read from a sample's order statistics, declared up front so that a large sample is read in
 * as few passes as possible. Anything not declared is still answered exactly, at the cost of another pass
 * (named in `method`). A sorted copy needs no plan.
 */
export interface OrderStatisticsPlan {
  /** Probabilities whose quantiles of `type` will be read. */
  quantiles?: readonly number[];
  type?: QuantileType;
  /** Probabilities whose distribution-free intervals at `level` (default 0.95) will be read. */
  intervals?: readonly number[];
  level?: number;
  /** The MAD about the median (or a centre near it) will be read. */
  mad?: boolean;
  /**
   * The value ranges in which the cut-offs that will be counted can fall, given ranges that hold the
   * quantiles and the MAD. Lets a large sample gather those values in a pass it makes anyway.
   */
  cutoffs?: (bounds: OrderBounds) => ReadonlyArray<readonly [number, number]>;
  /** Seed of the random sample that plans a large sample's passes (the results never depend on it). */
  seed?: number;
}

/** Ranges that hold (the quantiles) or likely hold (the MAD) what a plan reads, known before the data are. */
export interface OrderBounds {
  /** A range holding quantile p of the plan's type. */
  quantile(p: number): [number, number];
  /** A range likely holding the MAD about the median. */
  mad(): [number, number];
}

/**
 * What each implementation answers itself; quantiles, the median and intervals derive from `at`. Ranks
 * reach it checked, and no NaN reaches the counts or the MAD.
 */
export interface RankedValues {
  readonly n: number;
  readonly method: string;
  at(rank: number): number;
  countBelow(v: number): number;
  countAbove(v: number): number;
  mad(centre: number): number;
}
