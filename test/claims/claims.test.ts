// `stoq-bench claims`: quantitative claims in documents checked against recorded measurements.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractClaims } from '../../src/claims/extract.js';
import { cli } from '../helpers.js';

describe('extracting claims', () => {
  it('finds rates, latencies and per-second figures in prose, not in code', () => {
    const text = [
      'Reaches 9.5 Gbit/s per core, 40Gbps with offload and 100 Mbps on a shaped link.',
      'Round trips take 51 us at p50; the p99 RTT stays under 2 ms: sub-millisecond latency.',
      'Latency: 52 us at p50 and 77 us at p99.',
      'It completes 5,700 handshakes per second and 12k requests/s.',
      'Use `--expect-goodput 1Gbps` and an interval of 10 ms; the idle timeout is 5 s.',
      '```sh',
      'stoq-bench validate --expect-p99-rtt 2ms --expect-goodput 3Gbps',
      '```',
    ].join('\n');
    const claims = extractClaims(text, 'doc.md').map((c) => [c.line, c.text, c.metric, c.value]);
    expect(claims).toEqual([
      [1, '9.5 Gbit/s', 'goodput', 9.5e9],
      [1, '40Gbps', 'goodput', 40e9],
      [1, '100 Mbps', 'goodput', 100e6],
      [2, '51 us', 'latencyP50', 51],
      [2, '2 ms', 'latencyP99', 2000],
      [2, 'sub-millisecond', 'latencyP99', 1000],
      [3, '52 us', 'latencyP50', 52],
      [3, '77 us', 'latencyP99', 77],
      [4, '5,700 handshakes per second', 'handshakeRate', 5700],
      [4, '12k requests/s', 'requestRate', 12000],
    ]);
  });
});

