// `fleet render`: the manifests parse (two YAML parsers), the clients are an Indexed Job with the right
// counts, spread over nodes with whole, guaranteed resources; every pod runs the session's scenario; the
// objects pass the Kubernetes API schemas (kubernetes-validate, strict) and kubectl's client-side dry run.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAllYaml, type V1Deployment, type V1Job, type V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import yargs from 'yargs';
import { checkScenario, scenarioArgs, scenarioFrom, scenarioOptions } from '../../src/cli/scenario-flags.js';
import { expand, podCommand } from '../../src/fleet/render.js';
import { normalizeScenario, SCENARIO_KINDS } from '../../src/scenario.js';
import { cli } from '../helpers.js';
import { startKubeStub, type KubeStub } from './kube-stub.js';

const run = promisify(execFile);
const VALIDATE = new URL('../../.cache/fleet-venv/bin/kubernetes-validate', import.meta.url).pathname;
const START = '2026-12-01T10:00:00.000Z';
const BASE = ['fleet', 'render', '--clients', '4', '--image', 'registry.example/stoq-bench:0.1.0', '--name', 'demo', '--start-at', START];

async function render(extra: string[]) {
  const r = await cli([...BASE, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { ...r, objects: loadAllYaml(r.stdout) as Array<V1Job | V1Deployment | V1Service> };
}

/** BASE with the flags of `extra` in place of its own. */
function withFlags(extra: string[]): string[] {
  const out = BASE.slice(0, 2);
  for (let i = 2; i < BASE.length; i += 2) if (!extra.includes(BASE[i])) out.push(BASE[i], BASE[i + 1]);
  return [...out, ...extra];
}

function jobOf(objects: Array<{ kind?: string }>): V1Job {
  return objects.find((o) => o.kind === 'Job') as V1Job;
}

/** The scenario a pod's `stoq-bench run` command line describes, as `run` itself reads and checks it. */
function scenarioOfCommand(command: string[]) {
  expect(command.slice(0, 2)).toEqual(['stoq-bench', 'run']);
  const argv = yargs(command.slice(2)).options(scenarioOptions).strict(false).parseSync() as Record<string, unknown>;
  expect(checkScenario(argv)).toBeUndefined();
  return normalizeScenario(scenarioFrom(argv));
}

describe('fleet render', () => {
  it('writes a typed, parseable stream: a Service, the server Deployment, then the Indexed Job', async () => {
    const { stdout, stderr, objects } = await render(['--scenario', 'requests', '--count', '4000', '--inflight', '4']);
    // an independent parser reads the same documents
    const docs = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['Service', 'Deployment', 'Job']);
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'Deployment', 'Job']);
    const job = jobOf(objects);
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimitPerIndex: 0 });
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }),
    ]);
    expect(pod.topologySpreadConstraints![0].labelSelector!.matchLabels).toEqual(job.spec!.template.metadata!.labels);
    // no client beside a server
    const anti = pod.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution![0];
    expect(anti.labelSelector!.matchLabels).toEqual((objects[1] as V1Deployment).spec!.template.metadata!.labels);
    const resources = pod.containers[0].resources!;
    expect(resources.requests).toEqual(resources.limits);
    expect(resources.requests!.cpu).toBe('2');
    // the clients reach the server through the Service's variables
    const service = objects[0] as V1Service;
    expect(service.spec).toMatchObject({ ipFamilies: ['IPv6'], ports: [expect.objectContaining({ port: 4433, protocol: 'UDP' })] });
    expect(podCommand(job, 0)).toContain('[$(DEMO_SERVER_SERVICE_HOST)]:$(DEMO_SERVER_SERVICE_PORT)');
    expect(podCommand(job, 0, { DEMO_SERVER_SERVICE_HOST: 'fd00:96::10', DEMO_SERVER_SERVICE_PORT: '4433' })).toContain('[fd00:96::10]:4433');
    expect(stderr).toMatch(/session demo: 4 client\(s\) of scenario requests .* start at 2026-12-01T10:00:00\.000Z/);
    expect(stderr).toMatch(/fleet collect --selector stoq-bench\.dev\/session=demo/);
  });

  it("every pod's command is `stoq-bench run` with the session's scenario, target, start instant and tolerance", async () => {
    const { objects } = await render(['--target', '[fd00::1]:4433', '--scenario', 'download', '--bytes', '64MiB', '--connections', '2', '--no-pacing', '--cc', 'bbr2', '--interval', '250ms', '--start-tolerance', '20ms']);
    expect(objects.map((o) => o.kind)).toEqual(['Job']);
    const job = jobOf(objects);
    const wanted = normalizeScenario({ kind: 'download', bytes: 64 * 2 ** 20, connections: 2, settings: { pacing: false, cc: 'bbr2' } });
    for (let i = 0; i < 4; i++) {
      const command = podCommand(job, i);
      expect(scenarioOfCommand(command).id).toBe(wanted.id);
      const flag = (name: string) => command[command.indexOf(name) + 1];
      expect(flag('--target')).toBe('[fd00::1]:4433');
      expect(flag('--start-at')).toBe(START);
      expect(flag('--start-tolerance')).toBe('20ms');
      expect(flag('--interval')).toBe('250ms');
      expect(command).toContain('--json');
      expect(command).toContain('--no-history');
    }
    expect(job.spec!.template.metadata!.annotations).toMatchObject({ 'stoq-bench.dev/scenario-id': wanted.id, 'stoq-bench.dev/start-at': START });
    // against a given target nothing keeps the clients off any node but their spread
    expect(job.spec!.template.spec!.affinity).toBeUndefined();
  });

  it('the flags of every kind describe its scenario completely: `run` reads them back to the same id', () => {
    for (const kind of SCENARIO_KINDS) {
      const scenario = normalizeScenario({ kind, settings: { cc: 'reno', pacing: false, idleTimeoutNs: 7_500_000_000 } });
      const args = scenarioArgs(scenario);
      expect(scenarioOfCommand(['stoq-bench', 'run', ...args]).id, `${kind}: ${args.join(' ')}`).toBe(scenario.id);
      expect(args).toContain('--no-pacing');
      expect(args[args.indexOf('--idle-timeout') + 1]).toBe('7500ms');
    }
  });

  it('host network: clients and a host-network server pod on each server node', async () => {
    const { objects } = await render(['--host-network', '--server', 'host-network', '--server-nodes', 'role=quic-server', '--server-threads', '4', '--cpu', '3']);
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'DaemonSet', 'Job']);
    const server = (objects[1] as V1Deployment).spec!.template.spec!;
    expect(server).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', nodeSelector: { role: 'quic-server' } });
    expect(server.containers[0].resources!.limits).toEqual({ cpu: '5', memory: '2Gi' });
    const client = jobOf(objects).spec!.template.spec!;
    expect(client).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
    expect(client.containers[0].resources!.limits!.cpu).toBe('3');
  });

  it('--out DIR writes one file per object, in apply order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-render-'));
    const r = await cli([...BASE, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual(['00-service-demo-server.yaml', '01-deployment-demo-server.yaml', '02-job-demo-clients.yaml']);
  });

  it.each([
    [['--target', '[fd00::1]:4433', '--server-replicas', '2'], /--server-replicas applies when the server is rendered \(no --target\)/],
    [['--target', '[fd00::1]:4433', '--server', 'host-network'], /--server applies when the server is rendered \(no --target\)/],
    [['--start-in', '1m'], /give --start-in or --start-at, not both/],
    [['--name', 'Demo_1'], /--name: "Demo_1" must be a DNS label/],
    [['--server', 'host-network'], /--server host-network needs --server-nodes KEY=VALUE/],
    [['--cpu', 'two'], /--cpu: "two" is not a CPU quantity/],
    [['--server-nodes', 'role'], /--server-nodes: expected KEY=VALUE, got "role"/],
    [['--start-at', '2026-12-01 10:00'], /--start-at: invalid instant "2026-12-01 10:00"/],
    [['--bytes', '1MiB', '--count', '5'], /give one of --bytes, --duration or --count/],
    [['--image', 'a', '--image', 'b'], /--image: given 2 times/],
  ])('usage error %j: exit 2, nothing written', async (extra, message) => {
    const r = await cli(withFlags(extra));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(message);
  });

  it('expands $(VAR) as the kubelet does', () => {
    const env = { A: 'x', B: '' };
    expect(expand('$(A)-$(B)-$(C)', env)).toBe('x--$(C)');
    expect(expand('$$(A) $$ $A $(A', env)).toBe('$(A) $ $A $(A');
  });
});

