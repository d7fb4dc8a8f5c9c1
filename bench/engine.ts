// Engine benchmarks over [::1], side by side in one process tree, as ratios.
//
// Method: every side runs the same scenario with the same parameters (1350-byte payloads, one connection
// unless stated); rounds are interleaved and the order of the sides rotates each round; each side's figure
// is the median of its rounds with the interquartile range; the ratio is of medians. Byte counts are checked
// equal to what was asked before a figure is used. Sides:
//   node   stoq-bench driven from Node (runScenario, embedded server in the same process)
//   rust   the same engine driven from plain Rust (target/release/stoq-engine, embedded server)
//   iperf3 iperf3 -u -b 0 -l 1350 on the same loopback (no GSO; receiver goodput = sent x (1 - loss))
//   udp    a plain UDP ping-pong (cargo example udp_pingpong): the floor under any round trip
//
//   node --import ./bench/register.js bench/engine.ts [--rounds 5] [--seconds 3] [--out FILE]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScenario, type ScenarioInput } from '../src/index.js';
import { median } from '../src/stats/index.js';
import { formatRate } from '../src/units.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = opt('rounds', 5);
const SECONDS = opt('seconds', 3);
const outIndex = args.indexOf('--out');
const OUT = outIndex >= 0 ? args[outIndex + 1] : `${root}bench/results/engine-latest.json`;

type Side = () => Promise<number>;

function iqr(xs: number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.round((s.length - 1) * p)];
  return [q(0.25), q(0.75)];
}

/** What `stoq-engine run` prints last: the engine's result, in its own units (ns, bytes). */
interface RustResult {
  state: string;
  durationNs: number;
  totals: { bytesSent: number; bytesReceived: number; completed: number };
  latency: { p50Ns: number } | null;
}

/** The engine driven from plain Rust; returns its result (last JSON line). */
function rustRun(scenario: ScenarioInput): RustResult {
  const r = spawnSync(`${root}target/release/stoq-engine`, ['run', JSON.stringify(scenario)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stoq-engine failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function checkBytes(name: string, got: number, want: number | undefined) {
  if (want !== undefined && got !== want) throw new Error(`${name}: ${got} bytes, expected ${want}`);
}

const goodput = (bytes: number, ns: number) => (bytes * 8e9) / ns;

function transferSides(kind: 'download' | 'upload', connections: number): Record<string, Side> {
  const scenario: ScenarioInput = { kind, durationNs: SECONDS * 1e9, connections };
  const received = kind === 'download';
  return {
    node: async () => {
      const { record: r } = await runScenario(scenario);
      if (r.end.state !== 'completed') throw new Error(`node run ${r.end.state}: ${r.end.error?.message}`);
      return r.end.goodputBps;
    },
    rust: async () => {
      const r = rustRun(scenario);
      if (r.state !== 'completed') throw new Error(`rust run ${r.state}`);
      return goodput(received ? r.totals.bytesReceived : r.totals.bytesSent, r.durationNs);
    },
    ...(connections === 1 ? { iperf3: () => iperf3(kind === 'download') } : {}),
  };
}

let iperfServer: ChildProcess | undefined;
const IPERF_PORT = 5299;
async function iperf3(reverse: boolean): Promise<number> {
  if (!iperfServer) {
    iperfServer = spawn('iperf3', ['-s', '-B', '::1', '-p', String(IPERF_PORT)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300)); // iperf3 prints no machine-readable readiness line
  }
  const r = spawnSync('iperf3', ['-c', '::1', '-p', String(IPERF_PORT), '-u', '-b', '0', '-l', '1350', '-t', String(SECONDS), '-J', ...(reverse ? ['-R'] : [])], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout);
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const sum = j.end.sum;
  return sum.bits_per_second * (1 - sum.lost_percent / 100);
}

function latencySides(): Record<string, Side> {
  const scenario: ScenarioInput = { kind: 'latency', count: 20_000 };
  return {
    node: async () => {
      const { record: r } = await runScenario(scenario);
      checkBytes('node latency', r.end.bytesReceived, 20_000 * 64);
      return r.end.latency!.p50Us!; // 20 000 samples bound the median
    },
    rust: async () => {
      const r = rustRun(scenario);
      checkBytes('rust latency', r.totals.bytesReceived, 20_000 * 64);
      if (!r.latency) throw new Error("stoq-engine latency run measured no round trip");
      return r.latency.p50Ns / 1e3;
    },
    udp: async () => {
      const r = spawnSync(`${root}target/release/examples/udp_pingpong`, ['20000'], { encoding: 'utf8' });
      return JSON.parse(r.stdout).p50Ns / 1e3;
    },
  };
}

function handshakeSides(): Record<string, Side> {
  const scenario: ScenarioInput = { kind: 'handshakes', durationNs: SECONDS * 1e9, connections: 4 };
  return {
    node: async () => (await runScenario(scenario)).record.end.handshakesPerSecond!,
    rust: async () => {
      const r = rustRun(scenario);
      return (r.totals.completed * 1e9) / r.durationNs;
    },
  };
}

async function measure(name: string, unit: string, sides: Record<string, Side>, format: (v: number) => string) {
  const names = Object.keys(sides);
  const values: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const side of order) values[side].push(await sides[side]());
  }
  const result: Record<string, unknown> = { name, unit, rounds: ROUNDS };
  const line = names.map((n) => {
    const [lo, hi] = iqr(values[n]);
    result[n] = { median: median(values[n]), q1: lo, q3: hi, values: values[n] };
    return `${n} ${format(median(values[n]))} [${format(lo)}, ${format(hi)}]`;
  });
  const ratios: Record<string, number> = {};
  for (const a of names) for (const b of names) if (a < b) ratios[`${a}/${b}`] = median(values[a]) / median(values[b]);
  result.ratios = ratios;
  console.log(`${name}: ${line.join('; ')}`);
  console.log(`  ratios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
  return result;
}

spawnSync('cargo', ['build', '--release', '-q', '-p', 'stoq-engine', '--bin', 'stoq-engine', '--example', 'udp_pingpong'], { cwd: root, stdio: 'inherit' });
const hardware = `${cpus()[0]?.model.trim()} x${cpus().length}, Linux ${release()}`;
console.log(`stoq-bench engine benchmarks on ${hardware}; ${ROUNDS} interleaved rounds, ${SECONDS} s per transfer; median [IQR]`);
const results = [];
try {
  const rate = (v: number) => formatRate(v);
  const us = (v: number) => `${v.toFixed(1)} us`;
  results.push(await measure('download, 1 connection', 'bit/s', transferSides('download', 1), rate));
  results.push(await measure('upload, 1 connection', 'bit/s', transferSides('upload', 1), rate));
  results.push(await measure('download, 4 connections', 'bit/s', transferSides('download', 4), rate));
  results.push(await measure('latency p50 (64 B request and response)', 'us', latencySides(), us));
  results.push(await measure('handshakes per second, 4 connections', '1/s', handshakeSides(), (v) => v.toFixed(0)));
} finally {
  iperfServer?.kill();
}
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ date: new Date().toISOString(), hardware, rounds: ROUNDS, seconds: SECONDS, results }, null, 2)}\n`);
console.log(`results written to ${OUT}`);
