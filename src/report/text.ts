// iperf3-like text: one line per interval of the transfer as it ends, and a summary per run. Every path figure
// is labelled with its side: the window, RTT and losses shown are the data sender's (the server's in a
// download), "-" when that side's figures are unknown or nothing was measured behind them. The closing period
// is no interval: the summary mentions it apart. A merged session of many clients lists its clients.
import { dataSenders, type Side } from '../kinds.js';
import { runLimit } from '../grading/limits.js';
import type { IntervalRecord, RunRecord, SideEnvironment, SideRecord, SideTotals } from '../record.js';
import type { Scenario } from '../scenario.js';
import { visible } from '../escape.js';
import { formatBytes, formatMicros, formatRate } from '../units.js';
import { fleetView } from './model.js';

const pad = (s: string, n: number) => s.padStart(n);
const SHORT: Record<Side, string> = { client: 'cli', server: 'srv' };

/** The sides whose window, RTT and losses the interval lines show: the data's senders (the client for handshakes). */
function shown(scenario: Pick<Scenario, 'kind' | 'requestSize' | 'responseSize'>): Side[] {
  const senders = dataSenders(scenario);
  return senders.length > 0 ? senders : ['client'];
}

export function intervalHeader(scenario: Pick<Scenario, 'kind' | 'requestSize' | 'responseSize'>): string {
  const path = shown(scenario).flatMap((s) => [pad(`RTT ${SHORT[s]}`, 10), pad(`cwnd ${SHORT[s]}`, 11), pad(`Lost ${SHORT[s]}`, 8)]);
  return [pad('Interval', 15), pad('Transfer', 11), pad('Goodput', 14), pad('Done', 7), ...path, pad('CPU cli', 7), pad('CPU srv', 7)].join(' ');
}

/** A side's CPU time over a period, as a share of one core; "-" when unknown. */
function cpu(side: SideRecord | null, lengthS: number): string {
  return side && lengthS > 0 ? `${Math.round((100 * side.cpuS) / lengthS)}%` : '-';
}

export function intervalLine(i: IntervalRecord, scenario: Pick<Scenario, 'kind' | 'requestSize' | 'responseSize'>): string {
  const span = `${i.startS.toFixed(2)}-${i.endS.toFixed(2)} s`;
  const lengthS = i.endS - i.startS;
  const path = shown(scenario).flatMap((s) => {
    const side = i[s];
    return [
      pad(side?.rttUs != null ? formatMicros(side.rttUs) : '-', 10),
      pad(side?.cwnd != null ? formatBytes(side.cwnd) : '-', 11),
      pad(side ? String(side.lost) : '-', 8),
    ];
  });
  return [
    pad(span, 15),
    pad(formatBytes(i.bytesSent + i.bytesReceived), 11),
    pad(formatRate(i.goodputBps), 14),
    pad(String(i.completed), 7),
    ...path,
    pad(cpu(i.client, lengthS), 7),
    pad(cpu(i.server, lengthS), 7),
  ].join(' ');
}

/** A side's totals and settings in one line. */
function sideLine(r: RunRecord, side: Side, senders: readonly Side[]): string {
  const t: SideTotals | null = r.end[side];
  const env: SideEnvironment | null = r.environment[side];
  const label = `${side}${senders.includes(side) ? ' (sender)' : ''}`;
  if (!t || !env) return `  ${label}: unknown (${visible(r.serverView.reason ?? 'not shared')})`;
  const busiest = t.busiestThreadCpuS !== null && r.end.durationS > 0 ? ` (busiest I/O thread ${Math.round((100 * t.busiestThreadCpuS) / r.end.durationS)}% of a core)` : '';
  const blocked = t.dataBlocked !== null && t.streamDataBlocked !== null && t.dataBlocked + t.streamDataBlocked > 0 ? `, found no flow-control credit ${t.dataBlocked + t.streamDataBlocked} times` : '';
  return `  ${label}: ${t.packetsSent} packets sent, ${t.packetsReceived} received, ${t.lost} lost, ${t.retrans} retransmitted${blocked}; CPU ${t.cpuS.toFixed(2)} s${busiest}; ${env.settings.cc}, pacing ${env.pacing}`;
}

