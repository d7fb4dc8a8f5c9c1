// Connection scaling over [::1], server and client as separate processes pinned apart (`taskset`: server on
// CPU 0, client on CPU 1), both the plain-Rust engine (`stoq-engine server`, `stoq-engine run`):
//
// - aggregate download goodput at 1, 10, 100, 1,000 and 5,000 concurrent connections, and its ratio to one
//   connection's in the same round, counted once every connection's handshake completed (the client opens
//   them with a bounded number of handshakes under way, so the last ones start after the first transfers);
//   when the last handshake completed; the client's and the server's CPU seconds per GiB (from /proc);
// - memory per connection, each side apart: the server's resident set at its peak above its resident set
//   before the run, divided by the connections (a fresh server per measurement); the client's peak resident
//   set above that of the one-connection run of the same round, divided by the connections added;
// - the server's CPU time per round trip (one 64-byte request in flight on one connection) while N idle
//   connections are held open by another client (examples/idle_holder.rs, quiche), and its ratio to the
//   same with none; the server's CPU time per second with the idle connections alone (no round trips); the
//   server's resident set per idle connection. These servers have the clients' 30 s idle timeout (the
//   default, 5 s, would end the first connections held while the last are still being opened, and their
//   ending would be counted as the round trips' cost); the holder must report every connection still open
//   when the round trips are over, or the figure is not taken;
// - client threads: ten download connections on one client thread and on two (client pinned to CPU 1),
//   against one pinned server thread.
//
// Rounds are interleaved, the order of the counts rotating each round; every figure is the median with its
// range over rounds. Each run is bounded in time (--seconds) and count (the connection counts above).
//
//   node --import ./bench/register.js bench/scaling.ts [--rounds 3] [--seconds 2] [--out FILE]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { engineSpec } from '../src/native.js';
import { median } from '../src/stats/index.js';
import { formatBytes, formatRate } from '../src/units.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? `${root}target`;
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const ROUNDS = opt('rounds', 3);
const SECONDS = opt('seconds', 2);
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : `${root}bench/results/scaling-latest.json`;
const COUNTS = [1, 10, 100, 1000, 5000];
const HANDSHAKES_IN_FLIGHT = engineSpec().handshakesInFlight;
const IDLE_COUNTS = [0, 1000, 5000];
const SERVER_CPU = '0';
const CLIENT_CPU = '1';
const TICK_NS = 1e9 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

const built = spawnSync('cargo', ['build', '--release', '-q', '-p', 'stoq-engine', '--bin', 'stoq-engine', '--example', 'idle_holder'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) throw new Error('cargo build failed');
// Copied at once: the target directory may be shared, and another build may replace its binaries mid-run.
const bin = mkdtempSync(`${tmpdir()}/stoq-scaling-`);
const ENGINE = `${bin}/stoq-engine`;
const HOLDER = `${bin}/idle_holder`;
copyFileSync(`${targetDir}/release/stoq-engine`, ENGINE);
copyFileSync(`${targetDir}/release/examples/idle_holder`, HOLDER);
process.on('exit', () => rmSync(bin, { recursive: true, force: true }));

/** A process's resident set and its peak, bytes (/proc/PID/status). */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** A process's CPU time so far (user + system), ns (/proc/PID/stat, in clock ticks: its exited threads included). */
function cpuNs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
}

/**
 * The CPU time its threads have run so far, ns (/proc/PID/task/TID/schedstat, the scheduler's own count: no
 * tick rounding). Exited threads are not counted: for a process whose threads live as long as it does.
 */
function runNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that exited between the listing and the read
    }
  }
  return ns;
}

/** The first line of a child's stdout that matches. */
function lineOf(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${what}: no "${pattern.source}" within 30 s`)), 30_000);
    lines.on('line', (l) => {
      const m = pattern.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}) before "${pattern.source}"`)));
  });
}

interface Server {
  child: ChildProcess;
  address: string;
  baseline: number;
}

