// Checks claims against run records. Four verdicts:
// - BACKED: the confidence bound clears the claim on its own terms (see RULES);
// - CONTRADICTED: the interval excludes the claim;
// - INCONCLUSIVE: neither; says about how many runs would settle it;
// - UNBACKED: nothing measured that metric.
// One run backs nothing by default: its within-run interval (block bootstrap over its steady intervals, order
// statistics over its samples) may contradict a claim, and a run without any interval contradicts one only
// when the claim lies more than a stated factor beyond it.
import { gatherEvidence, runsToSettle, type Evidence, type Measured, type Quantity } from '../grading/evidence.js';
import { formatValue } from '../grading/format.js';
import { KINDS, kindsTiming, kindsWith } from '../kinds.js';
import type { RunRecord } from '../record.js';
import { SCENARIO_KINDS, type ScenarioKind } from '../scenario.js';
import { DEFAULT_LEVEL, formatLevel, summarizeRun, type MetricId } from '../stats/run-model.js';
import { formatMicros, formatRate } from '../units.js';
import type { Claim, Form, Subject } from './extract.js';

export type ClaimVerdict = 'BACKED' | 'CONTRADICTED' | 'INCONCLUSIVE' | 'UNBACKED';

export interface ClaimOptions {
  /** Two-sided confidence level (default 0.95). */
  level?: number;
  /** Half-width of "about X", as a share of X (default 0.1: within 10%). */
  tolerance?: number;
  /** Let one run's within-run interval back a claim (default false: one run backs nothing). */
  allowSingleRun?: boolean;
  /** A single run without an interval contradicts a claim more than this factor beyond it (default 10). */
  singleRunFactor?: number;
  /** Words for UNBACKED claims: what to do to measure the metric (e.g. the store to record into). */
  unbackedHint?: (claim: Claim) => string;
}

export interface CheckedClaim extends Claim {
  verdict: ClaimVerdict;
  /** The rule applied, in words, with the claim's figure in it. */
  rule: string;
  measured: Measured | null;
  /** The runs behind the verdict: scenario kind and ids, testbed, counts. */
  evidence: {
    scenario: { kind: string; ids: string[] } | null;
    testbed: string | null;
    setAside: Array<{ fingerprint: string; runs: number }>;
    runs: { total: number; completed: number; unsteady: number };
  };
  reason: string;
  /** For INCONCLUSIVE: about how many runs would settle it, when that can be said. */
  runsToSettle: number | null;
}

/**
 * The rules, documented once (`claims --help`, README). `T` is --tolerance, `F` --single-run-factor, the
 * bounds are the two-sided interval's at --level.
 */
export const RULES = `Claims and the rule each gets (bounds of the two-sided interval at --level):
  rates and counts (Gbit/s, GB/s x 8, packets/s, requests/s, handshakes/s) are lower bounds: "9 Gbit/s",
    "at least", "over", "10+": BACKED when the lower bound >= X; CONTRADICTED when the upper bound < X
  latencies are upper bounds: "40 us", "under", "below", "<", "at most", "within", "sub-millisecond",
    "single-digit microseconds": BACKED when the upper bound <= X; CONTRADICTED when the lower bound > X.
    The percentile is the one named next to the figure (p50, P99, p99.9, 99th percentile, median, mean,
    max); an unqualified latency is the median
  "about", "~", "around", "typical": two-sided within X +- T: BACKED when the interval lies inside,
    CONTRADICTED when it lies wholly outside
  ranges "A-B", "A to B", "between A and B": BACKED when the interval lies inside [A, B], CONTRADICTED when
    it does not overlap
  "up to", "peak", "max": the best run's value (its steady level): BACKED when it reaches X,
    CONTRADICTED when X lies beyond the best run's within-run interval (without one: beyond the best run and
    the interval across runs)
  "N concurrent connections": BACKED by a completed run that completed N connections or more with exactly
    the bytes asked for; UNBACKED otherwise
Evidence: one value per run (goodput: time-weighted steady level; latency: the run's percentile, which
needs enough samples: p99 at 95% needs 368) and the interval across runs (median: order statistics, or t on
logs for few runs). One run backs nothing (--allow-single-run lets its within-run interval back it); a run
without any interval contradicts a claim only more than F times beyond it. Failed runs and runs that measured
0 keep a claim from BACKED. Runs from other testbeds than the one with most runs are set aside and named.`;

