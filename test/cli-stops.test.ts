// Every run stops: the command of the report (2,500 streams on one connection, more than a server lets
// it open at once) ends within the stated bound after its deadline, and a signal ends it within the bound
// of a cancel, with the record of what it measured. The bound (engine: 3 s after the deadline, 1 s after
// a cancel; the embedded server then closes within 0.5 s) is checked with generous slack for a loaded
// machine and the process's own start; the engine's property test covers every scenario size.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/index.js';
import { CLI } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-stops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starting Node and the engine, a shared 2-core machine: added to every bound. */
const SLACK_MS = 4000;

function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr, at: performance.now() }));
  // Readiness by output: an interval line with a goodput above 0 means the download is under way.
  const measuring = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no data within 15 s: ${stderr}`)), 15_000);
    child.stdout!.on('data', () => {
      if ([...stdout.matchAll(/([\d.]+) [kMGT]?bit\/s/g)].some((m) => Number(m[1]) > 0)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  return { child, exited, measuring };
}

describe('run --streams 2500 ends in time', () => {
  it('at its deadline: --duration 2s', async () => {
    const started = performance.now();
    const r = await start(['run', '--streams', '2500', '--duration', '2s', '--json', '--no-history']).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.at - started).toBeLessThan(2000 + 3000 + 500 + SLACK_MS);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.end.state).toBe('completed');
    expect(record.end.bytesReceived).toBeGreaterThan(0);
    // The transfer ended at the deadline, not when the streams opened later would have.
    expect(record.end.durationS).toBeLessThan(2.5);
  }, 30_000);

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`on ${signal}, with what it measured`, async () => {
      const out = join(dir, `${signal}.jsonl`);
      const run = start(['run', '--streams', '2500', '--duration', '60s', '--interval', '100ms', '--out', out, '--no-history', '--no-json']);
      await run.measuring;
      const signalled = performance.now();
      run.child.kill(signal);
      const r = await run.exited;
      expect(r.code, r.stderr).toBe(code);
      expect(r.at - signalled).toBeLessThan(1000 + 500 + SLACK_MS);
      const record = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
      expect(record.end.state).toBe('cancelled');
      expect(record.end.bytesReceived).toBeGreaterThan(0);
      expect(record.connections.every((c) => c.state === 'cancelled')).toBe(true);
    }, 30_000);
  }
});
