// `stoq-bench compare --baseline A --candidate B`: grades candidate runs against a baseline, per metric.
// Exit 1 when a metric is a Regression at or above --fail-on (default Moderate), breaches an SLO with
// confidence or collapsed to 0; 4 when the comparison could not judge (Invalid, Inconclusive) unless
// --allow-invalid / --allow-inconclusive; 0 otherwise; 2 on usage errors.
import { existsSync } from 'node:fs';
import { StoqError } from '../../errors.js';
import { compareRuns, failsGate, SEVERITIES, type Severity } from '../../grading/compare.js';
import { formatComparison } from '../../grading/format.js';
import { parseSlo } from '../../grading/slo.js';
import { selectBaseline } from '../../history/baseline.js';
import { resolveSide } from '../../history/inputs.js';
import { defaultStorePath, HistoryStore } from '../../history/store.js';
import { DEFAULT_LEVEL, METRIC_IDS, METRICS, summarizeRun, type MetricId } from '../../stats/run-model.js';
import { jsonOutput, time } from '../options.js';
import { EXIT, type Command } from '../command.js';
import type { Comparison } from '../../grading/compare.js';

function parseFloors(specs: readonly string[]): Partial<Record<MetricId, number>> {
  const out: Partial<Record<MetricId, number>> = {};
  for (const s of specs) {
    const m = /^(\w+)=(\d+(?:\.\d+)?)(%?)$/.exec(s.trim());
    if (!m || !(m[1] in METRICS)) {
      throw new StoqError('INVALID_ARGUMENT', `invalid --floor "${s}" (expected METRIC=PERCENT%, METRIC one of ${Object.keys(METRICS).join(', ')})`);
    }
    out[m[1] as MetricId] = Number(m[2]) / (m[3] ? 100 : 1);
  }
  return out;
}

function jsonable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

/** Could the comparison judge, and may a result that could not pass (--allow-invalid, --allow-inconclusive)? */
function notJudged(c: Comparison, argv: Record<string, unknown>): boolean {
  return (c.verdict === 'Invalid' && !argv.allowInvalid) || (c.verdict === 'Inconclusive' && !argv.allowInconclusive);
}

function exitCode(c: Comparison, failed: boolean, argv: Record<string, unknown>): number {
  if (failed) return EXIT.failedCheck;
  return notJudged(c, argv) ? EXIT.notJudged : EXIT.ok;
}

function gateLine(c: Comparison, failed: boolean, failOn: string, argv: Record<string, unknown>): string {
  if (failed) return `FAILED (a Regression at or above ${failOn}, an SLO breached, or a collapse to 0)`;
  if (notJudged(c, argv)) return `NOT JUDGED (${c.verdict}: exit 4; --allow-${c.verdict.toLowerCase()} lets it pass)`;
  return `passed (fail-on ${failOn})`;
}

