// The flags that describe a measurement, shared by the commands that measure (`run`, `validate`), each
// bound to the engine field it sets. Their ranges, defaults and
// which kinds take them are the engine's (`engineSpec()`), never typed again here: a flag a kind does not
// take is a usage error naming the kind, and an engine error naming a field is reported by its flag.
import type { Options } from 'yargs';
import type { Scenario, ScenarioInput } from '../generated/engine.js';
import type { RunOptions } from '../run.js';
import { kindSpec, kindsTaking, takes } from '../kinds.js';
import { engineLimit, engineSpec } from '../native.js';
import { SCENARIO_KINDS, type ScenarioKind } from '../scenario.js';
import { formatBytes, formatDuration, formatSize } from '../units.js';
import { address, jsonOutput, size, time, whole as wholeIn } from './options.js';
import { OUT_HELP } from './records-out.js';

interface ScenarioFlag {
  flag: string;
  /** The scenario field it sets (`settings.NAME` for a transport setting; `intervalNs`: a run option). */
  field: string;
  option: Options;
}

const spec = engineSpec();
const defaults = spec.defaults;
const limit = engineLimit;
/** A whole-number flag within the engine's limits of `field`. */
const whole = (flag: string, describe: string, l: { min: number; max: number }, extra: Options = {}) => wholeIn(flag, describe, l.min, l.max, extra);
/** A field's range in --help: `1ms to 24h`. */
const range = (field: string, format: (v: number) => string) => `${format(limit(field).min)} to ${format(limit(field).max)}`;
/** "(default: X)" in --help, from the engine's defaults. */
const shown = (value: string | number | boolean): Pick<Options, 'defaultDescription'> => ({ defaultDescription: String(value) });
const perKind = (field: 'requestSize' | 'responseSize') =>
  spec.kinds.filter((k) => k[field] != null).map((k) => `${formatBytes(k[field] as number)} for ${k.kind}`).join(', ');

