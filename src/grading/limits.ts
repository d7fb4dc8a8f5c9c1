// What bounded a run, judged from both sides' figures in its record (the engine measures; this judges). In
// order: a run too short to say; receive drops (a socket's queue overflowed); CPU (an I/O thread on a CPU or
// waiting for one nearly all the time, or waiting for one most of the time: CPU-bound however busy the machine; a receiver that cannot keep up also
// leaves its sender without flow-control credit, so CPU is judged first); flow control (the sender found the
// receiver's credit exhausted, interval after interval); pacing (packets held for their release most of the time);
// the congestion window (the sender lost packets and backed off); the application (requests, none of the
// above binding: each waited its round trip with too few in flight to keep the path busy). A side whose figures are unknown (a peer that does not share them) is
// never guessed: the limit is then undetermined, saying which side is missing.
import { dataSenders, type Side } from '../kinds.js';
import type { IntervalRecord, RunRecord, SideRecord } from '../record.js';
import { formatBytes, formatMicros, formatRate } from '../units.js';

export type LimitKind = 'too-short' | 'receive-drops' | 'flow-control' | 'cpu' | 'pacing' | 'congestion-window' | 'application' | 'undetermined';

export interface Limit {
  kind: LimitKind;
  /** The side whose figures show it. */
  side?: Side;
  /** The reason in a few words, e.g. `sender CPU-bound: server I/O thread 99% of a core`. */
  reason: string;
  /** The figures behind the reason and the others considered, each naming its side. */
  evidence: string[];
}

/** The thresholds of each diagnosis. */
export const LIMIT_RULES = {
  /** A thread on a CPU or waiting for one at least this share of the time is CPU-bound. */
  busyShare: 0.9,
  /** So is a thread runnable but waiting for a CPU at least this share of the time (held back by other work or a quota). */
  waitShare: 0.5,
  /** Flow control binds when the sender found no credit in at least this share of the intervals. */
  blockedIntervals: 0.5,
  /** Receive drops bind when a socket dropped at least this share of the datagrams it received. */
  dropShare: 0.001,
  /** Pacing binds when a sender's packets waited for their release at least this share of the time. */
  pacingShare: 0.5,
  /** The congestion window binds when the sender lost at least this share of its packets. */
  lossShare: 1e-4,
} as const;

const NAMES: Record<Side, string> = { client: 'client', server: 'server' };
const percent = (x: number) => `${Math.round(x * 100)}%`;

/** The intervals that describe the steady transfer: all but the first (the handshake and slow start) when there are three or more. */
function window(r: RunRecord): IntervalRecord[] {
  return r.intervals.length >= 3 ? r.intervals.slice(1) : r.intervals;
}

interface SideFigures {
  side: Side;
  /** The side's figures of each interval of the window. */
  intervals: Array<{ s: SideRecord; lengthS: number }>;
  lengthS: number;
}

function figures(r: RunRecord, side: Side): SideFigures | undefined {
  const ivs = window(r);
  if (ivs.some((iv) => iv[side] === null)) return undefined;
  const intervals = ivs.map((iv) => ({ s: iv[side] as SideRecord, lengthS: Math.max(iv.endS - iv.startS, 0) }));
  return { side, intervals, lengthS: intervals.reduce((t, i) => t + i.lengthS, 0) };
}

const sum = (f: SideFigures, pick: (s: SideRecord) => number | null) => f.intervals.reduce((t, i) => t + (pick(i.s) ?? 0), 0);
const measured = (f: SideFigures, pick: (s: SideRecord) => number | null) => f.intervals.every((i) => pick(i.s) !== null);

