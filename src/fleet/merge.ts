// Many clients' records of one session, merged into one record that reads like any other: totals are
// exact sums; intervals are the clients' bytes and completions on one wall-clock time line, counted only
// over the span where every client was running (the steady state of the whole session); latency comes
// from the sum of the clients' HdrHistograms; per-client figures and Jain's fairness index say how the
// load was shared. Each side keeps its own figures: the clients' are summed (their connections and threads
// are their own); the server's per-connection counts are summed too (each client asked for its own
// connections), but its threads and sockets are shared, so its CPU time and fast path are those of the client
// that saw them longest, never a sum.
import { createHash } from 'node:crypto';
import { fromNative, StoqError } from '../errors.js';
import type { FairnessMetric, Kind } from '../generated/engine.js';
import { isTransfer, kindSpec, takes } from '../kinds.js';
import {
  SCHEMA_VERSION,
  type ConnectionRecord,
  type Environment,
  type ErrorInfo,
  type FastPath,
  type FleetClient,
  type FleetSummary,
  type IntervalRecord,
  type RunRecord,
  type RunState,
  type ServerView,
  type SideEnvironment,
  type SideRecord,
  type SideTotals,
  type StartRecord,
} from '../record.js';
import { normalizeScenario, type Scenario } from '../scenario.js';
import { median } from '../stats/order-statistics.js';
import { VERSION } from '../version.js';
import { jainIndex } from './fairness.js';
import { decodeHistogram, histogramOfNs, latencySummary, mergeHistograms, type Histogram } from './histogram.js';

/** One client of the session: its record (null when it left none) and where it came from. */
export interface ClientInput {
  /** The client's index in the session (the pod's completion index, or the file's position). */
  index: number;
  /** Where the record came from: a file name, or `pod/NAME`. */
  source: string;
  pod?: string;
  node?: string;
  record: RunRecord | null;
  /** Why the client failed (a pod that failed), kept even when it left a record. */
  failure?: ErrorInfo;
}

/** A merged session: a run record with its `start` and `fleet` summary. */
export type FleetRecord = RunRecord & { start: StartRecord; fleet: FleetSummary };

/** What a kind's clients share: goodput for transfers, else the rate of what they complete. */
function fairnessMetric(kind: Kind): FairnessMetric {
  if (isTransfer(kind)) return 'goodput';
  return kindSpec(kind).rate === 'handshakesPerSecond' ? 'handshakeRate' : 'requestRate';
}

/**
 * Merges the clients of one session.
 * @throws StoqError INVALID_FILE when the records cannot be one session: no record at all, different
 * scenarios, different start instants, a record repeated, a record of an embedded server, a merged session
 */
