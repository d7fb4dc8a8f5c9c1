// Abuse: what a flood costs a legitimate user of a `stoq-bench server` process, and what it costs the server.
//
// Method: one server process (`stoq-bench server`, default limits, on `[::]` allowing only the two loopback
// addresses) for the whole run. In each condition this process runs, one after the other, a download (one
// connection over [::1], duration-based) and a latency probe (64-byte round trips, one at a time) against
// it, while the flooder, from 127.0.0.1 (another source, as another host would be)
// (crate/engine/examples/flood.rs, one thread, sendmmsg) sends one kind of unwanted traffic as fast as one
// core sends it (or at --rates): random bytes (garbage), Initial headers over random bytes (fake), real
// ClientHellos under fresh connection IDs never answered (valid), or complete handshakes (handshakes).
// Three conditions per kind: clean (no flood), control (the same flood with the same sender work at a target
// in the flooder's own process: for datagrams a socket nobody reads, the same sender CPU and kernel delivery;
// for handshakes, which an unread socket never answers, a server of the engine's own, so that the machine
// does the same work on both sides of every handshake; none of it in the measured server) and flood (at the
// server). The flooder's CPU (its process, the control's server included) is reported as cores. Rounds interleave the conditions, the order of the kinds rotating; figures are medians over
// rounds. Ratios: legitimate goodput under flood / under control (target at least 0.9) and / clean; p99
// round trip likewise; server CPU (cores, from /proc/PID/stat) and resident memory (/proc/PID/status,
// sampled every 100 ms; peak under flood / idle, target at most 2; and once the half-open connections
// are gone). Floods are bounded in time and count and go to loopback only.
//
//   node --import ./bench/register.js bench/abuse.ts [--rounds 3] [--seconds 2] [--kinds garbage,fake,valid,handshakes]
//                                                    [--rates 0] [--out FILE]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/index.js';
import { writeFileAtomic } from '../src/files.js';
import type { LiveServerStats as ServerStats } from '../src/server.js';
import { formatBytes, formatRate } from '../src/units.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const ROUNDS = Number(opt('rounds', '3'));
const SECONDS = Number(opt('seconds', '2'));
const KINDS = opt('kinds', 'garbage,fake,valid,handshakes').split(',');
const RATES = opt('rates', '0').split(',').map(Number);
const OUT = opt('out', `${root}bench/results/abuse-latest.json`);
/** Before the legitimate runs start, so that the flood is at full rate. */
const WARMUP_MS = 300;
/** A flood ends by itself after this even if the bench does not stop it. */
const FLOOD_BOUND_MS = (2 * SECONDS + 20) * 1000;

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the flooder, built from the engine crate
const targetDir = process.env.CARGO_TARGET_DIR ?? `${root}target`;
const build = spawnSync('cargo', ['build', '--release', '--quiet', '-p', 'stoq-engine', '--example', 'flood'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('cannot build the flooder');
const FLOODER = `${targetDir}/release/examples/flood`;

// --- the server, a separate process
const server = spawn(process.execPath, [`${root}bin/stoq-bench.js`, 'server', '--listen', '[::]:0', '--allow', '::1', '--allow', '127.0.0.1', '--json', '--stats-interval', '1'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let latest: ServerStats | undefined;
const bound = await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { event: string; address?: string } & ServerStats;
    if (event.event === 'listening') resolve(event.address!);
    if (event.event === 'stats') latest = event;
  });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const pid = server.pid!;
const port = /:(\d+)$/.exec(bound)![1];
/** The legitimate client's way in, and the flooder's. */
const address = `[::1]:${port}`;
const floodAddress = `127.0.0.1:${port}`;

/** The server process's CPU time (s) and resident memory (bytes), from /proc. */
function proc(): { cpuS: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: ticks / 100, rssBytes: Number(rss?.[1] ?? NaN) * 1024 };
}

/** Waits for the next stats line of the server that satisfies `done` (bounded). */
async function serverStats(done: (s: ServerStats) => boolean, boundMs = 10_000): Promise<ServerStats> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (latest && done(latest)) return latest;
    await sleep(100);
  }
  throw new Error(`server stats did not settle: ${JSON.stringify(latest)}`);
}

interface FloodSummary {
  kind: string;
  sent: number;
  durationNs: number;
  ratePerSecond: number;
  cpuNs: number;
  handshakesCompleted?: number;
}

function startFlood(kind: string, target: string, rate: number): { child: ChildProcess; started: Promise<void>; done: Promise<FloodSummary> } {
  const child = spawn(FLOODER, ['--target', target, '--kind', kind, '--rate', String(rate), '--duration-ms', String(FLOOD_BOUND_MS), '--stop-on-stdin-eof'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const started = new Promise<void>((resolve) => child.stderr!.once('data', () => resolve()));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => void (out += String(d)));
  const done = new Promise<FloodSummary>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as FloodSummary) : reject(new Error(`flooder exited with ${code}`)))),
  );
  return { child, started, done };
}

