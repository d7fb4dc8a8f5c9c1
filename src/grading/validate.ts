// Validation: expectations such as `goodput >= 1Gbps` or `p99 round trip <= 2ms` checked against run records.
// An expectation PASSes only when the confidence bound on its side clears it (the lower bound for goodput and
// rates, the upper bound for latency), never on the point estimate. It FAILs when that bound does not clear
// it, when a run failed or moved nothing; it is INVALID (not judged) when nothing bounds that side: too few
// runs or intervals, or a percentile that the runs' samples cannot determine.
import { StoqError } from '../errors.js';
import type { RunRecord } from '../record.js';
import { kindFor, kindsWith } from '../kinds.js';
import type { ScenarioKind } from '../scenario.js';
import { DEFAULT_LEVEL, formatLevel, summarizeRun, type MetricId } from '../stats/run-model.js';
import { minSampleForQuantile } from '../stats/quantile.js';
import { parseDuration, parseRate } from '../units.js';
import { gatherEvidence, type Evidence, type Measured } from './evidence.js';
import { formatValue, table } from './format.js';

/** One expectation flag: the metric it checks, how its value is parsed, and the scenarios that measure it. */
export interface ExpectationSpec {
  flag: string;
  metric: MetricId;
  label: string;
  parse: (text: string) => number;
  /** The scenario measured for it when --scenario is not given. */
  natural: ScenarioKind;
  /** Scenarios whose records carry the metric. */
  kinds: readonly ScenarioKind[];
}

/** Parses a rate per second: `1000/s`, `5k/s`, `1.5M`, `1000`. */
export function parsePerSecond(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)\s*(?:\/s|ps)?$/.exec(text.trim());
  if (!m) throw new StoqError('INVALID_ARGUMENT', `invalid rate "${text}" (expected e.g. 1000/s, 5k/s or 1000)`);
  return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[m[2].toLowerCase()];
}

const microseconds = (t: string) => parseDuration(t) / 1e3;

/** The expectation flags; the scenarios that measure each come from the kind table (src/kinds.ts). */
export const EXPECTATIONS: readonly ExpectationSpec[] = (
  [
    { flag: 'expect-goodput', metric: 'goodput', label: 'goodput', parse: parseRate },
    { flag: 'expect-p50-rtt', metric: 'latencyP50', label: 'p50 round trip', parse: microseconds },
    { flag: 'expect-p99-rtt', metric: 'latencyP99', label: 'p99 round trip', parse: microseconds },
    { flag: 'expect-requests', metric: 'requestRate', label: 'requests', parse: parsePerSecond },
    { flag: 'expect-handshakes', metric: 'handshakeRate', label: 'handshakes', parse: parsePerSecond },
  ] as const
).map((e) => ({ ...e, natural: kindFor(e.metric), kinds: kindsWith(e.metric) }));

export type ExpectationVerdict = 'PASS' | 'FAIL' | 'INVALID';

export interface ExpectationResult {
  flag: string;
  metric: MetricId;
  text: string;
  op: '>=' | '<=';
  limit: number;
  unit: string;
  scenario: { kind: string; ids: string[] } | null;
  runs: { total: number; completed: number; unsteady: number };
  /** The centre with its interval (a side is null when nothing bounds it); null when nothing was measured. */
  measured: Measured | null;
  /** The confidence bound compared with the limit: lower for higher-is-better, upper for latency. */
  bound: number | null;
  verdict: ExpectationVerdict;
  reason: string;
}

export interface Validation {
  kind: 'stoq-bench.validation';
  level: number;
  /** Every expectation PASSed. */
  passed: boolean;
  /** Some expectation FAILed (exit 1); else some was INVALID (not judged, exit 4). */
  failed: boolean;
  source: string;
  fingerprints: string[];
  expectations: ExpectationResult[];
}

const fmt = (metric: MetricId, v: number) => formatValue(metric, v);

