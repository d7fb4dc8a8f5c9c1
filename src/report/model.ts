// The report model: the inputs people look at (run records, a comparison from `compare --json`, a validation
// from `validate --json`), their per-scenario overview (one number per run and metric, the median across runs
// with its interval), and the figures as every renderer prints them. The renderers (Markdown, JUnit, HTML)
// each render this one model (see ./index.ts).
import type { MetricComparison } from '../grading/compare.js';
import { sideSummary } from '../grading/compare.js';
import { formatValue } from '../grading/format.js';
import type { RunRecord } from '../record.js';
import { groupBySession, METRICS, METRIC_IDS, summarizeRun, type MetricId, type RunSummary } from '../stats/run-model.js';
import type { ScenarioKind } from '../scenario.js';
import { dataSenders } from '../kinds.js';
import { runLimit } from '../grading/limits.js';
import { formatBytes, formatMicros, formatRate } from '../units.js';
import type { Validation } from '../grading/validate.js';

/** `stoq-bench compare --json` output (non-finite numbers became null). */
export interface ComparisonReport {
  baseline: string | { source: string; description: string };
  candidate?: string;
  history?: string | null;
  failOn?: string;
  failed?: boolean;
  level?: number;
  verdict: string;
  gates?: { ok: boolean; reasons: string[] };
  metrics?: MetricComparison[];
  tier?: { name: string | null; basis: string; lowerBps: number } | null;
  runs?: { baseline: number; candidate: number };
}

export type ReportInput =
  | { file: string; kind: 'records'; records: RunRecord[] }
  | { file: string; kind: 'comparison'; comparison: ComparisonReport }
  | { file: string; kind: 'validation'; validation: Validation };

export interface RunRow {
  label: string;
  record: RunRecord;
  summary: RunSummary;
}

export interface MetricOverview {
  metric: MetricId;
  label: string;
  n: number;
  centre: number;
  lower: number | null;
  upper: number | null;
  method: string;
}

/** The runs of one scenario (same scenario id) with their across-run figures. */
export interface ScenarioGroup {
  scenarioId: string;
  kind: ScenarioKind;
  fingerprints: string[];
  runs: RunRow[];
  metrics: MetricOverview[];
  failed: RunRow[];
  unsteady: RunRow[];
}

/** Groups records by scenario and reduces each run to one number per metric (the stats module's run model). */
export function scenarioGroups(records: readonly RunRecord[], level: number): ScenarioGroup[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) groups.set(r.scenario.id, [...(groups.get(r.scenario.id) ?? []), r]);
  return [...groups.entries()].map(([scenarioId, list]) => {
    const multiSession = new Set(list.map((r) => r.session.id)).size > 1;
    const runs: RunRow[] = list.map((record) => ({
      label: multiSession ? `${record.session.id.slice(0, 8)}#${record.session.run + 1}` : `run ${record.session.run + 1}`,
      record,
      summary: summarizeRun(record, { level }),
    }));
    const completed = runs.filter((r) => r.summary.state === 'completed');
    const metrics: MetricOverview[] = [];
    for (const metric of METRIC_IDS) {
      const with_ = completed.filter((r) => r.summary.metrics[metric] !== undefined);
      if (with_.length === 0) continue;
      const values = with_.map((r) => r.summary.metrics[metric] as number);
      const s = sideSummary(values, groupBySession(with_.map((r) => r.summary)).size, level);
      metrics.push({
        metric,
        label: METRICS[metric].label,
        n: s.n,
        centre: s.centre,
        lower: Number.isFinite(s.lower) ? s.lower : null,
        upper: Number.isFinite(s.upper) ? s.upper : null,
        method: s.method,
      });
    }
    return {
      scenarioId,
      kind: list[0].scenario.kind,
      fingerprints: [...new Set(list.map((r) => r.environment.fingerprint))],
      runs,
      metrics,
      failed: runs.filter((r) => r.summary.state !== 'completed'),
      unsteady: runs.filter((r) => r.summary.steadiness.status === 'unsteady'),
    };
  });
}

export function fmtMetric(metric: MetricId | string, v: number | null | undefined): string {
  return metric in METRICS ? formatValue(metric as MetricId, v) : v === null || v === undefined ? 'n/a' : String(v);
}

export function fmtInterval(metric: MetricId | string, lower: number | null | undefined, upper: number | null | undefined): string {
  if (lower === null || lower === undefined || upper === null || upper === undefined || !Number.isFinite(lower) || !Number.isFinite(upper)) return 'n/a';
  return `[${fmtMetric(metric, lower)}, ${fmtMetric(metric, upper)}]`;
}

