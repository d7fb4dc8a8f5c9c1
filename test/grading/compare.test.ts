import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareRuns, failsGate } from '../../src/grading/compare.js';
import { parseSlo } from '../../src/grading/slo.js';
import { classifyTier } from '../../src/grading/tiers.js';
import { createRng } from '../../src/stats/rng.js';
import { goodputRuns, run } from './helpers.js';

const G = 9e9;
const fixed = (xs: number[]) => xs.map((v) => G * v);

describe('verdicts', () => {
  it('Regression with severity on the conservative bound', () => {
    const base = goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995, 1.002]));
    const cand = goodputRuns(fixed([0.80, 0.81, 0.79, 0.805, 0.795, 0.802]), { sessionId: 's2' });
    const c = compareRuns(base, cand, { level: 0.9 });
    const g = c.metrics[0];
    expect(c.verdict).toBe('Regression');
    expect(g.verdict).toBe('Regression');
    expect(g.ratio.estimate).toBeCloseTo(0.8, 2);
    expect(g.ratio.level).toBe(0.9);
    expect(g.worse.lower).toBeGreaterThan(0);
    expect(g.severity).toBe('Severe');
    expect(failsGate(c, 'Moderate')).toBe(true);
  });

  it('a small but certain regression is Minor and passes a Moderate gate', () => {
    const base = goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.0]));
    const cand = goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.0].map((v) => v * 0.978)));
    const c = compareRuns(base, cand, { floors: { goodput: 0.02 } });
    expect(c.metrics[0].worse.lower).toBeGreaterThan(0);
    expect(c.metrics[0].worse.lower).toBeLessThan(Math.log(1.02));
    expect(c.metrics[0].verdict).toBe('Regression');
    expect(c.metrics[0].severity).toBe('Minor');
    expect(failsGate(c, 'Moderate')).toBe(false);
    expect(failsGate(c, 'Minor')).toBe(true);
  });

  it('Improvement, Equivalent and Inconclusive', () => {
    const base = goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995]));
    expect(compareRuns(base, goodputRuns(fixed([1.2, 1.21, 1.19, 1.205, 1.195]))).verdict).toBe('Improvement');
    expect(compareRuns(base, goodputRuns(fixed([1.001, 1.008, 0.992, 1.004, 0.996]))).verdict).toBe('Equivalent');
    const wide = compareRuns(base, goodputRuns(fixed([0.9, 1.1, 0.95, 1.05, 1.0])));
    expect(wide.verdict).toBe('Inconclusive');
    expect(wide.metrics[0].runsToSettle).toBeGreaterThan(5);
    expect(wide.metrics[0].reason).toMatch(/runs per side would settle/);
  });

  it('Invalid gates: too few runs, failed, unsteady, foreign testbed or scenario', () => {
    const base = goodputRuns(fixed([1, 1.01, 0.99, 1.0]));
    const cand = goodputRuns(fixed([1, 1.01, 0.99, 1.0]));
    expect(compareRuns(base.slice(0, 2), cand).gates.reasons.join()).toMatch(/too few runs/);
    expect(compareRuns(base, cand, { level: 0.95, minRuns: 5 }).verdict).toBe('Invalid');
    const failed = [...cand.slice(1), run({ goodput: G }, { state: 'errored', run: 9 })];
    expect(compareRuns(base, failed).gates.reasons.join()).toMatch(/failed run/);
    const unsteady = [...cand.slice(1), run({ goodput: G }, { steadiness: { ...cand[0].steadiness, status: 'unsteady', reasons: ['drift'] } })];
    expect(compareRuns(base, unsteady).verdict).toBe('Invalid');
    expect(compareRuns(base, unsteady, { allowUnsteady: true }).verdict).not.toBe('Invalid');
    const foreign = goodputRuns(fixed([1, 1.01, 0.99, 1.0]), { fingerprint: 'other' });
    expect(compareRuns(base, foreign).gates.reasons.join()).toMatch(/testbeds/);
    expect(compareRuns(base, foreign, { allowTestbedMismatch: true }).verdict).not.toBe('Invalid');
    const otherScenario = goodputRuns(fixed([1, 1.01, 0.99, 1.0]), { scenarioId: 'x' });
    expect(compareRuns(base, otherScenario).gates.reasons.join()).toMatch(/scenarios/);
  });

  it('threshold from measured between-session noise, not a fixed 5%', () => {
    const base = goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995]));
    const cand = goodputRuns(fixed([0.96, 0.97, 0.95, 0.965, 0.955]));
    const quiet = compareRuns(base, cand);
    expect(quiet.metrics[0].threshold.tau).toBeCloseTo(Math.log(1.02), 12);
    expect(quiet.metrics[0].verdict).toBe('Regression');
    expect(quiet.metrics[0].severity).toBe('Moderate');
    // the same 4% drop is within the noise of a testbed whose sessions vary by 5%
    const noisy = compareRuns(base, cand, { noise: { goodput: { sd: 0.05, sessions: 12, source: 'history' } } });
    expect(noisy.metrics[0].threshold.tau).toBeCloseTo(0.1, 12);
    expect(noisy.metrics[0].verdict).toBe('Equivalent');
    expect(failsGate(noisy, 'Minor')).toBe(false);
    // the noise can also be measured from baseline runs spanning sessions
    const multi = [0.9, 1.0, 1.1].flatMap((o, s) => goodputRuns(fixed([o, o * 1.001, o * 0.999]), { sessionId: `b${s}` }));
    const fromBaseline = compareRuns(multi, cand);
    expect(fromBaseline.metrics[0].threshold.noiseSource).toMatch(/baseline sessions \(3 sessions\)/);
  });

  it('Critical when an SLO is breached with confidence, whatever the baseline', () => {
    const base = goodputRuns(fixed([0.1, 0.101, 0.099, 0.1005, 0.0995]));
    const cand = goodputRuns(fixed([0.1, 0.101, 0.099, 0.1005, 0.0995]));
    const c = compareRuns(base, cand, { slos: [parseSlo('goodput>=1Gbps')] });
    expect(c.metrics[0].verdict).toBe('Equivalent');
    expect(c.metrics[0].severity).toBe('Critical');
    expect(c.metrics[0].slo?.breached).toBe(true);
    expect(failsGate(c, 'Severe')).toBe(true);
    const ok = compareRuns(base, cand, { slos: [parseSlo('goodput>=500Mbps')] });
    expect(ok.metrics[0].slo?.breached).toBe(false);
  });

  it('latency metrics: lower is better, with a BCa bootstrap of the pooled quantile', () => {
    const rng = createRng(11);
    const mk = (scale: number, i: number) => {
      const xs = Float64Array.from({ length: 400 }, () => scale * Math.exp(0.3 * rng.normal())).sort();
      return run({ latencyP50: xs[200], latencyP99: xs[396] }, { run: i, latencySamples: xs });
    };
    const base = [0, 1, 2, 3, 4].map((i) => mk(60, i));
    const cand = [0, 1, 2, 3, 4].map((i) => mk(75, i));
    const c = compareRuns(base, cand, { seed: 7 });
    const p50 = c.metrics.find((m) => m.metric === 'latencyP50')!;
    expect(p50.verdict).toBe('Regression');
    expect(p50.ratio.estimate).toBeGreaterThan(1.1);
    expect(p50.bootstrap!.lower).toBeGreaterThan(0);
    expect(p50.bootstrap!.method).toMatch(/BCa/);
    // seeded: identical on a rerun
    expect(compareRuns(base, cand, { seed: 7 }).metrics[0].bootstrap).toEqual(c.metrics[0].bootstrap);
  });

  it('MDE and the underpowered message', () => {
    const rng = createRng(12);
    const noisy = (n: number) => goodputRuns(Array.from({ length: n }, () => G * Math.exp(0.1 * rng.normal())));
    const c = compareRuns(noisy(3), noisy(3));
    expect(c.metrics[0].mde.underpowered).toBe(true);
    expect(c.metrics[0].mde.runsNeeded).toBeGreaterThan(3);
  });

  it('network tier from the lower confidence bound', () => {
    expect(classifyTier(9.3e9).tier?.name).toBe('10GbE');
    expect(classifyTier(8.9e9).tier?.name).toBe('5GbE');
    expect(classifyTier(1e6).tier).toBeNull();
    const c = compareRuns(goodputRuns(fixed([1, 1, 1.01])), goodputRuns(fixed([0.95, 0.96, 0.97])));
    expect(c.tier?.name).toBe('5GbE');
    expect(c.tier?.lowerBps).toBeLessThan(0.95 * G);
  });

  it('SLO parsing', () => {
    expect(parseSlo('p99<=2ms')).toMatchObject({ metric: 'latencyP99', op: '<=', limit: 2000 });
    expect(parseSlo('goodput>=2.5Gbps').limit).toBe(2.5e9);
    expect(() => parseSlo('jitter<3')).toThrow(/invalid SLO/);
  });
});

