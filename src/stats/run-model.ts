// The run and session model: a session (one invocation on one testbed) holds runs (the unit of
// replication) that hold intervals. Each run is reduced to one number per metric after omitting its
// warm-up; its steadiness is checked (drift, autocorrelation) and flagged, never silently dropped.
import { KINDS, type MetricId } from '../kinds.js';
import { formatLevel } from '../units.js';
import type { RunRecord } from '../record.js';
import { batchMeansInterval, blockBootstrapMean, type Interval } from './bootstrap.js';
import { minSampleForQuantile, quantileInterval, quantileSorted } from './quantile.js';
import { autocorrelation, effectiveSampleSize, theilSen } from './series.js';

/**
 * The one confidence convention of every verdict and report: two-sided 95% intervals (each bound one-sided
 * 97.5%). `claims`, `validate`, `compare`, `report` and `stats` default to it and print it.
 */
export const DEFAULT_LEVEL = 0.95;

export { formatLevel };

export type { MetricId };

export interface MetricInfo {
  id: MetricId;
  label: string;
  unit: 'bit/s' | 'us' | '1/s';
  better: 'higher' | 'lower';
  /** Smallest change worth reporting (relative), used when measured noise is smaller. */
  floor: number;
  /** The quantile a latency metric summarises (raw samples allow a bootstrap of it across runs). */
  quantile?: number;
  /** How a run is reduced to this number. */
  reduction: string;
}

export const METRICS: Record<MetricId, MetricInfo> = {
  goodput: { id: 'goodput', label: 'goodput', unit: 'bit/s', better: 'higher', floor: 0.02, reduction: 'time-weighted mean of steady intervals' },
  latencyP50: { id: 'latencyP50', label: 'latency p50', unit: 'us', better: 'lower', floor: 0.03, quantile: 0.5, reduction: 'per-run p50 (type 7)' },
  latencyP99: { id: 'latencyP99', label: 'latency p99', unit: 'us', better: 'lower', floor: 0.05, quantile: 0.99, reduction: 'per-run p99 (type 7)' },
  requestRate: { id: 'requestRate', label: 'requests/s', unit: '1/s', better: 'higher', floor: 0.02, reduction: 'completed requests / duration' },
  handshakeRate: { id: 'handshakeRate', label: 'handshakes/s', unit: '1/s', better: 'higher', floor: 0.03, reduction: 'completed handshakes / duration' },
};

export const METRIC_IDS = Object.keys(METRICS) as MetricId[];

export interface RunModelOptions {
  /** Seconds to omit at the start; default: chosen by MSER (White 1997), at least the first interval. */
  warmupS?: number;
  /** A run is unsteady when its Theil-Sen drift over the steady window exceeds this share of its level
   * (and Sen's interval excludes zero). Default 0.1. */
  maxDrift?: number;
  /** A run is unsteady when the lag-1 autocorrelation of its steady intervals reaches this (with >= 8 intervals). Default 0.9. */
  maxLag1?: number;
  level?: number;
  seed?: number;
}

export type Steadiness = 'steady' | 'unsteady' | 'unchecked';

export interface RunSummary {
  sessionId: string;
  run: number;
  startedAt: string;
  scenarioId: string;
  scenarioKind: string;
  fingerprint: string;
  state: RunRecord['end']['state'];
  error?: { code: string; message: string };
  metrics: Partial<Record<MetricId, number>>;
  /**
   * Metrics the run measured but cannot determine, with the reason: a percentile whose sample is too small
   * to bound it at the summary's level (p99 at 95% needs n >= 368 in the run). Such a metric is absent
   * from `metrics`: it is never graded, passed or printed as if measured.
   */
  undetermined: Partial<Record<MetricId, string>>;
  /** Sorted raw latency samples (us) when the record carried them. */
  latencySamples?: Float64Array;
  /** Latency samples the run holds (raw, or the count of its histogram), 0 when none. */
  latencyCount: number;
  /** QUIC packets per second both ways, as the client counts them, over the steady intervals, with its within-run interval. */
  packetRate?: { value: number; interval: Interval | null };
  warmup: { omittedIntervals: number; omittedS: number; method: string };
  steadiness: {
    status: Steadiness;
    reasons: string[];
    /** The series checked: interval goodput, or completions per second for request-like scenarios. */
    series: 'goodput' | 'completions';
    intervals: number;
    durationS: number;
    lag1: number | null;
    effectiveN: number | null;
    /** Theil-Sen slope per second, and as a share of the level over the steady window. */
    drift: { perS: number; relative: number; lower: number; upper: number; level: number } | null;
  };
  /** Uncertainty of the steady level within this one run (autocorrelation-aware). */
  withinRun: { blockBootstrap: Interval; batchMeans: Interval } | null;
}

