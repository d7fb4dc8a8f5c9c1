// stoq-bench side by side with the perf tools of two other QUIC stacks, each as its own client and server.
//
// Tools: stoq-bench (`stoq-bench server` and `stoq-bench run --target`, quiche), and the perf peers of the
// interoperability tests, built from registries at run time by scripts/build-interop.sh: quinn (rustls on
// ring, tokio) and quic-go. Every tool runs as two processes pinned the same way: server on CPU 0, client
// on CPU 1 (`taskset`), over [::1], with the same largest UDP payload (--payload-size, default 1350; path
// MTU discovery off) and the same congestion control (CUBIC: every tool's default; none of the peers lets
// it be chosen, so stoq-bench is given --cc cubic explicitly). Each measurement starts a fresh server.
//
// Measures, per tool:
//   download, upload  one connection, one stream, --bytes each way; goodput = application bytes x 8 / the
//                     client's own time from its first connect to the transfer's end (the same span in
//                     every tool: handshake included, closing excluded)
//   CPU s/GiB         client and server, (utime + stime) / GiB moved. Server: /proc/PID/stat just before
//                     the client starts and once its byte counts are in. Client: its whole process (start,
//                     handshake, transfer, exit), read as the cutime + cstime of the shell that waited for
//                     it, less the tool's start-up cost (median over rounds of its client CPU in an empty
//                     run: one connection, one request of 0 bytes each way), which is reported apart
//   latency p50/p99   --requests round trips on one connection, one 64-byte request and 64-byte response in
//                     flight, each timed by the client from opening its stream to the response's end;
//                     quantiles by Hyndman-Fan type 7 over all of them
//   empty run         the client's and server's CPU seconds for one connection with one empty request
//   handshakes/s      --handshakes connections one after another, each closed once established, over the
//                     client's time
// Byte counts (and connection counts) are checked on both sides before any figure is used: a run whose
// counts differ from what was asked is listed as failed and contributes nothing. stoq-bench's client, as
// every `stoq-bench run --target`, also opens its view connection to read the server's side of the run:
// the server's count must hold it too, and its cost is the client's (its handshake falls in the start-up). Rounds are interleaved:
// in each round every measurement runs once per tool, the order of the tools rotating each round.
// Figures are medians over rounds with [min, max]; ratios are stoq-bench's median over the peer's.
//
//   node --import ./bench/register.js bench/peers.ts [--rounds 3] [--bytes 1GiB] [--requests 2000]
//       [--handshakes 200] [--payload-size 1350] [--timeout 60] [--tools stoq-bench,quinn,quic-go]
//       [--measures download,upload,latency,handshakes] [--out FILE]
// --timeout bounds each client run, seconds. Exit 3 when any run failed (the rest is still written).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LiveServerStats } from '../src/server.js';
import type { RunRecord } from '../src/index.js';
import { describeHost } from '../src/environment/host.js';
import { writeFileAtomic } from '../src/files.js';
import { quantileSorted } from '../src/stats/index.js';
import { formatRate, parseSize } from '../src/units.js';
import { buildPeer, makeCertificates, PEER_BINARY, peerClientArgs, startPeerServer, type ClientReport, type PeerName, type PeerServer } from '../test/interop/peers.js';
import { byteCountProblem, connectionCountProblem, parseProcStat, ratioOf, spreadOf, type Spread } from './peers-method.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${root}bin/stoq-bench.js`;
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1] === undefined) throw new Error(`--${name} needs a value`);
  return i >= 0 ? args[i + 1] : fallback;
};
const count = (name: string, fallback: string) => {
  const v = Number(opt(name, fallback));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: a positive integer, not ${opt(name, fallback)}`);
  return v;
};
const ROUNDS = count('rounds', '3');
const BYTES = parseSize(opt('bytes', '1GiB'));
const REQUESTS = count('requests', '2000');
const HANDSHAKES = count('handshakes', '200');
const PAYLOAD = count('payload-size', '1350');
const TIMEOUT_S = count('timeout', '60');
const OUT = opt('out', `${root}bench/results/peers-latest.json`);
const TOOLS = opt('tools', 'stoq-bench,quinn,quic-go').split(',') as ToolName[];
const MEASURES = opt('measures', 'empty,download,upload,latency,handshakes').split(',') as Measure[];
const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const GIB = 2 ** 30;
const REQUEST_BYTES = 64;

type ToolName = 'stoq-bench' | PeerName;
type Measure = 'empty' | 'download' | 'upload' | 'latency' | 'handshakes';
for (const t of TOOLS) if (!['stoq-bench', 'quinn', 'quic-go'].includes(t)) throw new Error(`--tools: unknown tool ${t}`);
for (const m of MEASURES) if (!['empty', 'download', 'upload', 'latency', 'handshakes'].includes(m)) throw new Error(`--measures: unknown ${m}`);

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
if (!(TICKS > 0)) throw new Error('getconf CLK_TCK gave no clock tick rate');
const cpuOf = (pid: number) => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), TICKS).selfS;

/** What one measurement asks of every tool. */
interface Ask {
  sent: number;
  received: number;
  /** Request streams, and connections, the server must have served. */
  streams: number;
  connections: number;
}
const ASK: Record<Measure, Ask> = {
  empty: { sent: 0, received: 0, streams: 1, connections: 1 },
  download: { sent: 0, received: BYTES, streams: 1, connections: 1 },
  upload: { sent: BYTES, received: 0, streams: 1, connections: 1 },
  latency: { sent: REQUESTS * REQUEST_BYTES, received: REQUESTS * REQUEST_BYTES, streams: REQUESTS, connections: 1 },
  handshakes: { sent: 0, received: 0, streams: 0, connections: HANDSHAKES },
};

/** What a client reported of its run. */
interface ClientSide {
  sent: number;
  received: number;
  seconds: number;
  requestMicros: number[];
  handshakes: number;
  /** Connections the client opened besides the measured ones: stoq-bench's view connection, which reads
   * the server's side of the run (the server counts it among those it accepted). */
  otherConnections: number;
}

/** A running server: its pid and, once the run's streams are in, what it counted for them. */
interface Server {
  address: string;
  pid: number;
  /** Waits (bounded) until the server has served `ask` since `mark()`; its byte and connection counts. */
  served(ask: Ask): Promise<{ sent: number; received: number; connections: number }>;
  mark(): void;
  stop(): Promise<void>;
}

/** A tool: how to start its server and the command line of its client for a measurement. */
interface Tool {
  server(): Promise<Server>;
  client(measure: Measure, target: string): string[];
  parse(stdout: string, measure: Measure): ClientSide;
}

function pinned(cpu: number, argv: string[]): [string, string[]] {
  return ['taskset', ['-c', String(cpu), ...argv]];
}

// --- stoq-bench: `stoq-bench server` reports totals in its stats lines; the run record has the client's.
async function stoqServer(): Promise<Server> {
  const [bin, argv] = pinned(SERVER_CPU, [process.execPath, CLI, 'server', '--listen', '[::1]:0', '--json', '--stats-interval', '1', '--cc', 'cubic', '--payload-size', String(PAYLOAD)]);
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let latest: LiveServerStats | undefined;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stoq-bench server not ready in 20 s: ${stderr}`)), 20_000);
    rl.on('line', (line) => {
      const event = JSON.parse(line) as { event: string; address?: string };
      if (event.event === 'listening') {
        clearTimeout(timer);
        resolve(event.address!);
      } else if (event.event === 'stats') latest = event as unknown as LiveServerStats;
    });
    child.once('exit', (code) => reject(new Error(`stoq-bench server exited with ${code}: ${stderr}`)));
  });
  let base = { sent: 0, received: 0, accepted: 0, streams: 0 };
  return {
    address,
    pid: child.pid!,
    mark() {
      base = { sent: latest?.bytesSent ?? 0, received: latest?.bytesReceived ?? 0, accepted: latest?.accepted ?? 0, streams: latest?.streams ?? 0 };
    },
    async served(ask) {
      // Every connection closed and its streams counted: the totals of this run are final.
      const done = () => latest && latest.accepted - base.accepted >= ask.connections && latest.streams - base.streams >= ask.streams && latest.openConnections === 0;
      for (let waited = 0; !done() && waited < 5000; waited += 50) await sleep(50);
      const s = latest!;
      return { sent: s.bytesSent - base.sent, received: s.bytesReceived - base.received, connections: s.accepted - base.accepted };
    },
    stop: () => stopChild(child),
  };
}

