// `stoq-bench validate`: measures a scenario --runs times (or reads --records) and checks expectations
// such as `--expect-goodput 1Gbps --expect-p99-rtt 2ms --expect-handshakes 1000/s` (src/grading/validate.ts).
import { StoqError } from '../../errors.js';
import { formatValue } from '../../grading/format.js';
import { EXPECTATIONS, formatValidation, parsePerSecond, validateRuns } from '../../grading/validate.js';
import { isTransfer } from '../../kinds.js';
import { readRecordFile } from '../../records.js';
import type { RunRecord } from '../../record.js';
import { runSession } from '../../run.js';
import { normalizeScenario, type ScenarioKind } from '../../scenario.js';
import { DEFAULT_LEVEL, quantileUndetermined } from '../../stats/run-model.js';
import { formatRate, parseDuration, parseRate } from '../../units.js';
import { cancelledExit, EXIT, type Command } from '../command.js';
import { warnIfDebugEngine, warnIfDebugRecords } from '../engine-build.js';
import { jsonOutput, time } from '../options.js';
import { OUT_HELP, RecordsOut } from '../records-out.js';
import { historyOptions, RunHistory } from '../run-history.js';
import { checkScenario, connectionFrom, flagsNotTaken, listKinds, onlyFlagsTaken, scenarioFrom, scenarioOptions } from '../scenario-flags.js';

const coerceWith = (flag: string, parse: (t: string) => number) => (value: unknown) => {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new StoqError('INVALID_ARGUMENT', `--${flag}: given ${value.length} times (give each expectation once)`);
  try {
    const v = parse(String(value));
    if (!(v > 0)) throw new StoqError('INVALID_ARGUMENT', `must be greater than 0 (got "${value}")`);
    return v;
  } catch (error) {
    throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
  }
};

/** Flags that describe a measurement, meaningless with --records. */
const MEASUREMENT_FLAGS = ['target', 'scenario', 'bytes', 'duration', 'count', 'request-size', 'response-size', 'qlog', 'out'];

function wantedFrom(argv: Record<string, unknown>) {
  return EXPECTATIONS.filter((s) => argv[s.flag] !== undefined).map((spec) => ({ spec, limit: argv[spec.flag] as number }));
}

/** The scenario kinds to measure: --scenario when given, else each expectation's natural scenario. */
function kindsFor(argv: Record<string, unknown>): ScenarioKind[] {
  if (argv.scenario !== undefined) return [argv.scenario as ScenarioKind];
  return [...new Set(wantedFrom(argv).map((w) => w.spec.natural))];
}

/** The flags for one kind when several are measured: each flag goes only where the kind takes it. */
function argvFor(argv: Record<string, unknown>, kind: ScenarioKind, several: boolean): Record<string, unknown> {
  return several ? onlyFlagsTaken(argv, kind) : { ...argv, scenario: kind };
}

const { scenario: runScenarioFlag, runs: _runs, json: _json, out: _out, ...restOfRun } = scenarioOptions;

