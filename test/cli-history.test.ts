// The history store made visible, and filled without being asked: `run` records every run (unless
// --no-history), `history` lists sessions and draws a metric's trend with its change points.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from '../src/history/store.js';
import { cli } from './helpers.js';
import { createRng, fakeScenarioId, fakeSession } from './stats/make-records.js';

const LAT = fakeScenarioId('scn-lat');
const DOWNLOAD = fakeScenarioId('scn-download-1');

const dir = mkdtempSync(join(tmpdir(), 'stoq-history-'));

describe('run records every run into the history store', () => {
  it('by default into $STOQ_BENCH_STORE (a temporary store in tests), never the home directory', async () => {
    const path = process.env.STOQ_BENCH_STORE as string;
    expect(path.startsWith(tmpdir())).toBe(true);
    const before = existsSync(path) ? HistoryStore.open(path).counts().runs : 0;
    expect((await cli(['run', '--bytes', '4MiB', '--runs', '2', '--json'])).code).toBe(0);
    const store = HistoryStore.open(path, { readonly: true });
    expect(store.counts().runs).toBe(before + 2);
    store.close();
  });

  it('--store FILE elsewhere; --no-history records nothing', async () => {
    const store = join(dir, 'explicit.db');
    expect((await cli(['run', '--bytes', '4MiB', '--json', '--store', store])).code).toBe(0);
    expect(HistoryStore.open(store, { readonly: true }).counts().runs).toBe(1);
    const none = join(dir, 'none.db');
    expect((await cli(['run', '--bytes', '4MiB', '--json', '--store', none, '--no-history'])).code).toBe(0);
    expect(existsSync(none)).toBe(false);
  });

  it('a store that cannot be used is named on stderr and left untouched; the run is measured and written all the same', async () => {
    const bad = join(dir, 'corrupt.db');
    writeFileSync(bad, 'not a database'.repeat(10));
    const out = join(dir, 'kept.jsonl');
    const r = await cli(['run', '--bytes', '4MiB', '--store', bad, '--json', '--out', out]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).end.state).toBe('completed');
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^stoq-bench: warning: runs not recorded into the history store: .*corrupt\.db: not a stoq-bench history store .*\(--store FILE for another store, --no-history to measure without recording\)$/m);
    expect(readFileSync(bad, 'utf8')).toBe('not a database'.repeat(10));
  });
});

describe('stoq-bench history', () => {
  const store = join(dir, 'trend.db');
  // eight sessions of a download: four at 9 Gbit/s, then four at 6 Gbit/s (a change to find)
  const rng = createRng(33);
  const s = HistoryStore.open(store);
  for (let i = 0; i < 8; i++) {
    s.addRecords(fakeSession(rng, `session-${i}`, 3, { noise: 0.01, levelBps: i < 4 ? 9e9 : 6e9, startedAt: `2026-11-2${i + 1}T00:00:00.000Z` }, 0.005));
  }
  s.addRecords(fakeSession(rng, 'latency-1', 2, { kind: 'latency', scenarioId: 'scn-lat', latencyUs: 60, latencySamples: 100, startedAt: '2026-11-29T12:00:00.000Z' }));
  s.close();

  it('lists sessions, newest first, with their runs, states and median', async () => {
    const r = await cli(['history', '--store', store, '--no-json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/trend\.db: 9 session\(s\), newest first$/);
    expect(lines[3]).toMatch(new RegExp(`^2026-11-29 12:00:00Z +latency-.* +latency +${LAT} +tb-1 +2 +2 completed +latency p50 [\\d.]+ us$`));
    expect(lines[4]).toMatch(new RegExp(`^2026-11-28 00:00:00Z +session- +download +${DOWNLOAD} +tb-1 +3 +3 completed +goodput 6\\.\\d+ Gbit/s$`));
    const json = JSON.parse((await cli(['history', '--store', store, '--json', '--scenario', 'download', '--limit', '2'])).stdout);
    expect(json.sessions.map((x: { id: string }) => x.id)).toEqual(['session-7', 'session-6']);
  });

  it("trend: a metric per session for each scenario, with the change point the store's search finds", async () => {
    const r = await cli(['history', 'trend', '--store', store, '--scenario', 'download', '--no-json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`goodput on testbed tb-1, download \\(scenario ${DOWNLOAD}\\): 8 session\\(s\\)`));
    expect(r.stdout).toMatch(/^2026-11-25 00:00:00Z +session- +3 +6\.\d+ Gbit\/s +.* <- change -3\d\.\d% \(p = 0\.0\d+\)$/m);
    expect(r.stdout).toMatch(/change points: 1 found \(E-divisive means on log session medians/);
    const j = JSON.parse((await cli(['history', 'trend', '--store', store, '--json'])).stdout);
    const download = j.groups.find((g: { scenarioKind: string }) => g.scenarioKind === 'download');
    expect(download.changes).toHaveLength(1);
    expect(download.changes[0]).toMatchObject({ index: 4, sessionId: 'session-4' });
    // a percentile its runs cannot determine: no point, said so
    const p99 = JSON.parse((await cli(['history', 'trend', '--store', store, '--metric', 'latencyP99', '--json'])).stdout);
    expect(p99.groups).toEqual([]);
    expect((await cli(['history', 'trend', '--store', store, '--metric', 'latencyP99', '--no-json'])).stdout).toMatch(/no session measured that metric/);
  });

  it('--format html draws the trend: one offline page, a chart per scenario with its change point', async () => {
    const r = await cli(['history', 'trend', '--store', store, '--format', 'html']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<!doctype html>/);
    expect(r.stdout).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
    expect(r.stdout).toMatch(/<path class="series" data-series="session median" data-points="8"/);
    expect(r.stdout).toMatch(/data-series="change -3\d\.\d%"/);
    expect(r.stdout).toMatch(new RegExp(`goodput: download \\(scenario ${DOWNLOAD}\\)`));
  });
});
