// Reports people look at: the inputs (run records, a comparison from `compare --json`, a validation from
// `validate --json`), their per-scenario overview (one number per run and metric, the median across runs
// with its interval), and the Markdown rendering (a CI step summary). JUnit and HTML render the same model.
import type { MetricComparison } from '../grading/compare.js';
import { sideSummary } from '../grading/compare.js';
import { formatValue } from '../grading/format.js';
import type { RunRecord } from '../record.js';
import { groupBySession, METRICS, METRIC_IDS, summarizeRun, type MetricId, type RunSummary } from '../stats/run-model.js';
import type { ScenarioKind } from '../scenario.js';
import { formatBytes, formatRate } from '../units.js';
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

export const pctLevel = (level: number) => `${+(level * 100).toFixed(2)}%`;

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
    lost: `${e.lost ?? 0} / ${e.retrans ?? 0}`,
    steadiness: row.summary.steadiness.status + (row.summary.steadiness.reasons.length ? `: ${row.summary.steadiness.reasons.join('; ')}` : ''),
  };
}

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function mdTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function recordsMarkdown(input: Extract<ReportInput, { kind: 'records' }>, level: number): string[] {
  const out: string[] = [`## Runs: ${input.file}`, ''];
  for (const g of scenarioGroups(input.records, level)) {
    out.push(
      `### ${g.kind} (scenario \`${g.scenarioId}\`): ${g.runs.length} run(s), testbed ${g.fingerprints.map((f) => `\`${f}\``).join(', ')}`,
      '',
    );
    if (g.metrics.length > 0) {
      out.push(
        mdTable(
          ['metric', `median across runs`, `${pctLevel(level)} interval`, 'runs', 'method'],
          g.metrics.map((m) => [m.label, fmtMetric(m.metric, m.centre), fmtInterval(m.metric, m.lower, m.upper), String(m.n), m.method]),
        ),
        '',
      );
    }
    out.push(
      mdTable(
        ['run', 'state', 'duration', 'transferred', 'goodput', 'steady goodput', 'p50', 'p99', 'rate', 'lost / retrans', 'steadiness'],
        g.runs.map((r) => {
          const f = runFigures(r);
          return [r.label, f.state, f.duration, f.transferred, f.goodput, f.steady, f.p50, f.p99, f.rate, f.lost, f.steadiness];
        }),
      ),
      '',
    );
    if (g.failed.length > 0) out.push(`**${g.failed.length} run(s) did not complete.**`, '');
  }
  return out;
}

function comparisonMarkdown(input: Extract<ReportInput, { kind: 'comparison' }>): string[] {
  const c = input.comparison;
  const level = c.level ?? 0.9;
  const out: string[] = [
    `## Comparison: ${input.file}`,
    '',
    `**Verdict: ${c.verdict}**${c.failed === undefined ? '' : c.failed ? ` (gate FAILED at ${c.failOn})` : ` (gate passed, fail-on ${c.failOn})`}`,
    '',
    `- baseline: ${baselineText(c)}`,
    ...(c.candidate ? [`- candidate: ${c.candidate}`] : []),
    ...(c.history ? [`- history: ${c.history}`] : []),
    ...(c.tier?.name ? [`- tier: ${c.tier.name} (${c.tier.basis})`] : []),
    '',
  ];
  if (c.gates && !c.gates.ok) out.push('Gates failed:', '', ...c.gates.reasons.map((r) => `- ${r}`), '');
  if (c.metrics && c.metrics.length > 0) {
    out.push(
      mdTable(
        ['metric', 'baseline', 'candidate', `candidate/baseline - 1 (${pctLevel(level)})`, 'p (adjusted)', 'verdict', 'severity', 'reason'],
        c.metrics.map((m) => [
          m.label,
          `${fmtMetric(m.metric, m.baseline.centre)} ${fmtInterval(m.metric, m.baseline.lower, m.baseline.upper)}`,
          `${fmtMetric(m.metric, m.candidate.centre)} ${fmtInterval(m.metric, m.candidate.lower, m.candidate.upper)}`,
          `${fmtRatio(m.ratio.estimate)} [${fmtRatio(m.ratio.lower)}, ${fmtRatio(m.ratio.upper)}]`,
          m.test.pAdjusted === null || m.test.pAdjusted === undefined || !Number.isFinite(m.test.pAdjusted) ? 'n/a' : m.test.pAdjusted.toPrecision(3),
          m.verdict,
          m.severity ?? '-',
          m.reason,
        ]),
      ),
      '',
    );
  }
  return out;
}

function validationMarkdown(input: Extract<ReportInput, { kind: 'validation' }>): string[] {
  const v = input.validation;
  return [
    `## Validation: ${input.file}`,
    '',
    `**${v.passed ? 'PASS' : 'FAIL'}**: ${v.expectations.filter((e) => e.verdict === 'PASS').length} of ${v.expectations.length} expectation(s) met (${v.source})`,
    '',
    mdTable(
      ['expectation', 'measured', `${pctLevel(v.level)} interval`, 'bound', 'result', 'reason'],
      v.expectations.map((e) => [
        e.text,
        e.measured ? fmtMetric(e.metric, e.measured.centre) : 'n/a',
        fmtInterval(e.metric, e.measured?.lower, e.measured?.upper),
        fmtMetric(e.metric, e.bound),
        e.verdict === 'PASS' ? 'PASS' : '**FAIL**',
        e.reason,
      ]),
    ),
    '',
  ];
}

/** The whole report as Markdown (GitHub-flavoured tables; fits a CI step summary). */
export function renderMarkdown(inputs: readonly ReportInput[], options: { title?: string; level?: number } = {}): string {
  const level = options.level ?? 0.95;
  const out: string[] = [`# ${options.title ?? 'stoq-bench report'}`, ''];
  for (const input of inputs) {
    if (input.kind === 'records') out.push(...recordsMarkdown(input, level));
    else if (input.kind === 'comparison') out.push(...comparisonMarkdown(input));
    else out.push(...validationMarkdown(input));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