interface Sample {
  goodputBps: number;
  downloadState: string;
  p50Us: number;
  p99Us: number;
  latencyState: string;
  serverCores: number;
  serverRssPeakBytes: number;
  /** Once the flood's half-open connections are gone and the server had a second to hand memory back. */
  serverRssAfterBytes?: number;
  flood?: FloodSummary;
  counters?: Partial<ServerStats>;
}

const COUNTERS: Array<keyof ServerStats> = [
  'garbageDatagrams', 'unknownConnection', 'tooShort', 'invalidInitial', 'shed', 'versionNegotiationSent', 'retriesSent',
  'tokensInvalid', 'refusedAtLimit', 'refusedPrefix', 'kernelShedRules', 'kernelShedDrops', 'fairShareWaits', 'accepted', 'validated', 'handshakeTimeouts', 'peakHalfOpen',
];

async function measure(condition: 'clean' | 'control' | 'flood', kind: string, rate: number): Promise<Sample> {
  const before = await serverStats((s) => s.halfOpen === 0 && s.openConnections === 0);
  const flood = condition === 'clean' ? undefined : startFlood(kind, condition === 'control' ? 'control' : floodAddress, rate);
  if (flood) {
    await flood.started;
    await sleep(WARMUP_MS);
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, proc().rssBytes)), 100);
  const t0 = process.hrtime.bigint();
  const cpu0 = proc().cpuS;
  const { record: d } = await runScenario({ kind: 'download', durationNs: SECONDS * 1e9 }, { target: address });
  const { record: l } = await runScenario({ kind: 'latency', durationNs: SECONDS * 1e9 }, { target: address });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = proc().cpuS;
  peak = Math.max(peak, proc().rssBytes);
  clearInterval(sampler);
  flood?.child.stdin!.end();
  const summary = await flood?.done;
  const after = condition === 'flood' ? await serverStats((s) => s.halfOpen === 0) : undefined;
  if (after) await sleep(1500);
  return {
    goodputBps: d.end.state === 'completed' ? d.end.goodputBps : 0,
    downloadState: d.end.error ? `${d.end.state}: ${d.end.error.code} ${d.end.error.message}` : d.end.state,
    p50Us: l.end.latency?.p50Us ?? NaN,
    p99Us: l.end.latency?.p99Us ?? NaN,
    latencyState: l.end.error ? `${l.end.state}: ${l.end.error.code} ${l.end.error.message}` : l.end.state,
    serverCores: (cpu1 - cpu0) / wallS,
    serverRssPeakBytes: peak,
    serverRssAfterBytes: after ? proc().rssBytes : undefined,
    flood: summary,
    counters: after ? Object.fromEntries(COUNTERS.map((k) => [k, Number(after[k]) - Number(before[k])])) : undefined,
  };
}

const flooderCores = (s: Sample) => (s.flood ? s.flood.cpuNs / s.flood.durationNs : NaN);

const hardware = `${cpus()[0]?.model.trim()} x${cpus().length}, Linux ${release()}`;
console.log(`abuse on ${hardware}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}: server ${address} (pid ${pid}); ${ROUNDS} rounds; ${SECONDS} s download + ${SECONDS} s latency probe per condition`);
// Warm-up: the first connections allocate what the server keeps; idle memory is measured after them.
await measure('clean', '', 0);
await sleep(1000);
const idleRssBytes = proc().rssBytes;
console.log(`server idle: RSS ${formatBytes(idleRssBytes)}`);