describe('properties (fast-check)', () => {
  // values on a 1e-3 grid: distinct values stay distinct (and ties stay ties) after scaling in floating point
  const sample = fc.array(fc.integer({ min: 500, max: 2000 }).map((v) => v / 1000), { minLength: 3, maxLength: 12 });
  it('ratios are scale invariant', () => {
    fc.assert(
      fc.property(sample, sample, fc.double({ min: 1e-3, max: 1e6, noNaN: true }), (a, b, s) => {
        const c1 = compareRuns(goodputRuns(a), goodputRuns(b)).metrics[0];
        const c2 = compareRuns(goodputRuns(a.map((v) => v * s)), goodputRuns(b.map((v) => v * s))).metrics[0];
        // too few runs for the level: both have no interval (NaN)
        const rel = (u: number, v: number) => (Number.isNaN(u) && Number.isNaN(v)) || Math.abs(u - v) <= 1e-9 * Math.abs(v);
        return rel(c1.ratio.estimate, c2.ratio.estimate) && rel(c1.ratio.lower, c2.ratio.lower) && c1.test.p === c2.test.p && c1.verdict === c2.verdict;
      }),
      { numRuns: 150, seed: 42 },
    );
  });
  it('swapping the sides inverts the ratio and keeps the p-value', () => {
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const ab = compareRuns(goodputRuns(a), goodputRuns(b)).metrics[0];
        const ba = compareRuns(goodputRuns(b), goodputRuns(a)).metrics[0];
        const close = (u: number, v: number) => Math.abs(u - v) <= 1e-9 * Math.abs(v);
        const bounds = Number.isNaN(ab.ratio.lower)
          ? Number.isNaN(ba.ratio.upper) // too few runs for the level: both sides say so
          : close(ab.ratio.lower * ba.ratio.upper, 1) && close(ab.ratio.upper * ba.ratio.lower, 1);
        return close(ab.ratio.estimate * ba.ratio.estimate, 1) && bounds && close(ab.test.p, ba.test.p);
      }),
      { numRuns: 150, seed: 43 },
    );
  });
});

