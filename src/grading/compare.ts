// Grading a candidate against a baseline, per metric, on the log scale with "worse" positive:
// Hodges-Lehmann ratio with its exact interval (the gate), Mann-Whitney U p-values adjusted by Benjamini-
// Hochberg across the metrics, Welch t on logs (reported, never gating), a seeded BCa bootstrap of pooled
// quantiles for latency metrics, a threshold from measured noise, severity on the conservative bound.
import { bcaTwoSample, type Interval } from '../stats/bootstrap.js';
import { quantileInterval, quantileSorted, selectInPlace } from '../stats/quantile.js';
import { DEFAULT_LEVEL, formatLevel, METRICS, METRIC_IDS, groupBySession, type MetricId, type RunSummary } from '../stats/run-model.js';
import { mean, variance } from '../stats/series.js';
import { sessionNoise, type Noise } from '../stats/session-noise.js';
import { normalQuantile, studentTQuantile } from '../stats/special.js';
import { benjaminiHochberg, hodgesLehmannShift, mannWhitney, minRunsForLevel, welch } from '../stats/two-sample.js';
import type { Slo } from './slo.js';
import { classifyTier, type Tier } from './tiers.js';

export type Verdict = 'Invalid' | 'Regression' | 'Improvement' | 'Equivalent' | 'Inconclusive';
export type Severity = 'Minor' | 'Moderate' | 'Severe' | 'Critical';
export const SEVERITIES: readonly Severity[] = ['Minor', 'Moderate', 'Severe', 'Critical'];

export type { Noise };

export interface CompareOptions {
  /** Two-sided confidence level of every interval (default 0.95: one-sided 97.5% bounds). */
  level?: number;
  /** tau = max(floor, k x between-session noise). Default k = 2. */
  k?: number;
  floors?: Partial<Record<MetricId, number>>;
  noise?: Partial<Record<MetricId, Noise>>;
  /** Fewest runs per side (raised to what the level needs for an exact interval). Default 3. */
  minRuns?: number;
  slos?: Slo[];
  /** Severity band edges on the conservative bound, in multiples of tau (each band at least tau wide). */
  bands?: { moderate?: number; severe?: number };
  /** Power at which the minimum detectable effect is stated. Default 0.8. */
  power?: number;
  seed?: number;
  resamples?: number;
  allowTestbedMismatch?: boolean;
  allowUnsteady?: boolean;
  metrics?: MetricId[];
}

export interface SideSummary {
  n: number;
  sessions: number;
  /** Median of the run values, with a distribution-free interval (or a t interval on logs when too few runs). */
  centre: number;
  lower: number;
  upper: number;
  method: string;
}

export interface MetricComparison {
  metric: MetricId;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  baseline: SideSummary;
  candidate: SideSummary;
  /** Candidate / baseline (Hodges-Lehmann on logs), and its interval. */
  ratio: { estimate: number; lower: number; upper: number; level: number; coverage: number; method: string };
  /** The oriented log change, worse positive: its estimate and interval. */
  worse: { estimate: number; lower: number; upper: number };
  test: { name: 'Mann-Whitney U'; u: number; p: number; pAdjusted: number; method: string };
  welch: { t: number; df: number; p: number; lower: number; upper: number; note: string };
  bootstrap?: Interval & { statistic: string };
  threshold: { tau: number; floor: number; k: number; noise: number | null; noiseSource: string };
  mde: { worse: number; power: number; underpowered: boolean; runsNeeded: number | null; method: string };
  slo?: { text: string; breached: boolean; bound: number };
  verdict: Verdict;
  severity: Severity | null;
  reason: string;
  runsToSettle?: number;
  /** The candidate's median is 0 where the baseline's is not: a collapse, Critical whatever the gates say. */
  collapse?: boolean;
}

export interface Comparison {
  level: number;
  verdict: Verdict;
  gates: { ok: boolean; reasons: string[] };
  metrics: MetricComparison[];
  tier: { name: string | null; basis: string; lowerBps: number } | null;
  runs: { baseline: number; candidate: number };
}

