// Health of a monitored target: Healthy, Degraded or Critical, with the reason.
// - Critical: the last probe failed (target unreachable, connection errored), or an SLO is breached with
//   confidence (the window's whole confidence interval of the figure lies on the wrong side of the limit;
//   for goodput: every one of at least 3 bursts in the window missed it).
// - Degraded: an SLO missed by the point estimate only, or the window worse than the baseline beyond the
//   margin with confidence (its confidence bound nearest the baseline is beyond baseline x (1 + margin)).
// - Healthy otherwise.
import type { Slo } from '../grading/index.js';
import type { Summary } from '../stats/index.js';
import { formatMicros, formatRate } from '../units.js';

export type HealthState = 'Healthy' | 'Degraded' | 'Critical';
export const HEALTH_STATES: HealthState[] = ['Healthy', 'Degraded', 'Critical'];

export interface Health {
  state: HealthState;
  /** Every finding, worst first; the first one is the reason given in an alert. */
  reasons: string[];
}

/** The baseline's levels: the medians, across its runs, of the per-run figures. */
export interface BaselineLevels {
  name: string;
  p50Us?: number;
  p99Us?: number;
  goodputBps?: number;
}

export interface HealthInput {
  lastProbe: { ok: true } | { ok: false; reason: string } | undefined;
  rtt: Summary | undefined;
  /** Type-7 point estimates of the window's RTT percentiles, us (also where no interval can be given). */
  rttPoints?: { p50: number; p99: number };
  /** Burst goodputs in the window, oldest first. */
  goodputs: number[];
  slos: Slo[];
  baseline?: BaselineLevels;
  /** Fraction the window may be worse than the baseline (0.25: 25%). */
  margin: number;
}

/** Bursts that must all miss a goodput SLO before it counts as breached with confidence. */
const GOODPUT_CONFIDENT_BURSTS = 3;

function rank(state: HealthState): number {
  return HEALTH_STATES.indexOf(state);
}

export function evaluateHealth(input: HealthInput): Health {
  const findings: Array<{ state: HealthState; reason: string }> = [];
  if (input.lastProbe && !input.lastProbe.ok) findings.push({ state: 'Critical', reason: `probe failed: ${input.lastProbe.reason}` });
  for (const slo of input.slos) {
    const f = sloFinding(slo, input);
    if (f) findings.push(f);
  }
  const b = input.baseline;
  if (b && input.rtt) {
    for (const [key, p] of [['p50Us', 'p50'], ['p99Us', 'p99']] as const) {
      const level = b[key];
      const pc = input.rtt.percentiles[p];
      if (level === undefined || !pc?.interval || pc.value === null) continue;
      if (pc.interval.lower > level * (1 + input.margin)) {
        findings.push({
          state: 'Degraded',
          reason: `RTT ${p} ${formatMicros(pc.value)} (${Math.round(pc.interval.level * 100)}% interval from ${formatMicros(pc.interval.lower)}) is worse than baseline "${b.name}" ${formatMicros(level)} by more than ${Math.round(input.margin * 100)}%`,
        });
      }
    }
  }
  if (b?.goodputBps !== undefined && input.goodputs.length >= GOODPUT_CONFIDENT_BURSTS) {
    const best = Math.max(...input.goodputs);
    if (best < b.goodputBps / (1 + input.margin)) {
      findings.push({
        state: 'Degraded',
        reason: `goodput: all ${input.goodputs.length} bursts in the window (best ${formatRate(best)}) below baseline "${b.name}" ${formatRate(b.goodputBps)} by more than ${Math.round(input.margin * 100)}%`,
      });
    }
  }
  findings.sort((x, y) => rank(y.state) - rank(x.state));
  if (findings.length === 0) return { state: 'Healthy', reasons: [] };
  return { state: findings[0].state, reasons: findings.map((f) => f.reason) };
}

function wrongSide(slo: Slo, v: number): boolean {
  return slo.op === '>=' ? v < slo.limit : v > slo.limit;
}

function sloFinding(slo: Slo, input: HealthInput): { state: HealthState; reason: string } | undefined {
  if (slo.metric === 'goodput') {
    const g = input.goodputs;
    if (g.length === 0) return undefined;
    const missed = g.filter((v) => wrongSide(slo, v)).length;
    const last = g[g.length - 1];
    if (g.length >= GOODPUT_CONFIDENT_BURSTS && missed === g.length) {
      return { state: 'Critical', reason: `SLO ${slo.text} breached: all ${g.length} bursts in the window missed it (last ${formatRate(last)})` };
    }
    if (wrongSide(slo, last)) return { state: 'Degraded', reason: `SLO ${slo.text} missed by the last burst (${formatRate(last)}; ${missed} of ${g.length} in the window)` };
    return undefined;
  }
  const p = slo.metric === 'latencyP50' ? 'p50' : 'p99';
  const pc = input.rtt?.percentiles[p];
  if (!input.rtt || !pc) return undefined;
  const fmt = formatMicros;
  if (pc.value !== null && pc.interval) {
    const nearest = slo.op === '<=' ? pc.interval.lower : pc.interval.upper;
    if (wrongSide(slo, nearest)) {
      return {
        state: 'Critical',
        reason: `SLO ${slo.text} breached with confidence: RTT ${p} ${fmt(pc.value)}, ${Math.round(pc.interval.level * 100)}% interval [${fmt(pc.interval.lower)}, ${fmt(pc.interval.upper)}] (n=${input.rtt.n})`,
      };
    }
    if (wrongSide(slo, pc.value)) return { state: 'Degraded', reason: `SLO ${slo.text} missed by the estimate: RTT ${p} ${fmt(pc.value)}, interval [${fmt(pc.interval.lower)}, ${fmt(pc.interval.upper)}] (n=${input.rtt.n})` };
    return undefined;
  }
  // too few samples in the window to bound this percentile: the type-7 point estimate can only degrade
  const point = input.rttPoints?.[p];
  if (point !== undefined && wrongSide(slo, point)) {
    return { state: 'Degraded', reason: `SLO ${slo.text} possibly missed: RTT ${p} estimate ${fmt(point)}, not yet bounded (${pc.reason ?? `n=${input.rtt.n}`})` };
  }
  return undefined;
}
