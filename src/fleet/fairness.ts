// Fairness across the clients of one session: Jain's index, the figure draft-banks-quic-performance's
// "Throughput Fairness Index" scenario asks for when several connections share one server.

export interface Fairness {
  /** Jain's index (sum x)^2 / (n * sum x^2): 1 when every client got the same, 1/n when one got everything. */
  index: number;
  /** Clients the index covers. */
  n: number;
  /** The lower end of the index's range, 1/n. */
  worst: number;
}

/**
 * Jain's fairness index of per-client figures (R. Jain, D. Chiu, W. Hawe, DEC-TR-301, 1984). Null when it
 * is undefined: no clients, or every figure zero.
 * @throws RangeError on a negative or non-finite figure (a share cannot be either)
 */
export function jainIndex(values: readonly number[]): Fairness | null {
  let max = 0;
  for (const x of values) {
    if (!Number.isFinite(x) || x < 0) throw new RangeError(`Jain's index needs finite, non-negative shares (got ${x})`);
    max = Math.max(max, x);
  }
  const n = values.length;
  if (n === 0 || max === 0) return null;
  // In units of the largest share: the index does not depend on the unit, and squares neither overflow nor vanish.
  let sum = 0;
  let squares = 0;
  for (const x of values) {
    sum += x / max;
    squares += (x / max) ** 2;
  }
  return { index: (sum * sum) / (n * squares), n, worst: 1 / n };
}
