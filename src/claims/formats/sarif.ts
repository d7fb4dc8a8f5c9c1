// Claims as SARIF 2.1.0 for code scanning, built with node-sarif-builder: one rule per verdict and one for
// hard-coded figures; BACKED claims are results of kind "pass".
import { SarifBuilder, SarifResultBuilder, SarifRuleBuilder, SarifRunBuilder } from 'node-sarif-builder';
import { VERSION } from '../../version.js';
import type { ClaimsReport } from '../report.js';

const RULES = [
  { id: 'claim-contradicted', short: 'A performance claim the measurements contradict', level: 'error' },
  { id: 'claim-inconclusive', short: 'A performance claim the measurements can neither back nor contradict', level: 'warning' },
  { id: 'claim-unbacked', short: 'A performance claim nothing measured', level: 'warning' },
  { id: 'claim-backed', short: 'A performance claim the confidence bound clears', level: 'none' },
  { id: 'hardcoded-figure', short: 'A performance figure written into source code instead of measured', level: 'error' },
] as const;

export function renderSarif(r: ClaimsReport): string {
  const run = new SarifRunBuilder().initSimple({ toolDriverName: 'stoq-bench claims', toolDriverVersion: VERSION });
  for (const rule of RULES) run.addRule(new SarifRuleBuilder().initSimple({ ruleId: rule.id, shortDescriptionText: rule.short }));
  const result = (ruleId: string, level: 'error' | 'warning' | 'none', message: string, file: string, line: number, column: number, pass = false) => {
    const b = new SarifResultBuilder().initSimple({ ruleId, level, messageText: message, fileUri: file, startLine: Math.max(1, line), startColumn: Math.max(1, column) });
    if (pass) b.result.kind = 'pass';
    run.addResult(b);
  };
  for (const c of r.claims) {
    const rule = RULES.find((x) => x.id === `claim-${c.verdict.toLowerCase()}`)!;
    result(rule.id, rule.level, `${c.verdict}: "${c.phrase}": ${c.reason} (rule: ${c.rule})`, c.source, c.line, c.column, c.verdict === 'BACKED');
  }
  for (const f of r.findings) {
    result('hardcoded-figure', 'error', `HARD-CODED: ${f.text}: a performance figure ${f.kind === 'literal' ? `bound to ${f.name}` : 'in a string'} (${f.where})`, f.source, f.line, f.column);
  }
  const log = new SarifBuilder();
  log.addRun(run);
  return `${log.buildSarifJsonString({ indent: true })}\n`;
}