/** Children still running, ended if the bench fails. */
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((c) => c.kill('SIGKILL')));

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** A fresh server, pinned; with `idleTimeoutNs`, its own idle timeout (otherwise the engine's default, 5 s). */
async function startServer(idleTimeoutNs?: number): Promise<Server> {
  const idle = idleTimeoutNs === undefined ? [] : ['--idle-timeout-ms', String(idleTimeoutNs / 1e6)];
  const child = track(spawn('taskset', ['-c', SERVER_CPU, ENGINE, 'server', '--listen', '[::1]:0', '--threads', '1', ...idle], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const m = await lineOf(child, /^listening on (\S+)/, 'stoq-engine server');
  return { child, address: m[1], baseline: memory(child.pid!).rss };
}

function stopServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.child.on('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

/** What `stoq-engine run` prints last (the engine's units: ns, bytes). */
interface EngineResult {
  state: string;
  durationNs: number;
  totals: { bytesReceived: number; completed: number };
  intervals: { startNs: number; endNs: number; bytesReceived: number }[];
  connections: { state: string; connectNs?: number | null; handshakeNs?: number | null }[];
  error?: { message: string } | null;
}

/** One client run against `server`, pinned; its result, its own CPU time and its peak resident set. */
async function client(server: Server, scenario: object, errorsAllowed = false): Promise<{ result: EngineResult; cpuNs: number; peakRss: number }> {
  const child = track(spawn('taskset', ['-c', CLIENT_CPU, ENGINE, 'run', JSON.stringify(scenario), '--target', server.address, '--interval-ms', String(INTERVAL_MS)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  let peakRss = 0;
  let cpu = 0;
  // Sampled while it runs: /proc is gone once it exits. VmHWM is the kernel's own peak.
  const sampler = setInterval(() => {
    try {
      // An exited process not yet reaped has no VmHWM line (NaN): that sample is skipped.
      const m = memory(child.pid!).hwm;
      if (Number.isFinite(m)) peakRss = Math.max(peakRss, m);
      cpu = cpuNs(child.pid!);
    } catch {
      // exited between two samples
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`stoq-engine run: exit ${code}: ${err}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as EngineResult;
  if (result.state !== 'completed' && !(errorsAllowed && result.state === 'errored')) throw new Error(`stoq-engine run ${JSON.stringify(scenario)}: ${result.state} ${result.error?.message ?? ''}`);
  return { result, cpuNs: cpu, peakRss };
}

const GIB = 2 ** 30;
const INTERVAL_MS = 250;
/** Time allowed for the handshakes before the measured seconds: 0.5 s, and 6 ms per connection. */
const warmUpNs = (n: number) => Math.ceil((0.5e9 + n * 6e6) / (INTERVAL_MS * 1e6)) * INTERVAL_MS * 1e6;

/** When the last connection's handshake completed, ns since the run started (null: none completed). */
function establishedNs(r: EngineResult): number | null {
  const done = r.connections.filter((c) => c.connectNs != null && c.handshakeNs != null).map((c) => c.connectNs! + c.handshakeNs!);
  return done.length ? Math.max(...done) : null;
}

/** Steady goodput, bit/s: the client's bytes received in the whole intervals that start once every
 *  connection that completed its handshake had (a failed one is counted apart, as errored) and end by the
 *  run's stop (`stopNs`, its duration: later intervals only drain); null, said, when the last handshake
 *  left no whole interval before the stop. */
function steadyGoodput(r: EngineResult, stopNs: number, what: string): number | null {
  const fromNs = establishedNs(r) ?? Infinity;
  const whole = r.intervals.filter((i) => i.startNs >= fromNs && i.endNs <= stopNs && i.endNs - i.startNs === INTERVAL_MS * 1e6);
  const ns = whole.reduce((t, i) => t + i.endNs - i.startNs, 0);
  if (ns === 0) {
    console.log(`${what}: no whole interval after the last handshake (at ${(fromNs / 1e9).toFixed(2)} s): goodput not measured`);
    return null;
  }
  return (whole.reduce((t, i) => t + i.bytesReceived, 0) * 8) / (ns / 1e9);
}
const hardware = `${cpus()[0]?.model.trim()} x${cpus().length}, Linux ${release()}`;
// Other work on the host shares the two cores: its load average (1, 5, 15 min) is recorded with the figures.
const load = () => loadavg().map((l) => Number(l.toFixed(2)));
const loadBefore = load();
console.log(
  `connection scaling on ${hardware}; server on CPU ${SERVER_CPU}, client on CPU ${CLIENT_CPU}; ${ROUNDS} interleaved rounds of ${SECONDS} s; median [min, max]; load average ${loadBefore.join(' ')}`,
);

type Series = number[];
const span = (v: Series) => (v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v), values: v } : null);
const scale = new Map<number, Record<'errored' | 'established' | 'goodput' | 'ratio' | 'clientCpu' | 'serverCpu' | 'clientMem' | 'serverMem', Series>>(
  COUNTS.map((n) => [n, { errored: [], established: [], goodput: [], ratio: [], clientCpu: [], serverCpu: [], clientMem: [], serverMem: [] }]),
);
const idle = new Map<number, Record<'cpuPerRoundTrip' | 'ratio' | 'idleCpu' | 'serverMem', Series>>(
  IDLE_COUNTS.map((n) => [n, { cpuPerRoundTrip: [], ratio: [], idleCpu: [], serverMem: [] }]),
);
/** How long the server's CPU time is read with the idle connections alone. */
const IDLE_WINDOW_MS = 1000;
const threads = new Map<number, Record<'goodput' | 'ratio', Series>>([1, 2].map((t) => [t, { goodput: [], ratio: [] }]));
const durationNs = SECONDS * 1e9;
// Every run with the same transport settings, on both sides; a 30 s idle timeout, so that a connection starved
// for a few seconds under 5,000 at full rate on one core is counted, not ended.
const settings = { idleTimeoutNs: 30e9 };

for (let round = 0; round < ROUNDS; round++) {
  const goodput = new Map<number, number | null>();
  const peak = new Map<number, number>();
  for (let k = 0; k < COUNTS.length; k++) {
    const n = COUNTS[(k + round) % COUNTS.length];
    const server = await startServer(settings.idleTimeoutNs);
    const before = cpuNs(server.child.pid!);
    // At the largest counts a connection may not finish its handshake in time on one client core: it is
    // counted (errored connections), and the goodput is what the others moved.
    const stopNs = warmUpNs(n) + durationNs;
    const c = await client(server, { kind: 'download', connections: n, durationNs: stopNs, settings }, true);
    const serverCpu = cpuNs(server.child.pid!) - before;
    const serverPeak = memory(server.child.pid!).hwm;
    await stopServer(server);
    const bytes = c.result.totals.bytesReceived;
    if (!(bytes > 0)) throw new Error(`${n} connections: no byte received`);
    const s = scale.get(n)!;
    goodput.set(n, steadyGoodput(c.result, stopNs, `${n} connections`));
    const established = establishedNs(c.result);
    if (established != null) s.established.push(established / 1e9);
    peak.set(n, c.peakRss);
    if (goodput.get(n) != null) s.goodput.push(goodput.get(n)!);
    s.errored.push(c.result.connections.filter((x) => x.state !== 'completed').length);
    s.clientCpu.push(c.cpuNs / 1e9 / (bytes / GIB));
    s.serverCpu.push(serverCpu / 1e9 / (bytes / GIB));
    s.serverMem.push((serverPeak - server.baseline) / n);
  }
  for (const n of COUNTS) {
    if (goodput.get(n) != null && goodput.get(1) != null) scale.get(n)!.ratio.push(goodput.get(n)! / goodput.get(1)!);
    if (n > 1) scale.get(n)!.clientMem.push((peak.get(n)! - peak.get(1)!) / (n - 1));
  }
  const perRoundTrip = new Map<number, number>();
  for (let k = 0; k < IDLE_COUNTS.length; k++) {
    const n = IDLE_COUNTS[(k + round) % IDLE_COUNTS.length];
    const server = await startServer(settings.idleTimeoutNs);
    let holder: ChildProcess | undefined;
    if (n > 0) {
      holder = track(spawn('taskset', ['-c', CLIENT_CPU, HOLDER, '--target', server.address, '--connections', String(n), '--seconds', String(SECONDS * 4)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      try {
        await lineOf(holder, /^held (\d+)/, 'idle_holder');
      } catch (e) {
        // Not all held open in time (a loaded host): this count has no figure this round.
        console.log(`${n} idle connections: ${(e as Error).message}: not measured this round`);
        holder.kill();
        await stopServer(server);
        continue;
      }
      // Let the handshakes' last acknowledgments settle before the measurement.
      await new Promise((r) => setTimeout(r, 200));
    }
    const held = memory(server.child.pid!).rss;
    const quiet = runNs(server.child.pid!);
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const before = runNs(server.child.pid!);
    const c = await client(server, { kind: 'latency', connections: 1, durationNs, settings });
    const serverCpu = runNs(server.child.pid!) - before;
    if (holder) {
      const open = lineOf(holder, /^open (\d+)/, 'idle_holder');
      holder.stdin!.end();
      const still = Number((await open)[1]);
      await new Promise((r) => (holder.exitCode === null ? holder.on('exit', r) : r(null)));
      if (still !== n) throw new Error(`${n} idle connections: ${still} still open after the round trips; the figure would not be of ${n}`);
    }
    await stopServer(server);
    const trips = c.result.totals.completed;
    if (!(trips > 0)) throw new Error(`${n} idle connections: no round trip completed`);
    perRoundTrip.set(n, serverCpu / trips);
    idle.get(n)!.cpuPerRoundTrip.push(serverCpu / trips);
    idle.get(n)!.idleCpu.push((before - quiet) / (IDLE_WINDOW_MS / 1000));
    if (n > 0) idle.get(n)!.serverMem.push((held - server.baseline) / n);
  }
  for (const n of IDLE_COUNTS) if (perRoundTrip.has(n) && perRoundTrip.has(0)) idle.get(n)!.ratio.push(perRoundTrip.get(n)! / perRoundTrip.get(0)!);
  const byThreads = new Map<number, number | null>();
  for (const t of round % 2 === 0 ? [1, 2] : [2, 1]) {
    const server = await startServer();
    const stopNs = warmUpNs(10) + durationNs;
    const c = await client(server, { kind: 'download', connections: 10, durationNs: stopNs, settings: { ...settings, threads: t } });
    await stopServer(server);
    byThreads.set(t, steadyGoodput(c.result, stopNs, `${t} client threads`));
  }
  for (const t of [1, 2]) {
    if (byThreads.get(t) != null) threads.get(t)!.goodput.push(byThreads.get(t)!);
    if (byThreads.get(t) != null && byThreads.get(1) != null) threads.get(t)!.ratio.push(byThreads.get(t)! / byThreads.get(1)!);
  }
}

const range = (v: Series, f: (x: number) => string) => (v.length ? `${f(median(v))} [${f(Math.min(...v))}, ${f(Math.max(...v))}]` : '-');
const x = (v: number) => `${v.toFixed(2)}x`;
const us = (v: number) => `${(v / 1000).toFixed(1)} us`;
const sPerGiB = (v: number) => `${v.toFixed(2)} s/GiB`;
const sec = (v: number) => `${v.toFixed(2)} s`;
console.log(
  `\ndownload, N connections (at most ${HANDSHAKES_IN_FLIGHT} handshakes under way): aggregate goodput (client-received, whole intervals after the last handshake), ratio to 1 connection, ` +
    'when the last handshake completed, CPU per GiB (whole run) and memory per connection of each side',
);
for (const n of COUNTS) {
  const s = scale.get(n)!;
  console.log(
    `${String(n).padStart(5)}: ${range(s.goodput, formatRate)}, ${range(s.ratio, x)}; all established at ${range(s.established, sec)}; CPU client ${range(s.clientCpu, sPerGiB)}, server ${range(s.serverCpu, sPerGiB)}; ` +
      `memory per connection client ${range(s.clientMem, formatBytes)}, server ${range(s.serverMem, formatBytes)}; connections errored ${s.errored.join(', ')}`,
  );
}
const msPerS = (v: number) => `${(v / 1e6).toFixed(2)} ms/s`;
console.log('\nserver CPU per round trip (one 64-byte request in flight; /proc schedstat) with N idle connections held open; server CPU per second with the idle connections alone');
for (const n of IDLE_COUNTS) {
  const s = idle.get(n)!;
  console.log(
    `${String(n).padStart(5)} idle: ${range(s.cpuPerRoundTrip, us)}, ${range(s.ratio, x)} of none; alone ${range(s.idleCpu, msPerS)}; ` +
      `server memory per idle connection ${range(s.serverMem, formatBytes)}`,
  );
}
console.log('\n10 download connections, client threads (client on CPU 1, one server thread on CPU 0)');
for (const t of [1, 2]) console.log(`${t} thread(s): ${range(threads.get(t)!.goodput, formatRate)}, ${range(threads.get(t)!.ratio, x)} of one`);

const results = {
  date: new Date().toISOString(),
  hardware,
  loadAverage: { before: loadBefore, after: load() },
  command: `node --import ./bench/register.js bench/scaling.ts ${args.join(' ')}`.trim(),
  method:
    `stoq-engine server (1 thread, taskset -c ${SERVER_CPU}; with idle connections, idle timeout ${settings.idleTimeoutNs / 1e9} s) and stoq-engine run (taskset -c ${CLIENT_CPU}) as separate processes over [::1]; ` +
    `the client opens connections with at most ${HANDSHAKES_IN_FLIGHT} handshakes under way, goodput counted from the last handshake on; ` +
    `memory and CPU from /proc (per GiB: /proc/PID/stat; idle connections: /proc/PID/task/*/schedstat, every holder connection checked open after the round trips); ${ROUNDS} interleaved rounds, rotating order`,
  handshakesInFlight: HANDSHAKES_IN_FLIGHT,
  rounds: ROUNDS,
  seconds: SECONDS,
  download: COUNTS.map((n) => {
    const s = scale.get(n)!;
    return {
      connections: n,
      connectionsErrored: s.errored,
      lastHandshakeSeconds: span(s.established),
      goodputBps: span(s.goodput),
      ratioToOne: span(s.ratio),
      clientCpuSecondsPerGiB: span(s.clientCpu),
      serverCpuSecondsPerGiB: span(s.serverCpu),
      clientRssPerConnectionBytes: n > 1 ? span(s.clientMem) : null,
      serverRssPerConnectionBytes: span(s.serverMem),
    };
  }),
  idle: IDLE_COUNTS.map((n) => {
    const s = idle.get(n)!;
    return {
      idleConnections: n,
      serverCpuNsPerRoundTrip: span(s.cpuPerRoundTrip),
      ratioToNone: span(s.ratio),
      serverCpuNsPerSecondIdle: span(s.idleCpu),
      serverRssPerIdleConnectionBytes: n > 0 ? span(s.serverMem) : null,
    };
  }),
  clientThreads: [1, 2].map((t) => ({ threads: t, connections: 10, goodputBps: span(threads.get(t)!.goodput), ratioToOne: span(threads.get(t)!.ratio) })),
};
mkdirSync(`${root}bench/results`, { recursive: true });
writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nload average ${results.loadAverage.after.join(' ')}; results written to ${OUT}`);
