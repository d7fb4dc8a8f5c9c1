// Finds quantitative performance claims in prose: rates, latencies, handshake and request rates,
// "sub-millisecond". Commands and code (fenced blocks, inline `code`) are not claims: they are how to
// measure, not what was measured.
import type { MetricId } from '../stats/run-model.js';

export interface Claim {
  source: string;
  line: number;
  /** The words of the claim as written. */
  text: string;
  metric: MetricId;
  /** The claimed value in the metric's unit (bit/s, us, 1/s). */
  value: number;
}

const RATE = /(\d+(?:[.,]\d+)?)\s*([kKMGT])?(?:bit\/s|bps|b\/s)\b/g;
const TIME = /(\d+(?:\.\d+)?)\s*(ms|us|µs|μs)\b/g;
const PER_SECOND = /(\d[\d,]*(?:\.\d+)?)\s*([kK])?\s+(handshakes|connections|requests|round[- ]trips)\s*(?:per\s+second|\/\s*s)\b/gi;
const SUB_MS = /\bsub-?millisecond\b/gi;
const LATENCY_WORDS = /latency|rtt|round[- ]trip|ping|p50|p99|median|response time/i;

const PREFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * The latency metric a figure speaks of: the percentile named right after it ("77 us at p99"), else the
 * last one named before it ("p99 of 77 us"), else the typical (p50) round trip.
 */
function latencyMetric(line: string, at: number, length: number): MetricId {
  const mentions = [...line.matchAll(/p99|99th|tail|p50|median|typical/gi)].map((m) => ({
    index: m.index ?? 0,
    metric: (/p50|median|typical/i.test(m[0]) ? 'latencyP50' : 'latencyP99') as MetricId,
  }));
  const after = mentions.find((m) => m.index >= at + length && m.index - (at + length) <= 12);
  const before = mentions.filter((m) => m.index < at).pop();
  return (after ?? before)?.metric ?? 'latencyP50';
}

/** Claims in one document. */
export function extractClaims(text: string, source: string): Claim[] {
  const claims: Claim[] = [];
  let fenced = false;
  text.split('\n').forEach((raw, index) => {
    if (/^\s*(```|~~~)/.test(raw)) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    const line = raw.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
    const add = (match: RegExpExecArray, metric: MetricId, value: number) =>
      claims.push({ source, line: index + 1, text: match[0].trim(), metric, value });
    for (const m of line.matchAll(RATE)) add(m, 'goodput', Number(m[1].replace(',', '.')) * PREFIX[m[2] ?? '']);
    if (LATENCY_WORDS.test(line)) {
      for (const m of line.matchAll(TIME)) add(m, latencyMetric(line, m.index ?? 0, m[0].length), Number(m[1]) * (m[2] === 'ms' ? 1e3 : 1));
    }
    for (const m of line.matchAll(SUB_MS)) add(m, latencyMetric(line, m.index ?? 0, m[0].length), 1000);
    for (const m of line.matchAll(PER_SECOND)) {
      const value = Number(m[1].replace(/,/g, '')) * (m[2] ? 1e3 : 1);
      const what = m[3].toLowerCase();
      add(m, what === 'requests' || what.startsWith('round') ? 'requestRate' : 'handshakeRate', value);
    }
  });
  return claims;
}
