import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryStore, SCHEMA_VERSION } from '../../src/history/store.js';
import { writeFileAtomic } from '../../src/files.js';
import { makeBaselineFile, parseBaselineFile, readBaselineFile, selectBaseline } from '../../src/history/baseline.js';
import { createRng } from '../../src/stats/rng.js';
import { fakeRecord, fakeScenarioId, fakeSession } from '../stats/make-records.js';
import { transpileSources } from './transpile.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-history-'));
let n = 0;
const fresh = () => join(dir, `h${n++}.db`);

let srcDir: string;
beforeAll(() => {
  srcDir = transpileSources(['history/store.ts']);
});

function runChild(code: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolveChild) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (c, s) => resolveChild({ code: c, signal: s, stdout, stderr }));
  });
}

describe('history store', () => {
  it('creates a versioned store, adds records idempotently, keeps samples', () => {
    const path = fresh();
    const store = HistoryStore.open(path);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    const rng = createRng(1);
    const recs = fakeSession(rng, 'sess-a', 3, { latencyUs: 60, latencySamples: 50 });
    expect(store.addRecords(recs)).toEqual({ sessions: 1, runs: 3, skipped: 0 });
    expect(store.addRecords(recs)).toEqual({ sessions: 0, runs: 0, skipped: 3 });
    const back = store.records(['sess-a']);
    expect(back).toHaveLength(3);
    expect(back[1].samples!.latencyUs).toEqual(recs[1].samples!.latencyUs);
    expect(back[1].intervals).toEqual(recs[1].intervals);
    expect(store.sessions({ fingerprint: 'tb-1', scenarioId: fakeScenarioId('scn-download-1') })[0].runs).toBe(3);
    store.close();
    // reopening keeps everything
    const again = HistoryStore.open(path);
    expect(again.counts()).toEqual({ sessions: 1, runs: 3, baselines: 0 });
    again.close();
  });

  it('named baselines: save, list, show, replace only when asked, remove', () => {
    const store = HistoryStore.open(fresh());
    const recs = fakeSession(createRng(2), 'sess-b', 4);
    const info = store.saveBaseline('main', recs, { note: 'release 1' });
    expect(info).toMatchObject({ name: 'main', runs: 4, sessions: 1, note: 'release 1', fingerprint: 'tb-1' });
    expect(() => store.saveBaseline('main', recs)).toThrow(/exists/);
    store.saveBaseline('main', recs.slice(0, 2), { replace: true });
    expect(store.baselineInfo('main')!.runs).toBe(2);
    expect(store.listBaselines().map((b) => b.name)).toEqual(['main']);
    expect(store.baselineRecords('main')).toHaveLength(2);
    expect(store.removeBaseline('main')).toBe(true);
    expect(store.baselineRecords('main')).toBeUndefined();
    expect(() => store.saveBaseline('bad name!', recs)).toThrow(/invalid baseline name/);
    store.close();
  });

  it('baseline files round-trip and are validated', () => {
    const recs = fakeSession(createRng(3), 'sess-c', 3, { latencyUs: 50, latencySamples: 20 });
    const file = makeBaselineFile('ci', recs, 'for CI');
    const path = join(dir, 'ci-baseline.json');
    writeFileAtomic(path, JSON.stringify(file));
    expect(() => writeFileAtomic(path, '{}', { replace: false })).toThrow(/exists/);
    expect(readBaselineFile(path).records).toEqual(recs);
    expect(() => parseBaselineFile('{"format":"other"}', 'x.json')).toThrow(/not a stoq-bench baseline file/);
    expect(() => parseBaselineFile('{"format":"stoq-bench-baseline","formatVersion":9}', 'x.json')).toThrow(/formatVersion 9/);
    expect(() => parseBaselineFile('{', 'x.json')).toThrow(/not valid JSON/);
  });

  it('refuses a corrupt file and leaves it untouched', () => {
    const path = fresh();
    writeFileSync(path, 'this is not a database at all, just text\n'.repeat(10));
    const before = readFileSync(path);
    expect(() => HistoryStore.open(path)).toThrow(/not a stoq-bench history store/);
    expect(readFileSync(path).equals(before)).toBe(true);
    // a damaged SQLite file (valid header, garbage pages)
    const damaged = fresh();
    const s = HistoryStore.open(damaged);
    s.addRecords(fakeSession(createRng(4), 'x', 2));
    s.close();
    const bytes = readFileSync(damaged);
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    writeFileSync(damaged, bytes);
    let error: unknown;
    try {
      HistoryStore.open(damaged).close();
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toBe('INVALID_FILE');
    expect(readFileSync(damaged).equals(bytes)).toBe(true);
  });

  it("refuses another application's SQLite database and a newer schema", () => {
    const foreign = fresh();
    const db = new Database(foreign);
    db.exec('CREATE TABLE people (name TEXT)');
    db.close();
    const before = readFileSync(foreign);
    expect(() => HistoryStore.open(foreign)).toThrow(/another application/);
    expect(readFileSync(foreign).equals(before)).toBe(true);
    const newer = fresh();
    HistoryStore.open(newer).close();
    const raw = new Database(newer);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => HistoryStore.open(newer)).toThrow(/newer stoq-bench/);
  });

  it('two processes writing at once lose nothing', async () => {
    const path = fresh();
    HistoryStore.open(path).close();
    const writer = (tag: string) => `
      import { HistoryStore } from ${JSON.stringify(join(srcDir, 'history/store.js'))};
      const store = HistoryStore.open(${JSON.stringify(path)});
      for (let i = 0; i < 60; i++) {
        const rec = ${JSON.stringify(fakeRecord(createRng(5), { intervals: 4 }))};
        rec.session = { id: '${tag}-' + i, run: 0, runs: 1 };
        store.addRecords([rec]);
      }
      store.close();
      console.log('done');`;
    const [a, b] = await Promise.all([runChild(writer('A')), runChild(writer('B'))]);
    expect(a.stderr + b.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const store = HistoryStore.open(path);
    expect(store.counts().sessions).toBe(120);
    expect(store.counts().runs).toBe(120);
    store.close();
  });

  it('a crash mid-write leaves the previous state intact', async () => {
    const path = fresh();
    const s = HistoryStore.open(path);
    s.addRecords(fakeSession(createRng(6), 'kept', 2));
    s.close();
    const crash = `
      import { HistoryStore } from ${JSON.stringify(join(srcDir, 'history/store.js'))};
      const store = HistoryStore.open(${JSON.stringify(path)});
      const rec = ${JSON.stringify(fakeRecord(createRng(7), { intervals: 4 }))};
      const many = Array.from({ length: 200 }, (_, i) => ({ ...rec, session: { id: 'lost', run: i, runs: 200 } }));
      // die inside the transaction, after some rows were written
      let count = 0;
      const original = JSON.stringify;
      JSON.stringify = (...args) => { if (++count === 150) process.kill(process.pid, 'SIGKILL'); return original(...args); };
      store.addRecords(many);
      console.log('not reached');`;
    const r = await runChild(crash);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toMatch(/not reached/);
    const store = HistoryStore.open(path);
    expect(store.counts()).toEqual({ sessions: 1, runs: 2, baselines: 0 });
    expect(store.records(['lost'])).toHaveLength(0);
    store.close();
  });
});

describe('baseline selection', () => {
  it('named, else recent stable history, else none', () => {
    const store = HistoryStore.open(fresh());
    const rng = createRng(8);
    const cand = fakeSession(rng, 'cand', 3, { startedAt: '2026-11-28T13:00:00Z' });
    expect(selectBaseline(store, cand).source).toBe('none');
    for (let s = 0; s < 8; s++) {
      store.addRecords(fakeSession(rng, `h${s}`, 3, { startedAt: `2026-11-2${s}T10:00:00Z`, noise: 0.01 }, 0.01));
    }
    store.addRecords(fakeSession(rng, 'other-testbed', 3, { fingerprint: 'tb-2' }));
    const hist = selectBaseline(store, cand, { recent: 5 });
    expect(hist.source).toBe('history');
    expect(new Set(hist.records.map((r) => r.session.id))).toEqual(new Set(['h3', 'h4', 'h5', 'h6', 'h7']));
    expect(hist.noise.goodput!.sessions).toBe(8);
    store.saveBaseline('rel-1', fakeSession(rng, 'rel', 3));
    expect(selectBaseline(store, cand, { name: 'rel-1' }).source).toBe('named');
    expect(() => selectBaseline(store, cand, { name: 'nope' })).toThrow(/no baseline named/);
    store.close();
  });

  it('after a persistent change, the history window starts at the change', () => {
    const store = HistoryStore.open(fresh());
    const rng = createRng(9);
    for (let s = 0; s < 14; s++) {
      const level = s < 8 ? 9e9 : 7e9;
      store.addRecords(fakeSession(rng, `c${String(s).padStart(2, '0')}`, 3, { levelBps: level, noise: 0.01, startedAt: `2026-11-${String(s + 10).padStart(2, '0')}T10:00:00Z` }, 0.005));
    }
    const cand = fakeSession(rng, 'cand', 3, { startedAt: '2026-11-28T13:00:00Z' });
    const sel = selectBaseline(store, cand, { recent: 10 });
    expect(sel.changePoint?.index).toBe(8);
    expect(sel.changePoint?.relative).toBeLessThan(-0.15);
    expect(new Set(sel.records.map((r) => r.session.id)).size).toBe(6);
    expect(sel.description).toMatch(/after a change/);
    store.close();
  });
});

afterAll(() => {
  expect(existsSync(dir)).toBe(true);
});
