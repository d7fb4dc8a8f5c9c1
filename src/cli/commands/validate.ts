// `stoq-bench validate`: measures a scenario --runs times (or reads --records) and checks expectations
// such as `--expect-goodput 1Gbps --expect-p99-rtt 2ms --expect-handshakes 1000/s`. An expectation passes
// only when the confidence bound across runs clears it (the lower bound for goodput and rates, the upper
// bound for latency), never on the point estimate. Exit 1 on any FAIL.
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { StoqError } from '../../errors.js';
import { sideSummary } from '../../grading/compare.js';
import { formatValue, table } from '../../grading/format.js';
import { readRecordFile, type StoredRecord } from '../../records.js';
import { runScenario } from '../../run.js';
import { normalizeScenario, type ScenarioKind } from '../../scenario.js';
import { quantileInterval } from '../../stats/quantile.js';
import { groupBySession, METRICS, summarizeRun, type MetricId, type RunSummary } from '../../stats/run-model.js';
import { formatRate, parseDuration, parseRate } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { time } from '../options.js';
import { checkScenario, scenarioFrom, scenarioOptions } from './run.js';

/** One expectation flag: the metric it checks, how its value is parsed, and the scenario that measures it. */
interface ExpectationSpec {
  flag: string;
  metric: MetricId;
  label: string;
  parse: (text: string) => number;
  /** The scenario measured for it when --scenario is not given. */
  natural: ScenarioKind;
  /** Scenarios whose records carry the metric. */
  kinds: readonly ScenarioKind[];
}

function parsePerSecond(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)\s*(?:\/s|ps)?$/.exec(text.trim());
  if (!m) throw new StoqError('INVALID_ARGUMENT', `invalid rate "${text}" (expected e.g. 1000/s, 5k/s or 1000)`);
  return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[m[2].toLowerCase()];
}

const TRANSFER: readonly ScenarioKind[] = ['download', 'upload', 'bidir'];
const ROUND_TRIPS: readonly ScenarioKind[] = ['latency', 'requests'];

export const EXPECTATIONS: readonly ExpectationSpec[] = [
  { flag: 'expect-goodput', metric: 'goodput', label: 'goodput', parse: parseRate, natural: 'download', kinds: TRANSFER },
  { flag: 'expect-p50-rtt', metric: 'latencyP50', label: 'p50 round trip', parse: (t) => parseDuration(t) / 1e3, natural: 'latency', kinds: ROUND_TRIPS },
  { flag: 'expect-p99-rtt', metric: 'latencyP99', label: 'p99 round trip', parse: (t) => parseDuration(t) / 1e3, natural: 'latency', kinds: ROUND_TRIPS },
  { flag: 'expect-requests', metric: 'requestRate', label: 'requests', parse: parsePerSecond, natural: 'requests', kinds: ['requests', 'latency'] },
  { flag: 'expect-handshakes', metric: 'handshakeRate', label: 'handshakes', parse: parsePerSecond, natural: 'handshakes', kinds: ['handshakes'] },
];

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

export interface ExpectationResult {
  flag: string;
  metric: MetricId;
  text: string;
  op: '>=' | '<=';
  limit: number;
  unit: string;
  scenario: { kind: string; ids: string[] } | null;
  runs: { total: number; completed: number; unsteady: number };
  /** The across-run centre with its interval (null when it cannot be bounded). */
  measured: { centre: number; lower: number; upper: number; level: number; method: string } | null;
  /** The confidence bound compared with the limit: lower for higher-is-better, upper for latency. */
  bound: number | null;
  verdict: 'PASS' | 'FAIL';
  reason: string;
}

export interface Validation {
  kind: 'stoq-bench.validation';
  level: number;
  passed: boolean;
  source: string;
  fingerprints: string[];
  expectations: ExpectationResult[];
}

function fmt(metric: MetricId, v: number): string {
  return formatValue(metric, v);
}

