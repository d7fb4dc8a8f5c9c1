// Baselines: named sets of runs in the store, portable JSON baseline files (commit one to a repo for CI),
// and the baseline-selection order: a named baseline (or baseline file), else the recent stable history on
// the same testbed and scenario (after its last persistent change), else no baseline.
import { StoqError } from '../errors.js';
import { readTextFile } from '../files.js';
import { validateRecord } from '../records.js';
import type { RunRecord } from '../record.js';
import { quantileSorted } from '../stats/quantile.js';
import { groupBySession, summarizeRun, type MetricId, type RunModelOptions, type RunSummary } from '../stats/run-model.js';
import { sessionNoise, type Noise } from '../stats/session-noise.js';
import { latestChange } from './change-point.js';
import type { HistoryStore } from './store.js';

export const BASELINE_FORMAT = 'stoq-bench-baseline';
const BASELINE_FORMAT_VERSION = 1;

export interface BaselineFile {
  format: typeof BASELINE_FORMAT;
  formatVersion: number;
  name: string;
  createdAt: string;
  fingerprint: string;
  scenarioId: string;
  note?: string | null;
  records: RunRecord[];
}

export function isBaselineFile(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { format?: unknown }).format === BASELINE_FORMAT;
}

/** Parses and validates a baseline file's text. */
export function parseBaselineFile(text: string, source: string): BaselineFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoqError('INVALID_FILE', `${source}: not valid JSON (${error instanceof Error ? error.message : error})`);
  }
  if (!isBaselineFile(value)) throw new StoqError('INVALID_FILE', `${source}: not a stoq-bench baseline file (no "format": "${BASELINE_FORMAT}")`);
  const v = value as Partial<BaselineFile>;
  if (v.formatVersion !== BASELINE_FORMAT_VERSION) {
    throw new StoqError('INVALID_FILE', `${source}: baseline formatVersion ${v.formatVersion} is not supported (this version reads ${BASELINE_FORMAT_VERSION})`);
  }
  if (typeof v.name !== 'string' || !Array.isArray(v.records) || v.records.length === 0) {
    throw new StoqError('INVALID_FILE', `${source}: a baseline file needs a name and a non-empty records array`);
  }
  const records = v.records.map((r, i) => validateRecord(r, `${source} records[${i}]`));
  return { ...(v as BaselineFile), records };
}

export function readBaselineFile(path: string): BaselineFile {
  return parseBaselineFile(readTextFile(path), path);
}

export function makeBaselineFile(name: string, records: RunRecord[], note?: string | null): BaselineFile {
  return {
    format: BASELINE_FORMAT,
    formatVersion: BASELINE_FORMAT_VERSION,
    name,
    createdAt: new Date().toISOString(),
    fingerprint: records[0]?.environment.fingerprint ?? '',
    scenarioId: records[0]?.scenario.id ?? '',
    note: note ?? null,
    records,
  };
}

export interface SelectedBaseline {
  source: 'named' | 'file' | 'records' | 'history' | 'none';
  description: string;
  records: RunRecord[];
  /** Between-session noise per metric measured from the store's history for this testbed and scenario. */
  noise: Partial<Record<MetricId, Noise>>;
  changePoint?: { index: number; sessionsAfter: number; relative: number; p: number; persists: boolean } | null;
  /** What the store's history on this testbed and scenario says (sessions, latest change point). */
  history?: string;
}

function describeHistory(h: { series: unknown[]; metric?: MetricId; change: SelectedBaseline['changePoint'] }): string | undefined {
  if (h.series.length === 0) return undefined;
  const base = `history: ${h.series.length} stable session(s) on this testbed and scenario`;
  if (!h.change) return `${base}; no change point in ${h.metric} (E-divisive, permutation test at 5%)`;
  const c = h.change;
  return `${base}; latest change in ${h.metric}: ${c.relative >= 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}% at session ${c.index + 1} (p = ${c.p.toFixed(3)}), ${
    c.persists ? `persists (${c.sessionsAfter} sessions since)` : `not yet persistent (${c.sessionsAfter} session(s) since)`
  }`;
}

export interface HistoryWindowOptions extends RunModelOptions {
  /** Most recent stable sessions to use as the history baseline (default 5). */
  recent?: number;
  /** Sessions to leave out (the candidate's). */
  exclude?: readonly string[];
  /** The metric whose history decides the change point (default goodput, or the first present). */
  metric?: MetricId;
}

