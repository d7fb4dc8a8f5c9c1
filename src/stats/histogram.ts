// Exact order statistics of a large sample in two cheap, branch-predictable passes: a fine histogram over
// the range of a random sample (pass 1), then only the values in the few histogram cells that hold a
// planned rank, the MAD's neighbourhood or a counted cut-off are gathered, cell by cell (pass 2). Counts
// come from whole cells and the cells around each boundary were gathered, so every answer is exact.
// Correctness rests only on the cell function being monotone (v < w implies cell(v) <= cell(w)); what the
// plan guessed is checked when read, and a query the gathered cells cannot answer takes a pass of its own.
import type { OrderBounds, OrderStatisticsPlan, RankedValues } from './order-plan.js';
import { medianOfMiddle, middleRanks, multiSelect, quantileRanks, selectInPlace } from './quantile.js';
import { countByPass, madBySelection, selectRanks, sortedSample } from './select.js';

const CELLS = 4096;
const SAMPLE = 8192;
/** Past this share of the sample gathered, the histogram saves too little: the caller takes another path. */
const MAX_GATHERED = 0.4;
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

/**
 * Cells over [lo, hi): 0 holds v < lo, `last` holds v >= hi. Between them, for positive data the cells
 * follow the high 32 bits of the IEEE-754 pattern (monotone in v, a piecewise-linear log2: equal relative
 * widths, so skewed and heavy-tailed data spread over many cells); otherwise equal widths.
 */
class Cells {
  readonly bits: boolean;
  readonly hiLo: number;
  readonly bitShift: number;
  readonly scale: number;
  readonly last: number;

  constructor(
    readonly lo: number,
    readonly hi: number,
  ) {
    this.bits = lo > 0 && LITTLE_ENDIAN;
    this.hiLo = highWord(lo);
    this.bitShift = this.bits ? Math.max(0, Math.ceil(Math.log2((highWord(hi) - this.hiLo + 1) / CELLS))) : 0;
    this.scale = this.bits ? 0 : CELLS / (hi - lo);
    this.last = this.bits ? 2 + ((highWord(hi) - this.hiLo) >>> this.bitShift) : CELLS + 1;
  }

  /** The cell of v (the passes inline the same expression). */
  of(v: number): number {
    const { lo, hi, last } = this;
    if (v < lo) return 0;
    if (v >= hi) return last;
    return this.bits ? 1 + ((highWord(v) - this.hiLo) >>> this.bitShift) : Math.min(CELLS, 1 + (((v - lo) * this.scale) | 0));
  }

  /** The smallest value of cell c (for planning only). */
  low(c: number): number {
    if (c <= 0) return -Infinity;
    if (c >= this.last) return this.hi;
    if (c === 1) return this.lo;
    return this.bits ? fromHighWord(this.hiLo + (c - 1) * 2 ** this.bitShift) : this.lo + (c - 1) / this.scale;
  }

  /** The bound above cell c's values (for planning only). */
  high(c: number): number {
    return c >= this.last ? Infinity : c <= 0 ? this.lo : this.low(c + 1);
  }

  /** The width of the inner cell nearest v. */
  widthAt(v: number): number {
    const c = Math.min(Math.max(this.of(v), 1), this.last - 1);
    return this.high(c) - this.low(c);
  }
}

/** The cell holding the value of 0-based rank r, from the cumulative counts (cum[c]: values before cell c). */
function cellOfRank(cum: Float64Array, r: number): number {
  let a = 0;
  let z = cum.length - 2;
  while (a < z) {
    const m = (a + z) >>> 1;
    if (cum[m + 1] <= r) a = m + 1;
    else z = m;
  }
  return a;
}

/**
 * The MAD from the cells alone: the weighted median of |cell centre - centre|. The two edge cells lie
 * beyond every inner cell's centre, so they could only come last; Infinity when they hold half the sample.
 */
function approximateMad(cells: Cells, counts: Float64Array, centre: number): number {
  let n = 0;
  for (const c of counts) n += c;
  const dev: Array<[number, number]> = [];
  for (let c = 1; c < cells.last; c++) if (counts[c] > 0) dev.push([Math.abs((cells.low(c) + cells.high(c)) / 2 - centre), counts[c]]);
  dev.sort((p, q) => p[0] - q[0]);
  let acc = 0;
  for (const [d, c] of dev) {
    acc += c;
    if (acc >= n / 2) return d;
  }
  return Infinity;
}