export function mergeFleet(inputs: readonly ClientInput[], options: { sessionId?: string } = {}): FleetRecord {
  const withRecord = inputs.filter((c): c is ClientInput & { record: RunRecord } => c.record !== null);
  if (withRecord.length === 0) throw new StoqError('INVALID_FILE', `none of the ${inputs.length} client(s) left a record: nothing to merge`);
  checkOneSession(withRecord);
  const first = withRecord[0].record;
  const starts = [...new Set(withRecord.map((c) => c.record.start?.at ?? null))];
  const startAt = starts.length === 1 ? starts[0] : null;
  const anchored = withRecord.every((c) => typeof c.record.start?.anchorUnixUs === 'number');
  const anchorUs = (r: RunRecord) => (anchored ? r.start!.anchorUnixUs : Date.parse(r.startedAt) * 1e3);
  const zeroUs = startAt !== null ? Date.parse(startAt) * 1e3 : Math.min(...withRecord.map((c) => anchorUs(c.record)));
  const notes: string[] = [];
  if (!anchored) notes.push("aligned on each record's startedAt (millisecond precision): a record carries no clock anchor");

  // Each client's run on the session's time line.
  const lines = withRecord.map((c) => {
    const offset = (anchorUs(c.record) - zeroUs) / 1e6;
    return { input: c, record: c.record, startS: offset, endS: offset + c.record.end.durationS };
  });
  const missing = inputs.length - withRecord.length;
  const steadyStart = Math.max(...lines.map((l) => l.startS));
  const steadyEnd = Math.min(...lines.map((l) => l.endS));
  let steady: FleetSummary['steady'] = null;
  if (missing > 0) notes.push(`${missing} client(s) left no record: the steady span is that of the ${withRecord.length} that did`);
  if (steadyEnd > steadyStart) steady = { startS: steadyStart, endS: steadyEnd, durationS: steadyEnd - steadyStart };
  else notes.push('the clients never all ran at once (one ended before another started): no steady span');

  // The grid: cells of the clients' interval length, from the moment the last client started.
  const length = intervalLength(withRecord.map((c) => c.record));
  const cells: Array<[number, number]> = [];
  if (steady) {
    for (let s = steady.startS; s < steady.endS - 1e-9; s += length) cells.push([s, Math.min(s + length, steady.endS)]);
  }
  const perClient = lines.map((l) => spread(l.record.intervals, l.startS, cells));
  const intervals = cells.map(([startS, endS], k) => combineCell(k, startS, endS, perClient.map((p) => p.cells[k])));

  // Latency: the clients' histograms summed, or the raw samples where a record has no histogram.
  const latency = mergedLatency(withRecord.map((c) => c.record));
  const kind = first.scenario.kind;
  const clients = inputs.map((c) => {
    const i = lines.findIndex((l) => l.input === c);
    return clientFigures(c, lines[i], perClient[i], steady);
  });
  const metric = fairnessMetric(kind);
  let fairness: FleetSummary['fairness'] = null;
  if (steady) {
    const shares = clients.filter((c) => c.startS !== null).map((c) => (metric === 'goodput' ? c.steadyGoodputBps : c.steadyRate) ?? 0);
    const j = jainIndex(shares);
    if (j) fairness = { metric, ...j };
    else notes.push('no client moved anything in the steady span: fairness undefined');
  }

  const records = withRecord.map((c) => c.record);
  const sum = (f: (r: RunRecord) => number) => records.reduce((s, r) => s + f(r), 0);
  const sessionStart = Math.min(...lines.map((l) => l.startS));
  const durationS = Math.max(...lines.map((l) => l.endS)) - sessionStart;
  const bytes = sum((r) => r.end.bytesSent) + sum((r) => r.end.bytesReceived);
  const completed = sum((r) => r.end.completed);
  const steadyCompleted = intervals.reduce((s, iv) => s + iv.completed, 0);
  const rate = steady ? steadyCompleted / steady.durationS : durationS > 0 ? completed / durationS : 0;
  const state = sessionState(clients);
  const firstError = clients.find((c) => c.error)?.error;
  const erroredClients = clients.filter((c) => c.state === 'errored');
  const connections: ConnectionRecord[] = records.flatMap((r) => r.connections).map((c, index) => ({ ...c, index }));
  const count = (s: RunState) => records.reduce((n, r) => n + r.end.connections[s], 0);

  const scenario = sessionScenario(first.scenario, inputs.length, notes);
  const rateField = kindSpec(kind).rate;
  const latencySummaryOf = latency ? latencySummary(latency.histogram) : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'stoq-bench', version: VERSION },
    session: { id: options.sessionId ?? sessionIdOf(records), run: 0, runs: 1 },
    startedAt: new Date(zeroUs / 1e3).toISOString(),
    target: [...new Set(records.map((r) => r.target))].join(', '),
    embeddedServer: false,
    serverView: serverViewOf(records),
    scenario,
    environment: environmentOf(records, inputs.length),
    intervals,
    // each client's closing period is in its own record
    closing: null,
    connections,
    end: {
      state,
      ...(firstError && state !== 'completed'
        ? {
            error: {
              code: firstError.code,
              message: erroredClients.map((c) => `client ${c.index} (${c.pod ?? c.source}): ${c.error?.code ?? '?'}: ${c.error?.message ?? 'errored'}`).join('; '),
            },
          }
        : {}),
      durationS,
      bytesSent: sum((r) => r.end.bytesSent),
      bytesReceived: sum((r) => r.end.bytesReceived),
      goodputBps: durationS > 0 ? (bytes * 8) / durationS : 0,
      completed,
      // the kind's rate, over the steady span
      ...(rateField ? { [rateField]: rate } : {}),
      ...(latencySummaryOf ? { latency: latencySummaryOf } : {}),
      connections: { total: connections.length, completed: count('completed'), errored: count('errored'), cancelled: count('cancelled') },
      snapshotsDropped: sum((r) => r.end.snapshotsDropped),
      client: combineTotals(records.map((r) => r.end.client), 'sum'),
      server: records.every((r) => r.end.server) ? combineTotals(records.map((r) => r.end.server!), 'shared') : null,
    },
    start: startOfSession(zeroUs, startAt, clients),
    fleet: {
      clients,
      startAt,
      alignment: anchored ? 'clock-anchor' : 'started-at',
      steady,
      notes,
      fairness,
      clientScenarioId: first.scenario.id,
      latencyFrom: latency?.from ?? null,
    },
  };
}

