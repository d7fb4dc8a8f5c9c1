// The record's histogram between two implementations: the engine writes it with the Rust hdrhistogram
// crate's V2 deflate serializer, the merge reads and sums it with hdr-histogram-js; both must agree on the
// encoding, bucket for bucket, in both directions (the Rust side reads what the merge writes in
// crate/engine/src/metrics.rs's tests, from the text pinned here).
import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { buckets, decodeHistogram, emptyHistogram, encodeHistogram, histogramOfNs, latencySummary, mergeHistograms } from '../../src/fleet/histogram.js';
import { runScenario } from '../../src/run.js';

/** The V2 header inside a compressed encoding: [offset, digits, lowest, highest, ratio]. */
function header(base64: string) {
  const payload = inflateSync(Buffer.from(base64, 'base64').subarray(8));
  return { cookie: payload.readUInt32BE(0), offset: payload.readUInt32BE(8), digits: payload.readUInt32BE(12), lowest: payload.readBigUInt64BE(16), highest: payload.readBigUInt64BE(24), ratio: payload.readDoubleBE(32) };
}

describe('the compressed V2 encoding', () => {
  const h = emptyHistogram();
  for (const [v, n] of [[1, 1], [999, 2], [51_234, 3], [7_000_000, 4], [3_599_999_999_999, 1]]) h.recordValueWithCount(v, n);

  it('a merge writes the text the engine test reads (Rust decodes it to the same buckets)', () => {
    expect(encodeHistogram(h)).toBe('HISTFAAAADF4nJNpmSzMwMDAzwABzFCakYGB2c1gxwIG+w9QEaaT/CwbI9kuF3LsXc/EBAC0dAkE');
  });

  it('with the header as Java writes it, where hdr-histogram-js alone does not', () => {
    expect(header(encodeHistogram(h))).toEqual({ cookie: 0x1c849313, offset: 0, digits: 3, lowest: 1n, highest: 3_600_000_000_000n, ratio: 1 });
    // the library's own text: offset 1 and the ratio written as the integer 1 (if this changes, so can encodeHistogram)
    expect(header(hdr.encodeIntoCompressedBase64(h))).toMatchObject({ offset: 1, ratio: 5e-324 });
    expect(buckets(decodeHistogram(encodeHistogram(h), 'x'))).toEqual(buckets(h));
  });

  it('refuses what is not a histogram, or one of another precision', () => {
    expect(() => decodeHistogram('not base64 at all', 'client 3')).toThrow(/client 3: not a compressed V2 HdrHistogram/);
    const two = hdr.build({ numberOfSignificantValueDigits: 2, bitBucketSize: 64 });
    two.recordValue(1000);
    expect(() => decodeHistogram(hdr.encodeIntoCompressedBase64(two), 'client 1')).toThrow(/client 1: the histogram keeps 2 significant digits, not 3/);
  });

  it('summing histograms is the histogram of the union', () => {
    const a = [5, 1500, 99_999, 2e9];
    const b = [6, 1501, 100_003, 7];
    expect(buckets(mergeHistograms([histogramOfNs(a), histogramOfNs(b)]))).toEqual(buckets(histogramOfNs([...a, ...b])));
  });
});

describe("the engine's histogram read by hdr-histogram-js", () => {
  it("decodes to the histogram of the run's raw samples, with the engine's percentiles", async () => {
    const { record, samples } = await runScenario({ kind: 'latency', count: 3000 });
    const l = record.end.latency!;
    expect(l.histogram).toMatch(/^HISTFAAA/);
    const decoded = decodeHistogram(l.histogram!, 'engine');
    expect(buckets(decoded)).toEqual(buckets(histogramOfNs(Array.from(samples.latencyNs, Number))));
    // what the merge reports from it is what the engine reported
    const ours = latencySummary(decoded)!;
    for (const key of ['n', 'minUs', 'p50Us', 'p90Us', 'p99Us', 'p999Us', 'maxUs'] as const) expect(ours[key], key).toBe(l[key]);
    expect(ours.meanUs).toBeCloseTo(l.meanUs, 6);
  }, 60_000);
});