/** Pass 1: how many values fall in each cell; undefined when a value is not a finite number. */
function countCells(x: Float64Array, cells: Cells): Float64Array | undefined {
  const n = x.length;
  const { lo, hi, last, bits, hiLo, bitShift, scale } = cells;
  const counts = new Float64Array(last + 1);
  // v * 0 is 0 for every finite v and NaN otherwise: the check costs no branch
  let poison = 0;
  if (bits) {
    // the high word read straight from the buffer (little-endian: the odd words)
    const words = new Uint32Array(x.buffer, x.byteOffset, n * 2);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      poison += v * 0;
      counts[v < lo ? 0 : v >= hi ? last : 1 + ((words[2 * i + 1] - hiLo) >>> bitShift)]++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      poison += v * 0;
      counts[v < lo ? 0 : v >= hi ? last : Math.min(CELLS, 1 + (((v - lo) * scale) | 0))]++;
    }
  }
  return poison === 0 ? counts : undefined;
}

/** Pass 2: the values of the marked cells, each cell's values in its own slice starting at start[cell]. */
function gatherCells(x: Float64Array, cells: Cells, marks: Uint8Array, start: Float64Array, total: number): Float64Array {
  const n = x.length;
  const { lo, hi, last, bits, hiLo, bitShift, scale } = cells;
  const buf = new Float64Array(total);
  const pos = start.slice();
  if (bits) {
    const words = new Uint32Array(x.buffer, x.byteOffset, n * 2);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const c = v < lo ? 0 : v >= hi ? last : 1 + ((words[2 * i + 1] - hiLo) >>> bitShift);
      if (marks[c]) buf[pos[c]++] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const c = v < lo ? 0 : v >= hi ? last : Math.min(CELLS, 1 + (((v - lo) * scale) | 0));
      if (marks[c]) buf[pos[c]++] = v;
    }
  }
  return buf;
}

/**
 * The order statistics of a large sample from a histogram pass and a gathering pass, planned to
 * answer `ranks` (0-based, ascending) and what `plan` declares; undefined when the data do not suit a
 * histogram (no spread in the bulk, too much to gather, a value that is not a finite number).
 */
export function histogramValues(x: Float64Array, ranks: readonly number[], plan: OrderStatisticsPlan): RankedValues | undefined {
  const n = x.length;
  const seed = plan.seed ?? 1;
  // the range: the sample's 0.05% and 99.95% points (values beyond go to the two edge cells)
  const sample = sortedSample(x, seed, undefined, SAMPLE);
  const lo = sample[4];
  const hi = sample[SAMPLE - 5];
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return undefined;
  const cells = new Cells(lo, hi);
  const counts = countCells(x, cells);
  if (!counts) return undefined;
  const NC = cells.last + 1;
  const cum = new Float64Array(NC + 1);
  for (let c = 0; c < NC; c++) cum[c + 1] = cum[c] + counts[c];
  const rankCell = (r: number) => cellOfRank(cum, r);

  // ---- plan: which cells to gather
  const marks = new Uint8Array(NC);
  const markRange = (a: number, b: number) => {
    if (!(a <= b)) return;
    for (let c = Math.max(0, cells.of(a)); c <= Math.min(cells.last, cells.of(b)); c++) marks[c] = 1;
  };
  for (const r of ranks) marks[rankCell(r)] = 1;
  const rankSpan = (rs: readonly number[]): [number, number] => [cells.low(rankCell(Math.min(...rs))), cells.high(rankCell(Math.max(...rs)))];
  const [medLo, medHi] = rankSpan(middleRanks(n));
  const medC = (medLo + medHi) / 2;
  const madA = approximateMad(cells, counts, medC);
  if (!Number.isFinite(madA) || !Number.isFinite(medLo) || !Number.isFinite(medHi)) return undefined;
  // slack for the approximate MAD: three cells' width where median +- MAD falls
  const slack = 3 * Math.max(cells.widthAt(medLo - madA), cells.widthAt(medHi + madA), cells.widthAt(medC));
  if (plan.mad) {
    markRange(medLo - madA - slack, medHi - madA + slack);
    markRange(medLo + madA - slack, medHi + madA + slack);
  }
  const type = plan.type ?? 7;
  const bounds: OrderBounds = {
    quantile: (p) => rankSpan(quantileRanks(n, p, type)),
    mad: () => [Math.max(0, madA - slack), madA + slack],
  };
  // each cut-off range widened by a cell at either end
  for (const [a, b] of plan.cutoffs?.(bounds) ?? []) markRange(a - cells.widthAt(a), b + cells.widthAt(b));
  const start = new Float64Array(NC);
  let gathered = 0;
  for (let c = 0; c < NC; c++) {
    start[c] = gathered;
    if (marks[c]) gathered += counts[c];
  }
  if (gathered > MAX_GATHERED * n) return undefined;

  const buf = gatherCells(x, cells, marks, start, gathered);
  // the planned order statistics, each selected inside its cell
  const order = new Map<number, number>();
  const byCell = new Map<number, number[]>();
  for (const r of ranks) {
    const c = rankCell(r);
    byCell.set(c, [...(byCell.get(c) ?? []), r]);
  }
  for (const [c, rs] of byCell) {
    const s = buf.subarray(start[c], start[c] + counts[c]);
    multiSelect(s, rs.map((r) => r - cum[c]));
    for (const r of rs) order.set(r, s[r - cum[c]]);
  }
  return new HistogramValues({ x, seed, cells, counts, cum, marks, start, gathered: buf, order, madA });
}

