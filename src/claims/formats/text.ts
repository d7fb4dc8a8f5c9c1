// Claims as text: one block per claim (where, the figure, the verdict, the rule applied, what was measured),
// one line per hard-coded figure, and a summary.
import { visible } from '../../escape.js';
import { formatLevel } from '../../stats/run-model.js';
import { summaryLine, type ClaimsReport } from '../report.js';

const COLOR: Record<string, number> = { BACKED: 32, CONTRADICTED: 31, INCONCLUSIVE: 33, UNBACKED: 33, 'HARD-CODED': 31 };

export function renderText(r: ClaimsReport, color = false): string {
  const paint = (v: string) => (color ? `\x1b[${COLOR[v] ?? 0}m${v}\x1b[0m` : v);
  // what comes from the documents is shown, never acted on (a control character in a file name or a line)
  const v = visible;
  const out: string[] = [`claims checked against ${v(r.evidence)}; intervals at ${formatLevel(r.level)} (two-sided)`];
  for (const c of r.claims) {
    out.push(`${v(c.source)}:${c.line}  "${v(c.text)}"  ${paint(c.verdict)}: ${v(c.reason)}`);
    out.push(`    ${c.metric}, ${c.phrase === c.text ? '' : `read as "${v(c.phrase)}", `}rule: ${v(c.rule)}`);
  }
  for (const f of r.findings) {
    out.push(`${v(f.source)}:${f.line}:${f.column}  ${v(f.text)}  ${paint('HARD-CODED')}: ${f.kind === 'literal' ? `a performance figure bound to ${v(f.name)}` : 'a performance figure in a string'}${f.where === 'code' ? '' : ` (${f.where})`}`);
  }
  out.push(summaryLine(r));
  return `${out.join('\n')}\n`;
}
