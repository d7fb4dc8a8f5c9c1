// The stats, compare and baseline commands end to end through main(argv, io), with output captured.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/command.js';
import { createRng } from '../src/stats/rng.js';
import { fakeRecord, fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-cli-'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTTY: false, color: false, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, out, err };
}

function writeJsonl(name: string, records: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

const rng = createRng(2026);
const base = writeJsonl('base.jsonl', fakeSession(rng, 'base', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 }));
const same = writeJsonl('same.jsonl', fakeSession(rng, 'same', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 }));
const slow = writeJsonl('slow.jsonl', fakeSession(rng, 'slow', 6, { noise: 0.01, levelBps: 7.5e9, latencyUs: 60, latencySamples: 400 }));
const store = join(dir, 'history.db');

describe('stoq-bench stats', () => {
  it('summarises a JSON array of numbers with conventions named', async () => {
    const p = join(dir, 'numbers.json');
    writeFileSync(p, JSON.stringify(Array.from({ length: 400 }, (_, i) => 50 + (i % 37))));
    const r = await cli('stats', p, '--no-json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/type 7/);
    expect(r.out).toMatch(/p99 /);
    expect(r.out).toMatch(/p999 {2}null: n = 400 is too small to bound p99.9 at 95% \(needs n >= 3688\)/);
    const j = JSON.parse((await cli('stats', p, '--json')).out);
    expect(j.summary.n).toBe(400);
    expect(j.summary.percentiles.p999.value).toBeNull();
  });

  it('summarises run records: per run, then across runs', async () => {
    const r = await cli('stats', base, '--no-json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/6 run\(s\)/);
    expect(r.out).toMatch(/goodput across 6 completed run\(s\)/);
    expect(r.out).toMatch(/steady/);
    expect(r.out).toMatch(/moving-block bootstrap/);
  });

  it('usage errors exit 2 with a clear message', async () => {
    const missing = await cli('stats', join(dir, 'nope.json'), '--no-json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope.json: cannot read \(no such file\)/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(base, 'utf8').split('\n')[0]}\n{"schemaVersion": 1, oops\n`);
    const r = await cli('stats', bad, '--no-json');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad.jsonl:2: not valid JSON/);
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"hello": "world"}');
    expect((await cli('stats', foreign)).err).toMatch(/not a stoq-bench run record/);
  });
});

describe('stoq-bench compare', () => {
  it('equivalent runs pass (exit 0; 4 when a metric is Inconclusive) and print estimate, interval with its level, p, threshold, verdict', async () => {
    const r = await cli('compare', '--baseline', base, '--candidate', same, '--store', store, '--no-json');
    expect(r.out).toMatch(/@95%/);
    expect(r.out).toMatch(/goodput/);
    expect(r.out).toMatch(/threshold/);
    expect(r.out).toMatch(/verdict: (Equivalent|Inconclusive)/);
    // "could not judge" is never exit 0 by default
    const inconclusive = /verdict: Inconclusive/.test(r.out);
    expect(r.code).toBe(inconclusive ? 4 : 0);
    expect(r.out).toMatch(inconclusive ? /gate: NOT JUDGED \(Inconclusive: exit 4; --allow-inconclusive lets it pass\)/ : /gate: passed/);
    const allowed = await cli('compare', '--baseline', base, '--candidate', same, '--store', store, '--allow-inconclusive', '--no-json');
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/gate: passed/);
    // goodput alone is Equivalent: the same six runs within noise
    const goodput = await cli('compare', '--baseline', base, '--candidate', same, '--store', store, '--metric', 'goodput', '--no-json');
    expect(goodput.out).toMatch(/verdict: Equivalent/);
    expect(goodput.code).toBe(0);
  });

  it('a 17% goodput drop is a Regression and exits 1; --json carries the same', async () => {
    const r = await cli('compare', '--baseline', base, '--candidate', slow, '--store', store, '--no-json');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/goodput: Regression \(Severe\)/);
    const j = JSON.parse((await cli('compare', '--baseline', base, '--candidate', slow, '--json', '--level', '0.95', '--store', store)).out);
    expect(j.verdict).toBe('Regression');
    expect(j.failed).toBe(true);
    const g = j.metrics.find((m: { metric: string }) => m.metric === 'goodput');
    expect(g.ratio.level).toBe(0.95);
    expect(g.ratio.estimate).toBeLessThan(0.9);
    expect(g.severity).toBe('Severe');
    // --fail-on Critical lets a Severe regression pass the gate
    expect((await cli('compare', '--baseline', base, '--candidate', slow, '--fail-on', 'Critical', '--store', store)).code).toBe(0);
  });

  it('an SLO breached with confidence is Critical', async () => {
    const r = await cli('compare', '--baseline', base, '--candidate', same, '--slo', 'goodput>=20Gbps', '--store', store, '--no-json');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/BREACHED/);
  });

  it('usage errors exit 2', async () => {
    expect((await cli('compare', '--candidate', same, '--level', '1.5')).code).toBe(2);
    expect((await cli('compare', '--baseline', 'no-such-baseline', '--candidate', same, '--store', store)).code).toBe(2);
    expect((await cli('compare', '--baseline', base, '--candidate', same, '--slo', 'jitter<1', '--store', store)).code).toBe(2);
  });

  it('without a baseline: history if any, else says so', async () => {
    const empty = join(dir, 'empty-history.db');
    const r = await cli('compare', '--candidate', same, '--store', empty, '--no-json');
    // nothing to compare against is Invalid: not judged, exit 4 (0 with --allow-invalid)
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/no baseline/);
    expect((await cli('compare', '--candidate', same, '--store', empty, '--allow-invalid')).code).toBe(0);
    expect(existsSync(empty)).toBe(false);
    // record three sessions of history, then compare against it
    const h = join(dir, 'h.db');
    for (let s = 0; s < 3; s++) {
      const f = writeJsonl(`hist${s}.jsonl`, fakeSession(rng, `hist${s}`, 4, { noise: 0.01, startedAt: `2026-11-2${s}T00:00:00Z` }));
      await cli('compare', '--candidate', f, '--store', h, '--record');
    }
    const again = await cli('compare', '--candidate', slow, '--store', h, '--no-json');
    expect(again.out).toMatch(/recent stable history: 3 session/);
    expect(again.out).toMatch(/history: 3 stable session\(s\) on this testbed and scenario; no change point in goodput/);
    expect(again.code).toBe(1);
  });
});

