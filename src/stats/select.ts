// Exact order statistics of a large sample without sorting it: a seeded random sample brackets each wanted
// rank (as in Floyd & Rivest's SELECT), one pass over the data counts what falls below each bracket and
// collects what falls inside, and only the collected values are searched. A rank that its bracket missed
// (rare) falls back to quickselect. Results equal those of a full sort. The large-sample path takes this
// where a histogram does not suit the data (histogram.ts); the MAD and counts then take passes of their own.
import type { OrderStatisticsPlan, RankedValues } from './order-plan.js';
import { medianOfMiddle, middleRanks, multiSelect } from './quantile.js';
import { createRng } from './rng.js';

/** Below this size, a copy is simply sorted or quickselected. */
export const BRACKET_MIN_N = 65536;
const SAMPLE = 16384;

/** A sorted random sample (seeded, with replacement) of x, or of |x - centre|. */
export function sortedSample(x: Float64Array, seed: number, centre?: number, size = SAMPLE): Float64Array {
  const rng = createRng(seed);
  const scale = x.length / 2 ** 32;
  const sample = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const v = x[Math.floor(rng.uint32() * scale)];
    sample[i] = centre === undefined ? v : Math.abs(v - centre);
  }
  return sample.sort();
}

interface Brackets {
  n: number;
  count: number;
  lowers: Float64Array;
  uppers: Float64Array;
  /** The first eight uppers padded with +Infinity, for a branch-free bracket search. */
  u8: Float64Array;
  /** lowers padded with +Infinity to nine entries (index 8 means "above every bracket"). */
  l9: Float64Array;
  ranks: number[][];
  bufs: Float64Array[];
  fill: Int32Array;
  /** below[j]: values under bracket j and above bracket j - 1. */
  below: Float64Array;
}