const VERDICT_RANK: Record<Verdict, number> = { Invalid: 4, Regression: 3, Inconclusive: 2, Improvement: 1, Equivalent: 0 };

/** Oriented log value: larger is worse. */
function worseLog(metric: MetricId, v: number): number {
  return METRICS[metric].better === 'higher' ? -Math.log(v) : Math.log(v);
}

/** The centre of one side's run values with its interval. */
export function sideSummary(values: number[], sessions: number, level: number): SideSummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const centre = quantileSorted(sorted, 0.5);
  const ci = quantileInterval(sorted, 0.5, level);
  if (ci) return { n, sessions, centre, lower: ci.lower, upper: ci.upper, method: `median, order-statistic interval (coverage ${ci.coverage.toFixed(3)})` };
  if (n >= 2) {
    const logs = values.map(Math.log);
    const m = mean(logs);
    const half = studentTQuantile((1 + level) / 2, n - 1) * Math.sqrt(variance(logs, m) / n);
    return { n, sessions, centre, lower: Math.exp(m - half), upper: Math.exp(m + half), method: 'median; interval: t on logs (too few runs for a distribution-free one)' };
  }
  return { n, sessions, centre, lower: NaN, upper: NaN, method: 'a single run: no interval' };
}

/** Quantile of the pooled sorted samples of several runs (equal weight per kept point). */
function pooledQuantile(runs: readonly Float64Array[], p: number): number {
  let total = 0;
  for (const r of runs) total += r.length;
  const all = new Float64Array(total);
  let o = 0;
  for (const r of runs) {
    all.set(r, o);
    o += r.length;
  }
  const h = (total - 1) * p;
  const lo = Math.floor(h);
  const a = selectInPlace(all, lo);
  if (lo + 1 >= total) return a;
  let b = Infinity;
  for (let i = lo + 1; i < total; i++) if (all[i] < b) b = all[i];
  return a + (b - a) * (h - lo);
}

/** Thins a sorted sample to at most `k` evenly spaced order statistics (keeps its quantile function). */
function thin(sorted: Float64Array, k: number): Float64Array {
  if (sorted.length <= k) return sorted;
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = quantileSorted(sorted, (i + 0.5) / k);
  return out;
}

function severityOf(lowerWorse: number, tau: number, bands: { moderate: number; severe: number }): Severity {
  if (lowerWorse >= bands.severe * tau) return 'Severe';
  if (lowerWorse >= bands.moderate * tau) return 'Moderate';
  return 'Minor';
}

