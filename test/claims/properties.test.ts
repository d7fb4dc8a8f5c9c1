// Properties of the claim rules over random measurements (fast-check): a claim ten times beyond the measured
// interval on the unfavourable side is always CONTRADICTED, one well inside it always BACKED, whatever the
// runs, their noise, the level or the metric's direction. One run alone never backs a claim by default.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkClaims } from '../../src/claims/check.js';
import { extractClaims, type Claim } from '../../src/claims/extract.js';
import type { RunRecord } from '../../src/record.js';
import { createRng, fakeRecord, fakeSession } from '../stats/make-records.js';

const measurement = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  runs: fc.integer({ min: 2, max: 9 }),
  level: fc.constantFrom(0.8, 0.9, 0.95, 0.99),
  levelBps: fc.double({ min: 1e6, max: 1e11, noNaN: true }),
  noise: fc.double({ min: 0.001, max: 0.3, noNaN: true }),
  latencyUs: fc.double({ min: 5, max: 50_000, noNaN: true }),
});

function records(m: { seed: number; runs: number; levelBps: number; noise: number; latencyUs: number }): RunRecord[] {
  const rng = createRng(m.seed);
  return [
    ...fakeSession(rng, 'goodput', m.runs, { levelBps: m.levelBps, noise: m.noise }, m.noise),
    ...fakeSession(rng, 'latency', m.runs, { kind: 'latency', scenarioId: 'lat', latencyUs: m.latencyUs, latencySamples: 400 }),
  ];
}

/** A claim of `metric` at `value` in direction `form`. */
function claim(metric: 'goodput' | 'latencyP50', form: 'lower' | 'upper', value: number): Claim {
  const text = metric === 'goodput' ? `${form === 'lower' ? 'at least' : 'at most'} ${value} bit/s` : `p50 latency ${form === 'lower' ? 'at least' : 'under'} ${value} us`;
  const [c] = extractClaims(text, 'property.md');
  expect(c, text).toBeDefined();
  return c;
}

describe('claim verdicts (fast-check)', () => {
  it('10x beyond the interval on the unfavourable side: CONTRADICTED; well inside: BACKED', () => {
    fc.assert(
      fc.property(measurement, (m) => {
        const recs = records(m);
        for (const metric of ['goodput', 'latencyP50'] as const) {
          // the interval itself, from a neutral claim
          const [probe] = checkClaims([claim(metric, 'lower', 1)], recs, { level: m.level });
          const { lower, upper } = probe.measured!;
          if (lower === null || upper === null) return false;
          const higher = metric === 'goodput';
          // the unfavourable side: above the interval for a rate, below it for a latency
          const beyond = higher ? claim(metric, 'lower', upper * 10) : claim(metric, 'upper', lower / 10);
          const inside = higher ? claim(metric, 'lower', lower / 10) : claim(metric, 'upper', upper * 10);
          const [b, i] = checkClaims([beyond, inside], recs, { level: m.level });
          if (b.verdict !== 'CONTRADICTED' || i.verdict !== 'BACKED') return false;
        }
        return true;
      }),
      { numRuns: 40, seed: 8 },
    );
  });

  it('one run: 10x beyond is CONTRADICTED, well inside never BACKED by default', () => {
    fc.assert(
      fc.property(measurement, fc.integer({ min: 12, max: 40 }), (m, intervals) => {
        const rng = createRng(m.seed);
        const one = [fakeRecord(rng, { levelBps: m.levelBps, noise: m.noise, intervals })];
        const [probe] = checkClaims([claim('goodput', 'lower', 1)], one, { level: m.level });
        const { lower, upper } = probe.measured!;
        if (lower === null || upper === null || probe.measured!.basis !== 'run') return false;
        const [b, i] = checkClaims([claim('goodput', 'lower', upper * 10), claim('goodput', 'lower', lower / 10)], one, { level: m.level });
        const [allowed] = checkClaims([claim('goodput', 'lower', lower / 10)], one, { level: m.level, allowSingleRun: true });
        return b.verdict === 'CONTRADICTED' && i.verdict === 'INCONCLUSIVE' && allowed.verdict === 'BACKED';
      }),
      { numRuns: 60, seed: 9 },
    );
  });
});