/** MSER (marginal standard error rule): the truncation d <= n/2 minimising var(x_d..) / (n - d). */
export function mserTruncation(series: ArrayLike<number>): number {
  const n = series.length;
  if (n < 4) return n >= 3 ? 1 : 0;
  // suffix sums for O(n)
  let best = 1;
  let bestValue = Infinity;
  let s = 0;
  let s2 = 0;
  const sums: number[] = new Array(n + 1).fill(0);
  const sums2: number[] = new Array(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    s += series[i];
    s2 += series[i] * series[i];
    sums[i] = s;
    sums2[i] = s2;
  }
  for (let d = 1; d <= Math.floor(n / 2); d++) {
    const k = n - d;
    const m = sums[d] / k;
    const ss = Math.max(0, sums2[d] - k * m * m);
    const value = ss / (k * k);
    if (bestValue === Infinity || value < bestValue - 1e-12 * Math.abs(bestValue)) {
      bestValue = value;
      best = d;
    }
  }
  return best;
}

/** Why a run cannot determine quantile `p` from `n` samples at `level`, or undefined when it can. */
export function quantileUndetermined(n: number, p: number, level: number): string | undefined {
  const need = minSampleForQuantile(p, level);
  if (n >= need) return undefined;
  return `${n} latency sample(s) in the run cannot bound p${+(p * 100).toFixed(4)} at ${formatLevel(level)} (needs n >= ${need})`;
}

