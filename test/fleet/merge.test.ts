// `fleet merge`: exact totals, the steady span where every client ran on one wall-clock line, latency
// from summed histograms (bucket for bucket the histogram of every raw sample), fairness, errored clients
// kept, sessions that are not one refused; and the merged record read by every command that reads records.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buckets, decodeHistogram, histogramOfNs } from '../../src/fleet/histogram.js';
import { apportion, mergeFleet, type ClientInput } from '../../src/fleet/merge.js';
import type { RunRecord } from '../../src/record.js';
import { validateRecord } from '../../src/records.js';
import { createRng } from '../../src/stats/index.js';
import { cli, recordSchema } from '../helpers.js';
import { fakeClient, type FakeClient } from './client-records.js';

const AT = '2026-12-01T10:00:00.000Z';
const T = Date.parse(AT) * 1e3;
const rng = createRng(7);
const latencies = (n: number, scale: number) => Array.from({ length: n }, () => Math.round(scale * Math.exp(0.4 * rng.normal())));

/** Three clients: 1 ms and 3 ms after the instant, and one 60 ms late that also ends first. */
function session(overrides: Array<Partial<FakeClient>> = []): RunRecord[] {
  const base: FakeClient[] = [
    { anchorUnixUs: T + 1_000, at: AT, host: 'node-a', intervals: Array.from({ length: 5 }, () => ({ bytesReceived: 1_000_000, bytesSent: 6_400, completed: 100 })), latencyNs: latencies(500, 300_000) },
    { anchorUnixUs: T + 3_000, at: AT, host: 'node-b', intervals: Array.from({ length: 5 }, () => ({ bytesReceived: 2_000_000, bytesSent: 12_800, completed: 200 })), latencyNs: latencies(1000, 200_000) },
    {
      anchorUnixUs: T + 60_000, at: AT, host: 'node-c',
      intervals: [...Array.from({ length: 4 }, () => ({ bytesReceived: 1_000_000, bytesSent: 6_400, completed: 100 })), { bytesReceived: 500_000, bytesSent: 3_200, completed: 50, lengthS: 0.5 }],
      latencyNs: latencies(450, 400_000),
    },
  ];
  return base.map((c, i) => fakeClient({ ...c, ...overrides[i] }));
}

const inputs = (records: Array<RunRecord | null>): ClientInput[] => records.map((record, index) => ({ index, source: `client-${index}.json`, record }));

