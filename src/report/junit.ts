// JUnit XML: one test case per metric and per expectation. A Regression (or an SLO breached with
// confidence) and a failed expectation are failures; a run that did not complete is an error; a metric
// that could not be judged (Invalid) is skipped with the reason.
import { baselineText, fmtInterval, fmtMetric, fmtRatio, scenarioGroups, type ReportInput } from './model.js';
import { escapeXml } from '../escape.js';
import { formatLevel } from '../units.js';

interface Case {
  classname: string;
  name: string;
  time: number;
  failure?: { type: string; message: string; body: string };
  error?: { type: string; message: string; body: string };
  skipped?: string;
  out?: string;
}

interface Suite {
  name: string;
  timestamp?: string;
  cases: Case[];
}

function recordsSuites(input: Extract<ReportInput, { kind: 'records' }>, level: number): Suite[] {
  return scenarioGroups(input.records, level).map((g) => {
    const cases: Case[] = [];
    const duration = g.runs.reduce((s, r) => s + r.record.end.durationS, 0);
    const classname = `stoq-bench.runs.${g.kind}`;
    for (const m of g.metrics) {
      cases.push({
        classname,
        name: m.label,
        time: 0,
        out: `${m.label}: median ${fmtMetric(m.metric, m.centre)} across ${m.n} run(s), ${formatLevel(level)} interval ${fmtInterval(m.metric, m.lower, m.upper)} (${m.method})`,
      });
    }
    for (const r of g.runs) {
      const e = r.record.end;
      const c: Case = { classname, name: `${r.label} completed`, time: e.durationS };
      if (e.state !== 'completed') {
        c.error = {
          type: e.state,
          message: `${r.label} ${e.state}${e.error ? `: ${e.error.code}: ${e.error.message}` : ''}`,
          body: JSON.stringify(e, null, 2),
        };
      } else if (r.summary.steadiness.status === 'unsteady') {
        c.out = `unsteady: ${r.summary.steadiness.reasons.join('; ')}`;
      }
      cases.push(c);
    }
    return { name: `${input.file}: ${g.kind} (scenario ${g.scenarioId}, ${g.runs.length} runs, ${duration.toFixed(1)} s measured)`, timestamp: g.runs[0]?.record.startedAt, cases };
  });
}

function comparisonSuite(input: Extract<ReportInput, { kind: 'comparison' }>): Suite {
  const c = input.comparison;
  const level = c.level ?? 0.9;
  const cases: Case[] = (c.metrics ?? []).map((m) => {
    const details = [
      `baseline ${fmtMetric(m.metric, m.baseline.centre)} ${fmtInterval(m.metric, m.baseline.lower, m.baseline.upper)} (${m.baseline.n} runs)`,
      `candidate ${fmtMetric(m.metric, m.candidate.centre)} ${fmtInterval(m.metric, m.candidate.lower, m.candidate.upper)} (${m.candidate.n} runs)`,
      `candidate/baseline - 1: ${fmtRatio(m.ratio.estimate)} [${fmtRatio(m.ratio.lower)}, ${fmtRatio(m.ratio.upper)}] (${formatLevel(level)}, ${m.ratio.method})`,
      `threshold ${(m.threshold.tau * 100).toFixed(2)}% (log), ${m.threshold.noiseSource}`,
      ...(m.slo ? [`SLO ${m.slo.text}: ${m.slo.breached ? 'breached with confidence' : 'not breached'}`] : []),
      `verdict ${m.verdict}${m.severity ? ` (${m.severity})` : ''}: ${m.reason}`,
    ].join('\n');
    const kase: Case = { classname: 'stoq-bench.compare', name: m.label, time: 0, out: details };
    if (m.verdict === 'Regression' || m.severity === 'Critical') {
      kase.failure = { type: m.severity ? `${m.verdict}:${m.severity}` : m.verdict, message: `${m.verdict}${m.severity ? ` (${m.severity})` : ''}: ${m.reason}`, body: details };
    } else if (m.verdict === 'Invalid') {
      kase.skipped = `Invalid: ${m.reason}`;
    }
    return kase;
  });
  if (cases.length === 0) {
    cases.push({ classname: 'stoq-bench.compare', name: 'comparison', time: 0, skipped: `${c.verdict}: ${c.gates?.reasons.join('; ') || baselineText(c)}` });
  }
  return { name: `${input.file}: compare (${c.verdict}) against ${baselineText(c)}`, cases };
}

