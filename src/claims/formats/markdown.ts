// Claims as a Markdown step summary: one table row per claim and per hard-coded figure.
import { escapeMarkdown as cell } from '../../escape.js';
import { formatLevel } from '../../stats/run-model.js';
import { describeMeasured, FORM_LABEL } from '../check.js';
import { summaryLine, type ClaimsReport } from '../report.js';

const MARK: Record<string, string> = { BACKED: 'BACKED', CONTRADICTED: '**CONTRADICTED**', INCONCLUSIVE: '*INCONCLUSIVE*', UNBACKED: '*UNBACKED*' };

export function renderMarkdown(r: ClaimsReport): string {
  const out = [`## stoq-bench claims`, '', `${summaryLine(r)}. Evidence: ${cell(r.evidence)}; intervals at ${formatLevel(r.level)} (two-sided).`, ''];
  if (r.claims.length > 0) {
    out.push('| where | claim | metric | rule | measured | verdict | reason |', '|---|---|---|---|---|---|---|');
    for (const c of r.claims) {
      const measured = c.measured ? describeMeasured(c.measured, (v) => String(+v.toPrecision(4))).split(';')[0] : '-';
      out.push(`| ${cell(`${c.source}:${c.line}`)} | ${cell(c.phrase)} | ${cell(c.metric)} | ${cell(`${FORM_LABEL[c.form]}: ${c.rule}`)} | ${cell(measured)} | ${MARK[c.verdict]} | ${cell(c.reason)} |`);
    }
    out.push('');
  }
  if (r.findings.length > 0) {
    out.push('| where | hard-coded figure | bound to | in |', '|---|---|---|---|');
    for (const f of r.findings) out.push(`| ${cell(`${f.source}:${f.line}`)} | ${cell(f.text)} | ${cell(f.kind === 'literal' ? f.name : '(a string)')} | ${cell(f.where)} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