/** Session-level series of a metric (median of run values per session), oldest first. */
function sessionSeries(runs: readonly RunSummary[], metric: MetricId): Array<{ sessionId: string; startedAt: string; value: number }> {
  const out: Array<{ sessionId: string; startedAt: string; value: number }> = [];
  for (const [id, list] of groupBySession(runs)) {
    const vals = list.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined);
    if (vals.length === 0) continue;
    out.push({ sessionId: id, startedAt: list[0].startedAt, value: quantileSorted(Float64Array.from(vals).sort(), 0.5) });
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/**
 * History for one testbed and scenario: stable sessions (all runs completed and none unsteady) oldest
 * first, the latest persistent change point in a metric, the recent window after it, and the between-session
 * noise measured over the stable window.
 */
function historyWindow(store: HistoryStore, fingerprint: string, scenarioId: string, options: HistoryWindowOptions = {}) {
  const exclude = new Set(options.exclude ?? []);
  const sessions = store.sessions({ fingerprint, scenarioId }).filter((s) => !exclude.has(s.id));
  const records = store.records(sessions.map((s) => s.id).reverse());
  const runs = records.map((r) => summarizeRun(r, options));
  const stableIds = new Set<string>();
  for (const [id, list] of groupBySession(runs)) {
    if (list.every((r) => r.state === 'completed' && r.steadiness.status !== 'unsteady')) stableIds.add(id);
  }
  const stableRuns = runs.filter((r) => stableIds.has(r.sessionId));
  const metric: MetricId | undefined =
    options.metric ?? (['goodput', 'latencyP50', 'requestRate', 'handshakeRate'] as MetricId[]).find((m) => stableRuns.some((r) => r.metrics[m] !== undefined));
  const series = metric ? sessionSeries(stableRuns, metric) : [];
  const change = series.length >= 6 ? latestChange(series.map((s) => Math.log(s.value)), { seed: 1 }) : { change: null, persists: false, pointsAfter: 0 };
  const afterChange = change.change && change.persists ? series.slice(change.change.index) : series;
  const windowIds = afterChange.slice(-(options.recent ?? 5)).map((s) => s.sessionId);
  const windowSet = new Set(windowIds);
  const noiseRuns = stableRuns.filter((r) => afterChange.some((s) => s.sessionId === r.sessionId));
  const noise: Partial<Record<MetricId, Noise>> = {};
  for (const m of ['goodput', 'latencyP50', 'latencyP99', 'requestRate', 'handshakeRate'] as MetricId[]) {
    const n = sessionNoise(noiseRuns, m, 'history');
    if (n) noise[m] = n;
  }
  return {
    series,
    metric,
    change: change.change ? { index: change.change.index, sessionsAfter: change.pointsAfter, relative: Math.exp(change.change.meanAfter - change.change.meanBefore) - 1, p: change.change.p, persists: change.persists } : null,
    window: records.filter((r) => windowSet.has(r.session.id)),
    noise,
  };
}

/**
 * Picks the baseline for a candidate: a named baseline when asked for (an error if it does not exist),
 * else the recent stable history on the candidate's testbed and scenario, else none.
 */
export function selectBaseline(
  store: HistoryStore | undefined,
  candidate: readonly RunRecord[],
  options: HistoryWindowOptions & { name?: string } = {},
): SelectedBaseline {
  const fingerprint = candidate[0]?.environment.fingerprint;
  const scenarioId = candidate[0]?.scenario.id;
  const history =
    store && fingerprint && scenarioId
      ? historyWindow(store, fingerprint, scenarioId, { ...options, exclude: [...(options.exclude ?? []), ...new Set(candidate.map((r) => r.session.id))] })
      : undefined;
  if (options.name !== undefined) {
    const records = store?.baselineRecords(options.name);
    if (!records) throw new StoqError('INVALID_ARGUMENT', `no baseline named "${options.name}" (see: stoq-bench baseline list)`);
    return { source: 'named', description: `baseline "${options.name}" (${records.length} runs)`, records, noise: history?.noise ?? {}, changePoint: history?.change, history: history && describeHistory(history) };
  }
  if (history && history.window.length > 0) {
    const sessions = new Set(history.window.map((r) => r.session.id)).size;
    const cp = history.change && history.change.persists ? `, after a change of ${(history.change.relative * 100).toFixed(1)}% (p = ${history.change.p.toFixed(3)})` : '';
    return {
      source: 'history',
      description: `recent stable history: ${sessions} session(s), ${history.window.length} runs on this testbed and scenario${cp}`,
      records: history.window,
      noise: history.noise,
      changePoint: history.change,
      history: describeHistory(history),
    };
  }
  return { source: 'none', description: 'no baseline: no named baseline given and no stable history for this testbed and scenario', records: [], noise: {}, history: history && describeHistory(history) };
}