function checkOneSession(clients: ReadonlyArray<ClientInput & { record: RunRecord }>): void {
  const bad = (what: string) => new StoqError('INVALID_FILE', `not one session: ${what}`);
  const merged = clients.find((c) => c.record.fleet);
  if (merged) throw bad(`${merged.source} is a merged session itself, not one client's run`);
  const ids = new Map<string, string[]>();
  for (const c of clients) ids.set(c.record.scenario.id, [...(ids.get(c.record.scenario.id) ?? []), c.source]);
  if (ids.size > 1) throw bad(`different scenarios (${[...ids].map(([id, s]) => `${id}: ${s.join(', ')}`).join('; ')})`);
  const starts = new Map<string, string[]>();
  for (const c of clients) {
    const at = c.record.start?.at;
    if (at) starts.set(at, [...(starts.get(at) ?? []), c.source]);
  }
  if (starts.size > 1) throw bad(`different start instants (${[...starts].map(([at, s]) => `${at}: ${s.join(', ')}`).join('; ')})`);
  const runs = new Map<string, string>();
  for (const c of clients) {
    const key = `${c.record.session.id}/${c.record.session.run}`;
    if (runs.has(key)) throw bad(`${c.source} repeats the run of ${runs.get(key)} (session ${key})`);
    runs.set(key, c.source);
  }
  const embedded = clients.find((c) => c.record.embeddedServer);
  if (embedded) throw bad(`${embedded.source} measured its own embedded server, not the session's shared one`);
}

/** The interval length the clients used: the median of their intervals, each client's short last one aside. */
function intervalLength(records: readonly RunRecord[]): number {
  const lengths = records.flatMap((r) => r.intervals.slice(0, -1).map((iv) => iv.endS - iv.startS)).filter((x) => x > 0);
  if (lengths.length === 0) return Math.max(...records.map((r) => r.end.durationS), 1e-3);
  return median(lengths);
}

type Counted = 'bytesSent' | 'bytesReceived' | 'completed';
const COUNTED: readonly Counted[] = ['bytesSent', 'bytesReceived', 'completed'];
type SideCounted = 'packetsSent' | 'packetsReceived' | 'lost' | 'retrans' | 'dataBlocked' | 'streamDataBlocked';
const SIDE_COUNTED: readonly SideCounted[] = ['packetsSent', 'packetsReceived', 'lost', 'retrans', 'dataBlocked', 'streamDataBlocked'];
type Side = 'client' | 'server';

/** One side's share of a cell: counts apportioned by overlap (null where an interval did not measure one). */
interface SideCell {
  counts: Record<SideCounted, number | null>;
  cpuS: number;
  /** The side's figures of the interval overlapping the cell most. */
  gauges: SideRecord | null;
}

/** One client's share of each cell: counts apportioned by overlap (whole units, none lost or made), and each side's. */
interface ClientCell {
  counts: Record<Counted, number>;
  sides: Record<Side, SideCell | null>;
}

const emptySide = (): SideCell => ({ counts: { packetsSent: 0, packetsReceived: 0, lost: 0, retrans: 0, dataBlocked: 0, streamDataBlocked: 0 }, cpuS: 0, gauges: null });