/** Checks expectations against run records: one value per run and metric, interval across runs. */
export function validateRuns(
  records: readonly StoredRecord[],
  wanted: ReadonlyArray<{ spec: ExpectationSpec; limit: number }>,
  options: { level: number; source: string; warmupS?: number },
): Validation {
  const { level } = options;
  const summaries = records.map((r) => ({ record: r, summary: summarizeRun(r, { level, warmupS: options.warmupS }) }));
  const results: ExpectationResult[] = wanted.map(({ spec, limit }) => {
    const info = METRICS[spec.metric];
    const op = info.better === 'higher' ? '>=' : '<=';
    const text = `${spec.label} ${op} ${fmt(spec.metric, limit)}`;
    // one scenario kind per expectation: its natural one when present (latency and requests both carry round trips)
    const present = [spec.natural, ...spec.kinds].find((k) => summaries.some(({ record }) => record.scenario.kind === k));
    const relevant = summaries.filter(({ record }) => record.scenario.kind === present);
    const kinds = [...new Set(relevant.map(({ record }) => record.scenario.kind))];
    const ids = [...new Set(relevant.map(({ record }) => record.scenario.id))];
    const completed = relevant.filter(({ summary }) => summary.state === 'completed' && summary.metrics[spec.metric] !== undefined);
    const unsteady = relevant.filter(({ summary }) => summary.steadiness.status === 'unsteady').length;
    const base = {
      flag: `--${spec.flag}`,
      metric: spec.metric,
      text,
      op,
      limit,
      unit: info.unit,
      scenario: relevant.length ? { kind: kinds.join(', '), ids } : null,
      runs: { total: relevant.length, completed: completed.length, unsteady },
    } satisfies Partial<ExpectationResult>;
    const fail = (reason: string, measured: ExpectationResult['measured'] = null, bound: number | null = null): ExpectationResult => ({
      ...base,
      measured,
      bound,
      verdict: 'FAIL',
      reason,
    });
    if (relevant.length === 0) return fail(`no run measured ${info.label} (it needs a ${spec.kinds.join(', ')} scenario)`);
    const failed = relevant.filter(({ summary }) => summary.state !== 'completed');
    const values = completed.map(({ summary }) => summary.metrics[spec.metric] as number);
    const measured = interval(spec.metric, completed.map((c) => c.summary), values, level);
    const bound = measured ? (op === '>=' ? measured.lower : measured.upper) : null;
    if (failed.length > 0) {
      const states = failed.map(({ summary }) => `run ${summary.run} ${summary.state}${summary.error ? ` (${summary.error.code})` : ''}`);
      return fail(`${failed.length} of ${relevant.length} run(s) did not complete: ${states.join(', ')}`, measured, bound);
    }
    if (!measured || bound === null || !Number.isFinite(bound)) {
      return fail(`${completed.length} run(s) cannot bound ${info.label} at ${pctLevel(level)} (give --runs 2 or more)`, measured);
    }
    const clears = op === '>=' ? bound >= limit : bound <= limit;
    const side = op === '>=' ? 'lower' : 'upper';
    const note = unsteady > 0 ? `; ${unsteady} run(s) flagged unsteady` : '';
    const pointOnly = !clears && (op === '>=' ? measured.centre >= limit : measured.centre <= limit);
    return {
      ...base,
      measured,
      bound,
      verdict: clears ? 'PASS' : 'FAIL',
      reason: clears
        ? `the ${side} bound ${fmt(spec.metric, bound)} clears ${fmt(spec.metric, limit)}${note}`
        : `the ${side} bound ${fmt(spec.metric, bound)} does not clear ${fmt(spec.metric, limit)}${pointOnly ? ' (the point estimate does, but not with confidence: more runs may settle it)' : ''}${note}`,
    };
  });
  return {
    kind: 'stoq-bench.validation',
    level,
    passed: results.every((r) => r.verdict === 'PASS'),
    source: options.source,
    fingerprints: [...new Set(records.map((r) => r.environment.fingerprint))],
    expectations: results,
  };
}

const pctLevel = (level: number) => `${+(level * 100).toFixed(2)}%`;

