// A distributed session without a cluster: one server "node" and N client "nodes" (network namespaces on
// one bridge, fd00::/64). `fleet render` writes the session's Job; each client node runs exactly the command
// line of the Job's pod for its completion index (JOB_COMPLETION_INDEX set as the Job controller sets it),
// all waiting for the rendered start instant; their outputs are kept as `kubectl logs` would give them and
// merged with `fleet merge`; the server's own counters are read when it stops.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, type V1Job } from '@kubernetes/client-node';
import type { FleetRecord } from '../../src/fleet/merge.js';
import { COMPLETION_INDEX_ENV, podCommand } from '../../src/fleet/render.js';
import type { ServerStats } from '../../src/server.js';
import { cli } from '../helpers.js';
import { createBridgedTestbed } from '../netns/testbed.js';

export interface SimulationOptions {
  clients: number;
  /** `fleet render` flags of the scenario, e.g. ['--scenario', 'requests', '--count', '4000']. */
  scenario: string[];
  /** The clients start together this long after they are launched, ms. */
  startInMs: number;
  /** Where the pods' logs and the merged record are written. */
  dir: string;
}

export interface Simulation {
  job: V1Job;
  /** The command line each client node ran, by completion index. */
  commands: string[][];
  /** Each client's output as `kubectl logs` gives it (its record on stdout, its messages on stderr). */
  logs: string[];
  exitCodes: Array<number | null>;
  /** The server's counters when it stopped. */
  server: ServerStats;
  merged: FleetRecord;
  /** The merged record's file (one JSON line). */
  out: string;
}

export async function simulateFleet(o: SimulationOptions): Promise<Simulation> {
  mkdirSync(o.dir, { recursive: true });
  const bed = createBridgedTestbed(o.clients);
  try {
    const server = await bed.server.server();
    let serverOut = '';
    server.child.stdout!.on('data', (d) => (serverOut += d));
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    const startAt = new Date(Date.now() + o.startInMs).toISOString();
    const render = await cli(['fleet', 'render', '--clients', String(o.clients), '--image', 'stoq-bench:simulation', '--name', 'simulation', '--target', server.address, '--start-at', startAt, ...o.scenario]);
    if (render.code !== 0) throw new Error(`fleet render: ${render.stderr}`);
    const job = (loadAllYaml(render.stdout) as Array<{ kind?: string }>).find((x) => x.kind === 'Job') as V1Job;
    const commands = Array.from({ length: o.clients }, (_, i) => podCommand(job, i));
    const runs = await Promise.all(
      commands.map((command, i) => {
        if (command[0] !== 'stoq-bench') throw new Error(`the pod runs ${command[0]}, not stoq-bench`);
        return bed.clients[i].cli(command.slice(1), { [COMPLETION_INDEX_ENV]: String(i) });
      }),
    );
    server.child.kill('SIGTERM');
    await exited;
    const stopped = serverOut.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string } & ServerStats).find((e) => e.event === 'stopped');
    if (!stopped) throw new Error(`the server did not report its counters: ${serverOut}`);
    const logs = runs.map((r) => `${r.stderr}${r.stdout}`);
    const files = logs.map((log, i) => {
      const file = join(o.dir, `client-${i}.log`);
      writeFileSync(file, log);
      return file;
    });
    const out = join(o.dir, 'session.jsonl');
    const merge = await cli(['fleet', 'merge', ...files, '--json', '--out', out]);
    if (merge.code !== 0 && merge.code !== 3) throw new Error(`fleet merge: ${merge.stderr}`);
    return { job, commands, logs, exitCodes: runs.map((r) => r.code), server: stopped, merged: JSON.parse(merge.stdout) as FleetRecord, out };
  } finally {
    bed.close();
  }
}
