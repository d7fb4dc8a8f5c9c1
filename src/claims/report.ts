// The result of `stoq-bench claims`: checked claims and hard-coded findings, with their counts and the exit
// code they give. Every renderer (src/claims/formats/) reads this one model.
import type { CheckedClaim, ClaimVerdict } from './check.js';
import type { Finding } from './hardcoded.js';

export interface ClaimsReport {
  kind: 'stoq-bench.claims';
  /** Two-sided confidence level of every interval, and the tolerance of "about". */
  level: number;
  tolerance: number;
  /** Where the measurements came from, in words. */
  evidence: string;
  claims: CheckedClaim[];
  /** Hard-coded figures reported (comments and tests only when asked for). */
  findings: Finding[];
  counts: Record<ClaimVerdict, number> & { hardcoded: number };
}

export function makeReport(parts: Omit<ClaimsReport, 'kind' | 'counts'>): ClaimsReport {
  const count = (v: ClaimVerdict) => parts.claims.filter((c) => c.verdict === v).length;
  return {
    kind: 'stoq-bench.claims',
    ...parts,
    counts: { BACKED: count('BACKED'), CONTRADICTED: count('CONTRADICTED'), INCONCLUSIVE: count('INCONCLUSIVE'), UNBACKED: count('UNBACKED'), hardcoded: parts.findings.length },
  };
}

/**
 * The outcome: failed on a contradicted claim or a hard-coded figure; not judged on an unbacked or
 * inconclusive claim (unless allowed); else ok.
 */
export function claimsOutcome(r: ClaimsReport, allow: { unbacked: boolean; inconclusive: boolean }): 'ok' | 'failed' | 'not judged' {
  if (r.counts.CONTRADICTED > 0 || r.counts.hardcoded > 0) return 'failed';
  if ((r.counts.UNBACKED > 0 && !allow.unbacked) || (r.counts.INCONCLUSIVE > 0 && !allow.inconclusive)) return 'not judged';
  return 'ok';
}

/** One summary line: `4 claim(s): 2 backed, 1 contradicted, 1 inconclusive, 0 unbacked; 1 hard-coded figure(s)`. */
export function summaryLine(r: ClaimsReport): string {
  const c = r.counts;
  return `${r.claims.length} claim(s): ${c.BACKED} backed, ${c.UNBACKED} unbacked, ${c.CONTRADICTED} contradicted, ${c.INCONCLUSIVE} inconclusive; ${c.hardcoded} hard-coded figure(s)`;
}