/** Judges what bounded a run. */
export function runLimit(r: RunRecord): Limit {
  const evidence: string[] = [];
  if (r.end.tooShort) return { kind: 'too-short', reason: `too short to say: ${r.end.tooShort}`, evidence };
  if (r.end.bytesSent + r.end.bytesReceived === 0 && r.end.completed === 0) {
    return { kind: 'undetermined', reason: 'nothing was transferred or completed', evidence };
  }
  const senders = dataSenders(r.scenario);
  const role = (side: Side) => (senders.length === 1 ? (senders.includes(side) ? 'sender' : 'receiver') : NAMES[side]);
  const sides: Side[] = [...senders, ...(['client', 'server'] as const).filter((s) => !senders.includes(s))];
  const known = Object.fromEntries(sides.map((s) => [s, figures(r, s)])) as Record<Side, SideFigures | undefined>;
  const unknown = sides.filter((s) => !known[s]);
  for (const s of unknown) evidence.push(`${NAMES[s]}: its figures are unknown (${r.serverView.reason ?? 'not shared'})`);

  // Receive drops: a socket's queue overflowed (the kernel's count for the side's sockets over the run). The
  // data's receivers first: their drops cost data, a sender's cost acknowledgements.
  for (const side of [...sides].reverse()) {
    const env = r.environment[side];
    if (!env) continue;
    const { socketDrops, datagramsReceived, recvBufferBytes } = env.fastPath;
    const share = socketDrops / Math.max(datagramsReceived + socketDrops, 1);
    if (socketDrops > 0) evidence.push(`${NAMES[side]}: its sockets dropped ${socketDrops} datagram(s), ${(share * 100).toFixed(2)}% of those that arrived (receive buffer ${formatBytes(recvBufferBytes)})`);
    // With GRO one drop can be a whole batch of packets: the data's sender losing packets counts as well.
    const senderLost = senders.filter((s) => s !== side).some((s) => {
      const f = known[s];
      return f !== undefined && sum(f, (x) => x.lost) / Math.max(sum(f, (x) => x.packetsSent), 1) >= LIMIT_RULES.lossShare;
    });
    if (socketDrops > 0 && (share >= LIMIT_RULES.dropShare || senderLost)) {
      return { kind: 'receive-drops', side, reason: `${role(side)} dropped datagrams: ${NAMES[side]} socket receive buffer (${formatBytes(recvBufferBytes)}) overflowed, ${socketDrops} datagrams (${(share * 100).toFixed(1)}%)`, evidence };
    }
  }

  // CPU: an I/O thread on a CPU or waiting for one nearly all the time.
  for (const side of sides) {
    const f = known[side];
    if (!f || f.lengthS <= 0 || !measured(f, (s) => s.busiestThreadCpuS)) continue;
    const onCpu = sum(f, (s) => s.busiestThreadCpuS) / f.lengthS;
    const waiting = sum(f, (s) => s.busiestThreadRunDelayS) / f.lengthS;
    evidence.push(`${NAMES[side]}: busiest I/O thread ${percent(onCpu)} of a core, waiting for a CPU ${percent(waiting)} of the time`);
    if (onCpu + waiting >= LIMIT_RULES.busyShare || waiting >= LIMIT_RULES.waitShare) {
      const shared = waiting >= 0.05 ? ` (and waiting for a CPU ${percent(waiting)} of the time: other work or a CPU quota held it back)` : '';
      return { kind: 'cpu', side, reason: `${role(side)} CPU-bound: ${NAMES[side]} I/O thread ${percent(onCpu)} of a core${shared}`, evidence };
    }
  }

  // Flow control: the sender found the receiver's credit exhausted, interval after interval.
  for (const side of senders) {
    const f = known[side];
    if (!f || !measured(f, (s) => s.dataBlocked) || f.intervals.length === 0) continue;
    const blockedIn = f.intervals.filter((i) => (i.s.dataBlocked ?? 0) + (i.s.streamDataBlocked ?? 0) > 0).length;
    const stream = sum(f, (s) => s.streamDataBlocked);
    const connection = sum(f, (s) => s.dataBlocked);
    if (stream + connection > 0) evidence.push(`${NAMES[side]}: found no flow-control credit ${stream + connection} time(s) (${stream} stream, ${connection} connection), in ${blockedIn} of ${f.intervals.length} interval(s)`);
    if (blockedIn / f.intervals.length >= LIMIT_RULES.blockedIntervals) {
      const receiver: Side = side === 'server' ? 'client' : 'server';
      const granted = r.environment[receiver]?.settings;
      const which = stream >= connection ? 'stream' : 'connection';
      const size = granted ? ` of ${formatBytes(which === 'stream' ? granted.streamWindow : granted.connectionWindow)}` : '';
      return { kind: 'flow-control', side, reason: `flow-control window: the ${role(side)} (${NAMES[side]}) found the ${NAMES[receiver]}'s ${which} credit${size} exhausted ${stream + connection} times`, evidence };
    }
  }

  // Pacing: the sender's packets held for their release most of the time.
  for (const side of senders) {
    const f = known[side];
    if (!f || f.lengthS <= 0 || !measured(f, (s) => s.pacingWaitS)) continue;
    const connections = Math.max(1, r.scenario.connections);
    const held = sum(f, (s) => s.pacingWaitS) / (f.lengthS * connections);
    const rates = f.intervals.map((i) => i.s.pacingRateBps).filter((v): v is number => v !== null);
    const schedule = rates.length > 0 ? `, quiche's schedule about ${formatRate(rates.reduce((a, b) => a + b, 0) / rates.length)}` : '';
    if (held > 0) evidence.push(`${NAMES[side]}: packets waited for their pacing release ${percent(held)} of the time${schedule}`);
    if (held >= LIMIT_RULES.pacingShare) {
      return { kind: 'pacing', side, reason: `pacing: the ${role(side)}'s (${NAMES[side]}) packets waited for their release ${percent(held)} of the time${schedule}`, evidence };
    }
  }

  // The congestion window: the sender lost packets and backed off.
  for (const side of senders) {
    const f = known[side];
    if (!f) continue;
    const lost = sum(f, (s) => s.lost);
    const sent = sum(f, (s) => s.packetsSent);
    const windows = f.intervals.map((i) => i.s.cwnd).filter((v): v is number => v !== null);
    const cwnd = windows.length > 0 ? `; its window averaged ${formatBytes(windows.reduce((a, b) => a + b, 0) / windows.length)}` : '';
    if (lost > 0) evidence.push(`${NAMES[side]}: lost ${lost} of ${sent} packet(s) sent${cwnd}`);
    if (lost > 0 && lost / Math.max(sent, 1) >= LIMIT_RULES.lossShare) {
      return { kind: 'congestion-window', side, reason: `congestion window: the ${role(side)} (${NAMES[side]}) lost ${lost} of ${sent} packets (${((lost / sent) * 100).toFixed(2)}%)${cwnd}`, evidence };
    }
  }

  const missing = sides.filter((s) => !known[s]);
  // The application: nothing else bound, and each request waited its round trip: more in flight would have
  // kept the path busier (a side whose figures are unknown could have been the limit: then undetermined).
  const l = r.end.latency;
  if ((r.scenario.kind === 'requests' || r.scenario.kind === 'latency') && l && missing.length === 0) {
    const perConnection = r.scenario.kind === 'latency' ? 1 : r.scenario.inflight;
    const bound = (r.scenario.connections * perConnection * 1e6) / l.meanUs;
    return {
      kind: 'application',
      side: 'client',
      reason: `application: ${perConnection} request(s) in flight per connection, each waiting ${formatMicros(l.meanUs)} on average (fastest ${formatMicros(l.minUs)}): at most ${Math.round(bound)}/s`,
      evidence,
    };
  }

  if (missing.length > 0) {
    return { kind: 'undetermined', reason: `undetermined: the ${missing.map((s) => `${role(s)}'s (${NAMES[s]})`).join(' and ')} figures are unknown (${r.serverView.reason ?? 'not shared'})`, evidence };
  }
  return { kind: 'undetermined', reason: 'no limit stood out in the figures (no drops, flow-control blocks, saturated thread, pacing holds or losses)', evidence };
}