interface Gathered {
  x: Float64Array;
  seed: number;
  cells: Cells;
  counts: Float64Array;
  /** cum[c]: values in the cells before c. */
  cum: Float64Array;
  marks: Uint8Array;
  /** Where each gathered cell's values start in `gathered`. */
  start: Float64Array;
  gathered: Float64Array;
  /** The planned order statistics, by rank. */
  order: Map<number, number>;
  /** The approximate MAD the gathered cells were planned around. */
  madA: number;
}

class HistogramValues implements RankedValues {
  readonly n: number;
  private readonly notes = new Set<string>();

  constructor(private readonly g: Gathered) {
    this.n = g.x.length;
  }

  get method(): string {
    return `two passes: a ${CELLS}-cell histogram, then only the cells holding a wanted rank, the MAD or a counted cut-off are gathered (exact)${[...this.notes].join('')}`;
  }

  at(rank: number): number {
    const { order, marks, cum } = this.g;
    const known = order.get(rank);
    if (known !== undefined) return known;
    const c = cellOfRank(cum, rank);
    let v: number;
    if (marks[c]) v = selectInPlace(this.cellValues(c), rank - cum[c]);
    else {
      this.notes.add('; an unplanned rank by a further selection');
      v = selectRanks(this.g.x, [rank], this.g.seed).get(rank) as number;
    }
    order.set(rank, v);
    return v;
  }

  private cellValues(c: number): Float64Array {
    const { gathered, start, counts } = this.g;
    return gathered.subarray(start[c], start[c] + counts[c]);
  }

  /** Exact from the cell counts when v's cell was gathered or is empty, else by a pass of its own. */
  countBelow(v: number): number {
    const { cells, counts, marks, cum } = this.g;
    if (v === -Infinity) return 0;
    if (v === Infinity) return this.n;
    const c = cells.of(v);
    if (!marks[c] && counts[c] > 0) return this.countByPass(v, true);
    let m = cum[c];
    if (marks[c]) for (const w of this.cellValues(c)) if (w < v) m++;
    return m;
  }

  countAbove(v: number): number {
    const { cells, counts, marks, cum } = this.g;
    if (v === Infinity) return 0;
    if (v === -Infinity) return this.n;
    const c = cells.of(v);
    if (!marks[c] && counts[c] > 0) return this.countByPass(v, false);
    let m = this.n - cum[c + 1];
    if (marks[c]) for (const w of this.cellValues(c)) if (w > v) m++;
    return m;
  }

  private countByPass(v: number, below: boolean): number {
    this.notes.add('; counts by a further pass');
    return countByPass(this.g.x, v, below);
  }

  /**
   * Ungathered cells lie wholly inside or wholly outside centre +- MAD (judged against the approximate
   * MAD, then confirmed against the result), so the MAD is an order statistic of the gathered values'
   * deviations; when the confirmation fails, the deviations are selected from the whole sample.
   */
  mad(centre: number): number {
    const exact = this.madFromCells(centre);
    if (exact !== undefined) return exact;
    this.notes.add('; MAD by a second selection');
    return madBySelection(this.g.x, centre, this.g.seed + 1);
  }

  private madFromCells(centre: number): number | undefined {
    const { cells, counts, marks, gathered, madA } = this.g;
    const NC = cells.last + 1;
    const bl = cells.of(centre - madA);
    const br = cells.of(centre + madA);
    let inside = 0;
    for (let c = bl + 1; c < br; c++) if (!marks[c]) inside += counts[c];
    const devs = new Float64Array(gathered.length);
    for (let i = 0; i < gathered.length; i++) devs[i] = Math.abs(gathered[i] - centre);
    const got: number[] = [];
    for (const r of middleRanks(this.n)) {
      const k = r - inside;
      if (k < 0 || k >= devs.length) return undefined;
      got.push(selectInPlace(devs, k));
    }
    const m0 = got[0];
    const m1 = got[got.length - 1];
    const in0 = cells.of(centre - m0);
    const in1 = cells.of(centre + m0);
    const out0 = cells.of(centre - m1);
    const out1 = cells.of(centre + m1);
    for (let c = 0; c < NC; c++) {
      if (marks[c] || counts[c] === 0) continue;
      if (c > bl && c < br) {
        if (!(c > in0 && c < in1)) return undefined;
      } else if (!(c < out0 || c > out1)) return undefined;
    }
    return medianOfMiddle(m0, m1);
  }
}
