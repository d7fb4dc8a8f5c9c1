// `fleet collect` against a kubectl stand-in: it finds the session's Job by its labels, waits for it,
// reads every pod's log and merges; a pod that failed is named on stderr and its record kept, errored.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryStore } from '../../src/history/store.js';
import { cli } from '../helpers.js';
import { fakeClient } from './client-records.js';
import { clusterOf, fakeKubectl } from './fake-kubectl.js';

const AT = '2026-12-01T10:00:00.000Z';
const T = Date.parse(AT) * 1e3;
const log = (i: number, extra: Parameters<typeof fakeClient>[0] extends infer F ? Partial<F> : never = {}) =>
  `waiting for ${AT}\n${JSON.stringify(fakeClient({ anchorUnixUs: T + 1000 * (i + 1), at: AT, host: `pod-${i}`, intervals: [{ bytesReceived: 1000, completed: 10 }, { bytesReceived: 1000, completed: 10 }], latencyNs: [100_000 + i, 200_000], ...extra }))}\n`;
const SELECTOR = 'stoq-bench.dev/session=demo';

describe('fleet collect', () => {
  it('every pod succeeded: one merged record, the cluster flags passed to every call', async () => {
    const kubectl = fakeKubectl(clusterOf('demo', [0, 1, 2].map((i) => ({ phase: 'Succeeded', log: log(i) })), 'Complete'));
    const dir = mkdtempSync(join(tmpdir(), 'stoq-collect-'));
    const out = join(dir, 'session.jsonl');
    const store = join(dir, 'history.db');
    const r = await cli(['fleet', 'collect', '--kubectl', kubectl.path, '--context', 'perf-lab', '-n', 'bench', '-l', SELECTOR, '--out', out, '--records-dir', join(dir, 'logs'), '--timeout', '10s', '--store', store, '--no-json']);
    expect(r.code, r.stderr).toBe(0);
    // the session, like any measured run, went into the history store
    const history = HistoryStore.open(store, { readonly: true });
    expect(history.counts().runs).toBe(1);
    history.close();
    expect(r.stderr).toMatch(/^job\/demo-clients: Complete; 3 client\(s\)\n$/);
    expect(r.stdout).toMatch(/3 client\(s\), each running scenario/);
    expect(r.stdout).toMatch(/\n\s+1\s+pod\/demo-clients-1-x1z\s+pod-1\s+completed/);
    const record = JSON.parse(readFileSync(out, 'utf8'));
    expect(record.session.id).toBe('demo');
    expect(record.fleet.clients.map((c: { pod: string; node: string }) => [c.pod, c.node])).toEqual([0, 1, 2].map((i) => [`demo-clients-${i}-x${i}z`, `node-${i}`]));
    expect(record.end.bytesReceived).toBe(6000);
    expect(readFileSync(join(dir, 'logs', 'client-1.log'), 'utf8')).toBe(log(1));
    const calls = kubectl.calls();
    for (const call of calls) expect(call.slice(0, 4)).toEqual(['--context', 'perf-lab', '--namespace', 'bench']);
    expect(calls.map((c) => c.slice(4, 6).join(' '))).toEqual(expect.arrayContaining(['get jobs', 'get pods', 'logs pod/demo-clients-0-x0z', 'wait job/demo-clients']));
    // the pods are found by the Job's own selector
    expect(calls.find((c) => c[5] === 'pods')).toContain('batch.kubernetes.io/controller-uid=c0ffee00-0000-4000-8000-000000000001');
  });

  it('a failed pod is named, its record merged and marked errored; pods without a record are listed too', async () => {
    const kubectl = fakeKubectl(
      clusterOf(
        'demo',
        [
          { phase: 'Succeeded', log: log(0) },
          { phase: 'Failed', exitCode: 3, node: 'node-b', log: log(1, { state: 'errored' }) },
          { phase: 'Failed', exitCode: 137, reason: 'OOMKilled', log: 'waiting for 2026-12-01T10:00:00.000Z\n' },
          { phase: 'Pending', waiting: 'ImagePullBackOff' },
        ],
        'Failed',
      ),
    );
    const dir = mkdtempSync(join(tmpdir(), 'stoq-collect-'));
    const out = join(dir, 'session.jsonl');
    const r = await cli(['fleet', 'collect', '--kubectl', kubectl.path, '--selector', SELECTOR, '--out', out, '--timeout', '10s', '--no-json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/job\/demo-clients: Failed \(FailedIndexes: Job has failed indexes\); 4 client\(s\)/);
    expect(r.stderr).toMatch(/client 1 \(pod demo-clients-1-x1z on node node-b\): pod Failed: exit code 3 \(Error\): the server went silent.*; its record is merged, marked errored/);
    expect(r.stderr).toMatch(/client 2 \(pod demo-clients-2-x2z on node node-2\): pod Failed: exit code 137 \(OOMKilled\); it said: waiting for .*; it left no record/);
    expect(r.stderr).toMatch(/client 3 \(pod demo-clients-3-x3z on node node-3\): pod did not finish \(ImagePullBackOff: Back-off pulling image\); no log: .*waiting to start.*; it left no record/);
    const record = JSON.parse(readFileSync(out, 'utf8'));
    expect(record.end.state).toBe('errored');
    expect(record.fleet.clients.map((c: { state: string }) => c.state)).toEqual(['completed', 'errored', 'errored', 'errored']);
    expect(record.fleet.clients[1].bytesReceived).toBe(2000);
    expect(record.end.bytesReceived).toBe(4000);
  });

  it('nothing matches, or two Jobs do: a usage error naming the selector', async () => {
    const none = fakeKubectl(clusterOf('other', [{ phase: 'Succeeded', log: log(0) }], 'Complete'));
    const r = await cli(['fleet', 'collect', '--kubectl', none.path, '-l', SELECTOR, '-n', 'bench', '--no-json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no Job matches --selector stoq-bench\.dev\/session=demo in namespace bench/);
    const a = clusterOf('demo', [{ phase: 'Succeeded', log: log(0) }], 'Complete');
    const two = fakeKubectl({ ...a, jobs: [a.jobs[0], { ...(a.jobs[0] as object), metadata: { name: 'demo-clients-2', labels: (a.jobs[0] as { metadata: { labels: object } }).metadata.labels } }] });
    const r2 = await cli(['fleet', 'collect', '--kubectl', two.path, '-l', SELECTOR, '--no-json']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/matches 2 Jobs \(demo-clients, demo-clients-2\)/);
  });

  it('a Job that does not finish in time: TIMEOUT, exit 3, nothing written', async () => {
    const kubectl = fakeKubectl(clusterOf('demo', [{ phase: 'Running' }], 'none'));
    const out = join(mkdtempSync(join(tmpdir(), 'stoq-collect-')), 'session.jsonl');
    const r = await cli(['fleet', 'collect', '--kubectl', kubectl.path, '-l', SELECTOR, '--timeout', '1s', '--out', out, '--no-json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/TIMEOUT: job\/demo-clients neither completed nor failed within 1 s \(error: timed out waiting for the condition/);
    expect(existsSync(out) ? readFileSync(out, 'utf8') : '').toBe('');
  });

  it('SIGINT while waiting for the Job: exit 130, nothing written', async () => {
    const kubectl = fakeKubectl(clusterOf('demo', [{ phase: 'Running' }], 'none'));
    const out = join(mkdtempSync(join(tmpdir(), 'stoq-collect-')), 'session.jsonl');
    const controller = new AbortController();
    const running = cli(['fleet', 'collect', '--kubectl', kubectl.path, '-l', SELECTOR, '--timeout', '1m', '--out', out], controller.signal);
    setTimeout(() => controller.abort(), 1500);
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped while waiting for job\/demo-clients/);
    expect(existsSync(out)).toBe(false);
  });

  it('a kubectl that prints no Kubernetes objects: an error saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-collect-'));
    const odd = join(dir, 'kubectl');
    writeFileSync(odd, '#!/bin/sh\necho "this is not JSON"\n');
    chmodSync(odd, 0o755);
    const r = await cli(['fleet', 'collect', '--kubectl', odd, '-l', SELECTOR, '--no-json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/IO: kubectl printed no Kubernetes Jobs \(.*JSON/);
  });

  it('no kubectl: a usage error', async () => {
    const r = await cli(['fleet', 'collect', '--kubectl', '/nonexistent/kubectl', '-l', SELECTOR, '--no-json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--kubectl: "\/nonexistent\/kubectl" is not installed or not on PATH/);
  });
});