export const validateCommand: Command = {
  name: 'validate',
  describe: 'Check measured performance against expectations; pass only when the confidence bound clears each one',
  longRunning: 'measurement',
  epilogue: `Verdicts: PASS when the confidence bound on the expectation's side clears it (the lower bound for goodput and
rates, the upper bound for latency); FAIL when it does not, or when a run failed or moved nothing (exit 1);
INVALID when nothing bounds that side: too few runs or intervals, or a percentile the runs' samples cannot
determine (a 95% bound on p99 needs 368 samples per run) (exit 4 unless --allow-invalid). One run is bounded by
its own intervals (block bootstrap) or samples (order statistics).`,
  options: {
    ...restOfRun,
    ...historyOptions,
    scenario: {
      ...runScenarioFlag,
      default: undefined,
      describe: 'what to measure (default: what each expectation needs: download for goodput, latency for round trips, requests, handshakes)',
    },
    runs: { ...scenarioOptions.runs, default: '5', describe: 'runs per scenario (the unit of replication; the interval is across runs)' },
    'expect-goodput': { type: 'string', describe: 'goodput at least RATE (lower bound checked)', coerce: coerceWith('expect-goodput', parseRate) },
    'expect-p50-rtt': { type: 'string', describe: 'median round trip at most TIME (upper bound checked)', coerce: coerceWith('expect-p50-rtt', (t) => parseDuration(t) / 1e3) },
    'expect-p99-rtt': { type: 'string', describe: 'p99 round trip at most TIME (upper bound checked)', coerce: coerceWith('expect-p99-rtt', (t) => parseDuration(t) / 1e3) },
    'expect-requests': { type: 'string', describe: 'requests per second at least N/s (lower bound checked)', coerce: coerceWith('expect-requests', parsePerSecond) },
    'expect-handshakes': { type: 'string', describe: 'handshakes per second at least N/s (lower bound checked)', coerce: coerceWith('expect-handshakes', parsePerSecond) },
    level: { type: 'number', default: DEFAULT_LEVEL, describe: 'two-sided confidence level of the intervals (0.95: each bound one-sided 97.5%)' },
    'allow-invalid': { type: 'boolean', default: false, describe: 'exit 0 when expectations could not be judged (INVALID) and none FAILed' },
    warmup: time('warmup', 'omit this much at the start of each run (TIME; default: chosen by MSER)'),
    records: { type: 'string', array: true, describe: 'validate these run-record FILES (JSON or JSON lines) instead of measuring' },
    json: jsonOutput('the validation (nothing else on stdout)'),
    out: { type: 'string', describe: OUT_HELP },
  },
  check(argv) {
    const wanted = wantedFrom(argv);
    if (wanted.length === 0) return `give at least one expectation: ${EXPECTATIONS.map((e) => `--${e.flag}`).join(', ')}`;
    const level = argv.level as number;
    if (!(level > 0 && level < 1)) return `--level must be between 0 and 1 (got ${level})`;
    const records = argv.records as string[] | undefined;
    if (records !== undefined) {
      if (records.length === 0) return '--records needs at least one FILE';
      const given = MEASUREMENT_FLAGS.filter((f) => argv[f] !== undefined);
      if (given.length > 0) return `--records validates existing records: ${given.map((f) => `--${f}`).join(', ')} describe a measurement`;
      return undefined;
    }
    if (argv.scenario !== undefined) {
      const kind = argv.scenario as ScenarioKind;
      const misfit = wanted.find((w) => !w.spec.kinds.includes(kind));
      if (misfit) return `--${misfit.spec.flag} needs a ${misfit.spec.kinds.join(' or ')} scenario, not --scenario ${kind}`;
      return checkScenario(argv);
    }
    const kinds = kindsFor(argv);
    // a flag no measured kind takes (one that only some take goes to those)
    const unused = kinds.map((k) => flagsNotTaken(argv, k)).reduce((a, b) => a.filter((x) => b.some((y) => y.flag === x.flag)));
    if (unused.length > 0) return `--${unused[0].flag} applies to ${listKinds(unused[0].takenBy)}; these expectations measure ${kinds.join(', ')}`;
    for (const kind of kinds) {
      const problem = checkScenario(argvFor(argv, kind, kinds.length > 1));
      if (problem) return problem;
    }
    return undefined;
  },
  async run(argv, io) {
    const wanted = wantedFrom(argv);
    const level = argv.level as number;
    const json = argv.json as boolean;
    const warmupS = argv.warmup !== undefined ? (argv.warmup as number) / 1e9 : undefined;
    const files = argv.records as string[] | undefined;
    let records: RunRecord[];
    let source: string;
    let outWritten = true;
    if (files) {
      records = files.flatMap((f) => readRecordFile(f));
      warnIfDebugRecords(io, 'validate', records);
      source = `records ${files.join(', ')} (${records.length} runs)`;
      const missing = wanted.filter((w) => !records.some((r) => w.spec.kinds.includes(r.scenario.kind as ScenarioKind)));
      if (missing.length > 0) {
        const kinds = [...new Set(records.map((r) => r.scenario.kind))].join(', ');
        throw new StoqError(
          'INVALID_FILE',
          `${files.join(', ')}: no record measures what ${missing.map((m) => `--${m.spec.flag}`).join(', ')} expects${missing.length > 1 ? '' : ` (it needs a ${missing[0].spec.kinds.join(' or ')} scenario)`}; the records hold ${kinds}`,
        );
      }
    } else {
      const kinds = kindsFor(argv);
      const runs = argv.runs as number;
      warnIfDebugEngine(io, 'validate');
      // every scenario is built (and so checked) before anything is measured or written
      const scenarios = kinds.map((kind) => normalizeScenario(scenarioFrom(argvFor(argv, kind, kinds.length > 1))));
      const out = RecordsOut.open(argv.out as string | undefined);
      const history = RunHistory.open(argv, io);
      records = [];
      try {
        for (const scenario of scenarios) {
          if (io.signal.aborted) break;
          await runSession(scenario, runs, {
            ...connectionFrom(argv),
            signal: io.signal,
            onRecord: async (record, run) => {
              records.push(record);
              history.add(record);
              await out?.add(record);
              if (!json) io.stdout(`${progressLine(record, run, runs, level)}\n`);
            },
          });
        }
      } finally {
        history.close();
      }
      outWritten = out?.finish(io, 'validate', { printed: false, store: history.holdsAll, stream: json ? 'stderr' : 'stdout' }) ?? true;
      source = `${kinds.join(' + ')} against ${argv.target ?? 'an embedded server on [::1]'}, ${runs} run(s) each`;
      if (!json) io.stdout('\n');
    }
    const validation = validateRuns(records, wanted, { level, source, warmupS });
    io.stdout(json ? `${JSON.stringify(validation, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n` : formatValidation(validation, io.color));
    if (!outWritten) return EXIT.runtime;
    if (io.signal.aborted) return cancelledExit(io.signal);
    if (validation.passed) return EXIT.ok;
    if (validation.failed) return EXIT.failedCheck;
    return argv['allow-invalid'] ? EXIT.ok : EXIT.notJudged;
  },
};

/** One line per measured run; a percentile its samples cannot determine is shown as "-" with the count. */
function progressLine(r: RunRecord, run: number, runs: number, level: number): string {
  const e = r.end;
  const parts = [`${r.scenario.kind} run ${run + 1}/${runs}: ${e.state}`];
  if (isTransfer(r.scenario.kind)) parts.push(`goodput ${formatRate(e.goodputBps)}`);
  if (e.latency) {
    const l = e.latency;
    const show = (metric: 'latencyP50' | 'latencyP99', p: number, v: number | null) =>
      quantileUndetermined(l.n, p, level) || v === null ? `- (${l.n} samples)` : formatValue(metric, v);
    parts.push(`p50 ${show('latencyP50', 0.5, l.p50Us)}, p99 ${show('latencyP99', 0.99, l.p99Us)}`);
  }
  if (e.requestsPerSecond !== undefined) parts.push(`${e.requestsPerSecond.toFixed(0)} requests/s`);
  if (e.handshakesPerSecond !== undefined) parts.push(`${e.handshakesPerSecond.toFixed(0)} handshakes/s`);
  return parts.join(', ');
}
