// What the history store holds, made visible: its sessions, and a metric's trend per testbed and scenario
// (one point per session: the median of its runs, with their range) with the change points
// E-divisive finds in it (src/history/change-point.ts).
import type { RunRecord } from '../record.js';
import { KINDS } from '../kinds.js';
import type { ScenarioKind } from '../scenario.js';
import { median } from '../stats/order-statistics.js';
import { DEFAULT_LEVEL, summarizeRun, type MetricId } from '../stats/run-model.js';
import { detectChangePoints } from './change-point.js';
import type { HistoryStore, SessionInfo } from './store.js';

export interface SessionRow extends SessionInfo {
  /** Runs by end state. */
  states: Record<string, number>;
  /** The scenario's headline metric: the median across the session's runs (null when none determined it). */
  headline: { metric: MetricId; value: number | null } | null;
}

export interface TrendFilter {
  fingerprint?: string;
  /** A scenario id, or a scenario kind (download, latency, ...). */
  scenario?: string;
  /** Most recent sessions only. */
  limit?: number;
}


function matches(s: SessionInfo, f: TrendFilter): boolean {
  return (f.fingerprint === undefined || s.fingerprint.startsWith(f.fingerprint)) && (f.scenario === undefined || s.scenarioId === f.scenario || s.scenarioKind === f.scenario);
}

/** The median of the values, or null when there are none. */
const medianOrNull = (values: number[]) => (values.length ? median(values) : null);

/** Sessions, newest first, with their run states and headline figure. */
export function listSessions(store: HistoryStore, filter: TrendFilter = {}): SessionRow[] {
  const sessions = store.sessions().filter((s) => matches(s, filter)).slice(0, filter.limit ?? Infinity);
  return sessions.map((s) => {
    const runs = store.records([s.id]).map((r) => summarizeRun(r));
    const states: Record<string, number> = {};
    for (const r of runs) states[r.state] = (states[r.state] ?? 0) + 1;
    const metric = s.scenarioKind in KINDS ? headlineMetric(s.scenarioKind) : undefined;
    const values = metric ? runs.filter((r) => r.state === 'completed' && r.metrics[metric] !== undefined).map((r) => r.metrics[metric] as number) : [];
    return { ...s, states, headline: metric ? { metric, value: medianOrNull(values) } : null };
  });
}

export interface TrendPoint {
  sessionId: string;
  startedAt: string;
  runs: number;
  /** Median of the session's completed runs that determine the metric. */
  value: number;
  /** The smallest and largest run value of the session. */
  min: number;
  max: number;
  /** Completed runs that cannot determine the metric (a percentile with too few samples). */
  undetermined: number;
}

export interface TrendChange {
  /** Index of the first point after the change. */
  index: number;
  sessionId: string;
  startedAt: string;
  /** Relative change of the session medians (geometric), after / before - 1. */
  relative: number;
  p: number;
}

export interface TrendGroup {
  fingerprint: string;
  scenarioId: string;
  scenarioKind: string;
  metric: MetricId;
  level: number;
  points: TrendPoint[];
  changes: TrendChange[];
  /** How the change points were looked for, or why not. */
  method: string;
}

/** A metric's trend per testbed and scenario, oldest session first, with its change points. */
export function metricTrend(store: HistoryStore, metric: MetricId, filter: TrendFilter = {}, options: { level?: number; seed?: number } = {}): TrendGroup[] {
  const level = options.level ?? DEFAULT_LEVEL;
  const sessions = store.sessions().filter((s) => matches(s, filter)).slice(0, filter.limit ?? Infinity).reverse();
  const groups = new Map<string, { info: SessionInfo; records: RunRecord[][] }>();
  for (const s of sessions) {
    const key = `${s.fingerprint}\u0000${s.scenarioId}`;
    const g = groups.get(key) ?? { info: s, records: [] };
    g.records.push(store.records([s.id]));
    groups.set(key, g);
  }
  const out: TrendGroup[] = [];
  for (const { info, records } of groups.values()) {
    const points: TrendPoint[] = [];
    for (const session of records) {
      const runs = session.map((r) => summarizeRun(r, { level }));
      const completed = runs.filter((r) => r.state === 'completed');
      const values = completed.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined);
      if (values.length === 0) continue;
      points.push({
        sessionId: runs[0].sessionId,
        startedAt: runs[0].startedAt,
        runs: runs.length,
        value: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        undetermined: completed.filter((r) => r.undetermined[metric] !== undefined).length,
      });
    }
    if (points.length === 0) continue;
    const usable = points.every((p) => p.value > 0);
    const changes =
      points.length >= 6 && usable
        ? detectChangePoints(points.map((p) => Math.log(p.value)), { seed: options.seed ?? 1 }).map((c) => ({
            index: c.index,
            sessionId: points[c.index].sessionId,
            startedAt: points[c.index].startedAt,
            relative: Math.exp(c.meanAfter - c.meanBefore) - 1,
            p: c.p,
          }))
        : [];
    out.push({
      fingerprint: info.fingerprint,
      scenarioId: info.scenarioId,
      scenarioKind: info.scenarioKind,
      metric,
      level,
      points,
      changes,
      method:
        points.length >= 6 && usable
          ? 'E-divisive means on log session medians, permutation test at 5% (199 permutations), at least 3 sessions a side'
          : points.length < 6
            ? `no change-point search: ${points.length} session(s), needs 6 or more`
            : 'no change-point search: a session median of 0',
    });
  }
  return out;
}

/** The metric a trend shows by default for a scenario kind. */
export function headlineMetric(kind: string): MetricId {
  return kind in KINDS ? KINDS[kind as ScenarioKind].metrics[0] : 'goodput';
}
