// Claims as GitHub Actions workflow commands: an annotation on the file and line of every claim that is not
// backed and every hard-coded figure (error when it fails the check, warning when it was not judged), and a
// notice with the summary.
import { visible } from '../../escape.js';
import { summaryLine, type ClaimsReport } from '../report.js';

/**
 * Workflow-command escaping: data escapes %, CR, LF; properties also : and ,. Text from the documents is made
 * visible first (`lines`: our own line breaks kept), so no control character reaches the log.
 */
const data = (s: string) => visible(s, true).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const property = (s: string) => data(visible(s)).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function renderGithub(r: ClaimsReport): string {
  const out: string[] = [];
  for (const c of r.claims) {
    if (c.verdict === 'BACKED') continue;
    const level = c.verdict === 'CONTRADICTED' ? 'error' : 'warning';
    out.push(`::${level} file=${property(c.source)},line=${c.line},col=${c.column},title=${property(`${c.verdict} claim: ${c.phrase}`)}::${data(`${c.verdict}: ${visible(c.reason)}\nrule: ${visible(c.rule)}`)}`);
  }
  for (const f of r.findings) {
    out.push(`::error file=${property(f.source)},line=${f.line},col=${f.column},title=${property(`HARD-CODED figure: ${f.text}`)}::${data(`a performance figure ${f.kind === 'literal' ? `bound to ${f.name}` : 'in a string'} (${f.where}); measure it instead of stating it`)}`);
  }
  out.push(`::notice title=stoq-bench claims::${data(summaryLine(r))}`);
  return `${out.join('\n')}\n`;
}
