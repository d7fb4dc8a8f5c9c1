// A kubectl stand-in for `fleet collect` tests: answers `get`, `wait` and `logs` from a cluster described
// in a JSON file, and logs every call. No cluster, no network.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeCluster {
  jobs: unknown[];
  pods: unknown[];
  /** Pod name -> its log; a pod absent here has no log (its container never started). */
  logs: Record<string, string>;
  /** The condition the Job reaches; `none`: it never finishes. */
  condition: 'Complete' | 'Failed' | 'none';
}

export interface FakeKubectl {
  /** The executable to pass as --kubectl. */
  path: string;
  /** Every call's arguments, in order. */
  calls(): string[][];
}

const SCRIPT = String.raw`#!/usr/bin/env node
import { appendFileSync, readFileSync } from 'node:fs';
const dir = new URL('.', import.meta.url).pathname;
const cluster = JSON.parse(readFileSync(dir + 'cluster.json', 'utf8'));
const argv = process.argv.slice(2);
appendFileSync(dir + 'calls.jsonl', JSON.stringify(argv) + '\n');
const args = [];
for (let i = 0; i < argv.length; i++) {
  if (['--kubeconfig', '--context', '--namespace'].includes(argv[i])) i++;
  else args.push(argv[i]);
}
const flag = (name) => args[args.indexOf(name) + 1];
const matches = (o, selector) => selector.split(',').every((kv) => { const [k, v] = kv.split('='); return o.metadata.labels?.[k] === v; });
const out = (v) => process.stdout.write(JSON.stringify(v));
const fail = (message, code = 1) => { process.stderr.write(message + '\n'); process.exit(code); };
const [verb, what] = args;
if (verb === 'get' && what === 'jobs') out({ kind: 'List', items: cluster.jobs.filter((j) => matches(j, flag('--selector'))) });
else if (verb === 'get' && what.startsWith('job/')) {
  const job = cluster.jobs.find((j) => 'job/' + j.metadata.name === what);
  job ? out(job) : fail('Error from server (NotFound): jobs.batch "' + what.slice(4) + '" not found');
} else if (verb === 'get' && what === 'pods') out({ kind: 'List', items: cluster.pods.filter((p) => matches(p, flag('--selector'))) });
else if (verb === 'wait') {
  const condition = args.find((a) => a.startsWith('--for=condition=')).split('=')[2];
  const timeout = Number(args.find((a) => a.startsWith('--timeout=')).slice(10, -1));
  if (condition === cluster.condition) { process.stdout.write(what + ' condition met\n'); process.exit(0); }
  setTimeout(() => fail('error: timed out waiting for the condition on jobs/' + what.slice(4)), timeout * 1000);
} else if (verb === 'logs') {
  const log = cluster.logs[what.slice(4)];
  log === undefined ? fail('Error from server (BadRequest): container "client" in pod "' + what.slice(4) + '" is waiting to start: trying and failing to pull image') : process.stdout.write(log);
} else fail('fake kubectl: unknown command ' + args.join(' '), 2);
`;

export function fakeKubectl(cluster: FakeCluster): FakeKubectl {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-kubectl-'));
  const path = join(dir, 'kubectl.mjs');
  writeFileSync(path, SCRIPT);
  chmodSync(path, 0o755);
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify(cluster));
  writeFileSync(join(dir, 'calls.jsonl'), '');
  return {
    path,
    calls: () => readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]),
  };
}

/** A session's Job and pods as the API server would list them after the Job ran. */
export function clusterOf(name: string, pods: Array<{ phase: string; exitCode?: number; reason?: string; waiting?: string; node?: string; log?: string }>, condition: FakeCluster['condition']): FakeCluster {
  const labels = { 'stoq-bench.dev/session': name, 'app.kubernetes.io/component': 'client' };
  const uid = 'c0ffee00-0000-4000-8000-000000000001';
  return {
    condition,
    jobs: [
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: `${name}-clients`, labels },
        spec: { completions: pods.length, parallelism: pods.length, completionMode: 'Indexed', selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } } },
        status: { conditions: condition === 'Failed' ? [{ type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' }] : [] },
      },
    ],
    pods: pods.map((p, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-clients-${i}-x${i}z`,
        creationTimestamp: '2026-12-01T09:58:00Z',
        labels: { ...labels, 'batch.kubernetes.io/controller-uid': uid },
        annotations: { 'batch.kubernetes.io/job-completion-index': String(i) },
      },
      spec: { nodeName: p.node ?? `node-${i}` },
      status: {
        phase: p.phase,
        containerStatuses: [
          {
            name: 'client',
            state: p.waiting ? { waiting: { reason: p.waiting, message: 'Back-off pulling image' } } : { terminated: { exitCode: p.exitCode ?? 0, reason: p.reason ?? (p.exitCode ? 'Error' : 'Completed') } },
          },
        ],
      },
    })),
    logs: Object.fromEntries(pods.flatMap((p, i) => (p.log === undefined ? [] : [[`${name}-clients-${i}-x${i}z`, p.log]]))),
  };
}
