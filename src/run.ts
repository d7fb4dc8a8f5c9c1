// Running scenarios: one run (against a target, or an embedded server on [::1]) returns its record, built
// by the engine from what it measured and what this side knows (session, host, time).
import { randomUUID } from 'node:crypto';
import { clockSync } from './environment/clock.js';
import { recordHost } from './environment/fingerprint.js';
import type { IntervalRecord, RecordContext, RunRecord, StartContext } from './generated/engine.js';
import { fromNative, StoqError } from './errors.js';
import { callNative, fromEngine, native } from './native.js';
import { normalizeScenario, type Scenario, type ScenarioInput } from './scenario.js';
import { engineServer, StoqServer } from './server.js';
import { parseAddress } from './units.js';
import { VERSION } from './version.js';

export interface RunOptions {
  /**
   * The server: `[v6addr]:port`, `v4addr:port` or `name:port` (resolved once, IPv6 first), a link-local
   * address with its zone (`[fe80::1%eth0]:4433`). Without one, an embedded server on `[::1]` (port picked).
   */
  target?: string;
  /** Interval length, ns (at least 10 ms). Default: the engine's (1 s). */
  intervalNs?: number;
  /** Cancels the run; the record returned then holds what was measured, with state `cancelled`. */
  signal?: AbortSignal;
  /** Called with each interval as it ends (never blocks the engine: late snapshots are dropped and counted). */
  onInterval?: (interval: IntervalRecord) => void;
  /** Write a qlog per connection (client, and embedded server) into this directory. */
  qlogDir?: string;
  /** PEM client certificate and private key files, for a server that requires client certificates. */
  clientCert?: string;
  clientKey?: string;
  /** Number the record within a session of several runs. */
  session?: { id: string; run: number; runs: number };
  /**
   * Start at this wall-clock instant, together with the other clients of a session on other hosts: the
   * run waits for it (at once when it has passed) and its record's `start` says how late its clock
   * started, and the host's clock sync state. A start more than `toleranceNs` after it counts as late.
   */
  startAt?: { at: Date; toleranceNs: number };
}

export interface RunOutcome {
  record: RunRecord;
  /** Raw samples as the engine recorded them (typed arrays over the engine's buffers, not copies). */
  samples: { latencyNs: BigUint64Array; latencyAtNs: BigUint64Array };
}

/**
 * Runs one scenario and returns its record. Rejects only when the run cannot start (bad scenario or
 * address, socket errors, cancelled while waiting for `startAt`); a connection that fails is data in the
 * record (`end.state: "errored"`).
 */
export async function runScenario(input: ScenarioInput | Scenario, options: RunOptions = {}): Promise<RunOutcome> {
  const scenario = normalizeScenario(input);
  checkDescriptors(scenario, options.qlogDir);
  // A name is resolved here, once, so that the record names the address measured.
  const given = options.target === undefined ? undefined : parseAddress(options.target, 'target').address;
  const server = given
    ? undefined
    : await StoqServer.start({ listen: '[::1]:0', settings: scenario.settings, qlogDir: options.qlogDir });
  const target = given ?? server!.address;
  const cancel = new native.NativeCancel();
  const abort = () => cancel.cancel();
  try {
    const start = options.startAt && (await startTogether(options.startAt, options.signal));
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const context: RecordContext = {
      toolVersion: VERSION,
      session: options.session ?? { id: randomUUID(), run: 0, runs: 1 },
      startedAt: new Date().toISOString(),
      target,
      embeddedServer: server !== undefined,
      host: recordHost(),
      ...(start ? { start } : {}),
    };
    let output;
    try {
      output = await native.runScenario(
        JSON.stringify(scenario),
        { target, intervalNs: options.intervalNs, qlogDir: options.qlogDir, clientCert: options.clientCert, clientKey: options.clientKey, contextJson: JSON.stringify(context) },
        cancel,
        (json) => options.onInterval?.(fromEngine('interval', json)),
        server && engineServer(server),
      );
    } catch (error) {
      throw fromNative(error);
    }
    const record = fromEngine('record', output.recordJson);
    if (server) {
      // The server's memory per connection is read while its connections are still counted.
      record.end.serverStats = (await server.stop()).stats;
    }
    return { record, samples: { latencyNs: output.latencyNs, latencyAtNs: output.latencyAtNs } };
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await server?.stop();
  }
}

/**
 * Makes sure this process may open a socket per connection (and a qlog file each), raising the soft
 * descriptor limit where needed; `INVALID_ARGUMENT` (field `connections`) where the hard limit is too low.
 */
function checkDescriptors(scenario: Scenario, qlogDir: string | undefined): void {
  callNative(() => native.checkDescriptors(JSON.stringify(scenario), qlogDir !== undefined));
}

/** Reads the clock's sync state, then waits for the instant; rejects with CANCELLED when the signal aborts first. */
async function startTogether(startAt: NonNullable<RunOptions['startAt']>, signal?: AbortSignal): Promise<StartContext> {
  const clock = await clockSync();
  await waitUntil(startAt.at, signal);
  return { at: startAt.at.toISOString(), toleranceUs: Math.round(startAt.toleranceNs / 1e3), clock };
}

/** Resolves at `at` (at once when it has passed); rejects with CANCELLED when the signal aborts first. */
function waitUntil(at: Date, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const abort = () => {
      clearTimeout(timer);
      reject(new StoqError('CANCELLED', `stopped while waiting for the start at ${at.toISOString()}`));
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener('abort', abort, { once: true });
    const tick = () => {
      const left = at.getTime() - Date.now();
      if (left <= 0) {
        signal?.removeEventListener('abort', abort);
        resolve();
        return;
      }
      // setTimeout holds at most 2^31 - 1 ms.
      timer = setTimeout(tick, Math.min(left, 2 ** 31 - 1));
    };
    tick();
  });
}

/** What a caller of `runSession` sees of each run. */
export interface SessionHooks {
  /** Before each run (0-based); a function it returns sees that run's intervals as they end. */
  beforeRun?: (run: number) => ((interval: IntervalRecord) => void) | void;
  /** After each run, however it ended (a run that threw included). */
  afterRun?: (run: number) => void;
  /** Each run's record, as the run ends (awaited before the next run starts). */
  onRecord?: (record: RunRecord, run: number) => void | Promise<void>;
}

/** Runs a scenario `runs` times in one session; stops early (keeping what ran) when the signal aborts. */
export async function runSession(
  input: ScenarioInput | Scenario,
  runs: number,
  options: Omit<RunOptions, 'session'> & SessionHooks = {},
): Promise<RunRecord[]> {
  const { beforeRun, afterRun, onRecord, onInterval, ...runOptions } = options;
  if (options.startAt && runs > 1) throw new StoqError('INVALID_ARGUMENT', 'a run started at an instant with other clients is one run: runs must be 1', { field: 'startAt' });
  const scenario = normalizeScenario(input);
  // Refused before the first run starts (or prints anything), not when it does; a name resolved once.
  checkDescriptors(scenario, options.qlogDir);
  if (options.target !== undefined) runOptions.target = parseAddress(options.target, 'target').address;
  const id = randomUUID();
  const records: RunRecord[] = [];
  for (let run = 0; run < runs && !options.signal?.aborted; run++) {
    const ofRun = beforeRun?.(run);
    try {
      const { record } = await runScenario(scenario, {
        ...runOptions,
        session: { id, run, runs },
        onInterval: (i) => {
          onInterval?.(i);
          ofRun?.(i);
        },
      });
      records.push(record);
      await onRecord?.(record, run);
    } finally {
      afterRun?.(run);
    }
  }
  return records;
}
