// Connection scaling over [::1]: aggregate download goodput and the embedded server's memory per open
// connection, active (downloading) and near idle (one 64-byte request at a time), for 1, 10, 100 and
// 1,000 concurrent connections.
//
// Method: the same download scenario (1350-byte payloads, duration-based) at each connection count;
// rounds interleaved, the order of counts rotating each round; median and range per count. Memory is the
// server process's resident set above its baseline at the moment the most connections were open, divided
// by that number (the embedded server shares the process with the client, whose per-connection buffers
// are included: an upper bound for a server alone). Each measurement runs in a fresh process
// (`stoq-bench run --json`), so memory freed by an earlier run cannot hide a later one's.
//
//   node --import ./bench/register.js bench/scaling.ts [--rounds 3] [--seconds 2] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import type { RunRecord } from '../src/index.js';
import { median } from '../src/stats/index.js';
import { formatBytes, formatRate } from '../src/units.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** One run of the CLI in its own process; its record. */
function run(args: string[]): RunRecord {
  const r = spawnSync(process.execPath, [`${root}bin/stoq-bench.js`, 'run', ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`stoq-bench run ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as RunRecord;
}
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const ROUNDS = opt('rounds', 3);
const SECONDS = opt('seconds', 2);
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : `${root}bench/results/scaling-latest.json`;
const COUNTS = [1, 10, 100, 1000];

const hardware = `${cpus()[0]?.model.trim()} x${cpus().length}, Linux ${release()}`;
console.log(`connection scaling on ${hardware}; ${ROUNDS} interleaved rounds of ${SECONDS} s downloads; median [min, max]`);
const samples = new Map<number, { goodput: number[]; memory: number[]; idleMemory: number[]; completed: number[] }>(
  COUNTS.map((n) => [n, { goodput: [], memory: [], idleMemory: [], completed: [] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < COUNTS.length; k++) {
    const n = COUNTS[(k + round) % COUNTS.length];
    const r = run(['--duration', `${SECONDS}s`, '--connections', String(n)]);
    if (r.end.state !== 'completed') throw new Error(`${n} connections: ${r.end.state} ${r.end.error?.message ?? ''}`);
    const s = samples.get(n)!;
    s.goodput.push(r.end.goodputBps);
    s.memory.push(r.end.serverStats?.rssPerConnectionBytes ?? NaN);
    s.completed.push(r.end.connections.completed);
    const idle = run(['--scenario', 'requests', '--duration', `${SECONDS}s`, '--connections', String(n), '--request-size', '64', '--response-size', '64']);
    if (idle.end.state !== 'completed') throw new Error(`${n} near-idle connections: ${idle.end.state}`);
    s.idleMemory.push(idle.end.serverStats?.rssPerConnectionBytes ?? NaN);
  }
}
const results = COUNTS.map((n) => {
  const s = samples.get(n)!;
  const line = `${String(n).padStart(5)} connections: goodput ${formatRate(median(s.goodput))} [${formatRate(Math.min(...s.goodput))}, ${formatRate(Math.max(...s.goodput))}], server memory per connection ${formatBytes(median(s.memory))} active, ${formatBytes(median(s.idleMemory))} near idle`;
  console.log(line);
  return { connections: n, goodputBps: { median: median(s.goodput), values: s.goodput }, rssPerConnectionBytes: { median: median(s.memory), values: s.memory }, idleRssPerConnectionBytes: { median: median(s.idleMemory), values: s.idleMemory }, completed: s.completed };
});
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ date: new Date().toISOString(), hardware, rounds: ROUNDS, seconds: SECONDS, results }, null, 2)}\n`);
console.log(`results written to ${OUT}`);
