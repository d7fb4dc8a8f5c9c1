import { once } from 'node:events';
import type { RetryMode, SettingsInput } from '../../generated/engine.js';
import { serveMetrics } from '../../monitor/metrics.js';
import { ServerMetrics } from '../../monitor/server-metrics.js';
import { engineLimit, engineSpec } from '../../native.js';
import { CONGESTION_CONTROLS } from '../../scenario.js';
import { StoqServer, type LiveServerStats } from '../../server.js';
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import { EXIT, type Command } from '../command.js';
import { address, jsonOutput, rate, size, time, whole } from '../options.js';

const defaults = engineSpec().defaults;
const payload = engineLimit('settings.payloadSize');
const IDLE_MIN = engineLimit('settings.idleTimeoutNs').min;
const RETRY_MODES: RetryMode[] = ['auto', 'always', 'never'];

export const serverCommand: Command = {
  name: 'server',
  describe: 'Serve the perf protocol (ALPN "perf") until SIGINT/SIGTERM',
  longRunning: 'service',
  options: {
    listen: address('listen', 'ADDRESS to listen on (port 0 picks one)', 'listen', { defaultDescription: defaults.server.listen }),
    'ipv6-only': { type: 'boolean', default: false, describe: 'on an IPv6 address, refuse IPv4 clients (no IPv4-mapped addresses)' },
    threads: whole('threads', 'worker threads sharing the port (no other process can join them)', 1, 256, { defaultDescription: String(defaults.server.threads) }),
    cert: { type: 'string', describe: 'PEM certificate file (default: a self-signed one made at start)' },
    key: { type: 'string', describe: 'PEM private key file for --cert' },
    allow: { type: 'string', array: true, describe: 'PREFIX allowed to use the server, repeatable: fd00::/64, 10.0.0.0/8, ::1 (default: everyone)' },
    'client-ca': { type: 'string', describe: 'PEM FILE of the CAs client certificates must chain to; clients without one fail the handshake' },
    'max-response': size('max-response', 'largest response a request may ask for (SIZE); above it, stream error 2 (rejected)', { defaultDescription: 'unlimited' }),
    'max-rate': rate('max-rate', 'send rate cap per connection (RATE, e.g. 1Gbps), whatever the congestion control', { defaultDescription: 'unlimited' }),
    cc: { choices: CONGESTION_CONTROLS, describe: 'congestion control when sending', defaultDescription: defaults.settings.cc },
    'payload-size': size('payload-size', `largest UDP payload sent (SIZE, ${payload.min} to ${payload.max})`, { defaultDescription: String(defaults.settings.payloadSize) }, payload),
    pacing: { type: 'boolean', describe: 'pace sends (user space); --no-pacing to disable', defaultDescription: String(defaults.settings.pacing) },
    gso: { type: 'boolean', describe: 'send with UDP GSO when available; --no-gso to disable', defaultDescription: String(defaults.settings.gso) },
    'idle-timeout': time('idle-timeout', `close a connection silent for this long (TIME, at least ${formatDuration(IDLE_MIN)})`, { defaultDescription: formatDuration(defaults.settings.idleTimeoutNs) }),
    'handshake-timeout': time('handshake-timeout', 'drop a connection whose handshake is not complete after this (TIME)', { defaultDescription: formatDuration(defaults.server.handshakeTimeoutNs) }),
    retry: { choices: RETRY_MODES, describe: 'address validation with Retry: always, never, or once --retry-threshold connections are half-open', defaultDescription: defaults.server.retry },
    'retry-threshold': whole('retry-threshold', 'half-open connections from which --retry auto sends Retries', 0, 10_000_000, { defaultDescription: String(defaults.server.retryThreshold) }),
    'max-connections': whole('max-connections', 'connections with state, half-open included; beyond, Initials are refused (CONNECTION_REFUSED) before any state', 1, 10_000_000, { defaultDescription: String(defaults.server.maxConnections) }),
    'max-half-open-per-prefix': whole('max-half-open-per-prefix', 'half-open connections one source (IPv6 /64, IPv4 address) may hold; beyond, its Initials are dropped', 1, 10_000_000, { defaultDescription: String(defaults.server.maxHalfOpenPerPrefix) }),
    qlog: { type: 'string', describe: 'write a qlog per accepted connection into this DIR' },
    'share-view': { type: 'boolean', default: true, describe: 'tell a client the server\'s side of its own connections (ALPN stoq-bench-view); --no-share-view to refuse' },
    'stats-interval': whole('stats-interval', 'seconds between status lines while serving', 1, 3600, { default: '1' }),
    metrics: address('metrics', 'serve Prometheus metrics on ADDRESS, e.g. [::1]:9465 (GET /metrics)', 'listen'),
    json: jsonOutput('the events (listening, stats, stopped)'),
  },
  check(argv) {
    if (Boolean(argv.cert) !== Boolean(argv.key)) return '--cert and --key go together';
    if (argv['max-rate'] !== undefined && !((argv['max-rate'] as number) >= 8)) return '--max-rate must be at least 8bps';
    if (argv['handshake-timeout'] !== undefined && (argv['handshake-timeout'] as number) <= 0) return '--handshake-timeout must be more than 0';
    if (argv['idle-timeout'] !== undefined && (argv['idle-timeout'] as number) < IDLE_MIN) return `--idle-timeout must be at least ${formatDuration(IDLE_MIN)}`;
    return undefined;
  },
  async run(argv, io) {
    const settings: SettingsInput = {
      cc: argv.cc as SettingsInput['cc'],
      payloadSize: argv['payload-size'] as number | undefined,
      pacing: argv.pacing as boolean | undefined,
      gso: argv.gso as boolean | undefined,
      idleTimeoutNs: argv['idle-timeout'] as number | undefined,
    };
    const maxRate = argv['max-rate'] as number | undefined;
    const server = await StoqServer.start({
      listen: argv.listen as string | undefined,
      ipv6Only: argv['ipv6-only'] as boolean,
      threads: argv.threads as number | undefined,
      cert: argv.cert as string | undefined,
      key: argv.key as string | undefined,
      clientCa: argv['client-ca'] as string | undefined,
      allow: argv.allow as string[] | undefined,
      settings,
      qlogDir: argv.qlog as string | undefined,
      maxConnections: argv['max-connections'] as number | undefined,
      maxHalfOpenPerPrefix: argv['max-half-open-per-prefix'] as number | undefined,
      retry: argv.retry as RetryMode | undefined,
      retryThreshold: argv['retry-threshold'] as number | undefined,
      handshakeTimeoutNs: argv['handshake-timeout'] as number | undefined,
      maxResponse: argv['max-response'] as number | undefined,
      maxRate: maxRate === undefined ? undefined : Math.floor(maxRate / 8),
      shareView: argv['share-view'] as boolean,
    });
    let closeMetrics: (() => Promise<void>) | undefined;
    try {
      const json = argv.json as boolean;
      const emit = (event: string, data: Record<string, unknown>, text: string) =>
        io.stdout(json ? `${JSON.stringify({ event, ...data })}\n` : `${text}\n`);
      let metricsAddress: string | undefined;
      if (argv.metrics !== undefined) {
        const metrics = new ServerMetrics(() => server.stats(), { address: server.address });
        const served = await serveMetrics(metrics.registry, String(argv.metrics));
        metricsAddress = served.address;
        closeMetrics = served.close;
      }
      const threads = (argv.threads as number | undefined) ?? defaults.server.threads;
      const limits = {
        allow: (argv.allow as string[] | undefined) ?? [],
        clientCa: (argv['client-ca'] as string | undefined) ?? null,
        maxResponse: (argv['max-response'] as number | undefined) ?? null,
        maxRateBps: maxRate ?? null,
        retry: (argv.retry as RetryMode | undefined) ?? defaults.server.retry,
        maxConnections: (argv['max-connections'] as number | undefined) ?? defaults.server.maxConnections,
      };
      emit(
        'listening',
        {
          address: server.address,
          threads,
          alpn: 'perf',
          openToAnyone: server.openToAnyone,
          limits,
          metrics: metricsAddress ? `http://${metricsAddress}/metrics` : null,
        },
        `stoq-bench server listening on ${server.address} (ALPN perf, ${threads} thread(s))` +
          (metricsAddress ? `; metrics on http://${metricsAddress}/metrics` : ''),
      );
      if (server.openToAnyone) {
        // Loud on purpose: a perf server answers anyone with as many bytes as they ask for.
        io.stderr(
          `stoq-bench server: WARNING: ${server.address} is open to anyone who can reach it: any peer may connect and ` +
            `ask for ${limits.maxResponse === null ? 'unlimited bytes' : `up to ${formatBytes(limits.maxResponse)} per request`}` +
            `${limits.maxRateBps === null ? ' at full rate' : ` at up to ${formatRate(limits.maxRateBps)} per connection`}. ` +
            'Restrict it with --allow PREFIX or --client-ca FILE (and --max-response, --max-rate), or listen on loopback.\n',
        );
      }
      const timer = setInterval(() => {
        const stats = server.stats();
        emit('stats', { ...stats }, statusLine(stats));
      }, (argv['stats-interval'] as number) * 1000);
      if (!io.signal.aborted) await once(io.signal, 'abort');
      clearInterval(timer);
      const { stats } = await server.stop();
      emit('stopped', { ...stats }, `stopped: ${statusLine(stats)}`);
      return EXIT.ok;
    } finally {
      await closeMetrics?.();
      await server.stop();
    }
  },
};