/** Reduces one run record to its run-level summary. */
export function summarizeRun(record: RunRecord, options: RunModelOptions = {}): RunSummary {
  const level = options.level ?? DEFAULT_LEVEL;
  const kind = record.scenario.kind;
  const intervals = [...record.intervals].sort((a, b) => a.startS - b.startS);
  // A last interval under half the usual length is the run's tail (the close after the transfer ended):
  // its bytes are in the totals, but it is no sample of the steady state.
  const lengths = Float64Array.from(intervals, (iv) => iv.endS - iv.startS).sort();
  if (intervals.length > 1 && intervals[intervals.length - 1].endS - intervals[intervals.length - 1].startS < quantileSorted(lengths, 0.5) / 2) {
    intervals.pop();
  }
  const completions = KINDS[kind].series === 'completions' && intervals.length > 0 && intervals.every((iv) => typeof iv.completed === 'number');
  const seriesOf = (ivs: typeof intervals) =>
    ivs.map((iv) => (completions ? (iv.completed as number) / Math.max(iv.endS - iv.startS, 1e-9) : iv.goodputBps));
  const full = seriesOf(intervals);
  let omit: number;
  let method: string;
  if (options.warmupS !== undefined) {
    omit = intervals.filter((iv) => iv.startS < (options.warmupS as number) - 1e-9).length;
    method = `fixed: intervals starting before ${options.warmupS} s`;
  } else {
    omit = mserTruncation(full);
    method = 'MSER (White 1997) on the interval series, at most half the run';
  }
  const steadyIvs = intervals.slice(omit);
  const series = full.slice(omit);
  const omittedS = omit > 0 ? intervals[omit - 1].endS - intervals[0].startS : 0;
  const durationS = steadyIvs.reduce((s, iv) => s + (iv.endS - iv.startS), 0);

  const metrics: RunSummary['metrics'] = {};
  if (KINDS[kind].metrics.includes('goodput')) {
    if (steadyIvs.length > 0 && durationS > 0) {
      metrics.goodput = steadyIvs.reduce((s, iv) => s + iv.goodputBps * (iv.endS - iv.startS), 0) / durationS;
    } else {
      metrics.goodput = record.end.goodputBps;
    }
  }
  let latencySamples: Float64Array | undefined;
  const undetermined: RunSummary['undetermined'] = {};
  const raw = record.samples?.latencyUs;
  const latency = record.end.latency;
  let latencyCount = 0;
  const percentiles = [['latencyP50', 0.5, latency?.p50Us], ['latencyP99', 0.99, latency?.p99Us]] as const;
  if (raw && raw.length > 0) {
    latencySamples = Float64Array.from(raw).sort();
    latencyCount = latencySamples.length;
  } else if (latency) {
    latencyCount = latency.n ?? 0;
  }
  if (latencySamples || latency) {
    for (const [metric, p, recorded] of percentiles) {
      const why = quantileUndetermined(latencyCount, p, level);
      if (why) undetermined[metric] = why;
      else if (latencySamples) metrics[metric] = quantileSorted(latencySamples, p);
      else if (typeof recorded === 'number') metrics[metric] = recorded;
    }
  }
  if (record.end.requestsPerSecond !== undefined) metrics.requestRate = record.end.requestsPerSecond;
  if (record.end.handshakesPerSecond !== undefined) metrics.handshakeRate = record.end.handshakesPerSecond;

  const reasons: string[] = [];
  let status: Steadiness = 'steady';
  let lag1: number | null = null;
  let effectiveN: number | null = null;
  let drift: RunSummary['steadiness']['drift'] = null;
  if (series.length < 3) {
    status = 'unchecked';
    reasons.push(`only ${series.length} steady interval(s): too few to check drift`);
  } else {
    const mids = steadyIvs.map((iv) => (iv.startS + iv.endS) / 2);
    const ts = theilSen(series, mids, level);
    const sortedSeries = Float64Array.from(series).sort();
    const levelValue = quantileSorted(sortedSeries, 0.5);
    const span = mids[mids.length - 1] - mids[0];
    const relative = levelValue !== 0 ? (ts.slope * span) / Math.abs(levelValue) : 0;
    drift = { perS: ts.slope, relative, lower: ts.lower, upper: ts.upper, level };
    const maxDrift = options.maxDrift ?? 0.1;
    if (Math.abs(relative) > maxDrift && (ts.lower > 0 || ts.upper < 0)) {
      status = 'unsteady';
      reasons.push(`drift ${(relative * 100).toFixed(1)}% over the steady window (limit ${(maxDrift * 100).toFixed(0)}%, Sen's ${Math.round(level * 100)}% interval excludes 0)`);
    }
    const r = autocorrelation(series, 1);
    if (Number.isFinite(r)) {
      lag1 = r;
      effectiveN = effectiveSampleSize(series.length, r);
      const maxLag1 = options.maxLag1 ?? 0.9;
      if (series.length >= 8 && r >= maxLag1) {
        status = 'unsteady';
        reasons.push(`lag-1 autocorrelation ${r.toFixed(2)} >= ${maxLag1}: the level wanders (about ${effectiveN.toFixed(1)} independent points)`);
      }
    }
  }
  if (record.end.state !== 'completed') reasons.push(`run ${record.end.state}${record.end.error ? `: ${record.end.error.code}: ${record.end.error.message}` : ''}`);
  const withinRun =
    series.length >= 4
      ? { blockBootstrap: blockBootstrapMean(series, { level, seed: options.seed ?? 1 }), batchMeans: batchMeansInterval(series, { level }) }
      : null;
  let packetRate: RunSummary['packetRate'];
  if (steadyIvs.length > 0 && durationS > 0) {
    const packets = (iv: (typeof steadyIvs)[number]) => iv.client.packetsSent + iv.client.packetsReceived;
    const perS = steadyIvs.map((iv) => packets(iv) / Math.max(iv.endS - iv.startS, 1e-9));
    packetRate = {
      value: steadyIvs.reduce((s, iv) => s + packets(iv), 0) / durationS,
      interval: perS.length >= 4 ? blockBootstrapMean(perS, { level, seed: options.seed ?? 1 }) : null,
    };
  }
  return {
    sessionId: record.session.id,
    run: record.session.run,
    startedAt: record.startedAt,
    scenarioId: record.scenario.id,
    scenarioKind: kind,
    fingerprint: record.environment.fingerprint,
    state: record.end.state,
    error: record.end.error,
    metrics,
    undetermined,
    latencySamples,
    latencyCount,
    ...(packetRate ? { packetRate } : {}),
    warmup: { omittedIntervals: omit, omittedS, method },
    steadiness: { status, reasons, series: completions ? 'completions' : 'goodput', intervals: series.length, durationS, lag1, effectiveN, drift },
    withinRun,
  };
}