function spread(intervals: readonly IntervalRecord[], offsetS: number, cells: ReadonlyArray<[number, number]>): { cells: ClientCell[] } {
  // A side is in a cell only when every interval of the client has it (a server whose side is unknown is unknown throughout).
  const has = (side: Side) => intervals.every((iv) => iv[side] !== null);
  const out: ClientCell[] = cells.map(() => ({
    counts: { bytesSent: 0, bytesReceived: 0, completed: 0 },
    sides: { client: emptySide(), server: has('server') ? emptySide() : null },
  }));
  const best = cells.map(() => 0);
  for (const iv of intervals) {
    const a = offsetS + iv.startS;
    const b = offsetS + iv.endS;
    if (!(b > a)) continue;
    const shares: Array<[number, number]> = [];
    cells.forEach(([s, e], k) => {
      const overlap = Math.min(b, e) - Math.max(a, s);
      if (overlap > 0) shares.push([k, overlap / (b - a)]);
    });
    for (const key of COUNTED) {
      const parts = apportion(iv[key], shares.map(([, f]) => f));
      shares.forEach(([k], j) => (out[k].counts[key] += parts[j]));
    }
    for (const side of ['client', 'server'] as const) {
      const figures = iv[side];
      if (!figures) continue;
      for (const key of SIDE_COUNTED) {
        const value = figures[key];
        const parts = value === null ? null : apportion(value, shares.map(([, f]) => f));
        shares.forEach(([k], j) => {
          const cell = out[k].sides[side]!;
          cell.counts[key] = parts === null || cell.counts[key] === null ? null : cell.counts[key]! + parts[j];
        });
      }
      for (const [k, f] of shares) out[k].sides[side]!.cpuS += figures.cpuS * f;
    }
    for (const [k, f] of shares) {
      if (f * (b - a) > best[k]) {
        best[k] = f * (b - a);
        for (const side of ['client', 'server'] as const) if (out[k].sides[side]) out[k].sides[side]!.gauges = iv[side];
      }
    }
  }
  return { cells: out };
}

/**
 * Splits a whole count by fractions (summing to at most 1) into whole parts: the largest-remainder method,
 * so the parts add up to round(count x sum of fractions) and each is within 1 of its exact share.
 */
export function apportion(count: number, fractions: readonly number[]): number[] {
  const exact = fractions.map((f) => count * f);
  const parts = exact.map(Math.floor);
  let left = Math.round(exact.reduce((s, x) => s + x, 0)) - parts.reduce((s, x) => s + x, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    parts[i]++;
    left--;
  }
  return parts;
}

function combineCell(index: number, startS: number, endS: number, parts: readonly ClientCell[]): IntervalRecord {
  const total = (key: Counted) => parts.reduce((s, p) => s + p.counts[key], 0);
  const dt = endS - startS;
  const side = (name: Side): SideRecord | null => {
    const cells = parts.map((p) => p.sides[name]);
    if (cells.some((c) => c === null)) return null;
    return combineSide(cells as SideCell[], dt, name === 'server' ? 'shared' : 'sum');
  };
  return {
    index,
    startS,
    endS,
    bytesSent: total('bytesSent'),
    bytesReceived: total('bytesReceived'),
    goodputBps: dt > 0 ? ((total('bytesSent') + total('bytesReceived')) * 8) / dt : 0,
    completed: total('completed'),
    // every client has its own side
    client: side('client') ?? combineSide([], dt, 'sum'),
    server: side('server'),
  };
}

/**
 * One side of a cell from the clients' shares: counts summed; path figures from each client's interval
 * overlapping the cell most, over the connections behind them (RTTs weighted by them, windows summed, the
 * smallest MTU); threads summed for the clients' own (`sum`), the busiest client's for the server's
 * shared ones (`shared`).
 */