type Counted = Exclude<keyof LiveServerStats, 'rssPerConnectionBytes'>;

const DROP_NAMES: Array<[Counted, string]> = [
  ['zeroLength', 'zero-length'],
  ['garbageDatagrams', 'garbage'],
  ['unknownConnection', 'unknown connection'],
  ['tooShort', 'too short'],
  ['invalidInitial', 'invalid Initial'],
  ['notAllowed', 'not allowed'],
  ['shed', 'shed'],
];

/** Non-zero counts of `names`, e.g. `garbage 12, too short 3`, or `none`. */
function nonZero(s: LiveServerStats, names: Array<[Counted, string]>): string {
  const parts = names.filter(([k]) => s[k] > 0).map(([k, name]) => `${name} ${s[k]}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function statusLine(s: LiveServerStats): string {
  const perConn = s.rssPerConnectionBytes === null ? '-' : formatBytes(s.rssPerConnectionBytes);
  const ended = nonZero(s, [
    ['closedCleanly', 'clean'],
    ['errored', 'errored'],
    ['idleTimeouts', 'idle timeouts'],
    ['handshakeTimeouts', 'handshake timeouts'],
    ['handshakeFailures', 'handshake failures'],
    ['closedAtStop', 'at stop'],
  ]);
  return (
    `connections open ${s.openConnections} (half-open ${s.halfOpen}); accepted ${s.accepted} (validated ${s.validated}); ` +
    `closed ${s.closed} (${ended}); ` +
    `dropped: ${nonZero(s, DROP_NAMES)}; ` +
    `version negotiation ${s.versionNegotiationSent}, retries ${s.retriesSent}, tokens invalid ${s.tokensInvalid}, ` +
    `refused ${s.refusedAtLimit} at limit, ${s.refusedPrefix} per prefix; ` +
    `kernel shedding ${s.kernelShedRules} sources, ${s.kernelShedDrops} socket drops meanwhile; ` +
    `admission waited for its share ${s.fairShareWaits} times; ` +
    `streams ${s.streams} (rejected ${s.streamsRejected}); ` +
    `sent ${formatBytes(s.bytesSent)}, received ${formatBytes(s.bytesReceived)}; ` +
    `RSS ${formatBytes(s.rssBytes)}, ${perConn} per connection at peak ${s.peakConnections}`
  );
}