/**
 * The across-run interval of a metric: the median of the run values with the stats module's interval
 * (order statistics, or t on logs when too few runs). A single run falls back to its within-run
 * interval: the block bootstrap of the steady goodput, or the order-statistic interval of a latency quantile.
 */
function interval(metric: MetricId, runs: RunSummary[], values: number[], level: number): ExpectationResult['measured'] {
  if (values.length === 0) return null;
  if (values.length >= 2) {
    const s = sideSummary(values, groupBySession(runs).size, level);
    return { centre: s.centre, lower: s.lower, upper: s.upper, level, method: `across ${s.n} runs: ${s.method}` };
  }
  const run = runs[0];
  if (metric === 'goodput' && run.withinRun) {
    const bb = run.withinRun.blockBootstrap;
    return { centre: values[0], lower: bb.lower, upper: bb.upper, level, method: `a single run: within-run ${bb.method}` };
  }
  const q = METRICS[metric].quantile;
  if (q !== undefined && run.latencySamples) {
    const ci = quantileInterval(run.latencySamples, q, level);
    if (ci) {
      return { centre: values[0], lower: ci.lower, upper: ci.upper, level, method: `a single run: ${ci.method} over its ${run.latencySamples.length} samples (coverage ${ci.coverage.toFixed(3)})` };
    }
  }
  return { centre: values[0], lower: NaN, upper: NaN, level, method: 'a single run: no interval' };
}

/** The validation as text: one row per expectation with its interval, level and PASS/FAIL (coloured on a TTY without NO_COLOR). */
export function formatValidation(v: Validation, color = false): string {
  const paint = (verdict: string) => (color ? `\x1b[${verdict === 'PASS' ? 32 : 31}m${verdict}\x1b[0m` : verdict);
  const rows = v.expectations.map((e) => {
    const m = e.measured;
    const iv = m && Number.isFinite(m.lower) ? `[${fmt(e.metric, m.lower)}, ${fmt(e.metric, m.upper)}]` : 'n/a';
    return [e.text, m ? fmt(e.metric, m.centre) : 'n/a', iv, pctLevel(v.level), e.bound !== null && Number.isFinite(e.bound) ? fmt(e.metric, e.bound) : 'n/a', e.verdict];
  });
  const lines = [
    `validate ${v.source}: ${v.expectations.length} expectation(s), ${pctLevel(v.level)} two-sided intervals (each bound one-sided ${pctLevel((1 + v.level) / 2)})`,
    '',
    table(['expectation', 'measured', 'interval', 'level', 'bound', 'result'], rows).trimEnd(),
    '',
    ...v.expectations.map((e) => `${paint(e.verdict)} ${e.text}: ${e.reason}${e.measured ? `\n     ${e.measured.method}; runs ${e.runs.completed}/${e.runs.total} completed${e.scenario ? `, scenario ${e.scenario.kind} (${e.scenario.ids.join(', ')})` : ''}` : ''}`),
  ];
  const failed = v.expectations.filter((e) => e.verdict === 'FAIL').length;
  lines.push(`result: ${v.passed ? `${paint('PASS')} (${v.expectations.length} of ${v.expectations.length} expectations met)` : `${paint('FAIL')} (${failed} of ${v.expectations.length} expectations not met)`}`);
  return `${lines.join('\n')}\n`;
}

function wantedFrom(argv: Record<string, unknown>) {
  return EXPECTATIONS.filter((s) => argv[s.flag] !== undefined).map((spec) => ({ spec, limit: argv[spec.flag] as number }));
}

/** The scenario kinds to measure: --scenario when given, else each expectation's natural scenario. */
function kindsFor(argv: Record<string, unknown>): ScenarioKind[] {
  if (argv.scenario !== undefined) return [argv.scenario as ScenarioKind];
  return [...new Set(wantedFrom(argv).map((w) => w.spec.natural))];
}