function combineSide(cells: readonly SideCell[], dt: number, threads: 'sum' | 'shared'): SideRecord {
  const gauges = cells.map((c) => c.gauges).filter((g): g is SideRecord => g !== null);
  const count = (key: SideCounted) => (cells.some((c) => c.counts[key] === null) ? null : cells.reduce((s, c) => s + c.counts[key]!, 0));
  const sampled = gauges.filter((g) => g.rttUs !== null);
  const conns = sampled.reduce((s, g) => s + g.connections, 0);
  const weighted = (key: 'rttUs' | 'rttvarUs') => (conns > 0 ? sampled.reduce((s, g) => s + (g[key] ?? 0) * g.connections, 0) / conns : null);
  const present = <K extends 'cwnd' | 'deliveryRateBps' | 'pacingRateBps'>(key: K) => {
    const values = gauges.map((g) => g[key]).filter((v): v is number => v !== null);
    return values.length > 0 ? values.reduce((a, b) => a + b, 0) : null;
  };
  const least = (key: 'minRttUs' | 'pmtu') => {
    const values = gauges.map((g) => g[key]).filter((v): v is number => v !== null);
    return values.length > 0 ? Math.min(...values) : null;
  };
  const cpuS = threads === 'sum' ? cells.reduce((s, c) => s + c.cpuS, 0) : Math.max(...cells.map((c) => c.cpuS));
  const busiest = (key: 'busiestThreadCpuS' | 'busiestThreadRunDelayS') =>
    gauges.length === cells.length && gauges.every((g) => g[key] !== null) ? Math.max(...gauges.map((g) => g[key]!)) : null;
  const waits = gauges.map((g) => g.pacingWaitS);
  return {
    connections: gauges.reduce((s, g) => s + g.connections, 0),
    packetsSent: count('packetsSent') ?? 0,
    packetsReceived: count('packetsReceived') ?? 0,
    lost: count('lost') ?? 0,
    retrans: count('retrans') ?? 0,
    dataBlocked: count('dataBlocked'),
    streamDataBlocked: count('streamDataBlocked'),
    rttUs: weighted('rttUs'),
    minRttUs: least('minRttUs'),
    rttvarUs: weighted('rttvarUs'),
    cwnd: present('cwnd'),
    deliveryRateBps: present('deliveryRateBps'),
    pmtu: least('pmtu'),
    pacingRateBps: present('pacingRateBps'),
    pacingWaitS: waits.length === cells.length && waits.every((w) => w !== null) ? waits.reduce((a, b) => a! + b!, 0) : null,
    cpuS: dt > 0 ? cpuS : 0,
    busiestThreadCpuS: busiest('busiestThreadCpuS'),
    busiestThreadRunDelayS: busiest('busiestThreadRunDelayS'),
  };
}

/** A side's totals over the clients: counts summed; threads summed (`sum`) or the busiest client's (`shared`, the server's). */
function combineTotals(totals: readonly SideTotals[], threads: 'sum' | 'shared'): SideTotals {
  const add = (key: 'packetsSent' | 'packetsReceived' | 'udpBytesSent' | 'udpBytesReceived' | 'lost' | 'retrans') => totals.reduce((s, t) => s + t[key], 0);
  const maybe = (key: 'dataBlocked' | 'streamDataBlocked' | 'pacingWaitS') => (totals.every((t) => t[key] !== null) ? totals.reduce((s, t) => s + t[key]!, 0) : null);
  const most = (key: 'busiestThreadCpuS' | 'busiestThreadRunDelayS') => (totals.every((t) => t[key] !== null) ? Math.max(...totals.map((t) => t[key]!)) : null);
  return {
    packetsSent: add('packetsSent'),
    packetsReceived: add('packetsReceived'),
    udpBytesSent: add('udpBytesSent'),
    udpBytesReceived: add('udpBytesReceived'),
    lost: add('lost'),
    retrans: add('retrans'),
    dataBlocked: maybe('dataBlocked'),
    streamDataBlocked: maybe('streamDataBlocked'),
    pacingWaitS: maybe('pacingWaitS'),
    cpuS: threads === 'sum' ? totals.reduce((s, t) => s + t.cpuS, 0) : Math.max(...totals.map((t) => t.cpuS)),
    busiestThreadCpuS: most('busiestThreadCpuS'),
    busiestThreadRunDelayS: most('busiestThreadRunDelayS'),
  };
}

/** Whose view the session's server side is: every client's fetched, or unknown (saying for how many). */
function serverViewOf(records: readonly RunRecord[]): ServerView {
  const without = records.filter((r) => r.serverView.source === 'unknown' || r.end.server === null);
  if (without.length === 0) return { source: 'fetched' };
  const reasons = [...new Set(without.map((r) => r.serverView.reason ?? 'not shared'))];
  return { source: 'unknown', reason: `the server's side is unknown for ${without.length} of ${records.length} client(s): ${reasons.join('; ')}` };
}

/**
 * The session's latency histogram: the clients' histograms summed. The raw samples stay in the clients'
 * records: the merged record's percentiles are the summed histogram's (3 significant digits).
 */