const SCENARIO_FLAGS: readonly ScenarioFlag[] = [
  { flag: 'bytes', field: 'bytes', option: size('bytes', 'stop after this many bytes in total (SIZE; per direction for bidir)', {}, limit('bytes')) },
  { flag: 'duration', field: 'durationNs', option: time('duration', `stop after this long (TIME, ${range('durationNs', formatDuration)}); the default when nothing else is given: ${formatDuration(defaults.durationNs)}`, {}, limit('durationNs')) },
  { flag: 'count', field: 'count', option: whole('count', 'stop after this many requests, round trips or handshakes', limit('count')) },
  { flag: 'connections', field: 'connections', option: whole('connections', 'concurrent connections', limit('connections'), shown(defaults.connections)) },
  { flag: 'streams', field: 'streams', option: whole('streams', 'concurrent streams per connection', limit('streams'), shown(defaults.streams)) },
  { flag: 'inflight', field: 'inflight', option: whole('inflight', 'requests outstanding per connection', limit('inflight'), shown(defaults.inflight)) },
  { flag: 'request-size', field: 'requestSize', option: size('request-size', `bytes uploaded per request (SIZE, ${range('requestSize', formatSize)}; default ${perKind('requestSize')})`, {}, limit('requestSize')) },
  { flag: 'response-size', field: 'responseSize', option: size('response-size', `bytes returned per request (SIZE, ${range('responseSize', formatSize)}; default ${perKind('responseSize')})`, {}, limit('responseSize')) },
  { flag: 'stream-type', field: 'streamType', option: { choices: ['bidi', 'uni'], describe: 'stream type (uni: the reply comes on a new server stream)', ...shown(defaults.streamType) } },
  { flag: 'cc', field: 'settings.cc', option: { choices: spec.congestionControls, describe: 'congestion control', ...shown(defaults.settings.cc) } },
  { flag: 'payload-size', field: 'settings.payloadSize', option: size('payload-size', `largest UDP payload (SIZE, ${range('settings.payloadSize', formatSize)})`, shown(defaults.settings.payloadSize), limit('settings.payloadSize')) },
  { flag: 'pacing', field: 'settings.pacing', option: { type: 'boolean', describe: 'pace sends in user space; --no-pacing to disable', ...shown(defaults.settings.pacing) } },
  { flag: 'gso', field: 'settings.gso', option: { type: 'boolean', describe: 'send with UDP GSO when available; --no-gso to disable', ...shown(defaults.settings.gso) } },
  { flag: 'connection-window', field: 'settings.connectionWindow', option: size('connection-window', `connection flow-control window (SIZE, ${range('settings.connectionWindow', formatSize)})`, shown(formatBytes(defaults.settings.connectionWindow)), limit('settings.connectionWindow')) },
  { flag: 'stream-window', field: 'settings.streamWindow', option: size('stream-window', `stream flow-control window (SIZE, ${range('settings.streamWindow', formatSize)})`, shown(formatBytes(defaults.settings.streamWindow)), limit('settings.streamWindow')) },
  { flag: 'idle-timeout', field: 'settings.idleTimeoutNs', option: time('idle-timeout', `a silent peer errors the connection after this (TIME, ${range('settings.idleTimeoutNs', formatDuration)})`, shown(formatDuration(defaults.settings.idleTimeoutNs)), limit('settings.idleTimeoutNs')) },
  { flag: 'recv-buffer', field: 'settings.recvBuffer', option: size('recv-buffer', `socket receive buffer to ask for (SIZE, ${range('settings.recvBuffer', formatSize)}; the kernel doubles it)`, shown(formatBytes(defaults.socketBuffer)), limit('settings.recvBuffer')) },
  { flag: 'threads', field: 'settings.threads', option: whole('threads', 'client I/O threads', limit('settings.threads'), shown(defaults.settings.threads)) },
  { flag: 'interval', field: 'intervalNs', option: time('interval', `interval length (TIME, ${range('intervalNs', formatDuration)})`, shown(formatDuration(defaults.intervalNs)), limit('intervalNs')) },
];

/** The scenario flags as yargs options, with --scenario first. */
function scenarioFlagOptions(): Record<string, Options> {
  return {
    scenario: { choices: SCENARIO_KINDS, default: 'download', describe: 'what to measure' },
    ...Object.fromEntries(SCENARIO_FLAGS.map((f) => [f.flag, f.option])),
  };
}

/** The flags that describe a measurement (shared with `validate`, which extends this table). */
export const scenarioOptions: Record<string, Options> = {
  target: address('target', 'ADDRESS of a stoq-bench (or any perf) server; default: embedded server on [::1]', 'target'),
  ...scenarioFlagOptions(),
  runs: wholeIn('runs', 'repeat the scenario this many times (one session)', 1, 10_000, { default: '1' }),
  json: jsonOutput('each run record'),
  out: { type: 'string', describe: OUT_HELP },
  qlog: { type: 'string', describe: 'write a qlog per connection into DIR' },
  'client-cert': { type: 'string', describe: 'PEM client certificate FILE, for a server that requires one (server --client-ca)' },
  'client-key': { type: 'string', describe: 'PEM private key FILE of --client-cert' },
};

/** The flag that sets an engine field (`settings.payloadSize` is --payload-size), if any. */
export function flagOf(field: string): string | undefined {
  return SCENARIO_FLAGS.find((f) => f.field === field)?.flag;
}

/**
 * Cross-flag rules of the scenario flags: one stop condition at most, only flags the kind takes (a flag it
 * does not take would change the scenario's id without changing the workload), the interval's minimum.
 * `argv.scenario` names the kind; without one, only the kind-free rules apply.
 */
