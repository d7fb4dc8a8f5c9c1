// Two-sample inference: Mann-Whitney U (exact null distribution without ties, tie-corrected normal
// approximation otherwise; conventions as scipy.stats.mannwhitneyu), the Hodges-Lehmann shift with its exact
// (Lehmann/Bauer) interval, Welch's t, and Benjamini-Hochberg adjustment.
import { normalQuantile, normalSf, studentTQuantile, studentTSf } from './special.js';
import { fromSorted } from './order-statistics.js';
import { mean, variance } from './series.js';

// ---------------------------------------------------------------------------------------------------------
// Exact null distribution of U

const exactCache = new Map<string, Float64Array>();

/**
 * Null probabilities of U for sample sizes m, n (no ties): P(U = u), u = 0..mn. Built by the recurrence
 * c(m, n, u) = c(m - 1, n, u - n) + c(m, n - 1, u) in probabilities (additions only, so no cancellation).
 */
function mannWhitneyExactPmf(m: number, n: number): Float64Array {
  const [a, b] = m <= n ? [m, n] : [n, m];
  const key = `${a},${b}`;
  const hit = exactCache.get(key);
  if (hit) return hit;
  // f[j] holds the distribution for (i, j) as i grows; row i=0: P(U=0)=1 for every j.
  let prev: Float64Array[] = Array.from({ length: b + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= a; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)]; // (i, 0): U = 0
    for (let j = 1; j <= b; j++) {
      const out = new Float64Array(i * j + 1);
      const w1 = i / (i + j); // last element from the first sample: it exceeds all j of the second
      const w2 = j / (i + j);
      const up = prev[j]; // (i - 1, j), shifted by j
      const left = cur[j - 1]; // (i, j - 1)
      for (let u = 0; u < up.length; u++) out[u + j] += w1 * up[u];
      for (let u = 0; u < left.length; u++) out[u] += w2 * left[u];
      cur.push(out);
    }
    prev = cur;
  }
  const pmf = prev[b];
  if (a * b <= 10_000) exactCache.set(key, pmf);
  return pmf;
}

/** P(U >= u) under the exact null. */
function mannWhitneyExactSf(u: number, m: number, n: number): number {
  const pmf = mannWhitneyExactPmf(m, n);
  let s = 0;
  for (let k = pmf.length - 1; k >= Math.max(0, Math.ceil(u)); k--) s += pmf[k];
  return Math.min(1, s);
}

// ---------------------------------------------------------------------------------------------------------
// Mann-Whitney U

export type MannWhitneyMethod = 'exact' | 'asymptotic';

export interface MannWhitney {
  /** U of the first sample: R1 - m(m+1)/2 (scipy's convention). */
  u1: number;
  u2: number;
  /** Two-sided p-value. */
  p: number;
  method: MannWhitneyMethod;
  ties: boolean;
  /** Standardised statistic of the normal approximation (asymptotic method). */
  z?: number;
  /** Probability of superiority P(X > Y) + P(X = Y)/2 = u1 / (mn). */
  commonLanguageEffect: number;
}

