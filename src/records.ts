// Reading run records from files that hold one record, an array of records, or JSON lines with one
// record per line. Records of an older schemaVersion are upgraded on read, so every reader sees the one
// record type the engine writes. Anything else is an INVALID_FILE error that names the file, the line
// and what was wrong.
import { StoqError } from './errors.js';
import { readTextFile } from './files.js';
import type { RunRecord } from './generated/engine.js';
import { LATENCY_PERCENTILES, SCHEMA_VERSION, undeterminedPercentiles } from './record.js';
import { SCENARIO_KINDS } from './scenario.js';

const STATES: readonly string[] = ['completed', 'cancelled', 'errored'];

function bad(where: string, what: string): StoqError {
  return new StoqError('INVALID_FILE', `${where}: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Upgrades a record of schemaVersion 1: its latency percentiles are kept only where its sample can bound
 * them (the engine's percentile rule; null with the reason otherwise), as version 2 records say.
 */
function upgradeFrom1(value: Record<string, unknown>): void {
  const end = value.end;
  const latency = isObject(end) ? end.latency : undefined;
  if (isObject(latency) && typeof latency.n === 'number') {
    const undetermined = undeterminedPercentiles(latency.n).filter((u) => latency[`${u.percentile}Us`] !== undefined);
    for (const u of undetermined) latency[`${u.percentile}Us`] = null;
    if (undetermined.length > 0) latency.undetermined = undetermined;
  }
  value.schemaVersion = 2;
}

/**
 * Upgrades a record of schemaVersion 2. Its client counted a stream the server refused (perf error 2) as
 * failed, so `streamsRejected` is null. Its embedded server refused connections at its limit (`rejected`,
 * now `refusedAtLimit`); it had no Retry, allowlist, admission budget, kernel shedding, per-prefix cap, response cap or
 * memory trimming, so those counters are 0; the reasons it did not tell apart (how connections ended,
 * half-open ones, dropped datagrams by reason, Version Negotiations sent) are null.
 */
function upgradeFrom2(value: Record<string, unknown>): void {
  if (Array.isArray(value.connections)) {
    for (const c of value.connections) if (isObject(c) && !('streamsRejected' in c)) c.streamsRejected = null;
  }
  const server = isObject(value.end) ? value.end.server : undefined;
  if (isObject(server) && 'rejected' in server) {
    const { rejected, ...kept } = server;
    for (const key of Object.keys(server)) delete server[key];
    Object.assign(server, { ...kept, refusedAtLimit: rejected }, SERVER_COUNTERS_ADDED_IN_3);
  }
  value.schemaVersion = 3;
}

/** What a server of schemaVersion 2 did not count: 0 where it could not happen there, null where it went uncounted. */
const SERVER_COUNTERS_ADDED_IN_3 = {
  validated: 0, streamsRejected: 0, notAllowed: 0, shed: 0, retriesSent: 0, tokensInvalid: 0, refusedPrefix: 0, memoryTrims: 0,
  kernelShedRules: 0, kernelShedDrops: 0, fairShareWaits: 0,
  halfOpen: null, peakHalfOpen: null, closedCleanly: null, idleTimeouts: null, handshakeTimeouts: null, handshakeFailures: null,
  closedAtStop: null, zeroLength: null, garbageDatagrams: null, unknownConnection: null, tooShort: null, invalidInitial: null,
  versionNegotiationSent: null,
} as const;

/** A number of a version 2 record, or null where it had none (nothing measured behind it). */
const measuredOr = (v: unknown, measured: boolean): number | null => (measured && typeof v === 'number' ? v : null);

/**
 * Upgrades a record of schemaVersion 3, which kept only the client's side, in flat fields: each path figure
 * moves under `client`; what version 2 did not measure (flow-control blocks, pacing, the busiest thread) is
 * null; an RTT without a packet received behind it (quiche's initial guess) becomes null; a zero-byte tail
 * interval (the closing period) moves to `closing`; the embedded server's fast path becomes the server's
 * environment, with the settings it was started with (the scenario's).
 */
function upgradeFrom3(value: Record<string, unknown>): void {
  const env = isObject(value.environment) ? value.environment : {};
  const scenario = isObject(value.scenario) ? value.scenario : {};
  const settings = isObject(scenario.settings) ? scenario.settings : {};
  const side = (fastPath: unknown, pacing: unknown, threads: unknown) =>
    isObject(fastPath) ? { settings: { ...settings, threads }, pacing, gso: fastPath.gso === true, gro: fastPath.gro === true, fastPath } : null;
  const { gso, gro, pacing, fastPath, serverFastPath, ...host } = env;
  void gso;
  void gro;
  value.environment = { ...host, client: side(fastPath, pacing, settings.threads), server: side(serverFastPath, pacing, 1) };
  value.serverView = { source: 'unknown', reason: 'recorded by an older stoq-bench (schemaVersion 3), which kept only the client side' };
  const sideOf = (iv: Record<string, unknown>) => {
    const heard = typeof iv.packetsReceived === 'number' && iv.packetsReceived > 0;
    const rtt = (v: unknown) => measuredOr(v, heard && typeof v === 'number' && v > 0);
    return {
      connections: heard ? iv.connections : 0,
      packetsSent: iv.packetsSent,
      packetsReceived: iv.packetsReceived,
      lost: iv.lost,
      retrans: iv.retrans,
      dataBlocked: null,
      streamDataBlocked: null,
      rttUs: rtt(iv.rttUs),
      minRttUs: rtt(iv.minRttUs),
      rttvarUs: heard && rtt(iv.rttUs) !== null ? iv.rttvarUs : null,
      cwnd: measuredOr(iv.cwnd, heard),
      deliveryRateBps: measuredOr(iv.deliveryRateBps, heard),
      pmtu: measuredOr(iv.pmtu, heard),
      pacingRateBps: null,
      pacingWaitS: null,
      cpuS: iv.cpuS,
      busiestThreadCpuS: null,
      busiestThreadRunDelayS: null,
    };
  };
  const intervals = Array.isArray(value.intervals) ? value.intervals.filter(isObject) : [];
  const moved = intervals.map((iv) => ({
    index: iv.index,
    startS: iv.startS,
    endS: iv.endS,
    bytesSent: iv.bytesSent,
    bytesReceived: iv.bytesReceived,
    goodputBps: iv.goodputBps,
    completed: iv.completed,
    client: sideOf(iv),
    server: null,
  }));
  const end = isObject(value.end) ? value.end : {};
  const last = moved[moved.length - 1];
  const tail = moved.length > 1 && last.bytesSent === 0 && last.bytesReceived === 0 && last.completed === 0 && typeof end.durationS === 'number' && (last.startS as number) >= end.durationS - 1e-6;
  if (tail) moved.pop();
  value.intervals = moved;
  value.closing = tail ? { startS: last.startS, endS: last.endS, bytesSent: 0, bytesReceived: 0, client: last.client, server: null } : null;
  if (Array.isArray(value.connections)) {
    value.connections = value.connections.filter(isObject).map((c) => {
      const { packetsSent, packetsReceived, lost, retrans, rttUs, minRttUs, cwnd, pmtu, ...rest } = c;
      const heard = typeof packetsReceived === 'number' && packetsReceived > 0;
      return {
        ...rest,
        client: { packetsSent, packetsReceived, lost, retrans, dataBlocked: null, streamDataBlocked: null, rttUs: measuredOr(rttUs, heard), minRttUs: measuredOr(minRttUs, heard && minRttUs !== 0), cwnd: measuredOr(cwnd, heard), pmtu: measuredOr(pmtu, heard) },
      };
    });
  }
  const { packetsSent, packetsReceived, udpBytesSent, udpBytesReceived, lost, retrans, cpuS, server, ...rest } = end;
  value.end = {
    ...rest,
    client: { packetsSent, packetsReceived, udpBytesSent, udpBytesReceived, lost, retrans, dataBlocked: null, streamDataBlocked: null, pacingWaitS: null, cpuS, busiestThreadCpuS: null, busiestThreadRunDelayS: null },
    server: null,
    ...(server === undefined ? {} : { serverStats: server }),
  };
  value.schemaVersion = 4;
}

/** Each older schemaVersion's upgrade to the next. */
const UPGRADES: Record<number, (value: Record<string, unknown>) => void> = { 1: upgradeFrom1, 2: upgradeFrom2, 3: upgradeFrom3 };

/** Checks the shape of one record (the fields every reader relies on), upgrades it, and returns it typed. */
export function validateRecord(value: unknown, where = 'record'): RunRecord {
  if (!isObject(value)) throw bad(where, 'a run record must be a JSON object');
  if (value.schemaVersion === undefined) throw bad(where, 'not a stoq-bench run record (no schemaVersion)');
  while (typeof value.schemaVersion === 'number' && value.schemaVersion in UPGRADES) UPGRADES[value.schemaVersion](value);
  if (value.schemaVersion !== SCHEMA_VERSION) {
    throw bad(where, `unsupported run record schemaVersion ${JSON.stringify(value.schemaVersion)} (this version reads 1 to ${SCHEMA_VERSION})`);
  }
  const session = value.session;
  if (!isObject(session) || typeof session.id !== 'string' || !Number.isInteger(session.run)) {
    throw bad(where, 'session must be {id: string, run: integer, runs: integer}');
  }
  const scenario = value.scenario;
  if (!isObject(scenario) || typeof scenario.id !== 'string' || !(SCENARIO_KINDS as readonly unknown[]).includes(scenario.kind)) {
    throw bad(where, `scenario must have a string id and a kind of ${SCENARIO_KINDS.join('|')}`);
  }
  const env = value.environment;
  if (!isObject(env) || typeof env.fingerprint !== 'string') throw bad(where, 'environment.fingerprint (string) is missing');
  if (!Array.isArray(value.intervals)) throw bad(where, 'intervals must be an array');
  value.intervals.forEach((iv, i) => {
    if (!isObject(iv) || !finite(iv.startS) || !finite(iv.endS) || !finite(iv.goodputBps)) {
      throw bad(where, `intervals[${i}] needs numeric startS, endS and goodputBps`);
    }
    nonNegative(where, `intervals[${i}]`, iv, INTERVAL_COUNTS);
    for (const side of ['client', 'server'] as const) {
      if (isObject(iv[side])) nonNegative(where, `intervals[${i}].${side}`, iv[side], SIDE_COUNTS);
      else if (side === 'client' || iv[side] !== null) throw bad(where, `intervals[${i}].${side} must be an object${side === 'server' ? ' or null' : ''}`);
    }
    if (iv.endS < iv.startS) throw bad(where, `intervals[${i}] ends (endS ${iv.endS}) before it starts (startS ${iv.startS}): impossible`);
  });
  const end = value.end;
  if (!isObject(end) || !STATES.includes(end.state as string)) throw bad(where, `end.state must be one of ${STATES.join('|')}`);
  for (const key of ['durationS', 'goodputBps'] as const) {
    if (!finite(end[key])) throw bad(where, `end.${key} must be a finite number`);
  }
  for (const key of ['requestsPerSecond', 'handshakesPerSecond'] as const) {
    if (end[key] !== undefined && !finite(end[key])) throw bad(where, `end.${key} must be a finite number`);
  }
  nonNegative(where, 'end', end, END_COUNTS);
  for (const side of ['client', 'server'] as const) {
    if (isObject(end[side])) nonNegative(where, `end.${side}`, end[side], TOTAL_COUNTS);
  }
  if (end.latency !== undefined) {
    const l = end.latency;
    // a percentile the run's sample cannot determine is recorded as null
    if (!isObject(l) || !LATENCY_PERCENTILES.every((p) => l[p] === null || finite(l[p]))) {
      throw bad(where, `end.latency needs ${LATENCY_PERCENTILES.join(', ')} as numbers (or null where the sample cannot bound them)`);
    }
    nonNegative(where, 'end.latency', l, LATENCY_FIELDS);
    if (l.histogram !== undefined && typeof l.histogram !== 'string') throw bad(where, 'end.latency.histogram must be the compressed V2 encoding (base64 text)');
    if (l.n !== undefined && !(Number.isInteger(l.n) && (l.n as number) >= 0)) throw bad(where, `end.latency.n ${l.n} is impossible (a count of samples)`);
  }
  if (value.start !== undefined) {
    const s = value.start;
    if (!isObject(s) || !finite(s.anchorUnixUs) || s.anchorUnixUs < 0) throw bad(where, 'start.anchorUnixUs (microseconds since the Unix epoch) must be a finite number >= 0');
    if (s.at !== null && (typeof s.at !== 'string' || Number.isNaN(Date.parse(s.at)))) throw bad(where, `start.at ${JSON.stringify(s.at)} is not an instant (RFC 3339)`);
  }
  if (value.connections !== undefined) {
    if (!Array.isArray(value.connections)) throw bad(where, 'connections must be an array');
    value.connections.forEach((c, i) => {
      if (!isObject(c)) throw bad(where, `connections[${i}] must be an object`);
      nonNegative(where, `connections[${i}]`, c, CONNECTION_COUNTS);
      if (isObject(c.client)) nonNegative(where, `connections[${i}].client`, c.client, SIDE_COUNTS);
    });
  }
  if (value.samples !== undefined) {
    const s = value.samples;
    if (!isObject(s)) throw bad(where, 'samples must be an object');
    if (s.latencyUs !== undefined) {
      if (!Array.isArray(s.latencyUs)) throw bad(where, 'samples.latencyUs must be an array of finite numbers');
      const i = s.latencyUs.findIndex((v) => !finite(v) || v < 0);
      if (i >= 0) throw bad(where, `samples.latencyUs[${i}] is ${JSON.stringify(s.latencyUs[i])}: impossible (a latency is a finite number >= 0)`);
    }
  }
  return value as unknown as RunRecord;
}

/** Fields that count, measure time or rate: never negative, never infinite or NaN. */
const INTERVAL_COUNTS = ['startS', 'endS', 'goodputBps', 'bytesSent', 'bytesReceived', 'completed'];
const SIDE_COUNTS = ['connections', 'packetsSent', 'packetsReceived', 'lost', 'retrans', 'dataBlocked', 'streamDataBlocked', 'rttUs', 'minRttUs', 'rttvarUs', 'cwnd', 'deliveryRateBps', 'pmtu', 'pacingRateBps', 'pacingWaitS', 'cpuS', 'busiestThreadCpuS'];
const END_COUNTS = ['durationS', 'goodputBps', 'bytesSent', 'bytesReceived', 'completed', 'requestsPerSecond', 'handshakesPerSecond', 'snapshotsDropped'];
const TOTAL_COUNTS = ['packetsSent', 'packetsReceived', 'udpBytesSent', 'udpBytesReceived', 'lost', 'retrans', 'dataBlocked', 'streamDataBlocked', 'pacingWaitS', 'cpuS', 'busiestThreadCpuS'];
const LATENCY_FIELDS = ['minUs', 'meanUs', 'p50Us', 'p90Us', 'p99Us', 'p999Us', 'maxUs'];
const CONNECTION_COUNTS = ['bytesSent', 'bytesReceived', 'streamsCompleted', 'streamsFailed', 'streamsRejected', 'handshakeUs'];

/**
 * Refuses values that cannot happen: a negative or non-finite count, duration, rate or latency. Absent and
 * null fields are left to the shape checks (null marks a figure with nothing behind it).
 */
function nonNegative(where: string, path: string, object: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of keys) {
    const v = object[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw bad(where, `${path}.${key} is ${typeof v === 'number' ? String(v) : JSON.stringify(v)}: impossible (must be a finite number >= 0)`);
    }
  }
}

/** Parses text holding one record, an array of records, or JSON lines (one record per line). */
export function parseRecords(text: string, source = 'input'): RunRecord[] {
  const trimmed = text.trim();
  if (trimmed === '') throw bad(source, 'the file is empty (expected a run record, an array of records or JSON lines)');
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch (error) {
    wholeError = error;
  }
  if (wholeError === undefined) {
    if (Array.isArray(whole)) {
      if (whole.length === 0) throw bad(source, 'the array holds no run records');
      return whole.map((r, i) => validateRecord(r, `${source} [${i}]`));
    }
    return [validateRecord(whole, source)];
  }
  // JSON lines
  const lines = text.split(/\r?\n/);
  const out: RunRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw bad(`${source}:${i + 1}`, `not valid JSON (${reason}); expected a run record, an array of records, or one record per line`);
    }
    out.push(validateRecord(value, `${source}:${i + 1}`));
  });
  return out;
}

/** Reads run records from a file (one record, an array, or JSON lines). */
export function readRecordFile(path: string): RunRecord[] {
  return parseRecords(readTextFile(path), path);
}

/** Reads and concatenates the records of several files. */
export function readRecordFiles(paths: readonly string[]): RunRecord[] {
  return paths.flatMap((p) => readRecordFile(p));
}