/** The words of a rule for one claim. */
function ruleText(claim: Claim, show: (v: number) => string, level: string, tolerance: number): string {
  const x = show(claim.value);
  switch (claim.form) {
    case 'lower':
      return `at least ${x}: BACKED when the ${level} lower bound >= ${x}, CONTRADICTED when the upper bound < ${x}`;
    case 'upper':
      return `at most ${x}: BACKED when the ${level} upper bound <= ${x}, CONTRADICTED when the lower bound > ${x}`;
    case 'about':
      return `about ${x} (+-${+(tolerance * 100).toFixed(2)}%: ${show(claim.value * (1 - tolerance))} to ${show(claim.value * (1 + tolerance))}): BACKED when the ${level} interval lies inside, CONTRADICTED when it lies outside`;
    case 'range':
      return `between ${x} and ${show(claim.high as number)}: BACKED when the ${level} interval lies inside, CONTRADICTED when it does not overlap`;
    case 'peak':
      return `up to ${x}: BACKED when the best run reaches ${x}, CONTRADICTED when ${x} lies beyond the best run's ${level} within-run interval (without one: beyond the best run and the interval across runs)`;
  }
}

/** The quantity and scenario kinds a claim's subject needs. */
function quantityOf(subject: Subject): { quantity: Quantity; kinds: ScenarioKind[] } | undefined {
  switch (subject.kind) {
    case 'goodput': {
      const first = subject.direction ? [subject.direction] : [];
      return { quantity: { kind: 'metric', metric: 'goodput' }, kinds: subject.direction ? first : kindsWith('goodput') };
    }
    case 'packetRate':
      return { quantity: { kind: 'packetRate' }, kinds: [...SCENARIO_KINDS] };
    case 'requestRate':
      return { quantity: { kind: 'metric', metric: 'requestRate' }, kinds: kindsWith('requestRate') };
    case 'handshakeRate':
      return { quantity: { kind: 'metric', metric: 'handshakeRate' }, kinds: kindsWith('handshakeRate') };
    case 'latency':
      return {
        quantity: subject.p === 'mean' ? { kind: 'latencyMean' } : { kind: 'latency', p: subject.p },
        kinds: subject.of === 'handshake' ? kindsTiming('handshake') : kindsWith('latencyP50'),
      };
    case 'connections':
      return undefined;
  }
}

function formatter(unit: string): (v: number) => string {
  if (unit === 'bit/s') return formatRate;
  if (unit === 'us') return formatMicros;
  if (unit === 'connections') return (v) => `${Math.round(v)} connections`;
  return (v) => formatValue('requestRate' as MetricId, v);
}

function unitOf(subject: Subject): string {
  if (subject.kind === 'goodput') return 'bit/s';
  if (subject.kind === 'latency') return 'us';
  if (subject.kind === 'connections') return 'connections';
  return '1/s';
}

/** The measured interval in words: `6.61 Gbit/s [6.52 Gbit/s, 6.78 Gbit/s] (95%, across 5 runs: ...)`. */
export function describeMeasured(m: Measured, show: (v: number) => string): string {
  const side = (v: number | null) => (v === null ? '-' : show(v));
  if (m.lower === null && m.upper === null) return `${side(m.centre)} (no interval: ${m.method})`;
  return `${side(m.centre)} [${side(m.lower)}, ${side(m.upper)}] (${formatLevel(m.level)}, ${m.method})`;
}

interface Judged {
  verdict: ClaimVerdict;
  reason: string;
  settle: number | null;
}

/** The verdict of an interval against a band [a, b] (a claim "about", a range, or a one-sided bound). */
function judgeBand(m: Measured, a: number, b: number, factor: number, show: (v: number) => string): Judged {
  const { lower, upper } = m;
  if (lower !== null && upper !== null && lower >= a && upper <= b) return { verdict: 'BACKED', reason: 'the interval clears it', settle: null };
  if ((upper !== null && upper < a) || (lower !== null && lower > b)) {
    return { verdict: 'CONTRADICTED', reason: `the interval excludes it (${upper !== null && upper < a ? `upper bound ${show(upper)} < ${show(a)}` : `lower bound ${show(lower as number)} > ${show(b)}`})`, settle: null };
  }
  if (m.basis === 'point' && m.centre !== null) {
    // one run without an interval: only a figure far beyond it is contradicted
    if (m.centre * factor < a || m.centre > b * factor) {
      return { verdict: 'CONTRADICTED', reason: `the claim lies more than ${factor}x beyond the only run (a run without an interval contradicts only that far)`, settle: null };
    }
    return { verdict: 'INCONCLUSIVE', reason: 'one run without an interval cannot judge it (record more runs, or longer ones with 4 or more steady intervals)', settle: null };
  }
  const c = m.centre ?? (lower ?? upper ?? a);
  const boundary = Number.isFinite(a) && (upper === null || c < a || !Number.isFinite(b) || Math.abs(c - a) < Math.abs(c - b)) ? a : b;
  const missing = lower === null || upper === null ? '; a side of the interval is not bounded by the samples' : '';
  return { verdict: 'INCONCLUSIVE', reason: `the interval reaches both sides of ${show(boundary)}${missing}`, settle: missing ? null : runsToSettle(m, boundary) };
}