describe('mergeFleet', () => {
  const records = session();
  const merged = mergeFleet(inputs(records));

  it('totals are the exact sums of the clients', () => {
    const sum = (f: (r: RunRecord) => number) => records.reduce((s, r) => s + f(r), 0);
    expect(merged.end.bytesReceived).toBe(sum((r) => r.end.bytesReceived));
    expect(merged.end.bytesSent).toBe(sum((r) => r.end.bytesSent));
    expect(merged.end.completed).toBe(sum((r) => r.end.completed));
    expect(merged.end.client.packetsReceived).toBe(sum((r) => r.end.client.packetsReceived));
    expect(merged.end.client.udpBytesSent).toBe(sum((r) => r.end.client.udpBytesSent));
    // the server's side is unknown for these clients: unknown for the session too
    expect(merged.end.server).toBeNull();
    expect(merged.serverView).toMatchObject({ source: 'unknown', reason: expect.stringMatching(/^the server's side is unknown for 3 of 3 client\(s\)/) });
    expect(merged.connections.map((c) => c.index)).toEqual([0, 1, 2]);
    // from the first client's start to the last one's end
    expect(merged.end.durationS).toBeCloseTo(5.003 - 0.001, 9);
  });

  it('the steady span is where every client ran, on the wall-clock line', () => {
    expect(merged.fleet.startAt).toBe(AT);
    expect(merged.fleet.alignment).toBe('clock-anchor');
    expect(merged.fleet.steady!.startS).toBeCloseTo(0.06, 9); // the late client's start
    expect(merged.fleet.steady!.endS).toBeCloseTo(4.56, 9); // its end, the first of all
    // cells of the clients' interval length from the start of the span, the last one cut at its end
    expect(merged.intervals.map((iv) => [+iv.startS.toFixed(6), +iv.endS.toFixed(6)])).toEqual([
      [0.06, 1.06], [1.06, 2.06], [2.06, 3.06], [3.06, 4.06], [4.06, 4.56],
    ]);
    // 4 MB/s received by the three clients together, in every cell; whole bytes, none lost or made
    for (const iv of merged.intervals) {
      expect(Number.isInteger(iv.bytesReceived)).toBe(true);
      expect(iv.bytesReceived).toBeGreaterThanOrEqual(Math.round(4e6 * (iv.endS - iv.startS)) - 3);
      expect(iv.bytesReceived).toBeLessThanOrEqual(Math.round(4e6 * (iv.endS - iv.startS)) + 3);
    }
    expect(merged.intervals.reduce((s, iv) => s + iv.bytesReceived, 0)).toBe(18_000_000);
    expect(merged.intervals.reduce((s, iv) => s + iv.completed, 0)).toBe(1800);
    expect(merged.end.requestsPerSecond).toBeCloseTo(400, 6);
  });

  it('per-client figures and the fairness of their steady shares', () => {
    const c = merged.fleet.clients;
    expect(c.map((x) => x.host)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(c.map((x) => x.late)).toEqual([false, false, true]);
    expect(c.map((x) => x.lateUs)).toEqual([1000, 3000, 60_000]);
    expect(c.map((x) => Math.round(x.steadyRate!))).toEqual([100, 200, 100]);
    // steady shares in requests/s: 100, 200, 100 -> 400^2 / (3 * 60000)
    expect(merged.fleet.fairness!.metric).toBe('requestRate');
    expect(merged.fleet.fairness!.index).toBeCloseTo(160_000 / 180_000, 3);
    expect(merged.fleet.fairness!.n).toBe(3);
  });

  it('latency from the summed histograms: bucket for bucket the histogram of every raw sample', () => {
    const all = records.flatMap((r) => r.samples!.latencyUs.map((us) => Math.round(us * 1e3)));
    const reference = histogramOfNs(all);
    const got = decodeHistogram(merged.end.latency!.histogram!, 'merged');
    expect(buckets(got)).toEqual(buckets(reference));
    expect(merged.end.latency!.n).toBe(all.length);
    expect(merged.end.latency!.p99Us).toBe(reference.getValueAtPercentile(99) / 1e3);
    // the engine's percentile rule: 1950 samples cannot bound p99.9
    expect(merged.end.latency!.p999Us).toBeNull();
    expect(merged.end.latency!.undetermined).toEqual([expect.objectContaining({ percentile: 'p999', minSamples: 3688 })]);
    expect(merged.fleet.latencyFrom).toBe('merged-histograms');
    // the raw samples stay in the clients' records
    expect(merged.samples).toBeUndefined();
  });

  it('a record without a histogram is merged from its raw samples, and says so', () => {
    const rs = session([{ histogram: false }]);
    const m = mergeFleet(inputs(rs));
    expect(m.fleet.latencyFrom).toBe('raw-samples');
    const all = rs.flatMap((r) => r.samples!.latencyUs.map((us) => Math.round(us * 1e3)));
    expect(buckets(decodeHistogram(m.end.latency!.histogram!, 'm'))).toEqual(buckets(histogramOfNs(all)));
  });

  it('a transfer session is judged by steady goodput', () => {
    const download = { kind: 'download', bytes: 100_000_000 } as const;
    const m = mergeFleet(inputs(session([{ scenario: download, latencyNs: [] }, { scenario: download, latencyNs: [] }, { scenario: download, latencyNs: [] }])));
    expect(m.fleet.fairness!.metric).toBe('goodput');
    // 8, 16 and 8 Mbit/s of payload received (and 1/156 of that sent)
    expect(m.fleet.clients.map((c) => Math.round(c.steadyGoodputBps! / 1e3))).toEqual([8051, 16102, 8051]);
    expect(m.fleet.fairness!.index).toBeCloseTo(1024 / 1152, 3);
    expect(m.end.latency).toBeUndefined();
    expect(m.scenario.kind).toBe('download');
  });

  it("the session's scenario is the clients' times their number, with its own id", () => {
    expect(merged.scenario).toMatchObject({ kind: 'requests', count: 3000, connections: 3 });
    expect(merged.scenario.id).not.toBe(records[0].scenario.id);
    expect(merged.fleet.clientScenarioId).toBe(records[0].scenario.id);
    // same clients, same session id; a fingerprint of the clients' testbeds
    expect(mergeFleet(inputs(records)).session.id).toBe(merged.session.id);
    expect(merged.environment.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(merged.environment.fingerprint).not.toBe(records[0].environment.fingerprint);
  });

  it('a client that failed is kept, errored, with the reason; one without a record too', () => {
    const rs = session([{}, { state: 'errored' }]);
    const m = mergeFleet([...inputs(rs.slice(0, 2)), { index: 2, source: 'pod/demo-clients-2-xyz', pod: 'demo-clients-2-xyz', node: 'n3', record: null, failure: { code: 'INVALID_FILE', message: 'pod failed (OOMKilled, exit code 137) and left no record' } }]);
    expect(m.end.state).toBe('errored');
    expect(m.fleet.clients.map((c) => c.state)).toEqual(['completed', 'errored', 'errored']);
    expect(m.fleet.clients[2]).toMatchObject({ pod: 'demo-clients-2-xyz', node: 'n3', bytesReceived: null, startS: null });
    expect(m.end.error!.message).toMatch(/client 1 .*TIMEOUT: the server went silent; client 2 \(demo-clients-2-xyz\): INVALID_FILE: pod failed \(OOMKilled/);
    expect(m.fleet.notes.join(' ')).toMatch(/1 client\(s\) left no record/);
    expect(m.fleet.clients.length).toBe(3);
  });

  it('refuses what is not one session', () => {
    expect(() => mergeFleet(inputs([session()[0], fakeClient({ anchorUnixUs: T, at: AT, intervals: [{ bytesReceived: 1 }], scenario: { kind: 'latency', count: 10 } })]))).toThrow(/not one session: different scenarios/);
    expect(() => mergeFleet(inputs([session()[0], fakeClient({ anchorUnixUs: T, at: '2026-12-01T11:00:00.000Z', intervals: [{ bytesReceived: 1 }] })]))).toThrow(/different start instants/);
    expect(() => mergeFleet(inputs([records[0], records[0]]))).toThrow(/client-1\.json repeats the run of client-0\.json/);
    expect(() => mergeFleet(inputs([records[0], fakeClient({ anchorUnixUs: T, at: AT, intervals: [{ bytesReceived: 1 }], embeddedServer: true })]))).toThrow(/measured its own embedded server/);
    expect(() => mergeFleet(inputs([null, null]))).toThrow(/none of the 2 client\(s\) left a record/);
    expect(() => mergeFleet(inputs([records[0], merged as unknown as RunRecord]))).toThrow(/client-1\.json is a merged session itself/);
  });

  it('clients that never ran together: no steady span, no fairness, said so', () => {
    const m = mergeFleet(inputs(session([{}, {}, { anchorUnixUs: T + 6_000_000 }])));
    expect(m.fleet.steady).toBeNull();
    expect(m.intervals).toEqual([]);
    expect(m.fleet.fairness).toBeNull();
    expect(m.fleet.notes.join(' ')).toMatch(/never all ran at once/);
  });

  it('the merged record is a valid record: it reads back, and it validates against the record schema', () => {
    for (const r of records) expect(recordSchema.errors(r)).toBeUndefined();
    expect(recordSchema.errors(JSON.parse(JSON.stringify(merged)))).toBeUndefined();
    expect(() => validateRecord(JSON.parse(JSON.stringify(merged)))).not.toThrow();
  });

  it("records without a clock anchor are aligned on their startedAt, and the record says so", () => {
    const m = mergeFleet(inputs(session([{ noStart: true }, { noStart: true }, { noStart: true }])));
    expect(m.fleet.alignment).toBe('started-at');
    expect(m.fleet.startAt).toBeNull();
    expect(m.fleet.notes.join(' ')).toMatch(/aligned on each record's startedAt \(millisecond precision\)/);
    // the late client's start, to the millisecond
    expect(m.fleet.steady!.startS).toBeCloseTo(0.059, 9);
    expect(recordSchema.errors(JSON.parse(JSON.stringify(m)))).toBeUndefined();
  });

  it('a kind of one connection per client keeps it, and says so', () => {
    const latency = { kind: 'latency', count: 500 } as const;
    const m = mergeFleet(inputs(session([{ scenario: latency }, { scenario: latency }, { scenario: latency }])));
    expect(m.scenario).toMatchObject({ kind: 'latency', count: 1500, connections: 1 });
    expect(m.fleet.notes.join(' ')).toMatch(/latency runs one connection per client: the session's scenario says 1, the 3 clients ran 3/);
  });
});

describe('apportion', () => {
  it('whole parts that add up and stay within 1 of their exact shares', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (count, raw) => {
        const total = raw.reduce((s, x) => s + x, 0);
        const fractions = total > 1 ? raw.map((x) => x / total) : raw;
        const parts = apportion(count, fractions);
        const exactSum = fractions.reduce((s, f) => s + f * count, 0);
        return (
          parts.every((p, i) => Number.isInteger(p) && Math.abs(p - fractions[i] * count) < 1 + 1e-6) &&
          Math.abs(parts.reduce((s, p) => s + p, 0) - exactSum) <= 0.5 + 1e-6 * Math.max(1, exactSum)
        );
      }),
    );
    expect(apportion(10, [0.5, 0.5])).toEqual([5, 5]);
    expect(apportion(3, [1 / 3, 1 / 3, 1 / 3])).toEqual([1, 1, 1]);
    expect(apportion(7, [0.25, 0.25])).toEqual([2, 2]);
  });
});

describe('the merged record read by every command that reads records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-merge-'));
  const files = session().map((r, i) => {
    const f = join(dir, `client-${i}.log`);
    // as `kubectl logs` gives it: the client's messages around its record
    writeFileSync(f, `waiting for 2026-12-01T10:00:00.000Z\n${JSON.stringify(r)}\n`);
    return f;
  });

  it('fleet merge FILES: text, --json and --out', async () => {
    const out = join(dir, 'session.jsonl');
    const text = await cli(['fleet', 'merge', ...files, '--out', out, '--no-json']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^scenario requests .*: completed/);
    expect(text.stdout).toMatch(/3 client\(s\), each running scenario/);
    expect(text.stdout).toMatch(/every client running from 0\.060 s to 4\.560 s \(4\.500 s\)/);
    expect(text.stdout).toMatch(/fairness: Jain's index 0\.88\d\d over 3 clients' steady req\/s/);
    expect(text.stdout).toMatch(/late: client\(s\) 2 started beyond their tolerance/);
    // one line per client: its file, its state, how late it started
    expect(text.stdout).toMatch(/\n\s+2\s+\S*client-2\.log\s+node-c\s+completed\s+60\.0 ms \(late\)/);
    const json = await cli(['fleet', 'merge', ...files, '--json']);
    expect(JSON.parse(json.stdout).fleet.clients).toHaveLength(3);
    // --out holds the record --json prints (the same clients make the same session)
    expect(readFileSync(out, 'utf8')).toBe(json.stdout);
  });

  it('stats, validate, compare, report and claims accept it', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    for (const [f, shift] of [[a, 0], [b, 10_000]] as const) {
      const runs = [0, 1, 2].map((k) => mergeFleet(inputs(session([0, 1, 2].map((i) => ({ anchorUnixUs: T + 1000 * (i + 1) + shift, session: `s${shift}-${k}-${i}` }))))));
      writeFileSync(f, runs.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
    const stats = await cli(['stats', a, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    const validate = await cli(['validate', '--records', a, '--expect-requests', '100/s', '--no-json']);
    expect(validate.stderr).toBe('');
    expect(validate.stdout).toMatch(/requests/);
    const compare = await cli(['compare', '--baseline', a, '--candidate', b, '--store', join(dir, 'h.db'), '--allow-unsteady', '--no-json']);
    expect(compare.stderr).toBe('');
    expect(compare.stdout).toMatch(/requests\/s/);
    const report = await cli(['report', a, '--format', 'markdown']);
    expect(report.code, report.stderr).toBe(0);
    // each merged session's clients, in the report too
    expect(report.stdout).toMatch(/#### Clients of \S+#1\n\n- 3 client\(s\)[\s\S]*\| client \| record \| host \| state \| late \|/);
    const html = await cli(['report', a, '--format', 'html']);
    expect(html.stdout).toMatch(/<h4>Clients of \S+#1<\/h4>/);
    const doc = join(dir, 'doc.md');
    writeFileSync(doc, 'The session served 390 requests per second.\n');
    const claims = await cli(['claims', doc, '--records', a, '--no-json']);
    expect(claims.stdout).toMatch(/1 claim\(s\): 1 backed/);
  });
});
