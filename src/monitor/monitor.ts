// `stoq-bench monitor`: continuous measurement of one target. Every interval a light round-trip probe (a
// short `latency` scenario: a new connection, a few 64-byte round trips, each timed); every `burstEveryNs`
// a short download burst. RTTs and burst goodputs feed a sliding window summarised by the stats module;
// the health (Healthy, Degraded, Critical) is evaluated after every measurement against the SLOs and the
// baseline; a change of state is an alert. Every measurement's run record goes to the history store.
// A target that goes away is data: its probes fail (state Critical, with the reason) and probing goes on.
import { randomUUID } from 'node:crypto';
import { fromNative } from '../errors.js';
import type { Slo } from '../grading/index.js';
import type { HistoryStore } from '../history/index.js';
import type { RunRecord } from '../record.js';
import { runScenario } from '../run.js';
import { normalizeScenario, type Scenario } from '../scenario.js';
import { isTransfer, kindFor } from '../kinds.js';
import { engineLimit, engineSpec } from '../native.js';
import { median } from '../stats/order-statistics.js';
import { quantileSorted } from '../stats/index.js';
import { emitAlert, type Alert, type AlertSinks } from './alerts.js';
import { evaluateHealth, type BaselineLevels, type Health, type HealthState } from './health.js';
import type { MonitorMetrics } from './metrics.js';
import { SlidingWindow, WINDOW_PERCENTILES } from './window.js';

export interface MonitorOptions {
  target: string;
  /** PEM client certificate and key files, for a target that requires client certificates. */
  clientCert?: string;
  clientKey?: string;
  intervalNs: number;
  windowNs: number;
  /** 0: no bursts. */
  burstEveryNs: number;
  burstDurationNs: number;
  probeCount: number;
  /** Round trips at the start of each probe connection left out of the window (the first one after the
   *  handshake is slower: 0.5 to 2 ms against 30 to 40 us on [::1]); they stay in the stored record. */
  probeWarmup?: number;
  /** A probe not completed after this fails (a burst: after its duration plus this); also the idle timeout. */
  probeTimeoutNs: number;
  /** Stop after this long; undefined: until the signal aborts. */
  durationNs?: number;
  slos: Slo[];
  baseline?: BaselineLevels;
  margin: number;
  signal: AbortSignal;
  history?: HistoryStore;
  metrics?: MonitorMetrics;
  alerts: AlertSinks;
  /** Called after every measurement (live status on a terminal, tests). */
  onMeasurement?: (m: Measurement) => void;
}

export interface Measurement {
  kind: 'probe' | 'burst';
  atMs: number;
  ok: boolean;
  record?: RunRecord;
  error?: string;
  health: Health;
  rttP50Us: number | null;
  rttP99Us: number | null;
  windowN: number;
}

export interface MonitorResult {
  probes: { ok: number; failed: number };
  bursts: { ok: number; failed: number };
  alerts: number;
  skippedTicks: number;
  state: HealthState | null;
  /** The last evaluation's findings, worst first. */
  reasons: string[];
}

/** Waits `ms` or until the signal aborts (whichever first). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A probe: the scenario that measures round-trip latency (64-byte requests and responses). */
const PROBE_KIND = kindFor('latencyP50');
/** A burst: the scenario that measures goodput. */
const BURST_KIND = kindFor('goodput');

function probeScenario(o: Pick<MonitorOptions, 'probeCount' | 'probeTimeoutNs'>): Scenario {
  return normalizeScenario({ kind: PROBE_KIND, count: o.probeCount, requestSize: 64, responseSize: 64, settings: { idleTimeoutNs: o.probeTimeoutNs } });
}

function burstScenario(o: Pick<MonitorOptions, 'burstDurationNs' | 'probeTimeoutNs'>): Scenario {
  return normalizeScenario({ kind: BURST_KIND, durationNs: o.burstDurationNs, settings: { idleTimeoutNs: o.probeTimeoutNs } });
}