/** Judges one claim on its evidence. */
function judge(claim: Claim, e: Evidence, o: Required<Omit<ClaimOptions, 'unbackedHint'>>, show: (v: number) => string): Judged {
  const m = e.measured as Measured;
  const higher = e.better === 'higher';
  if (claim.form === 'peak') {
    const best = e.values.reduce<Evidence['values'][number] | undefined>((acc, v) => (!acc || (higher ? v.value > acc.value : v.value < acc.value) ? v : acc), undefined);
    if (!best) return judgeBand(m, higher ? claim.value : -Infinity, higher ? Infinity : claim.value, o.singleRunFactor, show);
    const reaches = higher ? best.value >= claim.value : best.value <= claim.value;
    if (reaches) return { verdict: 'BACKED', reason: `the best run (${best.label}) measured ${show(best.value)}`, settle: null };
    const edge = best.interval ? (higher ? best.interval.upper : best.interval.lower) : null;
    if (edge !== null && (higher ? edge < claim.value : edge > claim.value)) {
      return { verdict: 'CONTRADICTED', reason: `the best run (${best.label}) measured ${show(best.value)}, its within-run interval ends at ${show(edge)}`, settle: null };
    }
    if (!best.interval) {
      // no within-run interval: beyond the best run and the interval across runs, or far beyond a lone run
      const across = higher ? m.upper : m.lower;
      const beyondRuns = e.values.length > 1 && across !== null && (higher ? Math.max(best.value, across) < claim.value : Math.min(best.value, across) > claim.value);
      const beyondFactor = higher ? best.value * o.singleRunFactor < claim.value : best.value > claim.value * o.singleRunFactor;
      if (beyondRuns || beyondFactor) {
        return {
          verdict: 'CONTRADICTED',
          reason: beyondRuns
            ? `the best run (${best.label}) measured ${show(best.value)}, and the interval across runs ends at ${show(across as number)}`
            : `the only run measured ${show(best.value)}, more than ${o.singleRunFactor}x away (it has no within-run interval)`,
          settle: null,
        };
      }
      return { verdict: 'INCONCLUSIVE', reason: `the best run (${best.label}) measured ${show(best.value)}; it has no within-run interval, and the runs do not rule the claim out`, settle: null };
    }
    return { verdict: 'INCONCLUSIVE', reason: `the best run (${best.label}) measured ${show(best.value)}; its within-run interval reaches the claim`, settle: null };
  }
  const tol = o.tolerance;
  const [a, b] =
    claim.form === 'lower'
      ? [claim.value, Infinity]
      : claim.form === 'upper'
        ? [-Infinity, claim.value]
        : claim.form === 'about'
          ? [claim.value * (1 - tol), claim.value * (1 + tol)]
          : [claim.value, claim.high as number];
  return judgeBand(m, a, b, o.singleRunFactor, show);
}

/** Connection-count claims: the largest number of connections a completed run completed, with exact bytes. */
function checkConnections(claim: Claim, records: readonly RunRecord[]): Pick<CheckedClaim, 'verdict' | 'reason' | 'measured' | 'evidence'> {
  const exact = records.filter((r) => {
    const s = r.scenario as { connections?: number; bytes?: number; count?: number; requestSize?: number; responseSize?: number };
    const e = r.end;
    const wanted = s.connections ?? 1;
    if (e.state !== 'completed' || e.connections?.completed !== wanted) return false;
    const flows = KINDS[r.scenario.kind].bytes;
    if (typeof s.bytes === 'number' && flows) {
      return (!flows.sent || e.bytesSent === s.bytes) && (!flows.received || e.bytesReceived === s.bytes);
    }
    if (typeof s.count === 'number' && typeof s.requestSize === 'number' && typeof s.responseSize === 'number') {
      return e.bytesSent === s.count * s.requestSize && e.bytesReceived === s.count * s.responseSize;
    }
    return false;
  });
  const best = exact.reduce<RunRecord | undefined>((acc, r) => (!acc || (r.end.connections?.completed ?? 0) > (acc.end.connections?.completed ?? 0) ? r : acc), undefined);
  const n = best?.end.connections?.completed ?? 0;
  const evidence = {
    scenario: best ? { kind: best.scenario.kind, ids: [best.scenario.id] } : null,
    testbed: best?.environment.fingerprint ?? null,
    setAside: [],
    runs: { total: exact.length, completed: exact.length, unsteady: 0 },
  };
  const measured: Measured | null = best ? { centre: n, lower: n, upper: n, level: 1, method: 'connections completed by one run with exact byte counts', basis: 'run', n: 1 } : null;
  if (best && n >= claim.value) {
    return { verdict: 'BACKED', reason: `a completed run (${best.session.id}#${best.session.run}) completed ${n} concurrent connections with exactly the bytes asked for`, measured, evidence };
  }
  return {
    verdict: 'UNBACKED',
    reason: best
      ? `the most connections any completed run with exact byte counts completed is ${n} (run ${best.session.id}#${best.session.run})`
      : 'no completed run with exact byte counts (a --bytes transfer, or requests with --count) measured concurrent connections',
    measured,
    evidence,
  };
}

