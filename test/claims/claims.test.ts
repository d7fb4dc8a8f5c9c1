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
    expect((await cli(['run', '--scenario', 'latency', '--count', '200', '--runs', '3', '--json', '--out', latency])).code).toBe(0);
  });

  const doc = (text: string) => {
    const path = join(dir, `doc-${Math.random().toString(36).slice(2)}.md`);
    writeFileSync(path, text);
    return path;
  };

  it('backs what was measured and exits 0', async () => {
    const { code, stdout } = await cli(['claims', doc('Goodput above 1 Mbit/s, round trips under 10 ms at p99.\n'), '--records', downloads, latency]);
    expect(stdout).toMatch(/"1 Mbit\/s"\s+BACKED: measured [\d.]+ [GM]bit\/s \[/);
    expect(stdout).toMatch(/"10 ms"\s+BACKED/);
    expect(stdout).toMatch(/2 claim\(s\): 2 backed, 0 unbacked, 0 contradicted/);
    expect(code).toBe(0);
  });

  it('flags an invented figure as contradicted and exits 1', async () => {
    const { code, stdout } = await cli(['claims', doc('stoq-bench reaches 400 Gbit/s on this machine.\n'), '--records', downloads]);
    expect(stdout).toMatch(/"400 Gbit\/s"\s+CONTRADICTED: measured/);
    expect(code).toBe(1);
  });

  it('flags a figure nothing measured as unbacked (exit 1 unless --allow-unbacked)', async () => {
    const path = doc('It completes 5,700 handshakes per second.\n');
    const strict = await cli(['claims', path, '--records', downloads]);
    expect(strict.stdout).toMatch(/UNBACKED: no completed run measured handshakes/);
    expect(strict.code).toBe(1);
    expect((await cli(['claims', path, '--records', downloads, '--allow-unbacked'])).code).toBe(0);
  });

  it('bad input: missing files and records are named, exit 2', async () => {
    const missing = await cli(['claims', join(dir, 'nope.md'), '--records', downloads]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.md: cannot read/);
    const noRecords = await cli(['claims', doc('1 Gbit/s\n')]);
    expect(noRecords.code).toBe(2);
    expect(noRecords.stderr).toMatch(/records/);
    const badRecords = await cli(['claims', doc('1 Gbit/s\n'), '--records', doc('not json\n')]);
    expect(badRecords.code).toBe(2);
  });
});
