// `stoq-bench env`: the testbed fingerprint and what stands behind it (CPU, kernel, interfaces, qdisc,
// socket buffer limits, the UDP fast path really available, AEAD speed measured in-process, versions).
import { runScenario } from '../../run.js';
import { readRecordFile } from '../../records.js';
import { StoqError } from '../../errors.js';
import { measureAead } from '../../environment/aead.js';
import { compareTestbed } from '../../environment/fingerprint.js';
import { describeHost, fastPathFrom, type EnvironmentReport, type FastPathProbe } from '../../environment/host.js';
import { formatBytes, formatRate } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { debugEngineWarning, warnIfDebugEngine } from '../engine-build.js';
import { jsonOutput, time } from '../options.js';

const PROBE_BYTES = 1 << 20;

export const envCommand: Command = {
  name: 'env',
  describe: 'Describe this testbed: fingerprint, CPU, kernel, interfaces, socket buffers, fast path, AEAD speed, versions',
  options: {
    json: jsonOutput('the description'),
    probe: { type: 'boolean', default: true, describe: 'probe the UDP fast path with a 1 MiB upload over [::1]; --no-probe to skip' },
    record: { type: 'string', describe: 'read the fast path from this run-record FILE instead of probing' },
    aead: { type: 'boolean', default: true, describe: 'measure AES-128-GCM speed in-process; --no-aead to skip' },
    'aead-time': time('aead-time', 'time spent per AEAD measurement (TIME; 4 measurements)', { default: '200ms' }),
  },
  check(argv) {
    if (argv.record !== undefined && argv.probe === false) return '--record and --no-probe: give one (--record replaces the probe)';
    const t = argv.aeadTime as number;
    if (t < 10e6 || t > 10e9) return '--aead-time must be from 10ms to 10s';
    return undefined;
  },
  async run(argv, io) {
    warnIfDebugEngine(io, 'env');
    const host = describeHost();
    let fastPath: EnvironmentReport['fastPath'] = null;
    let recordTestbed: EnvironmentReport['record'];
    const recordFile = argv.record as string | undefined;
    if (recordFile !== undefined) {
      const [first] = readRecordFile(recordFile);
      const env = first.environment;
      if (typeof env.client?.fastPath !== 'object' || env.client.fastPath === null) {
        throw new StoqError('INVALID_FILE', `${recordFile}: the record has no environment.client.fastPath`);
      }
      fastPath = fastPathFrom(env, `record ${recordFile} (run of ${first.startedAt})`);
      recordTestbed = compareTestbed(recordFile, first.environment);
    } else if (argv.probe) {
      try {
        const { record } = await runScenario({ kind: 'upload', bytes: PROBE_BYTES }, { signal: io.signal, intervalNs: 1e9 });
        fastPath = fastPathFrom(record.environment, `probe: upload of ${formatBytes(PROBE_BYTES)} over [::1] (embedded server), ${record.end.state}`);
      } catch (error) {
        fastPath = { source: 'probe: upload over [::1]', error: (error as Error).message };
      }
    }
    const aead = argv.aead
      ? {
          method: `node:crypto (OpenSSL ${process.versions.openssl}) on one core; per packet: a new context and nonce per buffer, as QUIC seals each packet; bulk: one context, update per buffer; median of 5 interleaved rounds`,
          results: measureAead({ budgetMs: (argv.aeadTime as number) / 1e6 }),
        }
      : null;
    const report: EnvironmentReport = { ...host, ...(recordTestbed ? { record: recordTestbed } : {}), fastPath, aead };
    io.stdout(argv.json ? `${JSON.stringify(report)}\n` : formatEnvironment(report));
    return EXIT.ok;
  },
};

const yes = (b: boolean) => (b ? 'yes' : 'no');

function fastPathLines(f: FastPathProbe): string[] {
  const side = (name: string, s: FastPathProbe['client']) =>
    `  ${name}: GSO ${s.gso ? `used (up to ${s.gsoMaxSegmentsUsed} segments per send)` : 'not used'}, GRO ${s.gro ? 'used' : 'not used'}, recvmmsg ${yes(s.recvmmsg)}, sendmmsg ${yes(s.sendmmsg)}, socket buffers ${formatBytes(s.sendBufferBytes)} send / ${formatBytes(s.recvBufferBytes)} receive${s.buffersForced ? ' (forced)' : ''}`;
  return [
    `fast path     UDP GSO ${f.gsoAvailable ? 'available' : 'unavailable'}, GRO ${f.groAvailable ? 'available' : 'unavailable'}; pacing ${f.pacing ?? 'n/a'} (${f.source})`,
    side('client', f.client),
    ...(f.server ? [side('server', f.server)] : []),
  ];
}