/** Checks each claim against the records. */
export function checkClaims(claims: readonly Claim[], records: readonly RunRecord[], options: ClaimOptions = {}): CheckedClaim[] {
  const o = {
    level: options.level ?? DEFAULT_LEVEL,
    tolerance: options.tolerance ?? 0.1,
    allowSingleRun: options.allowSingleRun ?? false,
    singleRunFactor: options.singleRunFactor ?? 10,
  };
  const level = formatLevel(o.level);
  const runs = records.map((record) => ({ record, summary: summarizeRun(record, { level: o.level }) }));
  return claims.map((claim): CheckedClaim => {
    const show = formatter(unitOf(claim.subject));
    const rule = claim.subject.kind === 'connections'
      ? `${Math.round(claim.value)} concurrent connections: BACKED by a completed run that completed at least that many with exactly the bytes asked for, else UNBACKED`
      : ruleText(claim, show, level, o.tolerance);
    if (claim.subject.kind === 'connections') return { ...claim, rule, runsToSettle: null, ...checkConnections(claim, records) };
    const { quantity, kinds } = quantityOf(claim.subject)!;
    const e = gatherEvidence(runs, quantity, { level: o.level, kinds });
    const evidence = { scenario: e.scenario, testbed: e.testbed, setAside: e.setAside, runs: e.runs };
    const base = { ...claim, rule, measured: e.measured, evidence, runsToSettle: null };
    const hint = options.unbackedHint?.(claim);
    if (e.runs.total === 0) {
      return { ...base, verdict: 'UNBACKED', reason: `no completed run measured ${e.label} (a ${kinds.join(' or ')} scenario measures it)${hint ? `; ${hint}` : ''}` };
    }
    if (!e.measured) {
      const why = e.failed.length ? `every run failed: ${e.failed.join(', ')}` : `no completed run measured ${e.label}`;
      return { ...base, verdict: 'UNBACKED', reason: `${why}${hint ? `; ${hint}` : ''}` };
    }
    const judged = judge(claim, e, o, show);
    if (e.measured.basis === 'point') base.rule = `${rule}; a single run without an interval: never BACKED, CONTRADICTED only when the claim lies more than ${o.singleRunFactor}x beyond it`;
    let { verdict, reason } = judged;
    const notes: string[] = [];
    // what keeps a claim from BACKED, however the interval looks
    if (verdict === 'BACKED' && claim.form !== 'peak' && e.measured.n === 1 && !o.allowSingleRun) {
      verdict = 'INCONCLUSIVE';
      reason = `${reason}, but one run backs nothing (no run-to-run variation seen; record more runs, or --allow-single-run)`;
    }
    if (verdict === 'BACKED' && (e.failed.length > 0 || e.zero.length > 0)) {
      verdict = 'INCONCLUSIVE';
      reason = `${reason}, but ${[...e.failed, ...e.zero.map((z) => `${z} measured 0`)].join(', ')}`;
    }
    if (e.undetermined && verdict !== 'CONTRADICTED') notes.push(`${e.label} not determined by ${e.undetermined.runs.length} run(s): ${e.undetermined.reason}`);
    if (e.runs.unsteady > 0) notes.push(`${e.runs.unsteady} run(s) flagged unsteady`);
    if (e.setAside.length > 0) notes.push(`set aside, not pooled: ${e.setAside.map((s) => `${s.runs} run(s) from testbed ${s.fingerprint}`).join(', ')}`);
    const settle = verdict === 'INCONCLUSIVE' ? judged.settle : null;
    return {
      ...base,
      verdict,
      reason: `measured ${describeMeasured(e.measured, show)}; ${reason}${settle ? `; about ${settle} runs would settle it` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      runsToSettle: settle,
    };
  });
}

/** Labels for the forms, for tables. */
export const FORM_LABEL: Record<Form, string> = { lower: 'at least', upper: 'at most', about: 'about', range: 'range', peak: 'up to' };