describe('simulation', () => {
  // Lognormal run-to-run noise; candidate and baseline from the same distribution.
  function simulate(opts: { sims: number; runs: number; sd: number; shift?: number; sessionSd?: number; seed: number; level?: number }) {
    const rng = createRng(opts.seed);
    let alarms = 0;
    let gated = 0;
    let regressions = 0;
    let mde = 0;
    for (let s = 0; s < opts.sims; s++) {
      const bOff = (opts.sessionSd ?? 0) * rng.normal();
      const cOff = (opts.sessionSd ?? 0) * rng.normal();
      const b = Array.from({ length: opts.runs }, () => G * Math.exp(bOff + opts.sd * rng.normal()));
      const c = Array.from({ length: opts.runs }, () => G * (opts.shift ?? 1) * Math.exp(cOff + opts.sd * rng.normal()));
      const noise = opts.sessionSd ? { goodput: { sd: opts.sessionSd, sessions: 20, source: 'history' } } : undefined;
      const cmp = compareRuns(goodputRuns(b), goodputRuns(c, { sessionId: 's2' }), { level: opts.level ?? 0.9, noise });
      const v = cmp.metrics[0].verdict;
      if (v === 'Regression' || v === 'Improvement') alarms++;
      if (v === 'Regression') regressions++;
      if (failsGate(cmp, 'Moderate')) gated++;
      mde += cmp.metrics[0].mde.worse;
    }
    return { alarmRate: alarms / opts.sims, gateRate: gated / opts.sims, regressionRate: regressions / opts.sims, mde: mde / opts.sims };
  }

  it('A/A within one session: false alarms at or under alpha', () => {
    const r = simulate({ sims: 1500, runs: 6, sd: 0.03, seed: 101 });
    // alpha = 0.10 two-sided; allow 3 binomial standard errors
    expect(r.alarmRate).toBeLessThanOrEqual(0.1 + 3 * Math.sqrt(0.09 / 1500));
  });

  it('A/A across sessions with between-session noise: the gate holds alpha thanks to tau from noise', () => {
    const r = simulate({ sims: 1500, runs: 6, sd: 0.01, sessionSd: 0.03, seed: 102 });
    expect(r.gateRate).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt(0.0475 / 1500));
  });

  it('an injected 5% drop is detected with the power the MDE promises', () => {
    // choose the noise so that the promised MDE is a 5% worsening at 8 runs per side
    const runs = 8;
    const target = -Math.log(0.95);
    const probe = simulate({ sims: 50, runs, sd: 0.035, seed: 103 });
    const sd = (0.035 * target) / probe.mde;
    const r = simulate({ sims: 800, runs, sd, shift: 0.95, seed: 104 });
    expect(r.mde).toBeGreaterThan(target * 0.9);
    expect(r.mde).toBeLessThan(target * 1.1);
    expect(r.regressionRate).toBeGreaterThanOrEqual(0.8 - 3 * Math.sqrt(0.16 / 800));
  });
});

