// Exact order statistics of a large sample in two cheap, branch-predictable passes: a fine histogram over
// the sample's range (pass 1, with the moments), then only the values in the few histogram cells that hold
// a wanted rank, the MAD's neighbourhood or an outlier cut-off are gathered, cell by cell (pass 2). Every
// figure is then exact: counts come from whole cells, and the cells around each boundary were gathered.
// Correctness rests only on the cell function being monotone (v < w implies cell(v) <= cell(w)); every
// assumption taken from approximate planning is checked, and `undefined` sends the caller to a direct path.
import { multiSelect, selectInPlace } from './quantile.js';
import { sortedSample } from './select.js';

const CELLS = 4096;
const SAMPLE = 8192;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/** The high 32 bits of a double's IEEE-754 pattern (sign, exponent, top 20 mantissa bits). */
function highWord(v: number): number {
  scratch[0] = v;
  return scratchWords[LITTLE_ENDIAN ? 1 : 0];
}

/** The double whose high word is h and low word 0. */
function fromHighWord(h: number): number {
  scratchWords[LITTLE_ENDIAN ? 1 : 0] = h >>> 0;
  scratchWords[LITTLE_ENDIAN ? 0 : 1] = 0;
  return scratch[0];
}

export interface HistogramCoreOptions {
  ranks: readonly number[];
  q1Ranks: readonly number[];
  q3Ranks: readonly number[];
  /** The middle rank(s): the median and the MAD read them. */
  mid: readonly number[];
  /** Tukey's k and the modified z-score cut expressed in MADs. */
  k: number;
  zFactor: number;
  batches: number;
  seed: number;
}

export interface HistogramCore {
  min: number;
  max: number;
  shift: number;
  sum: number;
  ss: number;
  lagged: number;
  batchSums: Float64Array;
  order: Map<number, number>;
  /** A sorted seeded random sample of the data (8192 values). */
  sample: Float64Array;
  mad(med: number): number | undefined;
  outliers(cuts: { lowerFence: number; upperFence: number; zLow: number; zHigh: number }): { low: number; high: number; modified: number } | undefined;
}