describe('unsteady and failed runs', () => {
  it('are flagged by stats and make compare Invalid (exit 4: not a regression, but no verdict either)', async () => {
    const drifting = writeJsonl('drifting.jsonl', fakeSession(rng, 'drift', 5, { noise: 0.005, drift: -0.4, intervals: 30 }));
    const s = await cli('stats', drifting, '--no-json');
    expect(s.out).toMatch(/flagged \(kept, never dropped\):/);
    expect(s.out).toMatch(/unsteady: drift -/);
    const c = await cli('compare', '--baseline', base, '--candidate', drifting, '--store', store, '--no-json');
    expect(c.code).toBe(4);
    expect(c.out).toMatch(/gates failed: candidate: 5 unsteady run/);
    expect(c.out).toMatch(/verdict: Invalid/);
    const allowed = await cli('compare', '--baseline', base, '--candidate', drifting, '--allow-unsteady', '--store', store, '--no-json');
    expect(allowed.out).not.toMatch(/verdict: Invalid/);
  });
});

describe('stoq-bench baseline', () => {
  it('save, list, show, export, import, rm; compare against the name and the exported file', async () => {
    const s = join(dir, 'baselines.db');
    expect((await cli('baseline', 'save', 'main', base, '--store', s, '--note', 'release 1')).code).toBe(0);
    expect((await cli('baseline', 'save', 'main', base, '--store', s)).code).toBe(2);
    const list = await cli('baseline', 'list', '--store', s, '--no-json');
    expect(list.out).toMatch(/main\s+6\s+1\s+tb-1/);
    expect((await cli('baseline', 'show', 'main', '--store', s, '--no-json')).out).toMatch(/baseline "main": 6 runs/);
    const file = join(dir, 'main.baseline.json');
    expect((await cli('baseline', 'export', 'main', '--out', file, '--store', s)).code).toBe(0);
    expect((await cli('baseline', 'export', 'main', '--out', file, '--store', s)).code).toBe(2);
    expect((await cli('compare', '--baseline', 'main', '--candidate', slow, '--store', s)).code).toBe(1);
    expect((await cli('compare', '--baseline', file, '--candidate', slow, '--store', s)).code).toBe(1);
    const other = join(dir, 'other.db');
    expect((await cli('baseline', 'import', file, '--name', 'ci', '--store', other, '--no-json')).out).toMatch(/imported baseline "ci": 6 runs/);
    expect((await cli('baseline', 'rm', 'ci', '--store', other)).code).toBe(0);
    expect((await cli('baseline', 'rm', 'ci', '--store', other)).code).toBe(2);
    expect((await cli('baseline', 'frobnicate', '--store', other)).code).toBe(2);
  });

  it('a corrupt store file is refused (exit 2) and left as it was', async () => {
    const bad = join(dir, 'corrupt.db');
    writeFileSync(bad, 'garbage'.repeat(100));
    const r = await cli('baseline', 'list', '--store', bad, '--no-json');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a stoq-bench history store/);
    expect(readFileSync(bad, 'utf8')).toBe('garbage'.repeat(100));
  });
});