function validationSuite(input: Extract<ReportInput, { kind: 'validation' }>): Suite {
  const v = input.validation;
  return {
    name: `${input.file}: validate (${v.passed ? 'PASS' : 'FAIL'}) ${v.source}`,
    cases: v.expectations.map((e) => {
      const details = `measured ${e.measured ? fmtMetric(e.metric, e.measured.centre) : 'n/a'}, ${formatLevel(v.level)} interval ${fmtInterval(e.metric, e.measured?.lower, e.measured?.upper)}${e.measured ? ` (${e.measured.method})` : ''}; bound ${fmtMetric(e.metric, e.bound)}: ${e.reason}`;
      const kase: Case = { classname: 'stoq-bench.validate', name: e.text, time: 0, out: details };
      if (e.verdict !== 'PASS') kase.failure = { type: e.verdict === 'FAIL' ? 'ExpectationNotMet' : 'ExpectationNotJudged', message: `${e.text}: ${e.reason}`, body: details };
      return kase;
    }),
  };
}

function caseXml(c: Case): string {
  const attrs = `classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="${c.time.toFixed(3)}"`;
  const inner: string[] = [];
  if (c.failure) inner.push(`      <failure type="${escapeXml(c.failure.type)}" message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.body, true)}</failure>`);
  if (c.error) inner.push(`      <error type="${escapeXml(c.error.type)}" message="${escapeXml(c.error.message)}">${escapeXml(c.error.body, true)}</error>`);
  if (c.skipped) inner.push(`      <skipped message="${escapeXml(c.skipped)}"/>`);
  if (c.out) inner.push(`      <system-out>${escapeXml(c.out, true)}</system-out>`);
  return inner.length ? `    <testcase ${attrs}>\n${inner.join('\n')}\n    </testcase>` : `    <testcase ${attrs}/>`;
}

function counts(cases: Case[]) {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.failure).length,
    errors: cases.filter((c) => c.error).length,
    skipped: cases.filter((c) => c.skipped).length,
    time: cases.reduce((s, c) => s + c.time, 0),
  };
}

/** The whole report as JUnit XML (the schema Jenkins, GitLab and GitHub test reporters read). */
export function renderJunit(inputs: readonly ReportInput[], options: { title?: string; level?: number } = {}): string {
  const level = options.level ?? 0.95;
  const suites: Suite[] = inputs.flatMap((input) =>
    input.kind === 'records' ? recordsSuites(input, level) : input.kind === 'comparison' ? [comparisonSuite(input)] : [validationSuite(input)],
  );
  const all = counts(suites.flatMap((s) => s.cases));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(options.title ?? 'stoq-bench')}" tests="${all.tests}" failures="${all.failures}" errors="${all.errors}" skipped="${all.skipped}" time="${all.time.toFixed(3)}">`,
  ];
  suites.forEach((s, i) => {
    const n = counts(s.cases);
    lines.push(
      `  <testsuite name="${escapeXml(s.name)}" id="${i}" tests="${n.tests}" failures="${n.failures}" errors="${n.errors}" skipped="${n.skipped}" time="${n.time.toFixed(3)}"${s.timestamp ? ` timestamp="${escapeXml(s.timestamp.replace(/Z$/, ''))}"` : ''}>`,
      ...s.cases.map(caseXml),
      '  </testsuite>',
    );
  });
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
