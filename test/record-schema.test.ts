// The record is defined once, in the engine's Rust types: every record the engine or a test makes
// validates against the schema generated from them (strictly: no unknown keyword or format, every object
// closed), older records are upgraded on read, and a percentile the run's own sample cannot bound is null
// with the reason.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { engineSpec } from '../src/native.js';
import { parseRecords } from '../src/records.js';
import { SCENARIO_KINDS } from '../src/scenario.js';
import { minSampleForQuantile } from '../src/stats/quantile.js';
import { cli, recordSchema } from './helpers.js';
import { createRng, fakeRecord } from './stats/make-records.js';

/** Records written by stoq-bench 0.1's first schema (the README's measurements of that time), kept as they were. */
const v1Records = ['download', 'latency', 'handshakes'].map((k) => new URL(`./fixtures/records/v1-${k}.jsonl`, import.meta.url));

describe('the record schema', () => {
  it('closes every object it describes', () => {
    const schema = JSON.parse(readFileSync(new URL('../schema/run-record.schema.json', import.meta.url), 'utf8'));
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      if (n.properties !== undefined && n.additionalProperties !== false) open.push(path);
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    walk(schema, '#');
    expect(open).toEqual([]);
    expect(Object.keys(schema.definitions)).toEqual(expect.arrayContaining(['ConnectionRecord', 'ServerStats', 'Environment', 'FastPath', 'LatencyRecord']));
  });

  it('fake records of every kind, as tests make them, validate', () => {
    const rng = createRng(1);
    for (const kind of SCENARIO_KINDS) {
      const r = fakeRecord(rng, { kind, latencyUs: 50, latencySamples: 20 });
      expect(recordSchema.errors(r), kind).toBeUndefined();
    }
  });

  it('records of schemaVersion 1 are upgraded on read and then validate', () => {
    for (const url of v1Records) {
      const text = readFileSync(url, 'utf8');
      expect(JSON.parse(text.split('\n')[0]).schemaVersion).toBe(1);
      for (const r of parseRecords(text, url.pathname)) {
        expect(r.schemaVersion).toBe(4);
        expect(recordSchema.errors(r), url.pathname).toBeUndefined();
      }
    }
  });

  it('records of schemaVersion 2 are upgraded: what their client and server did not count is null, what could not happen there is 0', () => {
    const v2 = JSON.parse(readFileSync(v1Records[0], 'utf8').split('\n')[0]);
    v2.schemaVersion = 2;
    v2.end.server = { openConnections: 0, accepted: 3, closed: 3, errored: 1, rejected: 2, streams: 1, bytesSent: 10, bytesReceived: 0, garbageDatagrams: 4, rssBytes: 8e7, baselineRssBytes: 7e7, peakConnections: 3, rssPerConnectionBytes: 1e6 };
    const [r] = parseRecords(JSON.stringify(v2), 'v2');
    expect(r.schemaVersion).toBe(4);
    expect(recordSchema.errors(r)).toBeUndefined();
    expect(r.connections?.map((c) => c.streamsRejected)).toEqual(v2.connections.map(() => null));
    expect(r.end.serverStats).toMatchObject({ accepted: 3, closed: 3, errored: 1, refusedAtLimit: 2, bytesSent: 10, rssPerConnectionBytes: 1e6 });
    expect(r.end.serverStats).toMatchObject({ validated: 0, retriesSent: 0, shed: 0, streamsRejected: 0, memoryTrims: 0 });
    expect(r.end.serverStats).toMatchObject({ garbageDatagrams: null, unknownConnection: null, closedCleanly: null, idleTimeouts: null, halfOpen: null });
    expect(r.end.serverStats).not.toHaveProperty('rejected');
  });

  it('upgrading a record of schemaVersion 3 or older moves each figure to its side and leaves nothing unmeasured', () => {
    // A version-2 record as that version wrote it: flat client figures, quiche's 333 ms initial RTT in an
    // interval that received nothing, the closing period as a last zero-byte interval.
    const v2 = JSON.parse(readFileSync(v1Records[0], 'utf8').split('\n')[0]);
    v2.schemaVersion = 2;
    const [first] = v2.intervals;
    Object.assign(first, { packetsReceived: 0, rttUs: 333000, minRttUs: 0, cwnd: 13500 });
    const end = v2.intervals[v2.intervals.length - 1].endS;
    v2.end.durationS = end;
    v2.intervals.push({ ...first, index: v2.intervals.length, startS: end, endS: end + 0.004, bytesSent: 0, bytesReceived: 0, goodputBps: 0, completed: 0, packetsSent: 3, packetsReceived: 2 });
    v2.end.server = { openConnections: 0, accepted: 1, closed: 1, errored: 0, rejected: 0, streams: 1, bytesSent: 1, bytesReceived: 0, garbageDatagrams: 0, rssBytes: 1, baselineRssBytes: 1, peakConnections: 1, rssPerConnectionBytes: 1 };
    const [r] = parseRecords(JSON.stringify(v2), 'v2');
    expect(recordSchema.errors(r)).toBeUndefined();
    expect(r.schemaVersion).toBe(4);
    // Nothing was received in the first interval: no RTT (not quiche's guess), no window.
    expect(r.intervals[0].client).toMatchObject({ rttUs: null, minRttUs: null, cwnd: null, connections: 0, dataBlocked: null });
    expect(r.intervals[1].client.rttUs).toBe(v2.intervals[1].rttUs);
    // The server's side was not recorded; the embedded server's fast path and counters were.
    expect(r.intervals.every((iv) => iv.server === null)).toBe(true);
    expect(r.serverView.source).toBe('unknown');
    expect(r.environment.server?.fastPath).toEqual(v2.environment.serverFastPath);
    expect(r.environment.client.fastPath).toEqual(v2.environment.fastPath);
    expect(r.end.serverStats?.accepted).toBe(1);
    expect(r.end.server).toBeNull();
    // The closing tail is no interval of the transfer any more.
    expect(r.intervals).toHaveLength(v2.intervals.length - 1);
    expect(r.closing).toMatchObject({ startS: end, endS: end + 0.004, client: { packetsSent: 3, packetsReceived: 2 } });
  });

  it('upgrading a version-1 record of a small sample leaves what it cannot bound null, with the reason', () => {
    const small = JSON.parse(readFileSync(v1Records[1], 'utf8').split('\n')[0]);
    expect(small.schemaVersion).toBe(1);
    small.end.latency = { ...small.end.latency, n: 50, p50Us: 30, p90Us: 40, p99Us: 60, p999Us: 60 };
    delete small.end.latency.undetermined;
    const [r] = parseRecords(JSON.stringify(small), 'small');
    expect(r.end.latency).toMatchObject({ n: 50, p50Us: 30, p90Us: 40, p99Us: null, p999Us: null });
    expect(r.end.latency?.undetermined?.map((u) => [u.percentile, u.minSamples])).toEqual([['p99', 368], ['p999', 3688]]);
    expect(recordSchema.errors(r)).toBeUndefined();
  });
});