/** A side's fast path in a few words. */
function fastPath(env: SideEnvironment): string {
  const f = env.fastPath;
  const gso = env.gso ? `used (up to ${f.gsoMaxSegmentsUsed} segments per call)` : f.gsoAvailable ? 'available, unused' : 'unavailable';
  const gro = env.gro ? 'used' : f.groAvailable ? 'available, unused' : 'unavailable';
  return `GSO ${gso}, GRO ${gro}, ${f.sendCalls} send calls, socket drops ${f.socketDrops}`;
}

export function summary(r: RunRecord): string {
  const e = r.end;
  const senders = dataSenders(r.scenario);
  const lines = [
    `scenario ${visible(r.scenario.kind)} (id ${visible(r.scenario.id)}) against ${visible(r.target)}${r.embeddedServer ? ' (embedded server)' : ''}: ${e.state}`,
    `  ${formatBytes(e.bytesSent)} sent, ${formatBytes(e.bytesReceived)} received in ${e.durationS.toFixed(3)} s: goodput ${formatRate(e.goodputBps)}`,
  ];
  if (e.tooShort) lines.push(`  too short: ${visible(e.tooShort)}`);
  if (e.requestsPerSecond !== undefined) lines.push(`  ${e.completed} requests: ${e.requestsPerSecond.toFixed(0)} per second`);
  if (e.handshakesPerSecond !== undefined) lines.push(`  ${e.completed} handshakes: ${e.handshakesPerSecond.toFixed(0)} per second`);
  if (e.latency) {
    const l = e.latency;
    const us = (v: number | null) => (v === null ? '-' : formatMicros(v));
    const undetermined = l.undetermined?.length ? ` (${l.undetermined.map((u) => `${u.percentile} needs ${u.minSamples} samples`).join(', ')})` : '';
    lines.push(
      `  latency (n=${l.n}): min ${formatMicros(l.minUs)}, p50 ${us(l.p50Us)}, p90 ${us(l.p90Us)}, p99 ${us(l.p99Us)}, p99.9 ${us(l.p999Us)}, max ${formatMicros(l.maxUs)}${undetermined}`,
    );
  }
  lines.push(sideLine(r, 'client', senders), sideLine(r, 'server', senders));
  if (e.state === 'completed') lines.push(`  limited by: ${visible(runLimit(r).reason)}`);
  const c = r.closing;
  if (c) {
    const packets = (s: SideRecord | null) => (s ? s.packetsSent + s.packetsReceived : 0);
    lines.push(`  closing: ${formatMicros((c.endS - c.startS) * 1e6)} after the transfer, ${packets(c.client) + packets(c.server)} packets (not part of the transfer's figures)`);
  }
  const env = r.environment;
  lines.push(`  fast path: client ${fastPath(env.client)}${env.server ? `; server ${fastPath(env.server)}` : ''}`);
  if (e.serverStats?.rssPerConnectionBytes != null) {
    lines.push(`  server memory: ${formatBytes(e.serverStats.rssPerConnectionBytes)} per connection (peak ${e.serverStats.peakConnections} open)`);
  }
  if (e.error) lines.push(`  error: ${visible(e.error.code)}: ${visible(e.error.message)}`);
  const fleet = fleetView(r);
  if (fleet) lines.push(...fleetLines(fleet));
  if (e.snapshotsDropped > 0) lines.push(`  ${e.snapshotsDropped} interval snapshot(s) shown late or not at all (all are in the record)`);
  return lines.join('\n');
}

/** A merged session's clients: the session's sentences, then a table, one line per client. */
function fleetLines(v: NonNullable<ReturnType<typeof fleetView>>): string[] {
  const widths = v.header.map((h, i) => Math.max(h.length, ...v.rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `    ${cells.map((c, i) => (i === 1 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd();
  return [...v.lines.map((l) => `  ${l}`), line(v.header), ...v.rows.map(line)];
}
