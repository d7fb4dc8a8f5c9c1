// Hard-coded figures in source code: literals bound to performance names and figures in strings, in every
// language `claims` reads; comments and tests told apart; the CLI's exit code and flags.
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findHardcoded, isPerformanceName, isTestPath } from '../../src/claims/hardcoded.js';
import { cli } from '../helpers.js';

const fixtures = fileURLToPath(new URL('../fixtures/claims/src/', import.meta.url));

describe('finding hard-coded figures', () => {
  it('in every language: literals bound to performance names, figures in strings; comments and tests apart', () => {
    const found = readdirSync(fixtures)
      .sort()
      .flatMap((f) => findHardcoded(readFileSync(join(fixtures, f), 'utf8'), `src/${f}`))
      .map((x) => [x.source, x.line, x.kind, x.name, x.value, x.where]);
    expect(found).toEqual([
      ['src/Config.java', 2, 'literal', 'GOODPUT_GBPS', 6.7, 'code'],
      ['src/Config.java', 2, 'string', 'about 6.7 Gbit/s', 6.7e9, 'comment'],
      ['src/api.ts', 1, 'literal', 'goodputBps', 9.5e9, 'code'],
      ['src/api.ts', 1, 'literal', 'latencyP99Us', 44, 'code'],
      ['src/client.py', 1, 'string', '10 Gbps', 10e9, 'comment'],
      ['src/client.py', 2, 'literal', 'TARGET_P99_MS', 2.5, 'code'],
      ['src/client.py', 3, 'literal', 'throughput_gbps', 2.95, 'code'],
      ['src/client.py', 6, 'literal', 'rps', 5000, 'code'],
      ['src/client.py', 7, 'literal', 'bandwidth', 100, 'comment'],
      ['src/client.py', 8, 'string', '400 Gbit/s', 400e9, 'code'],
      ['src/engine.c', 1, 'literal', 'MAX_PPS', 1e6, 'code'],
      ['src/engine.c', 3, 'string', 'sub-millisecond', 1000, 'code'],
      ['src/server.go', 3, 'literal', 'maxThroughputMbps', 940, 'code'],
      ['src/server_test.go', 3, 'literal', 'expectedLatencyUs', 44, 'test'],
      ['src/transport.rs', 2, 'literal', 'TARGET_LATENCY_MS', 1, 'code'],
      ['src/transport.rs', 9, 'literal', 'throughput_gbps', 3.5, 'comment'],
      ['src/transport.rs', 9, 'string', '40 Gbps', 40e9, 'comment'],
      ['src/transport.rs', 10, 'string', '40 Gbps', 40e9, 'code'],
      ['src/transport.rs', 14, 'literal', 'throughput_gbps', 2.95, 'code'],
      ['src/transport.rs', 23, 'literal', 'rtt_us', 60, 'test'],
    ]);
  });

  it('names: performance words, not counts or sizes; test paths by convention', () => {
    for (const n of ['throughput_gbps', 'TARGET_LATENCY_MS', 'goodputBps', 'latencyP99Us', 'REQUESTS_PER_SECOND', 'handshakesPerSecond', 'MAX_PPS', 'rps']) expect(isPerformanceName(n), n).toBe(true);
    for (const n of ['latency_samples', 'maxLatencyBuckets', 'retries', 'window_bytes', 'requests', 'rate', 'latencyCount']) expect(isPerformanceName(n), n).toBe(false);
    for (const p of ['test/a.ts', 'src/a.test.ts', 'pkg/a_test.go', 'tests/test_a.py', 'src/test/java/ATest.java', 'x/__tests__/y.js']) expect(isTestPath(p), p).toBe(true);
    for (const p of ['src/a.ts', 'src/latest.rs', 'cmd/contest.go']) expect(isTestPath(p), p).toBe(false);
  });

  it('a marked line is left alone; a Rust lifetime is no string; 0 is no figure', () => {
    const rs = "fn f<'a>(x: &'a str) { let throughput_gbps = 0.0; let latency_ms = 5; }\n// stoq-bench: allow-figure\nconst MAX_RPS: u32 = 9;\n";
    expect(findHardcoded(rs, 'src/a.rs').map((f) => [f.line, f.name])).toEqual([[1, 'latency_ms']]);
  });
});

describe('stoq-bench claims on source files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-hardcoded-'));
  cpSync(fixtures, join(dir, 'src'), { recursive: true });

  it('reports production code as HARD-CODED with file and line, exit 1; comments and tests on request', async () => {
    const r = await cli(['claims', join(dir, 'src'), '--no-json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/transport\.rs:2:11 {2}TARGET_LATENCY_MS: u64 = 1 {2}HARD-CODED: a performance figure bound to TARGET_LATENCY_MS$/m);
    expect(r.stdout).toMatch(/transport\.rs:10:\d+ {2}"40 Gbps" {2}HARD-CODED: a performance figure in a string$/m);
    expect(r.stdout).toMatch(/0 claim\(s\): .*; 13 hard-coded figure\(s\)$/m);
    expect(r.stdout).not.toMatch(/rtt_us|\(comment\)|\(test\)/);
    const all = await cli(['claims', join(dir, 'src'), '--include-comments', '--include-tests', '--json']);
    const report = JSON.parse(all.stdout);
    expect(report.findings).toHaveLength(20);
    expect(report.findings.filter((f: { where: string }) => f.where === 'test').map((f: { name: string }) => f.name)).toEqual(['expectedLatencyUs', 'rtt_us']);
  });

  it('a clean file passes', async () => {
    const r = await cli(['claims', join(dir, 'src', 'server_test.go'), '--no-json']);
    expect(r.code).toBe(0);
  });
});
