// Change-point detection over a metric's history: E-divisive means (Matteson & James 2014) with a
// permutation significance test, as Apache Otava (formerly Hunter) applies it to performance history.
// Used to say whether a change persists and to keep the baseline window after the last change.
import { createRng } from '../stats/rng.js';

export interface ChangePoint {
  /** Index of the first point after the change. */
  index: number;
  /** Permutation p-value of the split when it was accepted. */
  p: number;
  /** Mean before and after (within the segment where it was found). */
  meanBefore: number;
  meanAfter: number;
  /** (after - before) / |before|. */
  relative: number;
}

export interface ChangePointOptions {
  /** Significance level of the permutation test (default 0.05). */
  alpha?: number;
  /** Permutations per test (default 199). */
  permutations?: number;
  /** Fewest points on each side of a split (default 3). */
  minSize?: number;
  seed?: number;
}

/**
 * The best split of x[lo, hi) by the E-divisive statistic (alpha = 1):
 * Q(tau) = (m n / (m + n)) (2/(mn) sum|X - Y| - sum_{i<k}|X_i - X_k| / C(m,2) - sum_{j<k}|Y_j - Y_k| / C(n,2)).
 * O(T^2) with cumulative sums over the distance matrix.
 */
export function bestSplit(x: ArrayLike<number>, minSize = 3): { index: number; q: number } {
  const T = x.length;
  let best = { index: -1, q: -Infinity };
  if (T < 2 * minSize) return best;
  // rowSum[i][t] = sum_{j < t} |x_i - x_j| is built incrementally
  let within = 0; // sum over pairs inside [0, tau)
  let total = 0;
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) total += Math.abs(x[i] - x[j]);
  // cross(tau) = sum_{i < tau <= j} |x_i - x_j|; right-within = total - within - cross
  let cross = 0;
  for (let tau = 1; tau < T; tau++) {
    // move point tau-1 from right to left
    const p = tau - 1;
    let toLeft = 0;
    let toRight = 0;
    for (let i = 0; i < p; i++) toLeft += Math.abs(x[i] - x[p]);
    for (let j = p + 1; j < T; j++) toRight += Math.abs(x[j] - x[p]);
    within += toLeft;
    cross = cross - toLeft + toRight;
    const m = tau;
    const n = T - tau;
    if (m < minSize || n < minSize) continue;
    const rightWithin = total - within - cross;
    const e = (2 * cross) / (m * n) - within / ((m * (m - 1)) / 2) - rightWithin / ((n * (n - 1)) / 2);
    const q = ((m * n) / (m + n)) * e;
    if (q > best.q) best = { index: tau, q };
  }
  return best;
}

/** Hierarchical E-divisive: split while the permutation test says the best split is significant. */
export function detectChangePoints(series: readonly number[], options: ChangePointOptions = {}): ChangePoint[] {
  const alpha = options.alpha ?? 0.05;
  const R = options.permutations ?? 199;
  const minSize = options.minSize ?? 3;
  const rng = createRng(options.seed ?? 1);
  const found: ChangePoint[] = [];
  const segments: Array<[number, number]> = [[0, series.length]];
  while (segments.length > 0) {
    const [lo, hi] = segments.pop() as [number, number];
    const seg = series.slice(lo, hi);
    const split = bestSplit(seg, minSize);
    if (split.index < 0) continue;
    let exceed = 0;
    const perm = seg.slice();
    for (let r = 0; r < R; r++) {
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      if (bestSplit(perm, minSize).q >= split.q) exceed++;
    }
    const p = (exceed + 1) / (R + 1);
    if (p > alpha) continue;
    const before = seg.slice(0, split.index);
    const after = seg.slice(split.index);
    const mb = before.reduce((s, v) => s + v, 0) / before.length;
    const ma = after.reduce((s, v) => s + v, 0) / after.length;
    found.push({ index: lo + split.index, p, meanBefore: mb, meanAfter: ma, relative: (ma - mb) / Math.abs(mb) });
    segments.push([lo, lo + split.index], [lo + split.index, hi]);
  }
  return found.sort((a, b) => a.index - b.index);
}

/**
 * The latest change and whether it persists: changes are searched down to segments of `minSize` points
 * (default 2, so a fresh change is seen), and one persists when at least `persistAfter` points (default 3)
 * follow it.
 */
export function latestChange(
  series: readonly number[],
  options: ChangePointOptions & { persistAfter?: number } = {},
): { change: ChangePoint | null; persists: boolean; pointsAfter: number } {
  const cps = detectChangePoints(series, { ...options, minSize: options.minSize ?? 2 });
  const last = cps[cps.length - 1] ?? null;
  const pointsAfter = last ? series.length - last.index : 0;
  return { change: last, persists: last !== null && pointsAfter >= (options.persistAfter ?? 3), pointsAfter };
}
