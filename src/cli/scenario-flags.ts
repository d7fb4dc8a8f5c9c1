// The flags that describe a measurement, shared by the commands that measure (`run`, `validate`): one table,
// one set of cross-flag rules, and the scenario they describe.
import type { Options } from 'yargs';
import { StoqError } from '../errors.js';
import { CONGESTION_CONTROLS, SCENARIO_KINDS, type ScenarioInput, type ScenarioKind, type Settings } from '../scenario.js';
import { size, time, whole } from './options.js';

/** The flags that describe a measurement (shared with `validate`, which extends this table). */
export const scenarioOptions: Record<string, Options> = {
  target: { type: 'string', describe: 'ADDRESS of a stoq-bench (or any perf) server; default: embedded server on [::1]' },
  scenario: { choices: SCENARIO_KINDS, default: 'download', describe: 'what to measure' },
  bytes: size('bytes', 'stop after this many bytes in total (SIZE; per direction for bidir)'),
  duration: time('duration', 'stop after this long (TIME); the default when nothing else is given: 10s'),
  count: whole('count', 'stop after this many requests, round trips or handshakes', 1, 4_294_967_295),
  connections: whole('connections', 'concurrent connections', 1, 100_000, { default: '1' }),
  streams: whole('streams', 'concurrent streams per connection', 1, 10_000, { default: '1' }),
  inflight: whole('inflight', 'requests outstanding per connection (requests)', 1, 10_000, { default: '1' }),
  'request-size': size('request-size', 'bytes uploaded per request (SIZE; requests, latency; default 64)'),
  'response-size': size('response-size', 'bytes returned per request (SIZE; default 4KiB for requests, 64 for latency)'),
  'stream-type': { choices: ['bidi', 'uni'], default: 'bidi', describe: 'stream type (uni: the reply comes on a new server stream)' },
  cc: { choices: CONGESTION_CONTROLS, default: 'cubic', describe: 'congestion control' },
  'payload-size': size('payload-size', 'largest UDP payload (SIZE, 1200 to 65527)', { default: '1350' }),
  pacing: { type: 'boolean', default: true, describe: 'pace sends in user space; --no-pacing to disable' },
  gso: { type: 'boolean', default: true, describe: 'send with UDP GSO when available; --no-gso to disable' },
  'connection-window': size('connection-window', 'connection flow-control window (SIZE)', { default: '24MiB' }),
  'stream-window': size('stream-window', 'stream flow-control window (SIZE)', { default: '16MiB' }),
  'idle-timeout': time('idle-timeout', 'a silent peer errors the connection after this (TIME)', { default: '5s' }),
  threads: whole('threads', 'client I/O threads', 1, 256, { default: '1' }),
  interval: time('interval', 'interval length (TIME, at least 10ms)', { default: '1s' }),
  runs: whole('runs', 'repeat the scenario this many times (one session)', 1, 10_000, { default: '1' }),
  json: { type: 'boolean', default: false, describe: 'print each run record as one JSON line instead of text' },
  out: { type: 'string', describe: 'also write the run records to FILE (JSON lines)' },
  qlog: { type: 'string', describe: 'write a qlog per connection into DIR' },
};

/** Cross-flag rules of the scenario flags (`argv.scenario` names the kind checked). */
export function checkScenario(argv: Record<string, unknown>): string | undefined {
  const stops = ['bytes', 'duration', 'count'].filter((f) => argv[f] !== undefined);
  if (stops.length > 1) return `give one of --bytes, --duration or --count, not ${stops.map((f) => `--${f}`).join(' and ')}`;
  const kind = argv.scenario as ScenarioKind;
  const transfer = kind === 'download' || kind === 'upload' || kind === 'bidir';
  if (transfer && argv.count !== undefined) return `--count applies to requests, latency and handshakes, not ${kind}`;
  if (!transfer && argv.bytes !== undefined) return `--bytes applies to download, upload and bidir, not ${kind}`;
  if ((argv.interval as number) < 10e6) return '--interval must be at least 10ms';
  return undefined;
}

/** The scenario the flags describe (throws INVALID_ARGUMENT naming the flag when they do not fit). */
export function scenarioFrom(argv: Record<string, unknown>): ScenarioInput {
  const kind = argv.scenario as ScenarioKind;
  const settings: Partial<Settings> = {
    cc: argv.cc as Settings['cc'],
    payloadSize: argv['payload-size'] as number,
    pacing: argv.pacing as boolean,
    gso: argv.gso as boolean,
    connectionWindow: argv['connection-window'] as number,
    streamWindow: argv['stream-window'] as number,
    idleTimeoutNs: argv['idle-timeout'] as number,
    threads: argv.threads as number,
  };
  const requestKind = kind === 'requests' || kind === 'latency';
  if (!requestKind && (argv['request-size'] !== undefined || argv['response-size'] !== undefined)) {
    throw new StoqError('INVALID_ARGUMENT', `--request-size and --response-size apply to requests and latency, not ${kind}`);
  }
  return {
    kind,
    bytes: argv.bytes as number | undefined,
    durationNs: argv.duration as number | undefined,
    count: argv.count as number | undefined,
    connections: argv.connections as number,
    streams: argv.streams as number,
    inflight: argv.inflight as number,
    requestSize: argv['request-size'] as number | undefined,
    responseSize: argv['response-size'] as number | undefined,
    streamType: argv['stream-type'] as 'bidi' | 'uni',
    settings,
  };
}
