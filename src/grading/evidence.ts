// What a set of run records says about one quantity (a run-level metric, a latency percentile, a packet
// rate): one value per run, the interval that the runs give, and every run that cannot count named with why
// (failed, measured zero, too few samples for the percentile, another testbed). Validation and claims read
// their verdicts off this; nothing is dropped without a word.
import type { RunRecord } from '../record.js';
import type { ScenarioKind } from '../scenario.js';
import { quantileSorted } from '../stats/quantile.js';
import {
  groupBySession,
  latencyQuantileInterval,
  METRICS,
  quantileUndetermined,
  withinRunInterval,
  type MetricId,
  type RunSummary,
  type WithinRunInterval,
} from '../stats/run-model.js';
import { mean, variance } from '../stats/series.js';
import { studentTQuantile } from '../stats/special.js';
import { sideSummary } from './compare.js';

/** What a verdict is about. */
export type Quantity =
  | { kind: 'metric'; metric: MetricId }
  /** Percentile p (0..1) of a run's latency samples (0: the smallest, 1: the largest). */
  | { kind: 'latency'; p: number }
  | { kind: 'latencyMean' }
  | { kind: 'packetRate' };

export interface QuantityInfo {
  label: string;
  unit: 'bit/s' | 'us' | '1/s';
  better: 'higher' | 'lower';
}

/** Label, unit and orientation of a quantity. */
function quantityInfo(q: Quantity): QuantityInfo {
  if (q.kind === 'metric') return { label: METRICS[q.metric].label, unit: METRICS[q.metric].unit, better: METRICS[q.metric].better };
  if (q.kind === 'packetRate') return { label: 'packets/s', unit: '1/s', better: 'higher' };
  if (q.kind === 'latencyMean') return { label: 'latency mean', unit: 'us', better: 'lower' };
  const name = q.p === 0 ? 'min' : q.p === 1 ? 'max' : `p${+(q.p * 100).toFixed(4)}`;
  return { label: `latency ${name}`, unit: 'us', better: 'lower' };
}

/** The graded metric a latency percentile is, when it is one (p50, p99). */
function asMetric(q: Quantity): MetricId | undefined {
  if (q.kind === 'metric') return q.metric;
  if (q.kind === 'latency') return (Object.keys(METRICS) as MetricId[]).find((m) => METRICS[m].quantile === q.p);
  return undefined;
}

export interface Measured {
  /** The median across runs (or the one run's value); null when the runs' samples cannot determine it. */
  centre: number | null;
  /** null where nothing bounds that side at the level. */
  lower: number | null;
  upper: number | null;
  level: number;
  method: string;
  /** Across runs; within one run; one run with no interval (a point). */
  basis: 'runs' | 'run' | 'point';
  /** Runs behind the figure. */
  n: number;
}

export interface Evidence {
  quantity: Quantity;
  label: string;
  unit: QuantityInfo['unit'];
  better: QuantityInfo['better'];
  /** The scenario kind the runs come from (one kind per quantity) and its scenario ids. */
  scenario: { kind: string; ids: string[] } | null;
  /** The testbed judged (the one with most runs), and runs from other testbeds set aside, never pooled. */
  testbed: string | null;
  setAside: Array<{ fingerprint: string; runs: number }>;
  runs: { total: number; completed: number; unsteady: number };
  /** Runs that did not complete, named ("run 3 errored (TIMEOUT)"). */
  failed: string[];
  /** Completed runs whose higher-is-better value is 0: a run that moved nothing. */
  zero: string[];
  /** Runs whose sample cannot determine the percentile, and why. */
  undetermined: { runs: string[]; reason: string } | null;
  /** One value per completed run that has one, best first ranking aside. */
  values: Array<{ label: string; value: number; interval: WithinRunInterval | null }>;
  measured: Measured | null;
}

export interface EvidenceOptions {
  level: number;
  /** Scenario kinds whose records carry the quantity, the natural one first. */
  kinds: readonly ScenarioKind[];
}

/** A run as people name it: `run 3`, or `SESSION#3` when the runs span sessions. */
function labeller(runs: readonly RunSummary[]): (r: RunSummary) => string {
  const sessions = new Set(runs.map((r) => r.sessionId)).size;
  return (r) => (sessions > 1 ? `${r.sessionId.slice(0, 8)}#${r.run}` : `run ${r.run}`);
}

