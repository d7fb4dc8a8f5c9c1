// A stand-in for a Kubernetes API server, on loopback, for kubectl's client-side dry runs: it serves API
// discovery for the kinds `fleet render` writes and knows no object (every GET of one is 404). It records
// every request, so a test can show that a dry run only read.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RESOURCES: Record<string, Array<{ name: string; kind: string }>> = {
  v1: [{ name: 'services', kind: 'Service' }, { name: 'pods', kind: 'Pod' }],
  'apps/v1': [{ name: 'deployments', kind: 'Deployment' }, { name: 'daemonsets', kind: 'DaemonSet' }],
  'batch/v1': [{ name: 'jobs', kind: 'Job' }],
};

export interface KubeStub {
  /** A kubeconfig naming the stub as context `stub`. */
  kubeconfig: string;
  /** kubectl's cache directory, apart from the user's. */
  cacheDir: string;
  requests: Array<{ method: string; url: string }>;
  close(): Promise<void>;
}

export async function startKubeStub(): Promise<KubeStub> {
  const requests: KubeStub['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '?', url: req.url ?? '' });
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && path === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (req.method === 'GET' && path === '/apis') {
      const groups = ['apps', 'batch'].map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } }));
      return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const gv = /^\/api\/(v1)$/.exec(path)?.[1] ?? /^\/apis\/(\w+\/v1)$/.exec(path)?.[1];
    if (req.method === 'GET' && gv && RESOURCES[gv]) {
      const resources = RESOURCES[gv].map((r) => ({ ...r, namespaced: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }));
      return json(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
    }
    json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'stoq-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stub', cluster: { server: `http://[::1]:${port}` } }],
      users: [{ name: 'stub', user: { token: 'stub' } }],
      contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'stub', namespace: 'default' } }],
      'current-context': 'stub',
    }),
  );
  return { kubeconfig, cacheDir: join(dir, 'cache'), requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