export function fmtRatio(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(1)}%`;
}

export function baselineText(c: ComparisonReport): string {
  return typeof c.baseline === 'string' ? c.baseline : c.baseline.description;
}

/** The data sender's packets lost and retransmitted, labelled with its side (`-` where its side is unknown). */
function senderLosses(r: RunRecord): string {
  const senders = dataSenders(r.scenario);
  const sides = senders.length > 0 ? senders : (['client'] as const);
  return sides.map((s) => (r.end[s] ? `${r.end[s].lost} / ${r.end[s].retrans} (${s})` : `- (${s} unknown)`)).join(', ');
}

/** A one-line account of a run: its state and headline figures. */
export function runFigures(row: RunRow): Record<string, string> {
  const e = row.record.end;
  const m = row.summary.metrics;
  return {
    state: e.state + (e.error ? ` (${e.error.code})` : ''),
    duration: `${e.durationS.toFixed(2)} s`,
    transferred: formatBytes(e.bytesSent + e.bytesReceived),
    goodput: formatRate(e.goodputBps),
    steady: m.goodput !== undefined ? formatRate(m.goodput) : '-',
    p50: m.latencyP50 !== undefined ? fmtMetric('latencyP50', m.latencyP50) : '-',
    p99: m.latencyP99 !== undefined ? fmtMetric('latencyP99', m.latencyP99) : '-',
    rate: m.requestRate !== undefined ? `${m.requestRate.toFixed(0)}/s` : m.handshakeRate !== undefined ? `${m.handshakeRate.toFixed(0)}/s` : '-',
    lost: senderLosses(row.record),
    limit: row.record.end.state === 'completed' ? runLimit(row.record).reason : '-',
    steadiness: row.summary.steadiness.status + (row.summary.steadiness.reasons.length ? `: ${row.summary.steadiness.reasons.join('; ')}` : ''),
  };
}

/** A merged session of many clients as every renderer shows it: what holds for the session, then one row per client. */
export interface FleetView {
  /** Sentences about the session: the start instant, the steady span, how latency was merged, fairness, late or unsynchronised clients, notes. */
  lines: string[];
  header: string[];
  /** One row per client, by index; "-" where a figure has nothing behind it. */
  rows: string[][];
}

const dash = (v: number | null | undefined, f: (x: number) => string) => (v === null || v === undefined ? '-' : f(v));

/** The view of a merged session (a record with `fleet`); null for one client's run. */
export function fleetView(r: RunRecord): FleetView | null {
  const f = r.fleet;
  if (!f) return null;
  const rateLabel = r.end.handshakesPerSecond !== undefined ? 'hs/s' : 'req/s';
  const lines = [
    `${f.clients.length} client(s), each running scenario ${f.clientScenarioId}; the session's scenario ${r.scenario.id} is theirs times ${f.clients.length}`,
    f.startAt ? `started together at ${f.startAt}` : 'not started together (no common start instant)',
  ];
  if (f.steady) {
    const bits = r.intervals.reduce((s, iv) => s + (iv.bytesSent + iv.bytesReceived) * 8, 0);
    lines.push(
      `every client running from ${f.steady.startS.toFixed(3)} s to ${f.steady.endS.toFixed(3)} s (${f.steady.durationS.toFixed(3)} s): the steady span, which the intervals and the rate cover; goodput of all clients in it ${formatRate(bits / f.steady.durationS)}`,
    );
  } else {
    lines.push('no span where every client was running: no intervals, no rate');
  }
  if (f.latencyFrom) lines.push(`latency of all clients from ${f.latencyFrom === 'merged-histograms' ? "their HdrHistograms, summed" : 'a histogram of their raw samples (a record carries no histogram)'}`);
  if (f.fairness) {
    const share = f.fairness.metric === 'goodput' ? 'goodput' : rateLabel;
    lines.push(`fairness: Jain's index ${f.fairness.index.toFixed(4)} over ${f.fairness.n} clients' steady ${share} (1 = equal shares, ${f.fairness.worst.toFixed(3)} = one client has all)`);
  }
  const late = f.clients.filter((c) => c.late);
  if (late.length) lines.push(`late: client(s) ${late.map((c) => c.index).join(', ')} started beyond their tolerance`);
  const unsynced = f.clients.filter((c) => c.clock && c.clock.synchronized !== true);
  if (unsynced.length) {
    lines.push(`clock sync not confirmed on client(s) ${unsynced.map((c) => `${c.index} (${c.clock!.synchronized === false ? 'unsynchronised' : 'unknown'})`).join(', ')}: their clocks' offsets limit the alignment`);
  }
  lines.push(...f.notes.map((n) => `note: ${n}`));
  const rated = f.clients.some((c) => c.steadyRate !== null);
  return {
    lines,
    header: ['client', 'record', 'host', 'state', 'late', 'transferred', 'steady goodput', ...(rated ? [`steady ${rateLabel}`] : []), 'p50', 'p99'],
    rows: f.clients.map((c) => [
      String(c.index),
      c.source,
      c.host ?? '-',
      c.state + (c.error ? ` (${c.error.code})` : ''),
      c.lateUs === null ? '-' : `${(c.lateUs / 1e3).toFixed(1)} ms${c.late ? ' (late)' : ''}`,
      dash(c.bytesSent === null || c.bytesReceived === null ? null : c.bytesSent + c.bytesReceived, formatBytes),
      dash(c.steadyGoodputBps, formatRate),
      ...(rated ? [dash(c.steadyRate, (x) => x.toFixed(0))] : []),
      dash(c.latency?.p50Us, formatMicros),
      dash(c.latency?.p99Us, formatMicros),
    ]),
  };
}