/** A run's value of the quantity, or why it has none. */
function runValue(q: Quantity, record: RunRecord, run: RunSummary, level: number): { value?: number; undetermined?: string } {
  const metric = asMetric(q);
  if (metric) {
    if (run.undetermined[metric]) return { undetermined: run.undetermined[metric] };
    return { value: run.metrics[metric] };
  }
  if (q.kind === 'packetRate') return { value: run.packetRate?.value };
  const samples = run.latencySamples;
  const latency = record.end.latency;
  if (q.kind === 'latencyMean') {
    if (samples) return { value: mean(samples) };
    return { value: typeof latency?.meanUs === 'number' ? latency.meanUs : undefined };
  }
  if (q.kind === 'latency') {
    if (run.latencyCount === 0) return {};
    if (q.p > 0 && q.p < 1) {
      const why = quantileUndetermined(run.latencyCount, q.p, level);
      if (why) return { undetermined: why };
    }
    if (samples) return { value: quantileSorted(samples, q.p) };
    const recorded: Record<number, unknown> = { 0: latency?.minUs, 0.5: latency?.p50Us, 0.9: latency?.p90Us, 0.99: latency?.p99Us, 0.999: latency?.p999Us, 1: latency?.maxUs };
    const v = recorded[q.p];
    return { value: typeof v === 'number' ? v : undefined };
  }
  return {};
}

/** A run's own interval of the quantity (block bootstrap over its intervals, order statistics over its samples). */
function runInterval(q: Quantity, run: RunSummary, level: number): WithinRunInterval | null {
  const metric = asMetric(q);
  if (metric) return withinRunInterval(run, metric, level) ?? null;
  if (q.kind === 'latency' && run.latencySamples) return latencyQuantileInterval(run.latencySamples, q.p, level) ?? null;
  if (q.kind === 'packetRate' && run.packetRate?.interval) {
    const bb = run.packetRate.interval;
    return { centre: bb.estimate, lower: bb.lower, upper: bb.upper, level: bb.level, method: `within-run ${bb.method} over ${run.steadiness.intervals} steady intervals` };
  }
  return null;
}

/**
 * The median of run values with its interval: distribution-free order statistics when there are enough
 * runs, else a t interval on logs (on the values themselves when a run measured 0).
 */
function acrossRuns(values: readonly number[], sessions: number, level: number): Measured {
  const s = sideSummary([...values], sessions, level);
  const n = values.length;
  if (Number.isFinite(s.lower) && Number.isFinite(s.upper)) {
    return { centre: s.centre, lower: s.lower, upper: s.upper, level, method: `across ${n} runs: ${s.method}`, basis: 'runs', n };
  }
  // a zero among too few runs for order statistics: t on the values, not on logs
  const m = mean(values);
  const half = studentTQuantile((1 + level) / 2, n - 1) * Math.sqrt(variance(values, m) / n);
  return {
    centre: s.centre,
    lower: Math.max(0, m - half),
    upper: m + half,
    level,
    method: `across ${n} runs: median; interval: t on the values (a run measured 0, so not on logs)`,
    basis: 'runs',
    n,
  };
}

/**
 * Gathers the evidence for one quantity: picks the scenario kind (the natural one when present), keeps the
 * testbed with most runs (others set aside and named), names failed, zero and undetermined runs, and bounds
 * the quantity across runs, within a single run, or not at all (a single run without an interval).
 */