describe('runs that measured 0 and percentiles no run determines: never dropped, never graded as if measured', () => {
  const base = () => goodputRuns(fixed([1.0, 1.01, 0.99, 1.005, 0.995]));
  const names = (c: ReturnType<typeof compareRuns>) => c.metrics[0].reason;

  it('a candidate whose median is 0 is a Regression graded Critical, naming the runs, and fails the gate', () => {
    const cand = goodputRuns([0, 0, 0, G, G], { sessionId: 'c' });
    const c = compareRuns(base(), cand);
    expect(c.verdict).toBe('Regression');
    expect(c.metrics[0]).toMatchObject({ verdict: 'Regression', severity: 'Critical', collapse: true });
    expect(names(c)).toMatch(/^3 of 5 candidate run\(s\) measured 0 goodput \(c#0, c#1, c#2\): the candidate's median is 0, a collapse$/);
    expect(failsGate(c, 'Critical')).toBe(true);
    // every run at 0: the same, whatever else the gates say
    const all = compareRuns(base(), goodputRuns([0, 0, 0, 0, 0], { sessionId: 'c', steadiness: { ...base()[0].steadiness, status: 'unsteady', reasons: ['x'] } }));
    expect(all.verdict).toBe('Regression');
    expect(all.metrics[0].severity).toBe('Critical');
    expect(failsGate(all, 'Critical')).toBe(true);
  });

  it('fewer zero runs make it Invalid, naming them; a zero baseline is no baseline', () => {
    const c = compareRuns(base(), goodputRuns([0, G, G, G, G], { sessionId: 'c' }));
    expect(c.metrics[0].verdict).toBe('Invalid');
    expect(names(c)).toMatch(/1 of 5 candidate run\(s\) measured 0 goodput \(c#0\): a run that moved nothing is a failure, not a sample/);
    expect(c.verdict).toBe('Invalid');
    const b = compareRuns(goodputRuns([0, G, G, G, G], { sessionId: 'b' }), base());
    expect(names(b)).toMatch(/1 of 5 baseline run\(s\) measured 0 goodput \(b#0\): a baseline that moved nothing is no baseline/);
  });

  it('a percentile no run determines is Invalid with the reason, never a ratio', () => {
    const undetermined = (i: number) => run({ latencyP50: 60 }, { run: i, undetermined: { latencyP99: '5 latency sample(s) in the run cannot bound p99 at 95% (needs n >= 368)' } });
    const side = [0, 1, 2, 3, 4].map(undetermined);
    const c = compareRuns(side, side.map((r) => ({ ...r, sessionId: 's2' })));
    const p99 = c.metrics.find((m) => m.metric === 'latencyP99')!;
    expect(p99.verdict).toBe('Invalid');
    expect(p99.reason).toMatch(/^latency p99 not determined by 5 baseline run\(s\) \(s1#0, s1#1, s1#2, s1#3, s1#4\): 5 latency sample\(s\) in the run cannot bound p99 at 95% \(needs n >= 368\); latency p99 not determined by 5 candidate run/);
    expect(Number.isNaN(p99.ratio.estimate)).toBe(true);
    expect(c.verdict).toBe('Invalid');
    // the metrics that are determined are still graded
    expect(c.metrics.find((m) => m.metric === 'latencyP50')!.verdict).toBe('Equivalent');
    expect(compareRuns(side, side, { metrics: ['latencyP50'] }).verdict).toBe('Equivalent');
  });
});