function mergedLatency(records: readonly RunRecord[]): { histogram: Histogram; from: NonNullable<FleetSummary['latencyFrom']> } | null {
  const measured = records.filter((r) => (r.end.latency?.n ?? 0) > 0 || (r.samples?.latencyUs.length ?? 0) > 0);
  if (measured.length === 0) return null;
  const histograms: Histogram[] = [];
  let fromSamples = false;
  for (const r of measured) {
    const encoded = r.end.latency?.histogram;
    const raw = r.samples?.latencyUs;
    if (encoded) histograms.push(decodeHistogram(encoded, `${r.environment.hostname}: end.latency.histogram`));
    else if (raw) {
      // The raw samples are the histogram's input: ns recovered exactly from the record's microseconds.
      histograms.push(histogramOfNs(raw.map((us) => Math.round(us * 1e3))));
      fromSamples = true;
    } else {
      throw new StoqError('INVALID_FILE', `${r.environment.hostname}: a latency summary without histogram or samples cannot be merged exactly`);
    }
  }
  return { histogram: mergeHistograms(histograms), from: fromSamples ? 'raw-samples' : 'merged-histograms' };
}

function clientFigures(
  c: ClientInput,
  line: { record: RunRecord; startS: number; endS: number } | undefined,
  spreadCells: { cells: ClientCell[] } | undefined,
  steady: FleetSummary['steady'],
): FleetClient {
  const r = c.record;
  const failure: ErrorInfo | undefined = c.failure ?? r?.end.error ?? (r ? undefined : { code: 'INVALID_FILE', message: 'left no record' });
  const state: RunState = !r || c.failure ? 'errored' : r.end.state;
  const steadyCounts = (key: Counted) => spreadCells?.cells.reduce((s, cell) => s + cell.counts[key], 0) ?? 0;
  const kind = r?.scenario.kind;
  const lat = r?.end.latency;
  return {
    index: c.index,
    source: c.source,
    pod: c.pod ?? null,
    node: c.node ?? null,
    host: r?.environment.hostname ?? null,
    fingerprint: r?.environment.fingerprint ?? null,
    state,
    error: failure ?? null,
    startS: line?.startS ?? null,
    endS: line?.endS ?? null,
    lateUs: r?.start?.lateUs ?? null,
    late: r?.start?.late ?? null,
    clock: r?.start?.clock ?? null,
    bytesSent: r?.end.bytesSent ?? null,
    bytesReceived: r?.end.bytesReceived ?? null,
    completed: r?.end.completed ?? null,
    goodputBps: r?.end.goodputBps ?? null,
    steadyGoodputBps: r && steady ? ((steadyCounts('bytesSent') + steadyCounts('bytesReceived')) * 8) / steady.durationS : null,
    steadyRate: r && steady && kind && !isTransfer(kind) ? steadyCounts('completed') / steady.durationS : null,
    latency: lat && lat.n > 0 ? { n: lat.n, p50Us: lat.p50Us, p99Us: lat.p99Us } : null,
  };
}

/** The merged record's start: its time origin, and the last client's start against the instant. */
function startOfSession(zeroUs: number, at: string | null, clients: readonly FleetClient[]): StartRecord {
  const late = clients.filter((c) => c.lateUs !== null).sort((a, b) => b.lateUs! - a.lateUs!)[0];
  return {
    anchorUnixUs: zeroUs,
    at,
    lateUs: late?.lateUs ?? null,
    toleranceUs: null,
    late: late ? clients.some((c) => c.late === true) : null,
    // each host's own state is in fleet.clients
    clock: null,
  };
}

function sessionState(clients: readonly FleetClient[]): RunState {
  if (clients.some((c) => c.state === 'errored')) return 'errored';
  if (clients.some((c) => c.state === 'cancelled')) return 'cancelled';
  return 'completed';
}

/**
 * The session's workload: the clients' scenario with `clients` times its connections and totals, so that it
 * has an id of its own (a session is never compared with one client's runs). A field the kind does not take
 * stays as it is, and `notes` says so.
 * @throws StoqError INVALID_FILE when the session's totals are beyond what one scenario can describe
 */
