// The README's "Many client hosts" figures that `claims` does not read (the fairness index, how many
// sessions, clients and samples) against the recorded result they come from; its rate is a claim like
// the README's others (test/claims/readme.test.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { recordSchema } from '../helpers.js';
import type { FleetRecord } from '../../src/fleet/merge.js';
import { readRecordFile } from '../../src/records.js';
import { median } from '../../src/stats/order-statistics.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORDS: Record<string, number> = { three: 3, four: 4, five: 5, six: 6, seven: 7 };

it('the README states the fleet sessions as bench/results/readme-fleet.jsonl recorded them', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## Many client hosts'), readme.indexOf('\n## ', readme.indexOf('## Many client hosts') + 1)).replace(/\s+/g, ' ');
  const records = readRecordFile(`${ROOT}bench/results/readme-fleet.jsonl`) as FleetRecord[];

  const sessions = /(\w+) sessions, from `bench\/results\/readme-fleet\.jsonl`/.exec(section);
  expect(WORDS[sessions![1].toLowerCase()]).toBe(records.length);
  const clients = /one server node and (\w+) client nodes/.exec(section);
  for (const r of records) {
    expect(r.end.state).toBe('completed');
    expect(recordSchema.errors(r)).toBeUndefined();
    expect(r.fleet.clients).toHaveLength(WORDS[clients![1]]);
    expect(r.fleet.startAt).not.toBeNull();
    if (/all started for one instant, none late/.test(section)) expect(r.fleet.clients.map((c) => c.late)).toEqual(r.fleet.clients.map(() => false));
  }
  const samples = /histogram of all ([\d,]+) raw samples/.exec(section);
  for (const r of records) expect(r.end.latency!.n).toBe(Number(samples![1].replace(/,/g, '')));
  const each = /\(([\d,]+) requests of/.exec(section);
  for (const r of records) expect(r.scenario.count).toBe(Number(each![1].replace(/,/g, '')) * r.fleet.clients.length);

  const range = /the sessions ranged from ([\d,]+) to ([\d,]+), median ([\d,]+)\)/.exec(section);
  const rates = records.map((r) => r.end.requestsPerSecond!);
  const figure = (text: string) => Number(text.replace(/,/g, ''));
  expect([figure(range![1]), figure(range![2]), figure(range![3])]).toEqual([Math.round(Math.min(...rates)), Math.round(Math.max(...rates)), Math.round(median(rates))]);

  const jain = /Jain's index (\d\.\d+) across/.exec(section);
  const decimals = jain![1].split('.')[1].length;
  expect(median(records.map((r) => r.fleet.fairness!.index)).toFixed(decimals)).toBe(jain![1]);
});
