import { once } from 'node:events';
import { StoqServer, type ServerStats } from '../../server.js';
import { CONGESTION_CONTROLS, type Settings } from '../../scenario.js';
import { formatBytes } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { address, size, whole } from '../options.js';

export const serverCommand: Command = {
  name: 'server',
  describe: 'Serve the perf protocol (ALPN "perf") on IPv6 until SIGINT/SIGTERM',
  options: {
    listen: address('listen', 'ADDRESS to listen on (port 0 picks one)', { default: '[::]:4433' }),
    threads: whole('threads', 'worker threads sharing the port', 1, 256, { default: '1' }),
    cert: { type: 'string', describe: 'PEM certificate file (default: a self-signed one made at start)' },
    key: { type: 'string', describe: 'PEM private key file for --cert' },
    cc: { choices: CONGESTION_CONTROLS, default: 'cubic', describe: 'congestion control when sending' },
    'payload-size': size('payload-size', 'largest UDP payload sent (SIZE, 1200 to 65527)', { default: '1350' }),
    pacing: { type: 'boolean', default: true, describe: 'pace sends (user space); --no-pacing to disable' },
    gso: { type: 'boolean', default: true, describe: 'send with UDP GSO when available; --no-gso to disable' },
    qlog: { type: 'string', describe: 'write a qlog per connection into this DIR' },
    'max-connections': whole('max-connections', 'refuse connections beyond this (error 2)', 1, 10_000_000),
    'stats-interval': whole('stats-interval', 'seconds between status lines while serving', 1, 3600, { default: '1' }),
    json: { type: 'boolean', default: false, describe: 'print one JSON object per line' },
  },
  check: (argv) => (Boolean(argv.cert) !== Boolean(argv.key) ? '--cert and --key go together' : undefined),
  async run(argv, io) {
    const settings: Partial<Settings> = {
      cc: argv.cc as Settings['cc'],
      payloadSize: argv['payload-size'] as number,
      pacing: argv.pacing as boolean,
      gso: argv.gso as boolean,
    };
    const server = await StoqServer.start({
      listen: argv.listen as string,
      threads: argv.threads as number,
      cert: argv.cert as string | undefined,
      key: argv.key as string | undefined,
      settings,
      qlogDir: argv.qlog as string | undefined,
      maxConnections: argv['max-connections'] as number | undefined,
    });
    const json = argv.json as boolean;
    const emit = (event: string, data: Record<string, unknown>, text: string) =>
      io.stdout(json ? `${JSON.stringify({ event, ...data })}\n` : `${text}\n`);
    emit('listening', { address: server.address, threads: argv.threads, alpn: 'perf' }, `stoq-bench server listening on ${server.address} (ALPN perf, ${argv.threads} thread(s))`);
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
