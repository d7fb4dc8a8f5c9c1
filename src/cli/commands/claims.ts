import { readFileSync } from 'node:fs';
import { extractClaims, type Claim } from '../../claims/extract.js';
import { StoqError } from '../../errors.js';
import { formatValue } from '../../grading/format.js';
import { isBaselineFile, parseBaselineFile } from '../../history/baseline.js';
import { parseRecords, type StoredRecord } from '../../records.js';
import { EXIT, type Command } from '../command.js';
import { EXPECTATIONS, validateRuns, type ExpectationResult } from './validate.js';

export type ClaimVerdict = 'backed' | 'unbacked' | 'contradicted';

export interface CheckedClaim extends Claim {
  verdict: ClaimVerdict;
  measured: ExpectationResult['measured'];
  runs: number;
  reason: string;
}

/** Run records from record files (JSON or JSON lines) or baseline files. */
function readEvidence(paths: readonly string[]): StoredRecord[] {
  return paths.flatMap((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new StoqError('INVALID_FILE', `--records: ${path}: cannot read (${code === 'ENOENT' ? 'no such file' : code})`);
    }
    try {
      const value: unknown = JSON.parse(text);
      if (isBaselineFile(value)) return parseBaselineFile(text, path).records;
    } catch {
      // not one JSON document: JSON lines of records
    }
    return parseRecords(text, path);
  });
}

/**
 * Checks each claim against the records: contradicted when the measurement's interval excludes it on the
 * unfavourable side, unbacked when nothing measured that metric, backed otherwise.
 */
export function checkClaims(claims: readonly Claim[], records: readonly StoredRecord[], level: number): CheckedClaim[] {
  return claims.map((claim) => {
    const spec = EXPECTATIONS.find((e) => e.metric === claim.metric)!;
    const [result] = validateRuns(records, [{ spec, limit: claim.value }], { level, source: 'claims' }).expectations;
    const m = result.measured;
    const show = (v: number) => formatValue(claim.metric, v);
    const base = { ...claim, measured: m, runs: result.runs.completed };
    if (!m || result.runs.completed === 0) {
      return { ...base, verdict: 'unbacked', reason: `no completed run measured ${spec.label}` };
    }
    const interval = Number.isFinite(m.lower) ? `${show(m.centre)} [${show(m.lower)}, ${show(m.upper)}] (${m.level * 100}%, ${m.method})` : `${show(m.centre)} (${m.method})`;
    const excluded = result.op === '>=' ? m.upper < claim.value : m.lower > claim.value;
    if (excluded) return { ...base, verdict: 'contradicted', reason: `measured ${interval}` };
    return { ...base, verdict: 'backed', reason: `measured ${interval}${result.verdict === 'PASS' ? '' : '; not cleared with confidence'}` };
  });
}

export const claimsCommand: Command = {
  name: 'claims',
  usage: '<files..>',
  describe: 'Check the performance claims in documents against recorded results',
  positionals: { files: { describe: 'documents to read (Markdown or text)', type: 'string', array: true } },
  options: {
    records: { type: 'string', array: true, demandOption: true, describe: 'run-record files (JSON or JSON lines) or baseline files holding the measurements' },
    level: { type: 'number', default: 0.9, describe: 'confidence level of the intervals' },
    'allow-unbacked': { type: 'boolean', default: false, describe: 'pass claims that nothing measured (contradicted claims still fail)' },
    json: { type: 'boolean', default: false, describe: 'print the checked claims as JSON' },
  },
  check: (argv) => {
    const level = argv.level as number;
    return level > 0 && level < 1 ? undefined : '--level must be between 0 and 1 (e.g. 0.9)';
  },
  async run(argv, io) {
    const files = argv.files as string[];
    const documents = files.map((path) => {
      try {
        return { path, text: readFileSync(path, 'utf8') };
      } catch {
        throw new StoqError('INVALID_FILE', `${path}: cannot read the document`);
      }
    });
    const records = readEvidence(argv.records as string[]);
    const claims = documents.flatMap((d) => extractClaims(d.text, d.path));
    const checked = checkClaims(claims, records, argv.level as number);
    if (argv.json) {
      io.stdout(`${JSON.stringify({ kind: 'stoq-bench.claims', level: argv.level, claims: checked }, null, 2)}\n`);
    } else {
      for (const c of checked) io.stdout(`${c.source}:${c.line}  "${c.text}"  ${c.verdict.toUpperCase()}: ${c.reason}\n`);
      const count = (v: ClaimVerdict) => checked.filter((c) => c.verdict === v).length;
      io.stdout(`${checked.length} claim(s): ${count('backed')} backed, ${count('unbacked')} unbacked, ${count('contradicted')} contradicted\n`);
    }
    const failing = checked.some((c) => c.verdict === 'contradicted' || (c.verdict === 'unbacked' && !argv['allow-unbacked']));
    return failing ? EXIT.failedCheck : EXIT.ok;
  },
};
