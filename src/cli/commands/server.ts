import { once } from 'node:events';
import type { SettingsInput } from '../../generated/engine.js';
import { engineSpec } from '../../native.js';
import { StoqServer, type ServerStats } from '../../server.js';
import { CONGESTION_CONTROLS } from '../../scenario.js';
import { formatBytes } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { address, size, whole } from '../options.js';

const defaults = engineSpec().defaults;
const payload = engineSpec().limits.find((l) => l.field === 'settings.payloadSize')!;

export const serverCommand: Command = {
  name: 'server',
  describe: 'Serve the perf protocol (ALPN "perf") on IPv6 until SIGINT/SIGTERM',
  options: {
    listen: address('listen', 'ADDRESS to listen on (port 0 picks one)', 'listen', { defaultDescription: defaults.server.listen }),
    threads: whole('threads', 'worker threads sharing the port', 1, 256, { defaultDescription: String(defaults.server.threads) }),
    cert: { type: 'string', describe: 'PEM certificate file (default: a self-signed one made at start)' },
    key: { type: 'string', describe: 'PEM private key file for --cert' },
    cc: { choices: CONGESTION_CONTROLS, describe: 'congestion control when sending', defaultDescription: defaults.settings.cc },
    'payload-size': size('payload-size', `largest UDP payload sent (SIZE, ${payload.min} to ${payload.max})`, { defaultDescription: String(defaults.settings.payloadSize) }),
    pacing: { type: 'boolean', describe: 'pace sends (user space); --no-pacing to disable', defaultDescription: String(defaults.settings.pacing) },
    gso: { type: 'boolean', describe: 'send with UDP GSO when available; --no-gso to disable', defaultDescription: String(defaults.settings.gso) },
    qlog: { type: 'string', describe: 'write a qlog per connection into this DIR' },
    'max-connections': whole('max-connections', 'refuse connections beyond this (error 2)', 1, 10_000_000, { defaultDescription: String(defaults.server.maxConnections) }),
    'stats-interval': whole('stats-interval', 'seconds between status lines while serving', 1, 3600, { default: '1' }),
    json: { type: 'boolean', default: false, describe: 'print one JSON object per line' },
  },
  check: (argv) => (Boolean(argv.cert) !== Boolean(argv.key) ? '--cert and --key go together' : undefined),
  async run(argv, io) {
    const settings: SettingsInput = {
      cc: argv.cc as SettingsInput['cc'],
      payloadSize: argv['payload-size'] as number,
      pacing: argv.pacing as boolean,
      gso: argv.gso as boolean,
    };
    const server = await StoqServer.start({
      listen: argv.listen as string | undefined,
      threads: argv.threads as number | undefined,
      cert: argv.cert as string | undefined,
      key: argv.key as string | undefined,
      settings,
      qlogDir: argv.qlog as string | undefined,
      maxConnections: argv['max-connections'] as number | undefined,
    });
    const json = argv.json as boolean;
    const emit = (event: string, data: Record<string, unknown>, text: string) =>
      io.stdout(json ? `${JSON.stringify({ event, ...data })}\n` : `${text}\n`);
    const threads = (argv.threads as number | undefined) ?? defaults.server.threads;
    emit('listening', { address: server.address, threads, alpn: 'perf' }, `stoq-bench server listening on ${server.address} (ALPN perf, ${threads} thread(s))`);
    let last = '';
    const timer = setInterval(() => {
      const stats = server.stats();
      const key = `${stats.accepted}/${stats.closed}/${stats.bytesSent}/${stats.bytesReceived}`;
      if (key !== last) emit('stats', { ...stats }, statusLine(stats));
      last = key;
    }, (argv['stats-interval'] as number) * 1000);
    if (!io.signal.aborted) await once(io.signal, 'abort');
    clearInterval(timer);
    const { stats } = await server.stop();
    emit('stopped', { ...stats }, `stopped: ${statusLine(stats)}`);
    return EXIT.ok;
  },
};

function statusLine(s: ServerStats): string {
  const perConn = s.rssPerConnectionBytes === null ? 'n/a' : formatBytes(s.rssPerConnectionBytes);
  return (
    `connections open ${s.openConnections} (accepted ${s.accepted}, errored ${s.errored}, rejected ${s.rejected}); ` +
    `sent ${formatBytes(s.bytesSent)}, received ${formatBytes(s.bytesReceived)}; ` +
    `RSS ${formatBytes(s.rssBytes)}, ${perConn} per connection at peak ${s.peakConnections}`
  );
}