export function gatherEvidence(
  runs: ReadonlyArray<{ record: RunRecord; summary: RunSummary }>,
  quantity: Quantity,
  options: EvidenceOptions,
): Evidence {
  const info = quantityInfo(quantity);
  const { level } = options;
  const kind = options.kinds.find((k) => runs.some(({ record }) => record.scenario.kind === k));
  const ofKind = runs.filter(({ record }) => record.scenario.kind === kind);
  const byTestbed = new Map<string, number>();
  for (const { summary } of ofKind) byTestbed.set(summary.fingerprint, (byTestbed.get(summary.fingerprint) ?? 0) + 1);
  const testbed = [...byTestbed.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const setAside = [...byTestbed.entries()].filter(([fp]) => fp !== testbed).map(([fingerprint, n]) => ({ fingerprint, runs: n }));
  const relevant = ofKind.filter(({ summary }) => summary.fingerprint === testbed);
  const label = labeller(relevant.map((r) => r.summary));
  const completed = relevant.filter(({ summary }) => summary.state === 'completed');
  const failed = relevant
    .filter(({ summary }) => summary.state !== 'completed')
    .map(({ summary }) => `${label(summary)} ${summary.state}${summary.error ? ` (${summary.error.code})` : ''}`);
  const values: Evidence['values'] = [];
  const undeterminedRuns: Array<{ label: string; reason: string; interval: WithinRunInterval | null }> = [];
  for (const { record, summary } of completed) {
    const v = runValue(quantity, record, summary, level);
    if (v.undetermined) undeterminedRuns.push({ label: label(summary), reason: v.undetermined, interval: runInterval(quantity, summary, level) });
    else if (v.value !== undefined) values.push({ label: label(summary), value: v.value, interval: runInterval(quantity, summary, level) });
  }
  const zero = info.better === 'higher' ? values.filter((v) => v.value <= 0).map((v) => v.label) : [];
  const base: Evidence = {
    quantity,
    label: info.label,
    unit: info.unit,
    better: info.better,
    scenario: relevant.length ? { kind: kind as string, ids: [...new Set(relevant.map(({ record }) => record.scenario.id))] } : null,
    testbed,
    setAside,
    runs: { total: relevant.length, completed: completed.length, unsteady: relevant.filter(({ summary }) => summary.steadiness.status === 'unsteady').length },
    failed,
    zero,
    undetermined: undeterminedRuns.length
      ? { runs: undeterminedRuns.map((u) => u.label), reason: [...new Set(undeterminedRuns.map((u) => u.reason))].join('; ') }
      : null,
    values,
    measured: null,
  };
  if (undeterminedRuns.length > 0) {
    // per-run percentiles that are not determined are never pooled as if they were; the sample extremes
    // still bound them on one side (the smallest lower bound, the largest upper bound across runs stay valid)
    const all = [...undeterminedRuns, ...values.map((v) => ({ label: v.label, reason: '', interval: v.interval }))];
    const lowers = all.map((u) => u.interval?.lower).filter((v): v is number => typeof v === 'number');
    const uppers = all.map((u) => u.interval?.upper).filter((v): v is number => typeof v === 'number');
    if (all.some((u) => u.interval)) {
      base.measured = {
        // a figure the samples cannot determine is not printed as if measured
        centre: null,
        lower: lowers.length > 0 ? Math.min(...lowers) : null,
        upper: uppers.length > 0 ? Math.max(...uppers) : null,
        level,
        method: `not determined by the runs' samples; one-sided bounds from the sample extremes of ${all.length} run(s)`,
        basis: all.length > 1 ? 'runs' : 'run',
        n: all.length,
      };
    }
    return base;
  }
  if (values.length === 0) return base;
  if (values.length >= 2) {
    base.measured = acrossRuns(
      values.map((v) => v.value),
      groupBySession(completed.map((c) => c.summary)).size,
      level,
    );
    return base;
  }
  const only = values[0];
  base.measured = only.interval
    ? { centre: only.value, lower: only.interval.lower, upper: only.interval.upper, level, method: `a single run: ${only.interval.method}`, basis: 'run', n: 1 }
    : { centre: only.value, lower: null, upper: null, level, method: 'a single run without a within-run interval (fewer than 4 steady intervals, or no samples)', basis: 'point', n: 1 };
  return base;
}

/** About how many runs would bring the interval's edge to the other side of `boundary` (null when it cannot). */
export function runsToSettle(m: Measured, boundary: number): number | null {
  if (m.basis !== 'runs' || m.lower === null || m.upper === null) return null;
  const half = (m.upper - m.lower) / 2;
  if (m.centre === null) return null;
  const distance = Math.abs(m.centre - boundary);
  if (!(distance > 0) || !(half > 0)) return null;
  return Math.max(m.n + 1, Math.ceil(m.n * (half / distance) ** 2));
}