const stoqBench: Tool = {
  server: stoqServer,
  client(measure, target) {
    const common = ['--target', target, '--json', '--no-history', '--cc', 'cubic', '--payload-size', String(PAYLOAD)];
    const scenario: Record<Measure, string[]> = {
      empty: ['--scenario', 'requests', '--count', '1', '--request-size', '0', '--response-size', '0'],
      download: ['--scenario', 'download', '--bytes', String(BYTES)],
      upload: ['--scenario', 'upload', '--bytes', String(BYTES)],
      latency: ['--scenario', 'latency', '--count', String(REQUESTS), '--request-size', String(REQUEST_BYTES), '--response-size', String(REQUEST_BYTES)],
      handshakes: ['--scenario', 'handshakes', '--count', String(HANDSHAKES), '--connections', '1'],
    };
    return [process.execPath, CLI, 'run', ...common, ...scenario[measure]];
  },
  parse(stdout, measure) {
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as RunRecord;
    if (r.end.state !== 'completed') throw new Error(`stoq-bench run ${r.end.state}: ${r.end.error?.message ?? ''}`);
    return {
      sent: r.end.bytesSent,
      received: r.end.bytesReceived,
      seconds: r.end.durationS,
      requestMicros: r.samples?.latencyUs ?? [],
      handshakes: measure === 'handshakes' ? r.end.completed : r.end.connections.completed,
      otherConnections: r.serverView.source === 'fetched' ? 1 : 0,
    };
  },
};