describe('stoq-bench claims', () => {
  let dir: string;
  let downloads: string;
  let latency: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stoq-claims-'));
    downloads = join(dir, 'download.jsonl');
    latency = join(dir, 'latency.jsonl');
    expect((await cli(['run', '--bytes', '8MiB', '--runs', '3', '--json', '--out', downloads])).code).toBe(0);
    // 400 round trips a run: enough for a 95% bound on each run's p99 (368)
    expect((await cli(['run', '--scenario', 'latency', '--count', '400', '--runs', '5', '--json', '--out', latency])).code).toBe(0);
  });

  const doc = (text: string) => {
    const path = join(dir, `doc-${Math.random().toString(36).slice(2)}.md`);
    writeFileSync(path, text);
    return path;
  };

  it('backs what was measured and exits 0', async () => {
    // figures far from what a loaded two-core machine measures, so the verdict never depends on its load
    const { code, stdout } = await cli(['claims', doc('Goodput above 1 Mbit/s, round trips under 1 s at p99.\n'), '--records', downloads, latency, '--no-json']);
    expect(stdout).toMatch(/"1 Mbit\/s"\s+BACKED: measured [\d.]+ [GM]bit\/s \[/);
    expect(stdout).toMatch(/"1 s"\s+BACKED/);
    expect(stdout).toMatch(/rule: at least 1\.00 Mbit\/s: BACKED when the 95% lower bound >= 1\.00 Mbit\/s/);
    expect(stdout).toMatch(/2 claim\(s\): 2 backed, 0 unbacked, 0 contradicted/);
    expect(code).toBe(0);
  });

  it('flags an invented figure as contradicted and exits 1', async () => {
    const { code, stdout } = await cli(['claims', doc('stoq-bench reaches 400 Gbit/s on this machine.\n'), '--records', downloads, '--no-json']);
    expect(stdout).toMatch(/"400 Gbit\/s"\s+CONTRADICTED: measured/);
    expect(code).toBe(1);
  });

  it('flags a figure nothing measured as unbacked (exit 4 unless --allow-unbacked), with what to run', async () => {
    const path = doc('It completes 5,700 handshakes per second.\n');
    const strict = await cli(['claims', path, '--records', downloads, '--no-json']);
    expect(strict.stdout).toMatch(/UNBACKED: no completed run measured handshakes\/s \(a handshakes scenario measures it\); measure it with `stoq-bench run --scenario handshakes --runs 5`/);
    expect(strict.code).toBe(4);
    expect((await cli(['claims', path, '--records', downloads, '--allow-unbacked'])).code).toBe(0);
  });

  it('a percentile the runs cannot determine is never backed', async () => {
    const few = join(dir, 'few.jsonl');
    expect((await cli(['run', '--scenario', 'latency', '--count', '5', '--runs', '3', '--json', '--out', few])).code).toBe(0);
    const { code, stdout } = await cli(['claims', doc('p99 round trip under 1 s.\n'), '--records', few, '--no-json']);
    expect(stdout).toMatch(/"1 s"\s+INCONCLUSIVE: .*latency p99 not determined by 3 run\(s\): 5 latency sample\(s\) in the run cannot bound p99 at 95% \(needs n >= 368\)/);
    expect(code).toBe(4);
    // the smallest sample still bounds p99 from below: a claim under it is contradicted
    const tight = await cli(['claims', doc('p99 round trip under 1 us.\n'), '--records', few, '--no-json']);
    expect(tight.stdout).toMatch(/"1 us"\s+CONTRADICTED/);
    expect(tight.code).toBe(1);
  });

  it('one run backs nothing by default; its within-run interval can contradict, and back with --allow-single-run', async () => {
    const one = join(dir, 'one.jsonl');
    expect((await cli(['run', '--duration', '1s', '--interval', '100ms', '--json', '--out', one])).code).toBe(0);
    const path = doc('Goodput at least 1 Mbit/s; it reaches 400 Gbit/s.\n');
    const r = await cli(['claims', path, '--records', one, '--format', 'json']);
    const [modest, invented] = JSON.parse(r.stdout).claims;
    expect(modest.measured.basis).toBe('run');
    expect(modest.measured.method).toMatch(/^a single run: within-run moving-block bootstrap/);
    expect(modest.verdict).toBe('INCONCLUSIVE');
    expect(modest.reason).toMatch(/one run backs nothing/);
    expect(invented.verdict).toBe('CONTRADICTED');
    expect(r.code).toBe(1);
    const allowed = await cli(['claims', doc('Goodput at least 1 Mbit/s.\n'), '--records', one, '--allow-single-run', '--no-json']);
    expect(allowed.stdout).toMatch(/"1 Mbit\/s"\s+BACKED/);
    expect(allowed.code).toBe(0);
  });

  it('without --records: the history store that run records into', async () => {
    // beforeAll's runs went into this file's store (STOQ_BENCH_STORE)
    const r = await cli(['claims', doc('Goodput above 1 Mbit/s.\n'), '--no-json']);
    expect(r.stdout).toMatch(/^claims checked against the history store .*history\.db \(\d+ session\(s\), \d+ runs\)/m);
    expect(r.stdout).toMatch(/"1 Mbit\/s"\s+BACKED/);
    expect(r.code).toBe(0);
    const empty = await cli(['claims', doc('Goodput above 1 Mbit/s.\n'), '--store', join(dir, 'no-store.db'), '--no-json']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no history store at .*no-store\.db: record runs first \(`stoq-bench run --runs 5` records every run there\), or give --records FILES/);
  });

  it('bad input: missing files and records are named, exit 2', async () => {
    const missing = await cli(['claims', join(dir, 'nope.md'), '--records', downloads, '--no-json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.md: cannot read/);
    const badRecords = await cli(['claims', doc('1 Gbit/s\n'), '--records', doc('not json\n'), '--no-json']);
    expect(badRecords.code).toBe(2);
    expect((await cli(['claims', doc('1 Gbit/s\n'), '--records', downloads, '--level', '2'])).code).toBe(2);
    expect((await cli(['claims', doc('1 Gbit/s\n'), '--records', downloads, '--recent', '2'])).stderr).toMatch(/--recent applies to the history store/);
  });
});

describe('the single run of the issue: a hundredfold overstatement never passes', () => {
  it('one 64 MiB download and "400 Gbit/s on a single core": CONTRADICTED, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-claims-single-'));
    const record = join(dir, 'one.jsonl');
    const run = await cli(['run', '--scenario', 'download', '--bytes', '64MiB', '--json']);
    expect(run.code).toBe(0);
    writeFileSync(record, run.stdout);
    const doc = join(dir, 'doc.md');
    writeFileSync(doc, 'The transport reaches 400 Gbit/s on a single core.\nAlso 40 Gbps, and 100 Gbit/s.\n');
    const { code, stdout } = await cli(['claims', doc, '--records', record, '--json']);
    const claims = JSON.parse(stdout).claims as Array<{ text: string; verdict: string; measured: { centre: number } }>;
    expect(claims.map((c) => c.text)).toEqual(['400 Gbit/s', '40 Gbps', '100 Gbit/s']);
    // only a figure more than 10x beyond the one run is contradicted without an interval
    for (const c of claims) expect(c.verdict).toBe(c.measured.centre * 10 < (c.text === '40 Gbps' ? 40e9 : 1e11) ? 'CONTRADICTED' : 'INCONCLUSIVE');
    expect(claims[0].verdict).toBe('CONTRADICTED');
    expect(code).toBe(1);
  });
});