/** The flags for one kind when several are measured: stop and size flags go only where they apply. */
function argvFor(argv: Record<string, unknown>, kind: ScenarioKind, several: boolean): Record<string, unknown> {
  if (!several) return { ...argv, scenario: kind };
  const a: Record<string, unknown> = { ...argv, scenario: kind };
  const transfer = TRANSFER.includes(kind);
  if (!transfer) delete a.bytes;
  if (transfer) delete a.count;
  if (!ROUND_TRIPS.includes(kind)) {
    delete a['request-size'];
    delete a['response-size'];
  }
  return a;
}

const { scenario: runScenarioFlag, runs: _runs, json: _json, out: _out, ...restOfRun } = scenarioOptions;

export const validateCommand: Command = {
  name: 'validate',
  describe: 'Check measured performance against expectations; pass only when the confidence bound clears each one',
  options: {
    ...restOfRun,
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
    level: { type: 'number', default: 0.9, describe: 'two-sided confidence level of the intervals (0.9: each bound one-sided 95%)' },
    warmup: time('warmup', 'omit this much at the start of each run (TIME; default: chosen by MSER)'),
    records: { type: 'string', array: true, describe: 'validate these run-record FILES (JSON or JSON lines) instead of measuring' },
    json: { type: 'boolean', default: false, describe: 'print the validation as JSON (nothing else on stdout)' },
    out: { type: 'string', describe: 'also write the measured run records to FILE (JSON lines)' },
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
    if (argv.bytes !== undefined && !kinds.some((k) => TRANSFER.includes(k))) return `--bytes applies to download, upload and bidir; these expectations measure ${kinds.join(', ')}`;
    if (argv.count !== undefined && kinds.every((k) => TRANSFER.includes(k))) return `--count applies to requests, latency and handshakes; these expectations measure ${kinds.join(', ')}`;
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
    let records: StoredRecord[];
    let source: string;
    if (files) {
      records = files.flatMap((f) => readRecordFile(f));
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
      // every scenario is built (and so checked) before anything is measured or written
      const scenarios = kinds.map((kind) => normalizeScenario(scenarioFrom(argvFor(argv, kind, kinds.length > 1))));
      const out = argv.out as string | undefined;
      if (out) writeFileSync(out, '', { flag: 'a' });
      records = [];
      for (const scenario of scenarios) {
        const session = randomUUID();
        for (let run = 0; run < runs && !io.signal.aborted; run++) {
          const { record } = await runScenario(scenario, {
            target: argv.target as string | undefined,
            intervalNs: argv.interval as number,
            qlogDir: argv.qlog as string | undefined,
            signal: io.signal,
            session: { id: session, run, runs },
          });
          records.push(record as unknown as StoredRecord);
          if (!json) io.stdout(`${progressLine(record as unknown as StoredRecord, run, runs)}\n`);
        }
      }
      if (out) {
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
        renameSync(tmp, out);
      }
      source = `${kinds.join(' + ')} against ${argv.target ?? 'an embedded server on [::1]'}, ${runs} run(s) each`;
      if (!json) io.stdout('\n');
    }
    const validation = validateRuns(records, wanted, { level, source, warmupS });
    io.stdout(json ? `${JSON.stringify(validation, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n` : formatValidation(validation, io.color));
    return validation.passed ? EXIT.ok : EXIT.failedCheck;
  },
};

function progressLine(r: StoredRecord, run: number, runs: number): string {
  const e = r.end;
  const parts = [`${r.scenario.kind} run ${run + 1}/${runs}: ${e.state}`];
  if (TRANSFER.includes(r.scenario.kind as ScenarioKind)) parts.push(`goodput ${formatRate(e.goodputBps)}`);
  if (e.latency) parts.push(`p50 ${formatValue('latencyP50', e.latency.p50Us)}, p99 ${formatValue('latencyP99', e.latency.p99Us)}`);
  if (e.requestsPerSecond !== undefined) parts.push(`${e.requestsPerSecond.toFixed(0)} requests/s`);
  if (e.handshakesPerSecond !== undefined) parts.push(`${e.handshakesPerSecond.toFixed(0)} handshakes/s`);
  return parts.join(', ');
}
