// A distributed session on one machine, for the README's "Many client hosts" figures: one server node and
// three client nodes (network namespaces on one bridge, fd00::/64), each client running the command line
// of its pod in the rendered Job, all started for one instant, merged with `fleet merge`. Every session is
// checked as the tests check it (the clients' bytes equal the server's counters; the merged histogram is
// the histogram of every raw sample) before its record is kept.
//
//   node --import ./bench/register.js bench/fleet.ts [--sessions 5] [--out bench/results/readme-fleet.jsonl]
import { mkdtempSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/files.js';
import { buckets, decodeHistogram, histogramOfNs } from '../src/fleet/histogram.js';
import { readClientLog } from '../src/fleet/logs.js';
import { median } from '../src/stats/index.js';
import { simulateFleet } from '../test/fleet/simulation.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const sessions = Number(opt('sessions', '5'));
const out = opt('out', 'bench/results/readme-fleet.jsonl');
const CLIENTS = 3;
const SCENARIO = ['--scenario', 'requests', '--count', '100000', '--connections', '2', '--inflight', '4', '--request-size', '100', '--response-size', '1000', '--interval', '200ms'];

console.log(`${sessions} sessions of ${CLIENTS} client nodes and one server node; fleet render ${SCENARIO.join(' ')}`);
console.log(`host: ${cpus()[0]?.model} x ${cpus().length}, Linux ${release()}, Node ${process.version}`);
const records = [];
for (let s = 0; s < sessions; s++) {
  const sim = await simulateFleet({ clients: CLIENTS, scenario: SCENARIO, startInMs: 5000, dir: mkdtempSync(join(tmpdir(), 'stoq-fleet-bench-')) });
  const m = sim.merged;
  if (m.end.state !== 'completed') throw new Error(`session ${s}: ${m.end.state}: ${m.end.error?.message}`);
  if (m.end.bytesSent !== sim.server.bytesReceived || m.end.bytesReceived !== sim.server.bytesSent) {
    throw new Error(`session ${s}: the clients' bytes (${m.end.bytesSent} sent, ${m.end.bytesReceived} received) differ from the server's (${sim.server.bytesReceived} received, ${sim.server.bytesSent} sent)`);
  }
  const raw = sim.logs.flatMap((log, i) => readClientLog(log, `client ${i}`).records[0].samples!.latencyUs.map((us) => Math.round(us * 1e3)));
  if (JSON.stringify(buckets(decodeHistogram(m.end.latency!.histogram!, 'merged'))) !== JSON.stringify(buckets(histogramOfNs(raw)))) {
    throw new Error(`session ${s}: the merged histogram is not the histogram of the ${raw.length} raw samples`);
  }
  const late = m.fleet.clients.map((c) => `${((c.lateUs ?? NaN) / 1e3).toFixed(1)} ms${c.late ? ' (late)' : ''}`).join(', ');
  console.log(
    `session ${s + 1}: ${m.end.requestsPerSecond!.toFixed(0)} requests/s in a steady span of ${m.fleet.steady!.durationS.toFixed(2)} s; ` +
      `Jain's index ${m.fleet.fairness!.index.toFixed(4)}; p50 ${m.end.latency!.p50Us} us, p99 ${m.end.latency!.p99Us} us; started ${late} after the instant; ` +
      `bytes equal to the server's, histogram equal to that of all ${raw.length} samples`,
  );
  records.push(m);
}
const rates = records.map((r) => r.end.requestsPerSecond!);
const jain = records.map((r) => r.fleet.fairness!.index);
console.log(`median: ${median(rates).toFixed(0)} requests/s (range ${Math.min(...rates).toFixed(0)} to ${Math.max(...rates).toFixed(0)}); Jain's index ${median(jain).toFixed(4)}`);
writeFileAtomic(out, records.map((r) => JSON.stringify(r)).join('\n') + '\n', { name: `--out ${out}` });
console.log(`wrote ${out}`);