/** Mid-ranks of the pooled sample; returns the rank sum of the first sample and the tie-group sizes. */
function rankSum(x: ArrayLike<number>, y: ArrayLike<number>): { r1: number; ties: number[] } {
  const m = x.length;
  const all = new Float64Array(m + y.length);
  all.set(x as ArrayLike<number>, 0);
  all.set(y as ArrayLike<number>, m);
  const idx = Array.from(all.keys()).sort((i, j) => all[i] - all[j]);
  let r1 = 0;
  const ties: number[] = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && all[idx[j + 1]] === all[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (idx[k] < m) r1 += rank;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { r1, ties };
}

/**
 * Mann-Whitney U test, two-sided. `auto` uses the exact distribution when there are no ties and
 * m x n <= exactLimit (default 2500, e.g. 50 runs a side), else the normal approximation with tie
 * correction and continuity correction.
 */
export function mannWhitney(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  options: { method?: MannWhitneyMethod | 'auto'; exactLimit?: number; continuity?: boolean } = {},
): MannWhitney {
  const m = x.length;
  const n = y.length;
  const { r1, ties } = rankSum(x, y);
  const u1 = r1 - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  const method: MannWhitneyMethod =
    options.method && options.method !== 'auto'
      ? options.method
      : ties.length === 0 && m * n <= (options.exactLimit ?? 2500)
        ? 'exact'
        : 'asymptotic';
  const u = Math.max(u1, u2);
  const commonLanguageEffect = u1 / (m * n);
  if (method === 'exact') {
    const p = Math.min(1, 2 * mannWhitneyExactSf(u, m, n));
    return { u1, u2, p, method, ties: ties.length > 0, commonLanguageEffect };
  }
  const total = m + n;
  const tieTerm = ties.reduce((s, t) => s + t ** 3 - t, 0);
  const s = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
  let num = u - (m * n) / 2;
  if (options.continuity ?? true) num -= 0.5;
  const z = num / s;
  const p = Math.min(1, 2 * normalSf(z));
  return { u1, u2, p, method, ties: ties.length > 0, z, commonLanguageEffect };
}

// ---------------------------------------------------------------------------------------------------------
// Hodges-Lehmann two-sample shift

export interface ShiftInterval {
  /** Median of all pairwise differences y_j - x_i. */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  /** Exact coverage of the chosen order statistics (exact method), else the nominal level. */
  coverage: number;
  method: string;
}

/**
 * Hodges-Lehmann estimate of the shift of `y` relative to `x` (median of y_j - x_i) with its confidence
 * interval from the Mann-Whitney distribution: [D_(k), D_(mn + 1 - k)] with k the largest integer such that
 * P(U <= k - 1) <= (1 - level)/2 (exact null without ties and m x n <= exactLimit, else the normal
 * approximation, as R's wilcox.test(conf.int = TRUE)). Returns NaN bounds when the samples are too small
 * to reach `level`.
 */
export function hodgesLehmannShift(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  level = 0.95,
  options: { exactLimit?: number } = {},
): ShiftInterval {
  const m = x.length;
  const n = y.length;
  const mn = m * n;
  const d = new Float64Array(mn);
  let k = 0;
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) d[k++] = y[j] - x[i];
  d.sort();
  const estimate = mn > 0 ? fromSorted(d).median() : NaN;
  const tail = (1 - level) / 2;
  const { ties } = rankSum(x, y);
  if (ties.length === 0 && mn <= (options.exactLimit ?? 2500)) {
    const pmf = mannWhitneyExactPmf(m, n);
    // k: largest with P(U <= k - 1) <= tail
    let cum = 0;
    let c = 0;
    while (c < pmf.length && cum + pmf[c] <= tail * (1 + 1e-12)) {
      cum += pmf[c];
      c++;
    }
    // c = number of leading U values whose cumulative probability stays within the tail; k = c
    if (c < 1) return { estimate, lower: NaN, upper: NaN, level, coverage: NaN, method: 'exact (Mann-Whitney null): too few runs for this level' };
    return { estimate, lower: d[c - 1], upper: d[mn - c], level, coverage: 1 - 2 * cum, method: 'exact (Mann-Whitney null)' };
  }
  // Normal approximation with tie-corrected variance (the rank of the bound among the differences).
  const total = m + n;
  const tieTerm = ties.reduce((s, t) => s + t ** 3 - t, 0);
  const sigma = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
  const z = normalQuantile(1 - tail);
  const c = Math.floor(mn / 2 - z * sigma);
  if (c < 1) return { estimate, lower: NaN, upper: NaN, level, coverage: NaN, method: 'normal approximation: too few runs for this level' };
  return { estimate, lower: d[c - 1], upper: d[mn - c], level, coverage: level, method: 'normal approximation (tie-corrected)' };
}

/** The fewest runs per side (equal sizes) for which the exact Hodges-Lehmann interval reaches `level`. */
export function minRunsForLevel(level: number): number {
  for (let n = 2; n < 50; n++) {
    // smallest two-sided tail is 2 / C(2n, n)
    let c = 1;
    for (let i = 1; i <= n; i++) c = (c * (n + i)) / i;
    if (2 / c <= 1 - level) return n;
  }
  return 50;
}

// ---------------------------------------------------------------------------------------------------------
// Welch t

export interface Welch {
  /** (mean(y) - mean(x)) / se, sign as scipy.stats.ttest_ind(y, x). */
  t: number;
  df: number;
  p: number;
  difference: number;
  lower: number;
  upper: number;
  level: number;
}

/** Welch's unequal-variance t test of mean(y) - mean(x), two-sided. */
export function welch(x: ArrayLike<number>, y: ArrayLike<number>, level = 0.95): Welch {
  const mx = mean(x);
  const my = mean(y);
  const vx = variance(x, mx) / x.length;
  const vy = variance(y, my) / y.length;
  const se = Math.sqrt(vx + vy);
  const df = (vx + vy) ** 2 / (vx ** 2 / (x.length - 1) + vy ** 2 / (y.length - 1));
  const difference = my - mx;
  const t = difference / se;
  const p = Math.min(1, 2 * studentTSf(Math.abs(t), df));
  const q = studentTQuantile((1 + level) / 2, df);
  return { t, df, p, difference, lower: difference - q * se, upper: difference + q * se, level };
}

// ---------------------------------------------------------------------------------------------------------
// Benjamini-Hochberg

/** Benjamini-Hochberg adjusted p-values (as scipy.stats.false_discovery_control(method='bh')). */
export function benjaminiHochberg(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r];
    running = Math.min(running, (p[i] * m) / (r + 1));
    adjusted[i] = Math.min(1, running);
  }
  return adjusted;
}