/** Groups run summaries by session, in first-seen order. */
export function groupBySession(runs: readonly RunSummary[]): Map<string, RunSummary[]> {
  const out = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const list = out.get(r.sessionId) ?? [];
    list.push(r);
    out.set(r.sessionId, list);
  }
  return out;
}

/** An interval from one run alone, with how it was made. */
export interface WithinRunInterval {
  centre: number;
  /** null where the run cannot bound that side at the level. */
  lower: number | null;
  upper: number | null;
  level: number;
  method: string;
}

/**
 * The within-run interval of quantile `p` of a run's latency samples: the distribution-free order-statistic
 * interval when the sample determines it; else the one-sided bound the sample extremes give where they cover
 * (the minimum is a lower bound of any quantile p with coverage 1 - (1-p)^n, the maximum an upper bound with
 * coverage 1 - p^n; the maximum is a certain lower bound of the largest value).
 */
export function latencyQuantileInterval(sorted: Float64Array, p: number, level: number): WithinRunInterval | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const centre = quantileSorted(sorted, p);
  const ci = quantileInterval(sorted, p, level);
  if (ci) {
    return { centre, lower: ci.lower, upper: ci.upper, level, method: `${ci.method} over its ${n} samples (coverage ${ci.coverage.toFixed(3)})` };
  }
  const tail = (1 - level) / 2;
  const lower = p === 1 ? sorted[n - 1] : (1 - p) ** n <= tail ? sorted[0] : null;
  const upper = p < 1 && p ** n <= tail ? sorted[n - 1] : null;
  const sides = [lower !== null ? (p === 1 ? 'the largest sample bounds it from below' : 'the smallest sample bounds it from below') : '', upper !== null ? 'the largest from above' : '']
    .filter(Boolean)
    .join(', ');
  return {
    centre,
    lower,
    upper,
    level,
    method: `order statistics over its ${n} samples: too few for a two-sided interval (needs n >= ${minSampleForQuantile(p, level)})${sides ? `; ${sides}` : ''}`,
  };
}

/**
 * A run-level metric's interval from this one run: the moving-block bootstrap over its steady intervals for
 * goodput and completion rates, order statistics over its samples for latency percentiles; undefined when the
 * run cannot give one (fewer than 4 steady intervals, no samples).
 */
export function withinRunInterval(run: RunSummary, metric: MetricId, level: number): WithinRunInterval | undefined {
  const value = run.metrics[metric];
  const q = METRICS[metric].quantile;
  if (q !== undefined) return run.latencySamples ? latencyQuantileInterval(run.latencySamples, q, level) : undefined;
  if (value === undefined || !run.withinRun) return undefined;
  const series = run.steadiness.series;
  const fits = metric === 'goodput' ? series === 'goodput' : series === 'completions';
  if (!fits) return undefined;
  const bb = run.withinRun.blockBootstrap;
  return { centre: bb.estimate, lower: bb.lower, upper: bb.upper, level: bb.level, method: `within-run ${bb.method} over ${run.steadiness.intervals} steady intervals` };
}