export const compareCommand: Command = {
  name: 'compare',
  describe: 'Grade candidate runs against a baseline (a baseline name, or run-record / baseline files)',
  epilogue: `Verdicts per metric: Regression or Improvement (the interval of the ratio clears the threshold, Mann-Whitney
significant after Benjamini-Hochberg), Equivalent (the whole interval within the threshold), Inconclusive (with
about how many runs would settle it), Invalid (gates failed: too few runs, failed or unsteady runs, another
testbed or scenario, a percentile the runs' samples cannot determine, runs that measured 0). A candidate whose
median is 0 is a Regression graded Critical. Exit 1 on a Regression at or above --fail-on or any Critical; 4 on
Invalid or Inconclusive unless --allow-invalid / --allow-inconclusive.`,
  options: {
    baseline: { type: 'string', array: true, describe: 'a baseline name in the store, or run-record / baseline files (default: recent stable history)' },
    candidate: { type: 'string', array: true, demandOption: true, describe: 'run-record files (JSON, or JSON lines with one record per line)' },
    store: { type: 'string', describe: 'history store (default $STOQ_BENCH_STORE or ~/.local/share/stoq-bench/history.db)' },
    level: { type: 'number', default: DEFAULT_LEVEL, describe: 'two-sided confidence level, printed beside every interval' },
    metric: { type: 'string', array: true, choices: METRIC_IDS, describe: 'compare only these metrics (default: every metric both sides measured)' },
    'allow-invalid': { type: 'boolean', default: false, describe: 'exit 0 on an Invalid comparison (gates failed, nothing to compare against)' },
    'allow-inconclusive': { type: 'boolean', default: false, describe: 'exit 0 on an Inconclusive comparison' },
    'fail-on': { type: 'string', default: 'Moderate', choices: [...SEVERITIES], describe: 'exit 1 when a Regression reaches this severity (an SLO breached with confidence is Critical and always fails)' },
    json: jsonOutput('the comparison'),
    k: { type: 'number', default: 2, describe: 'threshold = max(floor, k x between-session noise)' },
    floor: { type: 'string', array: true, default: [], describe: 'per-metric threshold floor METRIC=PCT% (goodput, latencyP50, latencyP99, requestRate, handshakeRate; defaults 2, 3, 5, 2, 3%)' },
    slo: { type: 'string', array: true, default: [], describe: 'absolute limits, e.g. goodput>=1Gbps p99<=2ms (Critical when breached with confidence)' },
    'min-runs': { type: 'number', default: 3, describe: 'fewest runs per side' },
    warmup: time('warmup', 'TIME to omit at the start of each run (default: chosen by MSER)'),
    'allow-testbed-mismatch': { type: 'boolean', default: false, describe: 'compare across different testbed fingerprints' },
    'allow-unsteady': { type: 'boolean', default: false, describe: 'grade even when runs were flagged unsteady' },
    recent: { type: 'number', default: 5, describe: 'sessions of recent stable history used when no --baseline is given' },
    record: { type: 'boolean', default: false, describe: 'add the candidate runs to the history store afterwards' },
    seed: { type: 'number', default: 1, describe: 'seed of the bootstrap' },
  },
  check(argv) {
    const level = argv.level as number;
    if (!(level > 0 && level < 1)) return `--level must be between 0 and 1 (got ${level})`;
    if (!((argv.k as number) >= 0)) return '--k must be >= 0';
    if (!Number.isInteger(argv.minRuns) || (argv.minRuns as number) < 2) return '--min-runs must be an integer >= 2';
    if (!(Number.isInteger(argv.recent) && (argv.recent as number) > 0)) return `--recent must be a whole number above 0 (got ${argv.recent})`;
    if (!Number.isSafeInteger(argv.seed)) return `--seed must be a whole number (got ${argv.seed})`;
    return undefined;
  },
  async run(argv, io) {
    const level = argv.level as number;
    const storePath = (argv.store as string | undefined) ?? defaultStorePath();
    const slos = (argv.slo as string[]).map(parseSlo);
    const floors = parseFloors(argv.floor as string[]);
    const warmupS = argv.warmup !== undefined ? (argv.warmup as number) / 1e9 : undefined;
    let store: HistoryStore | undefined;
    const openStore = (write = false) => {
      if (!store && (write || existsSync(storePath))) store = HistoryStore.open(storePath);
      return store;
    };
    try {
      const candidate = resolveSide(argv.candidate as string[], () => openStore(), 'candidate');
      const baselineSpecs = argv.baseline as string[] | undefined;
      let baselineRecords;
      let description: string;
      let noise = {};
      let history: string | undefined;
      if (baselineSpecs && baselineSpecs.length > 0) {
        const side = resolveSide(baselineSpecs, () => openStore(), 'baseline');
        baselineRecords = side.records;
        description = side.description;
        const s = openStore();
        if (s) {
          const sel = selectBaseline(s, candidate.records, { recent: argv.recent as number, warmupS });
          noise = sel.noise;
          history = sel.history;
        }
      } else {
        const sel = selectBaseline(openStore(), candidate.records, { recent: argv.recent as number, warmupS });
        baselineRecords = sel.records;
        description = sel.description;
        noise = sel.noise;
        history = sel.history;
      }
      if (baselineRecords.length === 0) {
        if (argv.json) io.stdout(`${JSON.stringify({ verdict: 'Invalid', level, baseline: { source: 'none', description } })}\n`);
        else io.stdout(`${description}\nverdict: Invalid (nothing to compare against; record runs or save a baseline first)\n`);
        if (argv.record) openStore(true)!.addRecords(candidate.records);
        return argv.allowInvalid ? EXIT.ok : EXIT.notJudged;
      }
      const summarise = (records: typeof baselineRecords) => records.map((r) => summarizeRun(r, { warmupS, seed: argv.seed as number, level }));
      const comparison = compareRuns(summarise(baselineRecords), summarise(candidate.records), {
        level,
        k: argv.k as number,
        floors,
        noise,
        minRuns: argv.minRuns as number,
        slos,
        seed: argv.seed as number,
        allowTestbedMismatch: argv.allowTestbedMismatch as boolean,
        allowUnsteady: argv.allowUnsteady as boolean,
        metrics: argv.metric as MetricId[] | undefined,
      });
      const failOn = argv.failOn as Severity;
      const failed = failsGate(comparison, failOn);
      if (argv.json) {
        io.stdout(`${JSON.stringify(jsonable({ baseline: description, candidate: candidate.description, history: history ?? null, failOn, failed, ...comparison }))}\n`);
      } else {
        io.stdout(formatComparison(comparison, description));
        if (history) io.stdout(`${history}\n`);
        io.stdout(`gate: ${gateLine(comparison, failed, failOn, argv)}\n`);
      }
      if (argv.record) openStore(true)!.addRecords(candidate.records);
      return exitCode(comparison, failed, argv);
    } finally {
      store?.close();
    }
  },
};
