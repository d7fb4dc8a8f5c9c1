// iperf3-like text: one line per interval as it ends, and a summary per run (with its clients, for a merged
// session of many).
import type { IntervalRecord, RunRecord } from '../record.js';
import { visible } from '../escape.js';
import { formatBytes, formatMicros, formatRate } from '../units.js';
import { fleetView } from './model.js';

const pad = (s: string, n: number) => s.padStart(n);

export function intervalHeader(): string {
  return `${pad('Interval', 15)} ${pad('Transfer', 11)} ${pad('Goodput', 14)} ${pad('Done', 7)} ${pad('RTT', 10)} ${pad('cwnd', 10)} ${pad('Lost', 6)} ${pad('CPU', 5)}`;
}

export function intervalLine(i: IntervalRecord): string {
  const span = `${i.startS.toFixed(2)}-${i.endS.toFixed(2)} s`;
  const cpu = i.endS > i.startS ? `${Math.round((100 * i.cpuS) / (i.endS - i.startS))}%` : '-';
  return [
    pad(span, 15),
    pad(formatBytes(i.bytesSent + i.bytesReceived), 11),
    pad(formatRate(i.goodputBps), 14),
    pad(String(i.completed), 7),
    pad(i.rttUs > 0 ? formatMicros(i.rttUs) : '-', 10),
    pad(i.cwnd > 0 ? formatBytes(i.cwnd) : '-', 10),
    pad(String(i.lost), 6),
    pad(cpu, 5),
  ].join(' ');
}

export function summary(r: RunRecord): string {
  const e = r.end;
  const lines = [
    `scenario ${visible(r.scenario.kind)} (id ${visible(r.scenario.id)}) against ${visible(r.target)}${r.embeddedServer ? ' (embedded server)' : ''}: ${e.state}`,
    `  ${formatBytes(e.bytesSent)} sent, ${formatBytes(e.bytesReceived)} received in ${e.durationS.toFixed(3)} s: goodput ${formatRate(e.goodputBps)}`,
    `  packets ${e.packetsSent} sent, ${e.packetsReceived} received, ${e.lost} lost, ${e.retrans} retransmitted; client CPU ${e.cpuS.toFixed(2)} s`,
  ];
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
  const env = r.environment;
  lines.push(
    `  fast path: GSO ${env.gso ? 'used' : env.fastPath.gsoAvailable ? 'available, unused' : 'unavailable'}, GRO ${env.gro ? 'used' : env.fastPath.groAvailable ? 'available, unused' : 'unavailable'}, recvmmsg ${env.fastPath.recvmmsg ? 'yes' : 'no'}, pacing ${env.pacing}, socket drops ${env.fastPath.socketDrops}`,
  );
  if (e.server?.rssPerConnectionBytes != null) {
    lines.push(`  server memory: ${formatBytes(e.server.rssPerConnectionBytes)} per connection (peak ${e.server.peakConnections} open)`);
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