type Key = string;
const samples = new Map<Key, Sample[]>();
const push = (key: Key, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s]);
for (let round = 0; round < ROUNDS; round++) {
  push('clean', await measure('clean', '', 0));
  for (let k = 0; k < KINDS.length; k++) {
    const kind = KINDS[(k + round) % KINDS.length];
    for (const rate of RATES) {
      const order: Array<'control' | 'flood'> = round % 2 === 0 ? ['control', 'flood'] : ['flood', 'control'];
      for (const condition of order) {
        const s = await measure(condition, kind, rate);
        push(`${kind}/${rate}/${condition}`, s);
        console.log(
          `round ${round + 1} ${kind} ${rate || 'max'} ${condition}: goodput ${formatRate(s.goodputBps)} (${s.downloadState}), p99 ${s.p99Us.toFixed(0)} us, ` +
            `server ${s.serverCores.toFixed(2)} cores, flooder ${flooderCores(s).toFixed(2)} cores, RSS peak ${formatBytes(s.serverRssPeakBytes)}, flood ${Math.round(s.flood?.ratePerSecond ?? 0)}/s`,
        );
      }
    }
  }
}
await sleep(3000);
const rssAfterBytes = proc().rssBytes;
const clean = samples.get('clean')!;
const cleanGoodput = median(clean.map((s) => s.goodputBps));
const cleanP99 = median(clean.map((s) => s.p99Us));
const results = KINDS.flatMap((kind) =>
  RATES.map((rate) => {
    const ctl = samples.get(`${kind}/${rate}/control`)!;
    const fl = samples.get(`${kind}/${rate}/flood`)!;
    const g = { clean: cleanGoodput, control: median(ctl.map((s) => s.goodputBps)), flood: median(fl.map((s) => s.goodputBps)) };
    const p99 = { clean: cleanP99, control: median(ctl.map((s) => s.p99Us)), flood: median(fl.map((s) => s.p99Us)) };
    const rssPeak = median(fl.map((s) => s.serverRssPeakBytes));
    const counters = Object.fromEntries(COUNTERS.map((k) => [k, median(fl.map((s) => Number(s.counters?.[k] ?? NaN)))]));
    const r = {
      kind,
      rate: rate || 'max (one core)',
      flooderRatePerSecond: { control: median(ctl.map((s) => s.flood?.ratePerSecond ?? NaN)), flood: median(fl.map((s) => s.flood?.ratePerSecond ?? NaN)) },
      /** The flooder process's CPU over its run (its own server's, in the handshake control, included). */
      flooderCores: { control: median(ctl.map(flooderCores)), flood: median(fl.map(flooderCores)) },
      goodputBps: g,
      goodputRatio: { floodVsControl: g.flood / g.control, floodVsClean: g.flood / g.clean, controlVsClean: g.control / g.clean },
      p99RttUs: p99,
      p99Ratio: { floodVsControl: p99.flood / p99.control, floodVsClean: p99.flood / p99.clean },
      serverCores: { clean: median(clean.map((s) => s.serverCores)), control: median(ctl.map((s) => s.serverCores)), flood: median(fl.map((s) => s.serverCores)) },
      serverRssPeakBytes: rssPeak,
      serverRssPeakVsIdle: rssPeak / idleRssBytes,
      serverRssAfterBytes: median(fl.map((s) => s.serverRssAfterBytes ?? NaN)),
      serverCountersPerFlood: counters,
      states: { control: ctl.map((s) => s.downloadState), flood: fl.map((s) => s.downloadState), latency: fl.map((s) => s.latencyState) },
      targets: { goodputAtLeast90PercentOfControl: g.flood / g.control >= 0.9, rssWithin2xOfIdle: rssPeak / idleRssBytes <= 2 },
    };
    console.log(
      `${kind.padEnd(10)} ${String(rate || 'max').padStart(6)}: flooder ${Math.round(r.flooderRatePerSecond.flood)}/s; goodput ${formatRate(g.flood)} = ` +
        `${r.goodputRatio.floodVsControl.toFixed(2)} of control (${formatRate(g.control)}), ${r.goodputRatio.floodVsClean.toFixed(2)} of clean; ` +
        `p99 ${p99.flood.toFixed(0)} us = ${r.p99Ratio.floodVsControl.toFixed(2)}x control; server ${r.serverCores.flood.toFixed(2)} cores ` +
        `(control ${r.serverCores.control.toFixed(2)}); RSS peak ${formatBytes(rssPeak)} = ${r.serverRssPeakVsIdle.toFixed(2)}x idle, ` +
        `${formatBytes(r.serverRssAfterBytes)} after`,
    );
    return r;
  }),
);
console.log(`clean: goodput ${formatRate(cleanGoodput)}, p99 ${cleanP99.toFixed(0)} us; server RSS idle ${formatBytes(idleRssBytes)}, after every flood ${formatBytes(rssAfterBytes)}`);
server.kill('SIGINT');
await new Promise((r) => server.once('exit', r));
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileAtomic(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      hardware,
      command: `node --import ./bench/register.js bench/abuse.ts ${args.join(' ')}`.trim(),
      method:
        'download then latency probe per condition; clean / control (the same flood at a target in the flooder\'s process: an unread socket, for handshakes a server of its own) / flood (at the server); medians over interleaved rounds',
      loadAverage: loadavg(),
      rounds: ROUNDS,
      seconds: SECONDS,
      server: { idleRssBytes, rssAfterFloodsBytes: rssAfterBytes, clean: { goodputBps: cleanGoodput, p99RttUs: cleanP99 } },
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`results written to ${OUT}`);
