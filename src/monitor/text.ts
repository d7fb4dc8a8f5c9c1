// `monitor` for people (on a terminal, or --no-json): a line when it starts, an alert that stands out whenever the health
// changes (its own line, the word ALERT or RECOVERED, the state's colour when colour is allowed), a line when
// it stops, and on a terminal the live status line (stderr, redrawn in place). Figures with their units,
// rounded; text from outside (the target, reasons naming a peer's error) shown, never acted on.
import { visible } from '../escape.js';
import { formatMicros, formatRate } from '../units.js';
import type { Alert } from './alerts.js';
import type { HealthState } from './health.js';
import type { Measurement, MonitorResult } from './monitor.js';

const COLOUR: Record<HealthState, number> = { Healthy: 32, Degraded: 33, Critical: 31 };

/** `text` in the colour of `state` when colour is allowed. */
export const paint = (text: string, state: HealthState, color: boolean, bold = false) => (color ? `\x1b[${bold ? '1;' : ''}${COLOUR[state]}m${text}\x1b[0m` : text);
const us = (v: number | null) => (v === null ? '-' : formatMicros(v));
/** `2026-11-30 12:00:01Z` from an ISO time. */
const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const seconds = (ns: number) => `${+(ns / 1e9).toFixed(3)} s`;

export interface StartedInfo {
  target: string;
  intervalNs: number;
  windowNs: number;
  burstEveryNs: number;
  burstDurationNs: number;
  probeCount: number;
  slos: string[];
  baseline: string | null;
  history: string;
  metrics: string | null;
}

export function startedText(s: StartedInfo): string {
  const bursts = s.burstEveryNs > 0 ? `a ${seconds(s.burstDurationNs)} download every ${seconds(s.burstEveryNs)}` : 'no throughput bursts';
  return (
    `monitoring ${visible(s.target)}: ${s.probeCount} round trips every ${seconds(s.intervalNs)}, ${bursts}; window ${seconds(s.windowNs)}; ` +
    `SLOs ${s.slos.length > 0 ? s.slos.map((x) => visible(x)).join(', ') : 'none'}; baseline ${s.baseline === null ? 'none' : `"${visible(s.baseline)}"`}; ` +
    `history ${visible(s.history)}${s.metrics ? `; metrics on ${s.metrics}` : ''}`
  );
}

/** An alert: its own line, marked and coloured by the new state, then its other findings and the window. */
export function alertText(a: Alert, color: boolean): string {
  const mark = a.to !== 'Healthy' ? 'ALERT ' : a.from !== null ? 'RECOVERED ' : 'health ';
  const head = `${when(a.time)} ${paint(`${mark}${a.to}`, a.to, color, a.to !== 'Healthy' || a.from !== null)}${a.from ? ` (was ${a.from})` : ''}: ${visible(a.reason)}`;
  const w = a.window;
  const window = `    window: RTT p50 ${us(w.rttP50Us)}, p99 ${us(w.rttP99Us)} (n=${w.rttN}); ${w.bursts} burst(s)${w.lastGoodputBps === null ? '' : `, the last ${formatRate(w.lastGoodputBps)}`}`;
  return [head, ...a.reasons.slice(1).map((r) => `    also: ${visible(r)}`), window].join('\n');
}

export function stoppedText(r: MonitorResult, elapsedNs: number, color: boolean): string {
  const state = r.state === null ? 'no measurement finished' : paint(r.state, r.state, color, true);
  return (
    `stopped after ${seconds(elapsedNs)}: ${state}${r.reasons[0] ? ` (${visible(r.reasons[0])})` : ''}; ` +
    `probes ${r.probes.ok} ok, ${r.probes.failed} failed; bursts ${r.bursts.ok} ok, ${r.bursts.failed} failed; ` +
    `${r.alerts} alert(s); ${r.skippedTicks} tick(s) skipped`
  );
}

/** The live status line after a measurement (no control characters; coloured by the caller). */
export function statusText(m: Measurement): string {
  const what =
    m.kind === 'probe'
      ? m.ok
        ? `RTT p50 ${us(m.rttP50Us)} p99 ${us(m.rttP99Us)} (n=${m.windowN})`
        : 'probe failed'
      : m.ok
        ? `burst ${formatRate(m.record!.end.goodputBps)}`
        : 'burst failed';
  return `${m.health.state}: ${what}${m.health.reasons[0] ? ` - ${visible(m.health.reasons[0])}` : ''}`;
}
