// A sliding window of timestamped measurements (round-trip times, burst goodputs) and its summary through
// the stats module: percentiles with their distribution-free confidence intervals (type 7; null with the
// reason where the window holds too few samples to bound one).
import { quantileSorted, summarize, type Summary } from '../stats/index.js';

export const WINDOW_PERCENTILES = [0.5, 0.9, 0.99] as const;

export class SlidingWindow {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;

  constructor(readonly spanMs: number) {}

  add(atMs: number, values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) {
      this.times.push(atMs);
      this.values.push(values[i]);
    }
  }

  /** Drops what is older than the span before `nowMs` (amortised O(1): compacts when half is dead). */
  prune(nowMs: number): void {
    const cutoff = nowMs - this.spanMs;
    while (this.head < this.times.length && this.times[this.head] < cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.times.length - this.head;
  }

  current(): number[] {
    return this.values.slice(this.head);
  }

  last(): number | undefined {
    return this.size > 0 ? this.values[this.values.length - 1] : undefined;
  }

  /** Type-7 point estimates of the given percentiles (undefined when empty). */
  points(ps: readonly number[]): number[] | undefined {
    if (this.size === 0) return undefined;
    const sorted = Float64Array.from(this.current()).sort();
    return ps.map((p) => quantileSorted(sorted, p));
  }

  /** The window's summary, or undefined when it is empty. */
  summary(level = 0.95): Summary | undefined {
    if (this.size === 0) return undefined;
    return summarize(this.current(), { level, percentiles: [...WINDOW_PERCENTILES], ordered: false });
  }
}