describe('the manifests against Kubernetes itself', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stoq-render-'));
    for (const [sub, extra] of [['pod-network', []], ['host-network', ['--server', 'host-network', '--server-nodes', 'role=server', '--host-network']], ['target', ['--target', '[fd00::1]:4433']]] as const) {
      const r = await cli([...BASE, '--out', join(dir, sub), ...extra]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it.skipIf(!existsSync(VALIDATE))('they pass the API schemas of Kubernetes 1.33, strictly (no unknown field), by kubernetes-validate', async () => {
    const files = ['pod-network', 'host-network', 'target'].flatMap((sub) => readdirSync(join(dir, sub)).map((f) => join(dir, sub, f)));
    expect(files).toHaveLength(7);
    const { stdout } = await run(VALIDATE, ['--kubernetes-version', '1.33.0', '--strict', ...files]);
    expect(stdout.match(/ passed for resource /g)).toHaveLength(7);
    // and the validator does judge: a field Kubernetes does not know fails
    const bad = join(dir, 'bad.yaml');
    const text = readFileSync(join(dir, 'target', '00-job-demo-clients.yaml'), 'utf8').replace('completionMode: Indexed', 'completionMode: Indexed\n  startAt: now');
    writeFileSync(bad, text);
    await expect(run(VALIDATE, ['--kubernetes-version', '1.33.0', '--strict', bad])).rejects.toMatchObject({ stdout: expect.stringMatching(/'startAt' was unexpected/) });
  });

  describe.skipIf(!hasKubectl())('kubectl apply --dry-run=client', () => {
    // A client-side dry run still asks the API server for discovery and for each object's live state (it
    // diffs against it): a stub server on loopback that holds no object answers, and shows that nothing
    // but reads reached it.
    let stub: KubeStub;
    beforeAll(async () => {
      stub = await startKubeStub();
    });
    afterAll(() => stub?.close());

    it.each(['pod-network', 'host-network', 'target'])('%s: every object "created (dry run)", only reads sent', async (sub) => {
      stub.requests.length = 0;
      const { stdout } = await run('kubectl', ['--kubeconfig', stub.kubeconfig, '--cache-dir', stub.cacheDir, 'apply', '--dry-run=client', '--validate=false', '-f', join(dir, sub)]);
      const expected = readdirSync(join(dir, sub)).length;
      expect(stdout.match(/ created \(dry run\)/g)).toHaveLength(expected);
      expect(stub.requests.length).toBeGreaterThan(0);
      expect(stub.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    });
  });
});

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
