// The report as Markdown (GitHub-flavoured tables): a CI step summary.
import { baselineText, fleetView, fmtInterval, fmtMetric, fmtRatio, runFigures, scenarioGroups, type ReportInput } from './model.js';
import { escapeMarkdown as md, visible } from '../escape.js';
import { formatLevel } from '../units.js';

/**
 * Text in a code span: fenced by more backticks than it holds, and padded with a space on each side when it
 * starts or ends with a backtick or a space (a code span drops one such pair; it keeps text of spaces only).
 */
function code(text: string): string {
  const t = visible(text);
  if (t === '') return '';
  const fence = '`'.repeat(Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length)) + 1);
  const pad = /^[ `]|[ `]$/.test(t) && !/^ +$/.test(t) ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A table cell: text (escaped here), or Markdown of our own (`{ markdown: '**FAIL**' }`). */
type Cell = string | { markdown: string };
const cell = (c: Cell) => (typeof c === 'string' ? md(c) : c.markdown);

function mdTable(header: string[], rows: Cell[][]): string {
  return [
    `| ${header.map((h) => md(h)).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function recordsMarkdown(input: Extract<ReportInput, { kind: 'records' }>, level: number): string[] {
  const out: string[] = [`## Runs: ${md(input.file)}`, ''];
  for (const g of scenarioGroups(input.records, level)) {
    out.push(
      `### ${md(g.kind)} (scenario ${code(g.scenarioId)}): ${g.runs.length} run(s), testbed ${g.fingerprints.map(code).join(', ')}`,
      '',
    );
    if (g.metrics.length > 0) {
      out.push(
        mdTable(
          ['metric', `median across runs`, `${formatLevel(level)} interval`, 'runs', 'method'],
          g.metrics.map((m) => [m.label, fmtMetric(m.metric, m.centre), fmtInterval(m.metric, m.lower, m.upper), String(m.n), m.method]),
        ),
        '',
      );
    }
    out.push(
      mdTable(
        ['run', 'state', 'duration', 'transferred', 'goodput', 'steady goodput', 'p50', 'p99', 'rate', 'sender lost / retrans', 'limited by', 'steadiness'],
        g.runs.map((r) => {
          const f = runFigures(r);
          return [r.label, f.state, f.duration, f.transferred, f.goodput, f.steady, f.p50, f.p99, f.rate, f.lost, f.limit, f.steadiness];
        }),
      ),
      '',
    );
    if (g.failed.length > 0) out.push(`**${g.failed.length} run(s) did not complete.**`, '');
    for (const r of g.runs) {
      const fleet = fleetView(r.record);
      if (fleet) out.push(`#### Clients of ${r.label}`, '', ...fleet.lines.map((l) => `- ${cell(l)}`), '', mdTable(fleet.header, fleet.rows), '');
    }
  }
  return out;
}

function comparisonMarkdown(input: Extract<ReportInput, { kind: 'comparison' }>): string[] {
  const c = input.comparison;
  const level = c.level ?? 0.9;
  const out: string[] = [
    `## Comparison: ${md(input.file)}`,
    '',
    `**Verdict: ${md(c.verdict)}**${c.failed === undefined ? '' : c.failed ? ` (gate FAILED at ${md(String(c.failOn))})` : ` (gate passed, fail-on ${md(String(c.failOn))})`}`,
    '',
    `- baseline: ${md(baselineText(c))}`,
    ...(c.candidate ? [`- candidate: ${md(c.candidate)}`] : []),
    ...(c.history ? [`- history: ${md(c.history)}`] : []),
    ...(c.tier?.name ? [`- tier: ${md(c.tier.name)} (${md(c.tier.basis)})`] : []),
    '',
  ];
  if (c.gates && !c.gates.ok) out.push('Gates failed:', '', ...c.gates.reasons.map((r) => `- ${md(r, true)}`), '');
  if (c.metrics && c.metrics.length > 0) {
    out.push(
      mdTable(
        ['metric', 'baseline', 'candidate', `candidate/baseline - 1 (${formatLevel(level)})`, 'p (adjusted)', 'verdict', 'severity', 'reason'],
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
    `## Validation: ${md(input.file)}`,
    '',
    `**${v.passed ? 'PASS' : 'FAIL'}**: ${v.expectations.filter((e) => e.verdict === 'PASS').length} of ${v.expectations.length} expectation(s) met (${md(v.source)})`,
    '',
    mdTable(
      ['expectation', 'measured', `${formatLevel(v.level)} interval`, 'bound', 'result', 'reason'],
      v.expectations.map((e) => [
        e.text,
        e.measured ? fmtMetric(e.metric, e.measured.centre) : 'n/a',
        fmtInterval(e.metric, e.measured?.lower, e.measured?.upper),
        fmtMetric(e.metric, e.bound),
        e.verdict === 'PASS' ? 'PASS' : { markdown: `**${md(e.verdict)}**` },
        e.reason,
      ]),
    ),
    '',
  ];
}

/** The whole report as Markdown (GitHub-flavoured tables; fits a CI step summary). */
export function renderMarkdown(inputs: readonly ReportInput[], options: { title?: string; level?: number } = {}): string {
  const level = options.level ?? 0.95;
  const out: string[] = [`# ${md(options.title ?? 'stoq-bench report')}`, ''];
  for (const input of inputs) {
    if (input.kind === 'records') out.push(...recordsMarkdown(input, level));
    else if (input.kind === 'comparison') out.push(...comparisonMarkdown(input));
    else out.push(...validationMarkdown(input));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