/** Both passes and the gathered cells; undefined when the data do not suit (e.g. a constant sample). */
export function histogramCore(x: Float64Array, o: HistogramCoreOptions): HistogramCore | undefined {
  const n = x.length;
  // the range: the sample's 0.05% and 99.95% points (values beyond go to two edge cells)
  const sample = sortedSample(x, o.seed, undefined, SAMPLE);
  const lo = sample[4];
  const hi = sample[SAMPLE - 5];
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return undefined;
  // Cells: 0 holds v < lo, the last v >= hi. Between them, for positive data the cells follow the high 32
  // bits of the IEEE-754 pattern (monotone in v, a piecewise-linear log2: equal relative widths, so skewed
  // and heavy-tailed data spread over many cells); otherwise equal widths.
  const bitCells = lo > 0 && LITTLE_ENDIAN;
  const words = bitCells ? new Uint32Array(x.buffer, x.byteOffset, n * 2) : new Uint32Array(0);
  const hiLo = highWord(lo);
  const bitShift = bitCells ? Math.max(0, Math.ceil(Math.log2((highWord(hi) - hiLo + 1) / CELLS))) : 0;
  const scale = bitCells ? 0 : CELLS / (hi - lo);
  const last = bitCells ? 2 + ((highWord(hi) - hiLo) >>> bitShift) : CELLS + 1;
  const NC = last + 1;
  const cell = (v: number) =>
    v < lo ? 0 : v >= hi ? last : bitCells ? 1 + ((highWord(v) - hiLo) >>> bitShift) : Math.min(CELLS, 1 + (((v - lo) * scale) | 0));
  /** The smallest value of cell c (cells 1..last-1), for planning only. */
  const cellLo = (c: number) =>
    c <= 0 ? -Infinity : c >= last ? hi : c === 1 ? lo : bitCells ? fromHighWord(hiLo + (c - 1) * 2 ** bitShift) : lo + (c - 1) / scale;
  const cellHi = (c: number) => (c >= last ? Infinity : c <= 0 ? lo : cellLo(c + 1));
  const shift = sample[SAMPLE >> 1];

  // ---- pass 1: moments, lag-1 products, batch sums, cell counts
  const counts = new Float64Array(NC);
  const batches = o.batches;
  const batchSums = new Float64Array(batches);
  let batch = 0;
  let batchAcc = 0;
  let nextBoundary = batches > 0 ? Math.floor(n / batches) : Infinity;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let ss = 0;
  let lagged = 0;
  let blockSum = 0;
  let blockSs = 0;
  let blockLag = 0;
  let prev = 0;
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
    counts[v < lo ? 0 : v >= hi ? last : bitCells ? 1 + ((words[2 * i + 1] - hiLo) >>> bitShift) : Math.min(CELLS, 1 + (((v - lo) * scale) | 0))]++;
  }
  sum += blockSum;
  ss += blockSs;
  lagged += blockLag;
  if (batches > 0) batchSums[batch] = batchAcc;
  if (!Number.isFinite(min) || !Number.isFinite(max) || Number.isNaN(ss)) return undefined; // the caller reports invalid values

  // ---- plan: which cells to gather
  const cum = new Float64Array(NC + 1);
  for (let b = 0; b < NC; b++) cum[b + 1] = cum[b] + counts[b];
  const rankCell = (r: number) => {
    let a = 0;
    let z = last;
    while (a < z) {
      const m = (a + z) >>> 1;
      if (cum[m + 1] <= r) a = m + 1;
      else z = m;
    }
    return a;
  };
  const marks = new Uint8Array(NC);
  const markRange = (a: number, b: number) => {
    if (!(a <= b)) return;
    for (let c = Math.max(0, cell(a)); c <= Math.min(last, cell(b)); c++) marks[c] = 1;
  };
  for (const r of o.ranks) marks[rankCell(r)] = 1;
  const span = (rs: readonly number[]) => [cellLo(rankCell(Math.min(...rs))), cellHi(rankCell(Math.max(...rs)))];
  const [medLo, medHi] = span(o.mid);
  const [a1, b1] = span(o.q1Ranks);
  const [a3, b3] = span(o.q3Ranks);
  // an approximate MAD from the cells: the weighted median of |cell centre - median centre|
  const medC = (medLo + medHi) / 2;
  const dev: Array<[number, number]> = [];
  for (let b = 1; b < last; b++) if (counts[b] > 0) dev.push([Math.abs((cellLo(b) + cellHi(b)) / 2 - medC), counts[b]]);
  dev.sort((p, q) => p[0] - q[0]);
  let acc = 0; // the two edge cells lie beyond every centre cell: they could only come last
  let madA = Infinity;
  for (const [d, c] of dev) {
    acc += c;
    if (acc >= n / 2) {
      madA = d;
      break;
    }
  }
  if (!Number.isFinite(madA) || !Number.isFinite(medLo) || !Number.isFinite(medHi)) return undefined;
  // slack for the approximate MAD: three cells' width where median +- MAD falls
  const cellWidthAt = (v: number) => {
    const c = Math.min(Math.max(cell(v), 1), last - 1);
    return cellHi(c) - cellLo(c);
  };
  const slack = 3 * Math.max(cellWidthAt(medLo - madA), cellWidthAt(medHi + madA), cellWidthAt(medC));
  const w = (v: number) => cellWidthAt(v);
  markRange(medLo - madA - slack, medHi - madA + slack);
  markRange(medLo + madA - slack, medHi + madA + slack);
  const k = o.k;
  const z = o.zFactor;
  const lf0 = (1 + k) * a1 - k * b3;
  const lf1 = (1 + k) * b1 - k * a3;
  const uf0 = (1 + k) * a3 - k * b1;
  const uf1 = (1 + k) * b3 - k * a1;
  const zl0 = medLo - z * (madA + slack);
  const zl1 = medHi - z * Math.max(0, madA - slack);
  const zh0 = medLo + z * Math.max(0, madA - slack);
  const zh1 = medHi + z * (madA + slack);
  markRange(lf0 - w(lf0), lf1 + w(lf1));
  markRange(uf0 - w(uf0), uf1 + w(uf1));
  markRange(zl0 - w(zl0), zl1 + w(zl1));
  markRange(zh0 - w(zh0), zh1 + w(zh1));
  let gathered = 0;
  const start = new Float64Array(NC);
  for (let b = 0; b < NC; b++) {
    start[b] = gathered;
    if (marks[b]) gathered += counts[b];
  }
  if (gathered > 0.4 * n) return undefined;

  // ---- pass 2: gather the marked cells, each into its own slice
  const buf = new Float64Array(gathered);
  const pos = start.slice();
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const b = v < lo ? 0 : v >= hi ? last : bitCells ? 1 + ((words[2 * i + 1] - hiLo) >>> bitShift) : Math.min(CELLS, 1 + (((v - lo) * scale) | 0));
    if (marks[b]) buf[pos[b]++] = v;
  }
  const slice = (b: number) => buf.subarray(start[b], start[b] + counts[b]);

  // ---- the wanted order statistics, each read inside its cell
  const order = new Map<number, number>();
  const byCell = new Map<number, number[]>();
  for (const r of new Set(o.ranks)) {
    if (r < 0 || r >= n) continue;
    const b = rankCell(r);
    const list = byCell.get(b) ?? [];
    list.push(r);
    byCell.set(b, list);
  }
  for (const [b, rs] of byCell) {
    const s = slice(b);
    multiSelect(s, rs.map((r) => r - cum[b]));
    for (const r of rs) order.set(r, s[r - cum[b]]);
  }

  /** Values below c, exactly, when the cell of c was gathered (or empty). */
  const countBelow = (c: number): number | undefined => {
    if (c === -Infinity) return 0;
    if (c === Infinity) return n;
    const b = cell(c);
    if (!marks[b] && counts[b] > 0) return undefined;
    let m = cum[b];
    if (marks[b]) for (const v of slice(b)) if (v < c) m++;
    return m;
  };
  const countAbove = (c: number): number | undefined => {
    if (c === Infinity) return 0;
    if (c === -Infinity) return n;
    const b = cell(c);
    if (!marks[b] && counts[b] > 0) return undefined;
    let m = n - cum[b + 1];
    if (marks[b]) for (const v of slice(b)) if (v > c) m++;
    return m;
  };

  return {
    min,
    max,
    shift,
    sum,
    ss,
    lagged,
    batchSums,
    order,
    sample,
    mad(med: number) {
      // ungathered cells are counted wholly inside or wholly outside med +- MAD (judged against the
      // approximate MAD, then confirmed against the result); the MAD is an order statistic of the gathered
      // values' deviations
      const bl = cell(med - madA);
      const br = cell(med + madA);
      let inside = 0;
      for (let b = bl + 1; b < br; b++) if (!marks[b]) inside += counts[b];
      const devs = new Float64Array(gathered);
      for (let i = 0; i < gathered; i++) devs[i] = Math.abs(buf[i] - med);
      const got: number[] = [];
      for (const r of o.mid) {
        const kk = r - inside;
        if (kk < 0 || kk >= gathered) return undefined;
        got.push(selectInPlace(devs, kk));
      }
      const m0 = got[0];
      const m1 = got[got.length - 1];
      const in0 = cell(med - m0);
      const in1 = cell(med + m0);
      const out0 = cell(med - m1);
      const out1 = cell(med + m1);
      for (let b = 0; b < NC; b++) {
        if (marks[b] || counts[b] === 0) continue;
        if (b > bl && b < br) {
          if (!(b > in0 && b < in1)) return undefined;
        } else if (!(b < out0 || b > out1)) return undefined;
      }
      return got.length === 1 ? m0 : (got[0] + got[1]) / 2;
    },
    outliers({ lowerFence, upperFence, zLow, zHigh }) {
      const low = countBelow(lowerFence);
      const high = countAbove(upperFence);
      const zl = countBelow(zLow);
      const zh = countAbove(zHigh);
      if (low === undefined || high === undefined || zl === undefined || zh === undefined) return undefined;
      return { low, high, modified: zl + zh };
    },
  };
}