/** The verdict on one expectation from its evidence. */
function judgeExpectation(spec: ExpectationSpec, limit: number, evidence: Evidence, level: number): ExpectationResult {
  const op = evidence.better === 'higher' ? '>=' : '<=';
  const m = evidence.measured;
  const side = op === '>=' ? 'lower' : 'upper';
  const bound = m ? (op === '>=' ? m.lower : m.upper) : null;
  const base = {
    flag: `--${spec.flag}`,
    metric: spec.metric,
    text: `${spec.label} ${op} ${fmt(spec.metric, limit)}`,
    op,
    limit,
    unit: evidence.unit,
    scenario: evidence.scenario,
    runs: evidence.runs,
    measured: m,
    bound,
  } satisfies Partial<ExpectationResult>;
  const result = (verdict: ExpectationVerdict, reason: string): ExpectationResult => ({ ...base, verdict, reason: reason + notes(evidence) });
  if (evidence.runs.total === 0) return result('INVALID', `no run measured ${evidence.label} (it needs a ${spec.kinds.join(', ')} scenario)`);
  if (evidence.failed.length > 0) {
    return result('FAIL', `${evidence.failed.length} of ${evidence.runs.total} run(s) did not complete: ${evidence.failed.join(', ')}`);
  }
  if (evidence.zero.length > 0) {
    return result('FAIL', `${evidence.zero.length} of ${evidence.runs.total} run(s) measured 0 ${evidence.label}: ${evidence.zero.join(', ')}`);
  }
  if (!m) return result('INVALID', `no completed run measured ${evidence.label}`);
  const excluded = op === '>=' ? m.upper !== null && m.upper < limit : m.lower !== null && m.lower > limit;
  if (bound === null) {
    const other = op === '>=' ? m.upper : m.lower;
    if (excluded && other !== null) {
      return result('FAIL', `the ${op === '>=' ? 'upper' : 'lower'} bound ${fmt(spec.metric, other)} already lies beyond ${fmt(spec.metric, limit)}`);
    }
    if (evidence.undetermined) {
      const q = spec.metric === 'latencyP99' ? 0.99 : 0.5;
      return result(
        'INVALID',
        `${spec.label} not determined: ${evidence.undetermined.runs.length} run(s) (${evidence.undetermined.runs.join(', ')}): ${evidence.undetermined.reason}; give each run --count ${minSampleForQuantile(q, level)} or more`,
      );
    }
    const why = m.basis === 'point' ? `${m.method}` : `${m.n} run(s) cannot bound it`;
    return result('INVALID', `cannot bound ${evidence.label} at ${formatLevel(level)}: ${why} (give --runs 2 or more, or a longer run)`);
  }
  const clears = op === '>=' ? bound >= limit : bound <= limit;
  const pointOnly = !clears && m.centre !== null && (op === '>=' ? m.centre >= limit : m.centre <= limit);
  return clears
    ? result('PASS', `the ${side} bound ${fmt(spec.metric, bound)} clears ${fmt(spec.metric, limit)}`)
    : result(
        'FAIL',
        `the ${side} bound ${fmt(spec.metric, bound)} does not clear ${fmt(spec.metric, limit)}${pointOnly ? ' (the point estimate does, but not with confidence: more runs may settle it)' : ''}`,
      );
}

/** What the evidence adds in words: unsteady runs, testbeds set aside. */
function notes(e: Evidence): string {
  const out: string[] = [];
  if (e.runs.unsteady > 0) out.push(`${e.runs.unsteady} run(s) flagged unsteady`);
  if (e.setAside.length > 0) out.push(`set aside, not pooled: ${e.setAside.map((s) => `${s.runs} run(s) from testbed ${s.fingerprint}`).join(', ')}`);
  return out.length ? `; ${out.join('; ')}` : '';
}

/** Checks expectations against run records: one value per run and metric, interval across runs (or within one run). */
export function validateRuns(
  records: readonly RunRecord[],
  wanted: ReadonlyArray<{ spec: ExpectationSpec; limit: number }>,
  options: { level?: number; source: string; warmupS?: number; seed?: number },
): Validation {
  const level = options.level ?? DEFAULT_LEVEL;
  const runs = records.map((record) => ({ record, summary: summarizeRun(record, { level, warmupS: options.warmupS, seed: options.seed }) }));
  const expectations = wanted.map(({ spec, limit }) =>
    judgeExpectation(spec, limit, gatherEvidence(runs, { kind: 'metric', metric: spec.metric }, { level, kinds: [spec.natural, ...spec.kinds] }), level),
  );
  return {
    kind: 'stoq-bench.validation',
    level,
    passed: expectations.every((e) => e.verdict === 'PASS'),
    failed: expectations.some((e) => e.verdict === 'FAIL'),
    source: options.source,
    fingerprints: [...new Set(records.map((r) => r.environment.fingerprint))],
    expectations,
  };
}

/** The validation as text: one row per expectation with its interval, level and verdict (coloured when allowed). */
export function formatValidation(v: Validation, color = false): string {
  const paint = (verdict: string) => (color ? `\x1b[${verdict === 'PASS' ? 32 : verdict === 'FAIL' ? 31 : 33}m${verdict}\x1b[0m` : verdict);
  const show = (metric: MetricId, x: number | null | undefined) => (x === null || x === undefined ? '-' : fmt(metric, x));
  const rows = v.expectations.map((e) => {
    const m = e.measured;
    const iv = m && (m.lower !== null || m.upper !== null) ? `[${show(e.metric, m.lower)}, ${show(e.metric, m.upper)}]` : '-';
    return [e.text, show(e.metric, m?.centre), iv, formatLevel(v.level), show(e.metric, e.bound), e.verdict];
  });
  const lines = [
    `validate ${v.source}: ${v.expectations.length} expectation(s), ${formatLevel(v.level)} two-sided intervals (each bound one-sided ${formatLevel((1 + v.level) / 2)})`,
    '',
    table(['expectation', 'measured', 'interval', 'level', 'bound', 'result'], rows).trimEnd(),
    '',
    ...v.expectations.map(
      (e) =>
        `${paint(e.verdict)} ${e.text}: ${e.reason}${e.measured ? `\n     ${e.measured.method}; runs ${e.runs.completed}/${e.runs.total} completed${e.scenario ? `, scenario ${e.scenario.kind} (${e.scenario.ids.join(', ')})` : ''}` : ''}`,
    ),
  ];
  const count = (verdict: ExpectationVerdict) => v.expectations.filter((e) => e.verdict === verdict).length;
  const n = v.expectations.length;
  lines.push(
    `result: ${
      v.passed
        ? `${paint('PASS')} (${n} of ${n} expectations met)`
        : v.failed
          ? `${paint('FAIL')} (${count('FAIL') + count('INVALID')} of ${n} expectations not met${count('INVALID') ? `, ${count('INVALID')} not judged` : ''})`
          : `${paint('INVALID')} (${count('INVALID')} of ${n} expectations could not be judged)`
    }`,
  );
  return `${lines.join('\n')}\n`;
}