export async function runMonitor(o: MonitorOptions): Promise<MonitorResult> {
  const now = () => performance.now();
  const startMs = now();
  const endMs = o.durationNs !== undefined ? startMs + o.durationNs / 1e6 : Infinity;
  // stop on the caller's signal or at the end of --duration; a measurement in flight is cancelled then
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) stop.abort();
  const endTimer = Number.isFinite(endMs) ? setTimeout(() => stop.abort(), endMs - startMs) : undefined;

  const intervalMs = o.intervalNs / 1e6;
  const rtts = new SlidingWindow(o.windowNs / 1e6);
  const goodputs = new SlidingWindow(o.windowNs / 1e6);
  const probe = probeScenario(o);
  const burst = o.burstEveryNs > 0 ? burstScenario(o) : undefined;
  const sessions = { probe: { id: randomUUID(), run: 0 }, burst: { id: randomUUID(), run: 0 } };
  const result: MonitorResult = { probes: { ok: 0, failed: 0 }, bursts: { ok: 0, failed: 0 }, alerts: 0, skippedTicks: 0, state: null, reasons: [] };
  let lastProbe: { ok: true } | { ok: false; reason: string } | undefined;
  let nextBurstMs = startMs + (burst ? Math.min(o.burstEveryNs / 1e6, intervalMs) : Infinity);

  const measure = async (kind: 'probe' | 'burst', scenario: Scenario) => {
    const session = sessions[kind];
    let record: RunRecord | undefined;
    let error: string | undefined;
    // a deadline of its own: quiche's handshake waits at least 3 PTOs (about 3 s) before timing out
    const deadlineMs = (kind === 'burst' ? o.burstDurationNs + o.probeTimeoutNs : o.probeTimeoutNs) / 1e6;
    const own = new AbortController();
    const cancel = () => own.abort();
    stop.signal.addEventListener('abort', cancel, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      own.abort();
    }, deadlineMs);
    try {
      ({ record } = await runScenario(scenario, {
        target: o.target,
        clientCert: o.clientCert,
        clientKey: o.clientKey,
        intervalNs: Math.max(engineLimit('intervalNs').min, Math.min(engineSpec().defaults.intervalNs, o.intervalNs)),
        signal: own.signal,
        session: { id: session.id, run: session.run, runs: session.run + 1 },
      }));
      session.run++;
    } catch (e) {
      const err = fromNative(e);
      error = `${err.code}: ${err.message}`;
    } finally {
      clearTimeout(timer);
      stop.signal.removeEventListener('abort', cancel);
    }
    if (stop.signal.aborted && !timedOut) return undefined; // stopped mid-measurement: not data
    if (record) {
      try {
        o.history?.addRecords([record]);
      } catch (e) {
        o.alerts.stderr(`stoq-bench monitor: history: ${(e as Error).message}\n`);
      }
    }
    const atMs = now();
    const ok = record !== undefined && record.end.state === 'completed';
    if (!ok && record) {
      error = record.end.error
        ? `${record.end.error.code}: ${record.end.error.message}`
        : timedOut
          ? `TIMEOUT: no answer from ${o.target} within ${deadlineMs} ms`
          : `run ${record.end.state}`;
    }
    if (kind === 'probe') {
      result.probes[ok ? 'ok' : 'failed']++;
      o.metrics?.probes.inc({ result: ok ? 'ok' : 'failed' });
      o.metrics?.up.set(ok ? 1 : 0);
      o.metrics?.lastProbe.set(Date.now() / 1e3);
      lastProbe = ok ? { ok: true } : { ok: false, reason: error ?? 'unknown' };
      const us = (record?.samples?.latencyUs ?? []).slice(o.probeWarmup ?? 0);
      if (ok) {
        rtts.add(atMs, us);
        for (const v of us) o.metrics?.rtt.observe(v / 1e6);
      }
    } else {
      result.bursts[ok ? 'ok' : 'failed']++;
      o.metrics?.bursts.inc({ result: ok ? 'ok' : 'failed' });
      if (ok) {
        goodputs.add(atMs, [record!.end.goodputBps]);
        o.metrics?.goodput.set(record!.end.goodputBps);
        o.metrics?.goodputHistogram.observe(record!.end.goodputBps);
      } else if (lastProbe?.ok !== false) {
        lastProbe = { ok: false, reason: `burst failed: ${error ?? 'unknown'}` };
      }
    }
    return { kind, atMs, ok, record, error };
  };

  const evaluate = async (m: { kind: 'probe' | 'burst'; atMs: number; ok: boolean; record?: RunRecord; error?: string }) => {
    rtts.prune(m.atMs);
    goodputs.prune(m.atMs);
    const summary = rtts.summary();
    const points = rtts.points([0.5, 0.99]);
    const health = evaluateHealth({
      lastProbe,
      rtt: summary,
      rttPoints: points ? { p50: points[0], p99: points[1] } : undefined,
      goodputs: goodputs.current(),
      slos: o.slos,
      baseline: o.baseline,
      margin: o.margin,
    });
    if (o.metrics) {
      o.metrics.windowSamples.set(rtts.size);
      const ps = rtts.points(WINDOW_PERCENTILES);
      if (ps) WINDOW_PERCENTILES.forEach((p, i) => o.metrics!.rttWindow.set({ quantile: String(p) }, ps[i] / 1e6));
      o.metrics.setHealth(health.state);
    }
    result.reasons = health.reasons;
    const p50 = points?.[0] ?? null;
    const p99 = points?.[1] ?? null;
    if (health.state !== result.state) {
      const alert: Alert = {
        event: 'alert',
        time: new Date().toISOString(),
        target: o.target,
        from: result.state,
        to: health.state,
        reason: health.reasons[0] ?? 'every check passes',
        reasons: health.reasons,
        window: { rttN: rtts.size, rttP50Us: p50, rttP99Us: p99, bursts: goodputs.size, lastGoodputBps: goodputs.last() ?? null },
      };
      result.state = health.state;
      result.alerts++;
      await emitAlert(alert, o.alerts);
    }
    o.onMeasurement?.({ ...m, health, rttP50Us: p50, rttP99Us: p99, windowN: rtts.size });
  };

  try {
    // fixed-rate ticks from the start (no drift); a tick missed while a measurement ran is skipped, and counted
    let tick = 0;
    while (!stop.signal.aborted) {
      const m = await measure('probe', probe);
      if (m) await evaluate(m);
      if (burst && !stop.signal.aborted && now() >= nextBurstMs) {
        const b = await measure('burst', burst);
        if (b) await evaluate(b);
        nextBurstMs += o.burstEveryNs / 1e6;
        if (nextBurstMs < now()) nextBurstMs = now() + o.burstEveryNs / 1e6;
      }
      const next = Math.floor((now() - startMs) / intervalMs) + 1;
      result.skippedTicks += Math.max(0, next - tick - 1);
      tick = next;
      await sleep(Math.min(startMs + tick * intervalMs, endMs) - now(), stop.signal);
      if (now() >= endMs) break;
    }
  } finally {
    if (endTimer) clearTimeout(endTimer);
    o.signal.removeEventListener('abort', onAbort);
  }
  return result;
}

/** A baseline's levels from its records: medians across runs of per-run RTT p50/p99 and goodput. */
export function baselineLevels(name: string, records: RunRecord[]): BaselineLevels {
  const med = (v: number[]) => (v.length === 0 ? undefined : median(v));
  const ok = records.filter((r) => r.end.state === 'completed');
  // per run of the scenario probes are (round trips, one at a time): the recorded percentiles where the run
  // determined them, else type-7 percentiles of the raw samples
  const lat = ok
    .filter((r) => r.scenario.kind === PROBE_KIND)
    .map((r) => {
      const l = r.end.latency;
      if (l && l.p50Us !== null && l.p99Us !== null) return { p50: l.p50Us, p99: l.p99Us };
      const xs = r.samples?.latencyUs;
      if (!xs || xs.length === 0) return undefined;
      const sorted = Float64Array.from(xs).sort();
      return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99) };
    })
    .filter((x): x is { p50: number; p99: number } => x !== undefined);
  const xfer = ok.filter((r) => isTransfer(r.scenario.kind));
  return {
    name,
    p50Us: med(lat.map((l) => l.p50)),
    p99Us: med(lat.map((l) => l.p99)),
    goodputBps: med(xfer.map((r) => r.end.goodputBps)),
  };
}