// --- the perf peers
function peerTool(peer: PeerName, identity: { cert: string; key: string }): Tool {
  return {
    async server() {
      const s: PeerServer = await startPeerServer(peer, identity, { payloadSize: PAYLOAD, cpu: SERVER_CPU });
      let base = { streams: 0, connections: 0 };
      return {
        address: s.address,
        pid: s.pid,
        mark: () => void (base = { streams: s.streams.length, connections: s.connections.length }),
        async served(ask) {
          await s.waitFor({ streams: base.streams + ask.streams, connections: base.connections + ask.connections }, 10_000);
          const streams = s.streams.slice(base.streams);
          const failed = streams.find((x) => x.error) ?? s.connections.slice(base.connections).find((x) => x.error);
          if (failed) throw new Error(`${peer} server: ${failed.error}`);
          return {
            sent: streams.reduce((a, x) => a + (x.downloadBytes ?? 0), 0),
            received: streams.reduce((a, x) => a + (x.uploadBytes ?? 0), 0),
            connections: s.connections.length - base.connections,
          };
        },
        stop: () => s.stop(),
      };
    },
    client(measure, target) {
      const timeout = `${TIMEOUT_S}s`;
      const options = {
        empty: { requests: 1 },
        download: { download: BYTES },
        upload: { upload: BYTES },
        latency: { upload: REQUEST_BYTES, download: REQUEST_BYTES, requests: REQUESTS, inflight: 1, latencies: true },
        handshakes: { connections: HANDSHAKES, requests: 0 },
      }[measure];
      return [PEER_BINARY[peer], ...peerClientArgs(target, { ...options, payloadSize: PAYLOAD, timeout })];
    },
    parse(stdout) {
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as ClientReport;
      if (r.event !== 'done') throw new Error(`${peer} client: ${r.error}`);
      return { sent: r.uploadBytes!, received: r.downloadBytes!, seconds: r.seconds!, requestMicros: r.requestMicros ?? [], handshakes: r.connections!, otherConnections: 0 };
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Runs `argv` pinned to the client CPU under a shell that, once it has waited for it, writes its own
 * /proc/PID/stat to fd 3: cutime + cstime there are the client's whole CPU time. Bounded by --timeout.
 */
function runClient(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string; cpuS: number }> {
  const script = 'taskset -c "$0" "$@"; rc=$?; cat /proc/$$/stat >&3; exit $rc';
  const child = spawn('sh', ['-c', script, String(CLIENT_CPU), ...argv], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
  const out = { stdout: '', stderr: '', stat: '' };
  child.stdout!.on('data', (d: Buffer) => void (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (out.stderr += d.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => void (out.stat += d.toString()));
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), (TIMEOUT_S + 10) * 1000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      const cpuS = out.stat ? parseProcStat(out.stat, TICKS).childrenS : NaN;
      resolve({ code, stdout: out.stdout, stderr: out.stderr, cpuS });
    });
  });
}

/** One figure set of one run of one tool. */
interface Figures {
  goodputBps?: number;
  /** The client's whole-process CPU, seconds (empty, download, upload). */
  clientCpuS?: number;
  serverCpuS?: number;
  clientCpuSPerGiB?: number;
  serverCpuSPerGiB?: number;
  p50Us?: number;
  p99Us?: number;
  handshakesPerSecond?: number;
}

async function measureOnce(tool: Tool, measure: Measure): Promise<Figures> {
  const server = await tool.server();
  try {
    const ask = ASK[measure];
    server.mark();
    const cpu0 = cpuOf(server.pid);
    const r = await runClient(tool.client(measure, server.address));
    if (r.code !== 0) throw new Error(`client exit ${r.code}: ${r.stdout.slice(-400)} ${r.stderr.slice(-400)}`);
    const c = tool.parse(r.stdout, measure);
    const s = await server.served(ask);
    const serverCpuS = cpuOf(server.pid) - cpu0;
    const problem = byteCountProblem(ask, { clientSent: c.sent, clientReceived: c.received, serverSent: s.sent, serverReceived: s.received });
    if (problem) throw new Error(`byte counts: ${problem}`);
    const wrong = connectionCountProblem(
      { connections: ask.connections, completed: measure === 'handshakes' ? HANDSHAKES : 1 },
      { serverAccepted: s.connections, clientCompleted: c.handshakes, clientOther: c.otherConnections },
    );
    if (wrong) throw new Error(`connections: ${wrong}`);
    const moved = (ask.sent + ask.received) / GIB;
    if (measure === 'download' || measure === 'upload') {
      // clientCpuSPerGiB is completed from clientCpuS once the start-up cost is known.
      return { goodputBps: (BYTES * 8) / c.seconds, clientCpuS: r.cpuS, serverCpuSPerGiB: serverCpuS / moved };
    }
    if (measure === 'empty') return { clientCpuS: r.cpuS, serverCpuS };
    if (measure === 'latency') {
      if (c.requestMicros.length !== REQUESTS) throw new Error(`${c.requestMicros.length} request times for ${REQUESTS} requests`);
      const sorted = Float64Array.from(c.requestMicros).sort();
      return { p50Us: quantileSorted(sorted, 0.5), p99Us: quantileSorted(sorted, 0.99) };
    }
    return { handshakesPerSecond: HANDSHAKES / c.seconds };
  } finally {
    await server.stop();
  }
}

// --- the run
const host = describeHost();
const hardware = `${host.cpu.model} x${host.cpu.count} (${host.cpu.availableParallelism} available), Linux ${host.identity.kernel}, loopback MTU ${host.loopbackMtu ?? '-'}`;
// Other work on the host adds noise to every figure: the load average (1, 5, 15 minutes) at the start
// and at the end says how busy the host was.
const loadAtStart = loadavg();
console.log(`stoq-bench beside other QUIC perf tools on ${hardware}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  `method: ${ROUNDS} interleaved rounds, tool order rotating; server pinned to CPU ${SERVER_CPU}, client to CPU ${CLIENT_CPU}, separate processes, [::1]; ` +
    `UDP payload ${PAYLOAD} B (no path MTU discovery), CUBIC; transfers of ${BYTES} B on one connection; ${REQUESTS} sequential 64-byte round trips; ` +
    `${HANDSHAKES} sequential handshakes; byte counts checked on both sides before use; median [min, max] over rounds`,
);

const certificates = await makeCertificates();
const tools: Partial<Record<ToolName, Tool>> = {};
try {
  for (const t of TOOLS) {
    if (t === 'stoq-bench') tools[t] = stoqBench;
    else {
      await buildPeer(t);
      tools[t] = peerTool(t, certificates.identity('ecdsa-p256'));
    }
  }
  const values: Record<string, Record<string, number[]>> = {};
  const failures: Array<{ round: number; tool: string; measure: string; error: string }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const measure of MEASURES) {
      const order = TOOLS.map((_, i) => TOOLS[(i + round) % TOOLS.length]);
      for (const name of order) {
        try {
          const f = await measureOnce(tools[name]!, measure);
          for (const [k, v] of Object.entries(f)) ((values[`${measure}.${k}`] ??= {})[name] ??= []).push(v);
          console.error(`  round ${round + 1} ${measure} ${name}: ${Object.entries(f).map(([k, v]) => `${k} ${k === 'goodputBps' ? formatRate(v) : v.toFixed(3)}`).join(', ')}`);
        } catch (e) {
          const error = (e as Error).message;
          failures.push({ round: round + 1, tool: name, measure, error });
          console.error(`  round ${round + 1} ${measure} ${name}: FAILED (not used): ${error}`);
        }
      }
    }
  }

  // The client's CPU per GiB net of its start-up cost (the median of its empty runs).
  for (const t of TOOLS) {
    const startup = spreadOf(values['empty.clientCpuS']?.[t] ?? []);
    for (const m of ['download', 'upload']) {
      const raw = values[`${m}.clientCpuS`]?.[t];
      if (startup && raw) ((values[`${m}.clientCpuSPerGiB`] ??= {})[t] = raw.map((v) => (v - startup.median) / (BYTES / GIB)));
    }
  }
  const FIGURES: Array<[string, string, (v: number) => string, 'higher' | 'lower']> = [
    ['empty.clientCpuS', 'empty run client CPU s (start-up, handshake, exit)', (v) => v.toFixed(3), 'lower'],
    ['empty.serverCpuS', 'empty run server CPU s', (v) => v.toFixed(3), 'lower'],
    ['download.goodputBps', 'download goodput', formatRate, 'higher'],
    ['download.clientCpuSPerGiB', 'download client CPU s/GiB (receiver, start-up excluded)', (v) => v.toFixed(3), 'lower'],
    ['download.serverCpuSPerGiB', 'download server CPU s/GiB (sender)', (v) => v.toFixed(3), 'lower'],
    ['upload.goodputBps', 'upload goodput', formatRate, 'higher'],
    ['upload.clientCpuSPerGiB', 'upload client CPU s/GiB (sender, start-up excluded)', (v) => v.toFixed(3), 'lower'],
    ['upload.serverCpuSPerGiB', 'upload server CPU s/GiB (receiver)', (v) => v.toFixed(3), 'lower'],
    ['latency.p50Us', 'latency p50, us (client)', (v) => v.toFixed(1), 'lower'],
    ['latency.p99Us', 'latency p99, us (client)', (v) => v.toFixed(1), 'lower'],
    ['handshakes.handshakesPerSecond', 'handshakes per second (client)', (v) => v.toFixed(0), 'higher'],
  ];
  const results = [];
  for (const [key, label, format, better] of FIGURES) {
    if (!MEASURES.includes(key.split('.')[0] as Measure)) continue;
    const spreads: Record<string, Spread | null> = Object.fromEntries(TOOLS.map((t) => [t, spreadOf(values[key]?.[t] ?? [])]));
    const cell = (s: Spread | null) => (s ? `${format(s.median)} [${format(s.min)}, ${format(s.max)}] n=${s.values.length}` : '-');
    const ratios: Record<string, number | null> = {};
    for (const peer of TOOLS.filter((t) => t !== 'stoq-bench')) ratios[`stoq-bench/${peer}`] = ratioOf(spreads['stoq-bench'], spreads[peer]);
    console.log(`${label} (${better} is better):`);
    for (const t of TOOLS) console.log(`  ${t.padEnd(10)} ${cell(spreads[t])}`);
    console.log(`  ratios: ${Object.entries(ratios).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(3)}`).join(', ')}`);
    results.push({ figure: key, label, better, ...spreads, ratios });
  }
  if (failures.length > 0) console.log(`${failures.length} run(s) failed and were not used (see "failures" in the results file)`);
  mkdirSync(`${root}bench/results`, { recursive: true });
  const method = {
    rounds: ROUNDS,
    bytes: BYTES,
    requests: REQUESTS,
    handshakes: HANDSHAKES,
    payloadSize: PAYLOAD,
    congestionControl: 'cubic',
    serverCpu: SERVER_CPU,
    clientCpu: CLIENT_CPU,
    timeoutS: TIMEOUT_S,
    tools: TOOLS,
  };
  const hostReport = { cpu: host.cpu.model, cpus: host.cpu.count, availableParallelism: host.cpu.availableParallelism, kernel: host.identity.kernel, loopbackMtu: host.loopbackMtu, fingerprint: host.fingerprint, versions: host.versions };
  const loadAverage = { start: loadAtStart, end: loadavg() };
  console.log(`load average at the end ${loadAverage.end.map((l) => l.toFixed(2)).join(' ')}`);
  writeFileAtomic(OUT, `${JSON.stringify({ date: new Date().toISOString(), hardware: hostReport, loadAverage, method, results, failures }, null, 2)}\n`);
  console.log(`results written to ${OUT}`);
  process.exitCode = failures.length > 0 ? 3 : 0;
} finally {
  certificates.remove();
}
