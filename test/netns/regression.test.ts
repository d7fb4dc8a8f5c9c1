// A real regression, end to end: a baseline measured on an unshaped veth link, a candidate on the same
// link shaped slower with tbf; `stoq-bench compare` must call it a regression and exit 1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { canCreateTestbeds, createTestbed, type Testbed } from './testbed.js';

let bed: Testbed | undefined;
afterAll(() => bed?.close());

it.skipIf(!canCreateTestbeds())('compare exits 1 on a link shaped slower than its baseline', async () => {
  bed = createTestbed();
  // Five runs a side: with fewer, no exact Mann-Whitney p-value can reach the 90% level's alpha.
  const dir = mkdtempSync(join(tmpdir(), 'stoq-regression-'));
  const server = await bed.server.server();
  const measure = async (out: string) => {
    const r = await bed!.client.cli(['run', '--target', server.address, '--duration', '1s', '--interval', '200ms', '--runs', '5', '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
  };
  const baseline = join(dir, 'baseline.jsonl');
  const candidate = join(dir, 'candidate.jsonl');
  await measure(baseline);
  bed.shape(100e6);
  await measure(candidate);
  server.child.kill('SIGTERM');

  // One-second runs on a shared two-core machine are sometimes flagged unsteady; that gate has tests of
  // its own, and this one is about the verdict on a link made slower.
  const { code, stdout, stderr } = await cli(['compare', '--baseline', baseline, '--candidate', candidate, '--allow-unsteady', '--store', join(dir, 'history.db'), '--no-json']);
  expect(stderr).toBe('');
  expect(stdout).toMatch(/goodput[^\n]*Regression/);
  expect(code).toBe(1);
}, 60_000);