/** Index of the first element of `sorted` that is >= v (strict: > v). */
export function lowerBound(sorted: ArrayLike<number>, v: number, strict = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? sorted[mid] <= v : sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Brackets about 4 binomial sd wide on each side of every wanted rank, overlaps merged. */
function planBrackets(sample: Float64Array, n: number, ranks: readonly number[]): Brackets {
  const s = sample.length;
  const wanted = [...new Set(ranks)].filter((r) => r >= 0 && r < n).sort((a, b) => a - b);
  const list: Array<{ a: number; b: number; ranks: number[] }> = [];
  for (const r of wanted) {
    const p = r / (n - 1);
    const pos = p * (s - 1);
    const delta = 4 * Math.sqrt(s * p * (1 - p)) + 6;
    const lo = Math.floor(pos - delta);
    const hi = Math.ceil(pos + delta);
    const a = lo < 0 ? -Infinity : sample[lo];
    const b = hi >= s ? Infinity : sample[hi];
    const last = list[list.length - 1];
    if (last && a <= last.b) {
      if (b > last.b) last.b = b;
      last.ranks.push(r);
    } else list.push({ a, b, ranks: [r] });
  }
  const B = list.length;
  const br: Brackets = {
    n,
    count: B,
    lowers: Float64Array.from(list, (b) => b.a),
    uppers: Float64Array.from(list, (b) => b.b),
    u8: new Float64Array(8).fill(Infinity),
    l9: new Float64Array(Math.max(9, B + 1)).fill(Infinity),
    ranks: list.map((b) => b.ranks),
    bufs: [],
    fill: new Int32Array(B),
    below: new Float64Array(B + 1),
  };
  br.u8.set(br.uppers.subarray(0, Math.min(8, B)));
  br.l9.set(br.lowers);
  for (const b of list) {
    const inSample = lowerBound(sample, b.b, true) - lowerBound(sample, b.a);
    br.bufs.push(new Float64Array(Math.ceil(((inSample + 32) / s) * n * 1.25)));
  }
  return br;
}

/** Files one value: counted below its bracket, or collected inside it. */
function bracketAdd(br: Brackets, v: number): void {
  const B = br.count;
  let j: number;
  if (B <= 8) {
    // count the uppers below v without data-dependent branches (the brackets are ascending)
    const u = br.u8;
    j = (v > u[0] ? 1 : 0) + (v > u[1] ? 1 : 0) + (v > u[2] ? 1 : 0) + (v > u[3] ? 1 : 0) +
      (v > u[4] ? 1 : 0) + (v > u[5] ? 1 : 0) + (v > u[6] ? 1 : 0) + (v > u[7] ? 1 : 0);
  } else {
    const uppers = br.uppers;
    j = 0;
    while (j < B && uppers[j] < v) j++;
  }
  if (j < B && v >= br.l9[j]) {
    let buf = br.bufs[j];
    const f = br.fill[j];
    if (f === buf.length) {
      const grown = new Float64Array(buf.length * 2 + 1024);
      grown.set(buf);
      br.bufs[j] = buf = grown;
    }
    buf[f] = v;
    br.fill[j] = f + 1;
  } else br.below[j]++;
}

/** Reads the wanted ranks from the brackets; `all` materialises the values for ranks a bracket missed. */
function resolveBrackets(br: Brackets, all: () => Float64Array): Map<number, number> {
  const out = new Map<number, number>();
  let before = 0;
  const missed: number[] = [];
  for (let j = 0; j < br.count; j++) {
    before += br.below[j];
    const c = br.bufs[j].subarray(0, br.fill[j]);
    const local = br.ranks[j].map((r) => r - before).filter((k) => k >= 0 && k < c.length);
    multiSelect(c, local);
    for (const r of br.ranks[j]) {
      const k = r - before;
      if (k >= 0 && k < c.length) out.set(r, c[k]);
      else missed.push(r);
    }
    before += c.length;
  }
  if (missed.length > 0) {
    const w = all();
    multiSelect(w, missed);
    for (const r of missed) out.set(r, w[r]);
  }
  return out;
}

/**
 * The order statistic at each 0-based rank of `x` (x is not modified), or with `centre`, of the absolute
 * deviations |x - centre| without materialising them. The brackets are planned from `sample` (sorted; by
 * default a seeded random sample of the values); a misleading one costs time, never exactness.
 */
export function selectRanks(
  x: Float64Array,
  ranks: readonly number[],
  seed = 0x5eed,
  centre?: number,
  sample?: Float64Array,
): Map<number, number> {
  const n = x.length;
  const values = () => {
    if (centre === undefined) return x.slice();
    const dev = new Float64Array(n);
    for (let i = 0; i < n; i++) dev[i] = Math.abs(x[i] - centre);
    return dev;
  };
  const out = new Map<number, number>();
  if (n < BRACKET_MIN_N) {
    const w = values();
    if (n <= 4096) w.sort();
    else multiSelect(w, ranks);
    for (const r of ranks) if (r >= 0 && r < n) out.set(r, w[r]);
    return out;
  }
  const br = planBrackets(sample ?? sortedSample(x, seed, centre), n, ranks);
  if (centre === undefined) for (let i = 0; i < n; i++) bracketAdd(br, x[i]);
  else for (let i = 0; i < n; i++) bracketAdd(br, Math.abs(x[i] - centre));
  return resolveBrackets(br, values);
}

/** The order statistics of a large finite sample (n >= BRACKET_MIN_N) for the planned `ranks`, in one pass. */
export function bracketValues(x: Float64Array, ranks: readonly number[], plan: OrderStatisticsPlan): RankedValues {
  const seed = plan.seed ?? 1;
  const order = selectRanks(x, ranks, seed);
  const notes = new Set<string>();
  const count = (v: number, below: boolean) => {
    notes.add('; counts by a further pass');
    return countByPass(x, v, below);
  };
  return {
    n: x.length,
    get method() {
      return `one pass; order statistics selected within brackets from a seeded random sample${[...notes].join('')}`;
    },
    at(rank) {
      let v = order.get(rank);
      if (v === undefined) {
        notes.add('; an unplanned rank by a further selection');
        v = selectRanks(x, [rank], seed).get(rank) as number;
        order.set(rank, v);
      }
      return v;
    },
    countBelow: (v) => (v === Infinity ? x.length : v === -Infinity ? 0 : count(v, true)),
    countAbove: (v) => (v === -Infinity ? x.length : v === Infinity ? 0 : count(v, false)),
    mad(centre) {
      notes.add('; MAD by a second selection');
      return madBySelection(x, centre, seed + 1);
    },
  };
}

/** How many values of x lie strictly below (or above) v, in one pass. */
export function countByPass(x: Float64Array, v: number, below: boolean): number {
  let m = 0;
  if (below) for (let i = 0; i < x.length; i++) m += x[i] < v ? 1 : 0;
  else for (let i = 0; i < x.length; i++) m += x[i] > v ? 1 : 0;
  return m;
}

/** Median absolute deviation about `centre`, by selecting the middle ranks of |x - centre|. */
export function madBySelection(x: Float64Array, centre: number, seed: number): number {
  const mid = middleRanks(x.length);
  const got = selectRanks(x, mid, seed, centre);
  return medianOfMiddle(got.get(mid[0]) as number, got.get(mid[mid.length - 1]) as number);
}