function sessionScenario(client: Scenario, clients: number, notes: string[] = []): Scenario {
  const { id: _id, ...input } = client;
  const times = (x: number | null | undefined) => (x === undefined || x === null ? x : x * clients);
  const connections = takes(client.kind, 'connections') ? client.connections * clients : client.connections;
  if (!takes(client.kind, 'connections') && clients > 1) {
    notes.push(`${client.kind} runs one connection per client: the session's scenario says ${client.connections}, the ${clients} clients ran ${client.connections * clients}`);
  }
  try {
    return normalizeScenario({
      ...input,
      connections,
      bytes: times(client.bytes),
      count: times(client.count),
      // the clients' threads ran on their own hosts; one scenario holds at most the engine's limit
      settings: { ...client.settings, threads: Math.min(client.settings.threads * clients, connections, 256) },
    });
  } catch (error) {
    throw new StoqError('INVALID_FILE', `the session of ${clients} clients cannot be described as one scenario: ${fromNative(error).message}`, { cause: error });
  }
}

function sessionIdOf(records: readonly RunRecord[]): string {
  const runs = records.map((r) => `${r.session.id}/${r.session.run}`).sort();
  return `fleet-${createHash('sha256').update(runs.join('\n')).digest('hex').slice(0, 16)}`;
}

/** The testbed of a session: its clients' hosts, fingerprinted together. */
function environmentOf(records: readonly RunRecord[], clients: number): Environment {
  const envs = records.map((r) => r.environment);
  const distinct = <T>(f: (e: Environment) => T) => [...new Set(envs.map(f))];
  const fingerprints = envs.map((e) => e.fingerprint).sort();
  return {
    fingerprint: createHash('sha256').update(JSON.stringify({ fleet: clients, clients: fingerprints })).digest('hex').slice(0, 16),
    hostname: distinct((e) => e.hostname).join(', '),
    os: distinct((e) => e.os).join(', '),
    kernel: distinct((e) => e.kernel).join(', '),
    cpu: { model: distinct((e) => e.cpu.model).join(' | '), count: envs.reduce((s, e) => s + e.cpu.count, 0) },
    node: distinct((e) => e.node).join(', '),
    // one debug engine makes the session a debug testbed
    build: envs.every((e) => e.build === 'release') ? 'release' : 'debug',
    client: {
      settings: envs[0].client.settings,
      gso: envs.every((e) => e.client.gso),
      gro: envs.every((e) => e.client.gro),
      pacing: envs.every((e) => e.client.pacing === 'user-space') ? 'user-space' : 'off',
      fastPath: combineFastPaths(envs.map((e) => e.client.fastPath)),
    },
    server: sharedServer(records),
  };
}

/** The shared server's settings and fast path, as the client that ran longest recorded them; null when any client lacks them. */
function sharedServer(records: readonly RunRecord[]): SideEnvironment | null {
  if (records.some((r) => r.environment.server === null)) return null;
  const longest = records.reduce((a, b) => (b.end.durationS > a.end.durationS ? b : a));
  return longest.environment.server;
}

/** The clients' fast paths as one: a feature used only where every client used it, counters summed, buffers the smallest. */
function combineFastPaths(paths: readonly FastPath[]): FastPath {
  type Flag = { [K in keyof FastPath]: FastPath[K] extends boolean ? K : never }[keyof FastPath];
  type Count = { [K in keyof FastPath]: FastPath[K] extends number ? K : never }[keyof FastPath];
  const all = (k: Flag) => paths.every((p) => p[k]);
  const total = (k: Count) => paths.reduce((s, p) => s + p[k], 0);
  const least = (k: Count) => Math.min(...paths.map((p) => p[k]));
  return {
    gsoAvailable: all('gsoAvailable'),
    gso: all('gso'),
    gsoMaxSegmentsUsed: Math.max(...paths.map((p) => p.gsoMaxSegmentsUsed)),
    groAvailable: all('groAvailable'),
    gro: all('gro'),
    recvmmsg: all('recvmmsg'),
    sendmmsg: all('sendmmsg'),
    sendBufferBytes: least('sendBufferBytes'),
    recvBufferBytes: least('recvBufferBytes'),
    buffersForced: all('buffersForced'),
    socketDrops: total('socketDrops'),
    sendCalls: total('sendCalls'),
    datagramsSent: total('datagramsSent'),
    recvCalls: total('recvCalls'),
    datagramsReceived: total('datagramsReceived'),
  };
}
