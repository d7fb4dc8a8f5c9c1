// The latency HdrHistogram as records carry it: HdrHistogram's standard compressed V2 encoding (a
// zlib-deflated V2 payload, cookie 0x1c849304, in base64: "HISTFAAA..."), which the Java, C, Rust and
// JavaScript implementations all read and write. A merged session's percentiles come from the sum of the
// clients' bucket counts, so they are exact to the histogram's resolution: never an average of percentiles.
import { deflateSync, inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { StoqError } from '../errors.js';
import { undeterminedPercentiles, type LatencyRecord } from '../record.js';

export type { Histogram };

/** The engine's latency histogram: 1 ns to 1 hour at 3 significant digits (`Latencies` in crate/engine). */
const LATENCY_HISTOGRAM = { lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: 3 } as const;

/** An empty histogram shaped like the engine's (64-bit counts, fixed range). */
export function emptyHistogram(): Histogram {
  return hdr.build({ ...LATENCY_HISTOGRAM, bitBucketSize: 64, autoResize: false, useWebAssembly: false });
}

/** A histogram of raw latencies, ns (as the engine records them: values below 1 ns count as 1 ns). */
export function histogramOfNs(values: Iterable<number>): Histogram {
  const h = emptyHistogram();
  for (const ns of values) h.recordValue(Math.max(1, ns));
  return h;
}

/**
 * Decodes a compressed V2 histogram.
 * @throws StoqError INVALID_FILE naming `where` when the text is not one, or its resolution is not the engine's
 */
export function decodeHistogram(base64: string, where: string): Histogram {
  let h: Histogram;
  try {
    h = hdr.decodeFromCompressedBase64(base64, 64, false);
  } catch (error) {
    throw new StoqError('INVALID_FILE', `${where}: not a compressed V2 HdrHistogram (${(error as Error).message})`);
  }
  if (h.numberOfSignificantValueDigits !== LATENCY_HISTOGRAM.numberOfSignificantValueDigits) {
    throw new StoqError(
      'INVALID_FILE',
      `${where}: the histogram keeps ${h.numberOfSignificantValueDigits} significant digits, not ${LATENCY_HISTOGRAM.numberOfSignificantValueDigits}: merging it would not be exact`,
    );
  }
  return h;
}

/**
 * Encodes a histogram in the compressed V2 encoding (base64), header as the Java implementation writes it.
 * hdr-histogram-js 3 writes two header fields differently from Java: the normalizing index offset as 1
 * (Java: 0 for a histogram never shifted) and the integer-to-double conversion ratio as the integer 1 (the
 * double 5e-324; Java: the double 1.0). Its own decoder ignores both; the Rust crate refuses either and
 * Java would shift the counts by the offset. Both are set as Java sets them, so every implementation reads
 * what a merge writes.
 */
export function encodeHistogram(h: Histogram): string {
  const framed = Buffer.from(hdr.encodeIntoCompressedBase64(h), 'base64');
  // [cookie u32][deflated length u32][zlib: cookie, length, offset, digits (u32 each), lowest, highest (u64), ratio (f64), counts]
  const payload = inflateSync(framed.subarray(8));
  payload.writeUInt32BE(0, 8);
  payload.writeDoubleBE(1.0, 32);
  const deflated = deflateSync(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(framed.readUInt32BE(0), 0);
  header.writeUInt32BE(deflated.length, 4);
  return Buffer.concat([header, deflated]).toString('base64');
}

/** The sum of histograms: every bucket's count added (exact, the buckets being the same). */
export function mergeHistograms(list: Iterable<Histogram>): Histogram {
  const sum = emptyHistogram();
  for (const h of list) sum.add(h);
  return sum;
}

/** The non-empty buckets, as [highest value of the bucket (ns), count], lowest first. */
export function buckets(h: Histogram): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const it = (h as unknown as { recordedValuesIterator: RecordedValues }).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    out.push([v.valueIteratedTo, v.countAtValueIteratedTo]);
  }
  return out;
}

interface RecordedValues {
  reset(): void;
  hasNext(): boolean;
  next(): { valueIteratedTo: number; countAtValueIteratedTo: number };
}

/**
 * The record's latency summary (microseconds, with the histogram itself) read from a histogram of ns, as the
 * engine makes it: a percentile the sample cannot bound is null, with the reason. Null when it is empty.
 */
export function latencySummary(h: Histogram): LatencyRecord | null {
  if (h.totalCount === 0) return null;
  const us = (ns: number) => ns / 1e3;
  const undetermined = undeterminedPercentiles(h.totalCount);
  const at = (percentile: 'p50' | 'p90' | 'p99' | 'p999', p: number) => (undetermined.some((u) => u.percentile === percentile) ? null : us(h.getValueAtPercentile(p)));
  return {
    unit: 'us',
    method: 'hdrhistogram-3',
    n: h.totalCount,
    minUs: us(h.minNonZeroValue),
    meanUs: us(h.mean),
    p50Us: at('p50', 50),
    p90Us: at('p90', 90),
    p99Us: at('p99', 99),
    p999Us: at('p999', 99.9),
    maxUs: us(h.maxValue),
    histogram: encodeHistogram(h),
    ...(undetermined.length > 0 ? { undetermined } : {}),
  };
}