/** Compares candidate runs against baseline runs, metric by metric. */
export function compareRuns(baseline: readonly RunSummary[], candidate: readonly RunSummary[], options: CompareOptions = {}): Comparison {
  const level = options.level ?? DEFAULT_LEVEL;
  const k = options.k ?? 2;
  const power = options.power ?? 0.8;
  const moderate = Math.max(options.bands?.moderate ?? 1, 1);
  const severe = Math.max(options.bands?.severe ?? 3, moderate + 1);
  const bands = { moderate, severe };
  const minRuns = Math.max(options.minRuns ?? 3, minRunsForLevel(level));

  // ---- gates
  const reasons: string[] = [];
  for (const [name, side] of [['baseline', baseline], ['candidate', candidate]] as const) {
    if (side.length < minRuns) reasons.push(`too few runs: ${name} has ${side.length}, need >= ${minRuns} per side at ${Math.round(level * 100)}%`);
    const failed = side.filter((r) => r.state !== 'completed');
    if (failed.length > 0) reasons.push(`${name}: ${failed.length} failed run(s) (${failed.map((r) => `${r.sessionId}#${r.run} ${r.state}`).join(', ')})`);
    const unsteady = side.filter((r) => r.steadiness.status === 'unsteady');
    if (unsteady.length > 0 && !options.allowUnsteady) {
      reasons.push(`${name}: ${unsteady.length} unsteady run(s) (${unsteady.map((r) => `${r.sessionId}#${r.run}: ${r.steadiness.reasons.join('; ')}`).join(', ')})`);
    }
  }
  const scenarios = new Set([...baseline, ...candidate].map((r) => r.scenarioId));
  if (scenarios.size > 1) reasons.push(`incomparable scenarios: ${[...scenarios].join(', ')}`);
  const testbeds = new Set([...baseline, ...candidate].map((r) => r.fingerprint));
  if (testbeds.size > 1 && !options.allowTestbedMismatch) reasons.push(`incomparable testbeds (environment fingerprints ${[...testbeds].join(', ')})`);
  const gatesOk = reasons.length === 0;

  // ---- per metric
  const usable = (side: readonly RunSummary[]) => side.filter((r) => r.state === 'completed');
  const b = usable(baseline);
  const c = usable(candidate);
  const wanted = options.metrics ?? METRIC_IDS;
  const metrics: MetricComparison[] = [];
  const pvalues: number[] = [];
  // metrics judged before any statistics: a percentile the runs cannot determine, runs that measured 0
  const settled: MetricComparison[] = [];
  const name = (r: RunSummary) => `${r.sessionId}#${r.run}`;
  for (const metric of wanted) {
    const info = METRICS[metric];
    const bUndetermined = b.filter((r) => r.undetermined[metric] !== undefined);
    const cUndetermined = c.filter((r) => r.undetermined[metric] !== undefined);
    if (bUndetermined.length > 0 || cUndetermined.length > 0) {
      const sides = [['baseline', bUndetermined], ['candidate', cUndetermined]] as const;
      const reason = sides
        .filter(([, list]) => list.length > 0)
        .map(([side, list]) => `${info.label} not determined by ${list.length} ${side} run(s) (${list.map(name).join(', ')}): ${[...new Set(list.map((r) => r.undetermined[metric]))].join('; ')}`)
        .join('; ');
      settled.push(settledMetric(metric, b, c, level, 'Invalid', null, reason));
      continue;
    }
    const bRuns = b.filter((r) => r.metrics[metric] !== undefined);
    const cRuns = c.filter((r) => r.metrics[metric] !== undefined);
    if (bRuns.length === 0 || cRuns.length === 0) continue;
    // a run that moved nothing is never dropped: a zero baseline is no baseline; a candidate whose median is
    // 0 has collapsed (the largest regression there is); fewer zero runs make the comparison Invalid
    const bZero = bRuns.filter((r) => (r.metrics[metric] as number) <= 0);
    const cZero = cRuns.filter((r) => (r.metrics[metric] as number) <= 0);
    if (info.better === 'higher' && (bZero.length > 0 || cZero.length > 0)) {
      if (bZero.length > 0) {
        settled.push(settledMetric(metric, bRuns, cRuns, level, 'Invalid', null, `${bZero.length} of ${bRuns.length} baseline run(s) measured 0 ${info.label} (${bZero.map(name).join(', ')}): a baseline that moved nothing is no baseline`));
      } else if (2 * cZero.length >= cRuns.length) {
        settled.push(
          settledMetric(metric, bRuns, cRuns, level, 'Regression', 'Critical', `${cZero.length} of ${cRuns.length} candidate run(s) measured 0 ${info.label} (${cZero.map(name).join(', ')}): the candidate's median is 0, a collapse`),
        );
      } else {
        settled.push(
          settledMetric(metric, bRuns, cRuns, level, 'Invalid', null, `${cZero.length} of ${cRuns.length} candidate run(s) measured 0 ${info.label} (${cZero.map(name).join(', ')}): a run that moved nothing is a failure, not a sample`),
        );
      }
      continue;
    }
    const bv = bRuns.map((r) => r.metrics[metric] as number);
    const cv = cRuns.map((r) => r.metrics[metric] as number);
    const x = bv.map((v) => worseLog(metric, v));
    const y = cv.map((v) => worseLog(metric, v));
    const m = x.length;
    const n = y.length;
    const hl = m > 0 && n > 0 ? hodgesLehmannShift(x, y, level) : undefined;
    const est = hl?.estimate ?? NaN;
    const lower = hl?.lower ?? NaN;
    const upper = hl?.upper ?? NaN;
    const toRatio = (w: number) => (info.better === 'higher' ? Math.exp(-w) : Math.exp(w));
    const ratioBounds = info.better === 'higher' ? [toRatio(upper), toRatio(lower)] : [toRatio(lower), toRatio(upper)];
    const mw = mannWhitney(x, y);
    const w = m >= 2 && n >= 2 ? welch(x, y, level) : undefined;

    // threshold from measured noise
    const floor = Math.log1p(options.floors?.[metric] ?? info.floor);
    const noise = options.noise?.[metric] ?? sessionNoise(baseline, metric, 'baseline sessions');
    const tau = Math.max(floor, noise ? k * noise.sd : 0);

    // minimum detectable effect (log units) for these run counts, from the pooled between-run sd
    const sdPooled =
      m >= 2 && n >= 2 ? Math.sqrt(((m - 1) * variance(x) + (n - 1) * variance(y)) / (m + n - 2)) : NaN;
    const df = Math.max(1, m + n - 2);
    // the exact interval is conservative (discrete): state the MDE at the coverage actually achieved
    const achieved = hl && Number.isFinite(hl.coverage) ? Math.max(hl.coverage, level) : level;
    const zSum = studentTQuantile((1 + achieved) / 2, df) + normalQuantile(power);
    const are = 3 / Math.PI; // asymptotic relative efficiency of Mann-Whitney vs t under normality
    const mdeLog = (zSum * sdPooled * Math.sqrt(1 / m + 1 / n)) / Math.sqrt(are);
    const underpowered = Number.isFinite(mdeLog) && mdeLog > tau;
    const zInf = normalQuantile((1 + level) / 2) + normalQuantile(power);
    const runsNeeded = underpowered ? Math.ceil((2 * (zInf * sdPooled) ** 2) / (are * tau * tau)) + 1 : null;

    const cmp: MetricComparison = {
      metric,
      label: info.label,
      unit: info.unit,
      better: info.better,
      baseline: sideSummary(bv, groupBySession(bRuns).size, level),
      candidate: sideSummary(cv, groupBySession(cRuns).size, level),
      ratio: {
        estimate: toRatio(est),
        lower: ratioBounds[0],
        upper: ratioBounds[1],
        level,
        coverage: hl?.coverage ?? NaN,
        method: `Hodges-Lehmann on logs, ${hl?.method ?? 'n/a'}`,
      },
      worse: { estimate: est, lower, upper },
      test: { name: 'Mann-Whitney U', u: mw.u1, p: mw.p, pAdjusted: NaN, method: `${mw.method}${mw.ties ? ' (ties: tie-corrected)' : ''}, two-sided` },
      welch: w
        ? { t: w.t, df: w.df, p: w.p, lower: w.lower, upper: w.upper, note: 'Welch t on oriented logs; reported, never gating' }
        : { t: NaN, df: NaN, p: NaN, lower: NaN, upper: NaN, note: 'needs >= 2 runs per side' },
      threshold: { tau, floor, k, noise: noise?.sd ?? null, noiseSource: noise ? `${noise.source} (${noise.sessions} sessions)` : 'none measured: floor only' },
      mde: {
        worse: mdeLog,
        power,
        underpowered,
        runsNeeded,
        method: `(t_{(1+coverage)/2, m+n-2} + z_power) x pooled sd of logs x sqrt(1/m + 1/n) / sqrt(3/pi) (Mann-Whitney efficiency)`,
      },
      verdict: 'Inconclusive',
      severity: null,
      reason: '',
    };

    // quantile metrics: BCa bootstrap of the pooled quantile across runs (runs resampled, not samples)
    if (info.quantile !== undefined && bRuns.every((r) => r.latencySamples) && cRuns.every((r) => r.latencySamples) && m >= 2 && n >= 2) {
      const q = info.quantile;
      const bs = bRuns.map((r) => thin(r.latencySamples as Float64Array, 1000));
      const cs = cRuns.map((r) => thin(r.latencySamples as Float64Array, 1000));
      const interval = bcaTwoSample(bs, cs, (xs, ys) => Math.log(pooledQuantile(ys, q)) - Math.log(pooledQuantile(xs, q)), {
        level,
        seed: options.seed ?? 1,
        resamples: options.resamples ?? 1000,
      });
      cmp.bootstrap = { ...interval, statistic: `log(pooled p${q * 100} candidate / baseline), worse positive; runs resampled within each side` };
    }

    // SLO: breached with confidence
    const slo = options.slos?.find((s) => s.metric === metric);
    if (slo) {
      const side = cmp.candidate;
      const breached = slo.op === '>=' ? side.upper < slo.limit : side.lower > slo.limit;
      cmp.slo = { text: slo.text, breached: Number.isFinite(side.lower) && breached, bound: slo.op === '>=' ? side.upper : side.lower };
    }
    metrics.push(cmp);
    pvalues.push(mw.p);
  }
  const adjusted = benjaminiHochberg(pvalues);
  const alpha = 1 - level;
  metrics.forEach((cmp, i) => {
    cmp.test.pAdjusted = adjusted[i];
    decide(cmp, { gatesOk, reasons, alpha, bands });
  });

  metrics.push(...settled);
  metrics.sort((x, y) => wanted.indexOf(x.metric) - wanted.indexOf(y.metric));
  let verdict: Verdict = 'Equivalent';
  if (metrics.some((mc) => mc.collapse)) verdict = 'Regression';
  else if (!gatesOk) verdict = 'Invalid';
  else if (metrics.length === 0) {
    verdict = 'Invalid';
    reasons.push('no metric present on both sides');
  } else for (const mc of metrics) if (VERDICT_RANK[mc.verdict] > VERDICT_RANK[verdict]) verdict = mc.verdict;

  const goodput = metrics.find((mc) => mc.metric === 'goodput');
  let tier: Comparison['tier'] = null;
  if (goodput && Number.isFinite(goodput.candidate.lower)) {
    const t = classifyTier(goodput.candidate.lower);
    tier = { name: (t.tier as Tier | null)?.name ?? null, basis: t.basis, lowerBps: goodput.candidate.lower };
  }
  return { level, verdict, gates: { ok: gatesOk && metrics.length > 0, reasons }, metrics, tier, runs: { baseline: baseline.length, candidate: candidate.length } };
}

/** A metric judged without the statistics (undetermined, or runs that measured 0): its sides, no ratio. */
function settledMetric(metric: MetricId, b: readonly RunSummary[], c: readonly RunSummary[], level: number, verdict: Verdict, severity: Severity | null, reason: string): MetricComparison {
  const info = METRICS[metric];
  const side = (runs: readonly RunSummary[]) => {
    const values = runs.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined);
    if (values.length === 0) return { n: 0, sessions: 0, centre: NaN, lower: NaN, upper: NaN, method: 'no determined value' };
    const s = sideSummary(values, groupBySession(runs).size, level);
    return values.some((v) => v <= 0) && !Number.isFinite(s.lower) ? { ...s, method: 'median; no interval (a run measured 0)' } : s;
  };
  const none = NaN;
  return {
    metric,
    label: info.label,
    unit: info.unit,
    better: info.better,
    baseline: side(b),
    candidate: side(c),
    ratio: { estimate: none, lower: none, upper: none, level, coverage: none, method: 'not computed' },
    worse: { estimate: none, lower: none, upper: none },
    test: { name: 'Mann-Whitney U', u: none, p: none, pAdjusted: none, method: 'not computed' },
    welch: { t: none, df: none, p: none, lower: none, upper: none, note: 'not computed' },
    threshold: { tau: Math.log1p(info.floor), floor: Math.log1p(info.floor), k: 0, noise: null, noiseSource: 'not used' },
    mde: { worse: none, power: none, underpowered: false, runsNeeded: null, method: 'not computed' },
    verdict,
    severity,
    reason,
    ...(severity === 'Critical' ? { collapse: true } : {}),
  };
}

function pct(logValue: number): string {
  return `${((Math.exp(logValue) - 1) * 100).toFixed(1)}%`;
}

/** A worsening (log, oriented) in the metric's own terms: "16.7% lower" goodput, "11.7% higher" latency. */
function change(cmp: MetricComparison, w: number): string {
  return cmp.better === 'higher' ? `${(-Math.expm1(-w) * 100).toFixed(1)}% lower` : `${(Math.expm1(w) * 100).toFixed(1)}% higher`;
}

function decide(
  cmp: MetricComparison,
  ctx: { gatesOk: boolean; reasons: string[]; alpha: number; bands: { moderate: number; severe: number } },
): void {
  const { estimate, lower, upper } = cmp.worse;
  const tau = cmp.threshold.tau;
  if (cmp.slo?.breached) cmp.severity = 'Critical';
  if (!ctx.gatesOk) {
    cmp.verdict = 'Invalid';
    cmp.reason = ctx.reasons.join('; ');
    return;
  }
  if (!Number.isFinite(lower) || !Number.isFinite(upper)) {
    cmp.verdict = 'Invalid';
    cmp.reason = `too few runs for a ${formatLevel(cmp.ratio.level)} interval`;
    return;
  }
  const significant = cmp.test.pAdjusted <= ctx.alpha;
  if (lower > 0 && upper >= tau && significant) {
    cmp.verdict = 'Regression';
    if (cmp.severity !== 'Critical') cmp.severity = severityOf(lower, tau, ctx.bands);
    cmp.reason = `${change(cmp, estimate)} (at least ${change(cmp, lower)} with ${Math.round(cmp.ratio.level * 100)}% confidence); threshold ${pct(tau)}`;
  } else if (upper < 0 && lower <= -tau && significant) {
    cmp.verdict = 'Improvement';
    cmp.reason = `improved: ${change(cmp, estimate)} (at least ${change(cmp, upper)} with ${Math.round(cmp.ratio.level * 100)}% confidence)`;
  } else if (lower > -tau && upper < tau) {
    cmp.verdict = 'Equivalent';
    cmp.reason = `the whole ${Math.round(cmp.ratio.level * 100)}% interval lies within the threshold of +-${pct(tau)}${lower > 0 || upper < 0 ? ' (a real change, but smaller than the threshold)' : ''}`;
  } else {
    cmp.verdict = 'Inconclusive';
    const nEff = 2 / (1 / cmp.baseline.n + 1 / cmp.candidate.n);
    const half = (upper - lower) / 2;
    const a = Math.abs(estimate);
    const target = a < tau ? Math.max(tau - a, a) : a;
    const settle = target > 0 ? Math.ceil(nEff * (half / target) ** 2) : Infinity;
    cmp.runsToSettle = Number.isFinite(settle) ? Math.max(settle, Math.ceil(nEff) + 1) : undefined;
    const notSig = (lower > 0 || upper < 0) && !significant ? '; not significant after Benjamini-Hochberg' : '';
    const ratioPct = (v: number) => `${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(1)}%`;
    cmp.reason = `candidate/baseline - 1 in [${ratioPct(cmp.ratio.lower)}, ${ratioPct(cmp.ratio.upper)}] (${Math.round(cmp.ratio.level * 100)}%) reaches past ${lower > 0 || upper < 0 ? 'the threshold' : 'both no change and the threshold'}${notSig}${
      cmp.runsToSettle ? `; about ${cmp.runsToSettle} runs per side would settle it` : ''
    }`;
  }
}

/** The exit code rule: a Regression at or above `failOn`, or any Critical (SLO breached with confidence). */
export function failsGate(comparison: Comparison, failOn: Severity): boolean {
  const rank = (s: Severity | null) => (s ? SEVERITIES.indexOf(s) : -1);
  return comparison.metrics.some(
    (m) => m.severity === 'Critical' || (m.verdict === 'Regression' && rank(m.severity) >= rank(failOn)),
  );
}