describe('compare: zero runs and gates that cannot judge (the cases of the issue)', () => {
  const baseRuns = writeJsonl('five-base.jsonl', fakeSession(rng, 'five-base', 5, { noise: 0.01 }));
  const withZeros = (n: number) =>
    writeJsonl(`zeros-${n}.jsonl`, Array.from({ length: 5 }, (_, i) => fakeRecord(rng, { session: `zeros-${n}`, run: i, runs: 5, noise: 0.01, levelBps: i < n ? 0 : 9e9 })));

  it('3 of 5 candidate runs moved 0 bytes: a Regression graded Critical naming them, exit 1', async () => {
    const r = await cli('compare', '--baseline', baseRuns, '--candidate', withZeros(3), '--store', store, '--metric', 'goodput', '--no-json');
    expect(r.out).toMatch(/goodput: Regression \(Critical\): 3 of 5 candidate run\(s\) measured 0 goodput \(zeros-3#0, zeros-3#1, zeros-3#2\): the candidate's median is 0, a collapse/);
    expect(r.out).toMatch(/^verdict: Regression$/m);
    expect(r.code).toBe(1);
  });

  it('all 5 at zero: the same, exit 1', async () => {
    const r = await cli('compare', '--baseline', baseRuns, '--candidate', withZeros(5), '--store', store, '--json');
    const j = JSON.parse(r.out);
    expect(j.metrics.find((m: { metric: string }) => m.metric === 'goodput')).toMatchObject({ verdict: 'Regression', severity: 'Critical' });
    expect(j.failed).toBe(true);
    expect(r.code).toBe(1);
  });

  it('a 30% drop graded Invalid because one baseline run is unsteady: exit 4, never 0', async () => {
    const base = fakeSession(rng, 'unsteady-base', 5, { noise: 0.005 });
    base[0] = fakeRecord(rng, { session: 'unsteady-base', run: 0, runs: 5, noise: 0.005, drift: -0.4, intervals: 30 });
    const b = writeJsonl('unsteady-base.jsonl', base);
    const c = writeJsonl('drop30.jsonl', fakeSession(rng, 'drop30', 5, { noise: 0.005, levelBps: 6.3e9 }));
    const r = await cli('compare', '--baseline', b, '--candidate', c, '--store', store, '--no-json');
    expect(r.out).toMatch(/gates failed: baseline: 1 unsteady run/);
    expect(r.out).toMatch(/^verdict: Invalid$/m);
    expect(r.out).toMatch(/^gate: NOT JUDGED \(Invalid: exit 4; --allow-invalid lets it pass\)$/m);
    expect(r.code).toBe(4);
    expect((await cli('compare', '--baseline', b, '--candidate', c, '--store', store, '--allow-invalid')).code).toBe(0);
    // graded once the unsteady run is allowed: never Invalid, and never a pass on a 30% drop
    const graded = await cli('compare', '--baseline', b, '--candidate', c, '--store', store, '--allow-unsteady', '--no-json');
    expect(graded.out).not.toMatch(/verdict: Invalid/);
    expect(graded.code).not.toBe(0);
  });
});
