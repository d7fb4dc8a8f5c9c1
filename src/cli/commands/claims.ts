// `stoq-bench claims FILES..`: performance claims in documents checked against measurements (src/claims/),
// and hard-coded performance figures in source files.
import { checkClaims, RULES } from '../../claims/check.js';
import { extractClaims, type Claim } from '../../claims/extract.js';
import { CLAIM_FORMATS, renderClaims, type ClaimFormat } from '../../claims/formats/index.js';
import { findHardcoded } from '../../claims/hardcoded.js';
import { claimsOutcome, makeReport } from '../../claims/report.js';
import { readInputs, readRecordEvidence, readStoreEvidence } from '../../claims/sources.js';
import { defaultStorePath } from '../../history/store.js';
import { kindFor, kindsTiming } from '../../kinds.js';
import { DEFAULT_LEVEL } from '../../stats/run-model.js';
import { EXIT, type Command } from '../command.js';
import { formatConflict, formatOf, jsonOutput } from '../options.js';

/** What to run to measure what a claim speaks of. */
function measureHint(claim: Claim): string {
  const s = claim.subject;
  const scenario =
    s.kind === 'goodput' ? `--scenario ${s.direction ?? kindFor('goodput')}` :
    s.kind === 'handshakeRate' || (s.kind === 'latency' && s.of === 'handshake') ? `--scenario ${kindsTiming('handshake')[0]}` :
    s.kind === 'requestRate' ? `--scenario ${kindFor('requestRate')}` :
    // 5000 round trips per run bound every percentile up to p99.9 (3688 at 95%)
    s.kind === 'latency' ? `--scenario ${kindFor('latencyP50')} --count 5000` :
    `--scenario ${kindFor('goodput')}`;
  return `measure it with \`stoq-bench run ${scenario} --runs 5\``;
}

export const claimsCommand: Command = {
  name: 'claims',
  usage: '<files..>',
  describe: 'Check the performance claims in documents against measurements, and find hard-coded figures in source code',
  positionals: {
    files: { describe: 'documents (Markdown, text), source files (.rs .ts .js .go .py .c .cpp .java) or directories holding them', type: 'string', array: true },
  },
  epilogue: `${RULES}

Verdicts: BACKED, CONTRADICTED (exit 1), INCONCLUSIVE (with about how many runs would settle it) and
UNBACKED (exit 4 unless --allow-inconclusive / --allow-unbacked). In source files, numeric literals bound to
performance names (throughput_gbps: 2.95, TARGET_LATENCY_MS = 1) and figures in strings ("40 Gbps") are
HARD-CODED (exit 1); comments and tests only with --include-comments / --include-tests; a line marked
"stoq-bench: allow-figure" is left alone.`,
  options: {
    records: { type: 'string', array: true, describe: 'run-record files (JSON or JSON lines) or baseline files holding the measurements (default: the history store)' },
    store: { type: 'string', describe: 'history store FILE read when --records is not given (default $STOQ_BENCH_STORE or ~/.local/share/stoq-bench/history.db)' },
    recent: { type: 'number', describe: 'with the history store: only the N most recent sessions' },
    level: { type: 'number', default: DEFAULT_LEVEL, describe: 'two-sided confidence level of the intervals' },
    tolerance: { type: 'number', default: 0.1, describe: 'half-width of "about X" claims, as a share of X (0.1: within 10%)' },
    'allow-unbacked': { type: 'boolean', default: false, describe: 'exit 0 on claims that nothing measured (contradicted claims still fail)' },
    'allow-inconclusive': { type: 'boolean', default: false, describe: 'exit 0 on claims the measurements can neither back nor contradict' },
    'allow-single-run': { type: 'boolean', default: false, describe: "let a single run's within-run interval back a claim" },
    'single-run-factor': { type: 'number', default: 10, describe: 'a single run without any interval contradicts a claim more than this many times beyond it' },
    'include-comments': { type: 'boolean', default: false, describe: 'also report figures in comments of source files' },
    'include-tests': { type: 'boolean', default: false, describe: 'also report figures in test files and test modules' },
    format: { choices: CLAIM_FORMATS, describe: 'text, json (one line), github (workflow annotations), markdown (a step summary table) or sarif (SARIF 2.1.0)', defaultDescription: 'as --json decides' },
    json: jsonOutput('the report (--format json; --no-json: --format text)'),
  },
  check: (argv) => {
    const level = argv.level as number;
    if (!(level > 0 && level < 1)) return `--level must be between 0 and 1 (got ${level})`;
    const tolerance = argv.tolerance as number;
    if (!(tolerance > 0 && tolerance < 1)) return `--tolerance must be between 0 and 1 (got ${tolerance})`;
    if (!((argv['single-run-factor'] as number) > 1)) return '--single-run-factor must be more than 1';
    const recent = argv.recent as number | undefined;
    if (recent !== undefined && !(Number.isInteger(recent) && recent > 0)) return '--recent must be a whole number above 0';
    if (recent !== undefined && argv.records !== undefined) return '--recent applies to the history store, not to --records';
    return formatConflict(argv);
  },
  async run(argv, io) {
    const inputs = readInputs(argv.files as string[]);
    const claims = inputs.filter((i) => i.kind === 'document').flatMap((d) => extractClaims(d.text, d.path));
    const findings = inputs
      .filter((i) => i.kind === 'source')
      .flatMap((s) => findHardcoded(s.text, s.path))
      .filter((f) => f.where === 'code' || (f.where === 'comment' && argv['include-comments']) || (f.where === 'test' && argv['include-tests']));
    let records = [] as ReturnType<typeof readRecordEvidence>;
    let evidence = 'no measurements (no claims in the documents)';
    const files = argv.records as string[] | undefined;
    if (files) {
      records = readRecordEvidence(files);
      evidence = `records ${files.join(', ')} (${records.length} runs)`;
    } else if (claims.length > 0) {
      const path = (argv.store as string | undefined) ?? defaultStorePath();
      const read = readStoreEvidence(path, argv.recent as number | undefined);
      records = read.records;
      evidence = `the history store ${path} (${read.sessions} session(s), ${records.length} runs)`;
    }
    const checked = checkClaims(claims, records, {
      level: argv.level as number,
      tolerance: argv.tolerance as number,
      allowSingleRun: argv['allow-single-run'] as boolean,
      singleRunFactor: argv['single-run-factor'] as number,
      unbackedHint: measureHint,
    });
    const report = makeReport({ level: argv.level as number, tolerance: argv.tolerance as number, evidence, claims: checked, findings });
    const format = formatOf<ClaimFormat>(argv);
    io.stdout(renderClaims(format, report, io.color));
    const outcome = claimsOutcome(report, { unbacked: argv['allow-unbacked'] as boolean, inconclusive: argv['allow-inconclusive'] as boolean });
    return outcome === 'failed' ? EXIT.failedCheck : outcome === 'not judged' ? EXIT.notJudged : EXIT.ok;
  },
};