export function checkScenario(argv: Record<string, unknown>): string | undefined {
  const given = SCENARIO_FLAGS.filter((f) => argv[f.flag] !== undefined);
  const stops = given.filter((f) => (spec.stops as string[]).includes(f.field));
  if (stops.length > 1) {
    const all = spec.stops.map((s) => `--${flagOf(s)}`);
    return `give one of ${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}, not ${stops.map((f) => `--${f.flag}`).join(' and ')}`;
  }
  const kind = argv.scenario as ScenarioKind | undefined;
  if (kind !== undefined) {
    for (const { flag, takenBy } of flagsNotTaken(argv, kind)) {
      const note = kindSpec(kind).note;
      return `--${flag} applies to ${listKinds(takenBy)}, not ${kind}${note ? ` (${note})` : ''}`;
    }
  }
  const interval = limit('intervalNs');
  if (argv.interval !== undefined && (argv.interval as number) < interval.min) return `--interval must be at least ${formatDuration(interval.min)}`;
  if (Boolean(argv['client-cert']) !== Boolean(argv['client-key'])) return '--client-cert and --client-key go together';
  return undefined;
}

/** The scenario flags given that `kind` does not take. */
export function flagsNotTaken(argv: Record<string, unknown>, kind: ScenarioKind): Array<{ flag: string; takenBy: ScenarioKind[] }> {
  return SCENARIO_FLAGS.filter((f) => argv[f.flag] !== undefined && !takes(kind, f.field)).map((f) => ({ flag: f.flag, takenBy: kindsTaking(f.field) }));
}

/** The flags with those `kind` does not take left out (for one kind of several measured together). */
export function onlyFlagsTaken(argv: Record<string, unknown>, kind: ScenarioKind): Record<string, unknown> {
  const a: Record<string, unknown> = { ...argv, scenario: kind };
  for (const { flag } of flagsNotTaken(argv, kind)) delete a[flag];
  return a;
}

/** Kinds in words: `download, upload and bidir`. */
export function listKinds(kinds: readonly string[]): string {
  return kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}` : kinds.join('');
}

/** The scenario the flags describe: only what was given (the engine fills in the rest). */
export function scenarioFrom(argv: Record<string, unknown>): ScenarioInput {
  const input: Record<string, unknown> = { kind: argv.scenario };
  const settings: Record<string, unknown> = {};
  for (const f of SCENARIO_FLAGS) {
    const value = argv[f.flag];
    if (value === undefined || f.field === 'intervalNs') continue;
    if (f.field.startsWith('settings.')) settings[f.field.slice('settings.'.length)] = value;
    else input[f.field] = value;
  }
  if (Object.keys(settings).length > 0) input.settings = settings;
  return input as unknown as ScenarioInput;
}

/** Where and how a session connects, and the qlogs beside it, as the flags give them. */
export function connectionFrom(argv: Record<string, unknown>): Pick<RunOptions, 'target' | 'intervalNs' | 'qlogDir' | 'clientCert' | 'clientKey'> {
  return {
    target: argv.target as string | undefined,
    intervalNs: argv.interval as number | undefined,
    qlogDir: argv.qlog as string | undefined,
    clientCert: argv['client-cert'] as string | undefined,
    clientKey: argv['client-key'] as string | undefined,
  };
}

/**
 * The flags that describe a normalised scenario completely: every field its kind takes, defaults included,
 * so that `run` given them measures the same scenario (same id) whatever its own defaults are.
 */
export function scenarioArgs(s: Scenario): string[] {
  const args = ['--scenario', s.kind];
  for (const f of SCENARIO_FLAGS) {
    if (f.field === 'intervalNs' || !takes(s.kind, f.field)) continue;
    const [head, tail] = f.field.split('.');
    const value = (tail === undefined ? s[head as keyof Scenario] : s.settings[tail as keyof Scenario['settings']]) as unknown;
    if (value === undefined || value === null) continue;
    if (typeof value === 'boolean') args.push(value ? `--${f.flag}` : `--no-${f.flag}`);
    else args.push(`--${f.flag}`, typeof value === 'number' && f.field.endsWith('Ns') ? formatDuration(value) : String(value));
  }
  return args;
}