/** The environment as text. */
function formatEnvironment(r: EnvironmentReport): string {
  const lines = [
    `testbed fingerprint ${r.fingerprint} (covers: ${r.fingerprintCovers.join(', ')})`,
    ...(r.record
      ? [
          r.record.sameTestbed
            ? `record        ${r.record.file}: fingerprint ${r.record.fingerprint}, the same testbed as this host`
            : `record        ${r.record.file}: fingerprint ${r.record.fingerprint}, a different testbed (differs in ${r.record.differs.join('; ')}): compare grades it against this host's runs only with --allow-testbed-mismatch`,
        ]
      : []),
    `host          ${r.hostname}`,
    `cpu           ${r.cpu.model} x ${r.cpu.count} (available parallelism ${r.cpu.availableParallelism}; flags: ${r.cpu.flags.join(' ') || 'none of note'})`,
    `memory        ${formatBytes(r.memoryBytes)}`,
    `kernel        ${r.identity.os} ${r.identity.kernel} (${r.kernelVersion}), ${r.identity.arch}`,
    `interfaces`,
    ...r.interfaces.map(
      (i) =>
        `  ${i.name.padEnd(10)} mtu ${String(i.mtu ?? '?').padEnd(6)} qdisc ${(i.qdisc ?? '?').padEnd(11)} driver ${(i.driver ?? (i.loopback ? 'loopback' : 'virtual')).padEnd(11)} ${i.operstate ?? '?'}` +
        `${i.speedMbps ? `, ${i.speedMbps} Mbit/s` : ''}, ${i.txQueues ?? '?'} tx / ${i.rxQueues ?? '?'} rx queues${i.defaultRoute.length ? `; default route (${i.defaultRoute.join(', ')})` : ''}`,
    ),
    `mtu           loopback ${r.loopbackMtu ?? 'n/a'}; default route ${r.defaultRouteInterfaces.map((n) => `${n} ${r.interfaces.find((i) => i.name === n)?.mtu ?? '?'}`).join(', ') || 'none'}`,
    `socket limits rmem_max ${fmtBytes(r.socketBuffers.rmemMax)}, wmem_max ${fmtBytes(r.socketBuffers.wmemMax)} (defaults ${fmtBytes(r.socketBuffers.rmemDefault)} / ${fmtBytes(r.socketBuffers.wmemDefault)})`,
  ];
  if (r.fastPath === null) lines.push('fast path     not probed (--no-probe)');
  else if ('error' in r.fastPath) lines.push(`fast path     probe failed: ${r.fastPath.error}`);
  else lines.push(...fastPathLines(r.fastPath));
  if (r.aead) {
    lines.push(`aead          ${r.aead.results[0]?.cipher ?? 'aes-128-gcm'}, ${r.aead.method}`);
    for (const a of r.aead.results) {
      lines.push(
        `  ${`${a.bytes} B`.padEnd(10)} per packet ${formatRate(a.perPacketBps)} (rounds ${formatRate(a.perPacketRangeBps[0])} to ${formatRate(a.perPacketRangeBps[1])}), bulk ${formatRate(a.bulkBps)}`,
      );
    }
  } else lines.push('aead          not measured (--no-aead)');
  const debug = debugEngineWarning();
  lines.push(`build         ${r.build} (read from the loaded engine${debug ? `; ${debug}` : '; npm run build:native builds with --release'})`);
  const v = r.versions;
  lines.push(`versions      stoq-bench ${v.stoqBench}, node ${v.node} (v8 ${v.v8}, napi ${v.napi}), OpenSSL ${v.openssl} (node:crypto), quiche ${v.quiche} (engine, BoringSSL)`);
  return `${lines.join('\n')}\n`;
}

const fmtBytes = (n: number | null) => (n === null ? 'n/a' : formatBytes(n));