describe('percentiles a run cannot bound', () => {
  it('the engine applies the same order-statistic rule as the statistics (95%: p50 6, p90 36, p99 368)', () => {
    const rule = engineSpec().percentiles;
    expect(rule.level).toBe(0.95);
    for (const m of rule.minSamples) expect(m.minSamples, m.percentile).toBe(minSampleForQuantile(m.quantile, rule.level));
    expect(rule.minSamples.find((m) => m.percentile === 'p99')?.minSamples).toBe(368);
  });

  it('run --scenario latency --count 5: no percentile is claimed from 5 samples, and the record says why', async () => {
    const { code, stdout } = await cli(['run', '--scenario', 'latency', '--count', '5', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(stdout);
    expect(recordSchema.errors(r)).toBeUndefined();
    expect(r.end.latency).toMatchObject({ n: 5, p50Us: null, p90Us: null, p99Us: null, p999Us: null });
    expect(r.end.latency.maxUs).toBeGreaterThan(0);
    const p99 = r.end.latency.undetermined.find((u: { percentile: string }) => u.percentile === 'p99');
    expect(p99).toMatchObject({ minSamples: 368 });
    expect(p99.reason).toMatch(/5 samples cannot bound p99: a distribution-free 95% interval needs at least 368/);
    const text = await cli(['run', '--scenario', 'latency', '--count', '5', '--no-json']);
    expect(text.stdout).toMatch(/latency \(n=5\): min [\d.]+ [um]s, p50 -, p90 -, p99 -, p99\.9 -, max [\d.]+ [um]s \(p50 needs 6 samples/);
  });
});
