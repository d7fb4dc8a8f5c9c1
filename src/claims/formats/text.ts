// Claims as text: one block per claim (where, the figure, the verdict, the rule applied, what was measured),
// one line per hard-coded figure, and a summary.
import { formatLevel } from '../../stats/run-model.js';
import { summaryLine, type ClaimsReport } from '../report.js';

const COLOR: Record<string, number> = { BACKED: 32, CONTRADICTED: 31, INCONCLUSIVE: 33, UNBACKED: 33, 'HARD-CODED': 31 };

export function renderText(r: ClaimsReport, color = false): string {
  const paint = (v: string) => (color ? `\x1b[${COLOR[v] ?? 0}m${v}\x1b[0m` : v);
  const out: string[] = [`claims checked against ${r.evidence}; intervals at ${formatLevel(r.level)} (two-sided)`];
  for (const c of r.claims) {
    out.push(`${c.source}:${c.line}  "${c.text}"  ${paint(c.verdict)}: ${c.reason}`);
    out.push(`    ${c.metric}, ${c.phrase === c.text ? '' : `read as "${c.phrase}", `}rule: ${c.rule}`);
  }
  for (const f of r.findings) {
    out.push(`${f.source}:${f.line}:${f.column}  ${f.text}  ${paint('HARD-CODED')}: ${f.kind === 'literal' ? `a performance figure bound to ${f.name}` : 'a performance figure in a string'}${f.where === 'code' ? '' : ` (${f.where})`}`);
  }
  out.push(summaryLine(r));
  return `${out.join('\n')}\n`;
}
