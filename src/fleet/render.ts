// The Kubernetes objects of one distributed session: the clients as an Indexed Job whose pods run
// `stoq-bench run` against the target, all waiting for one start instant; and, when no target is given,
// the server (a Deployment behind a Service, or a host-network pod on each server node). The objects are
// typed with @kubernetes/client-node's models and written by its YAML serialiser (js-yaml), never by
// string templates.
import { randomBytes } from 'node:crypto';
import { dumpYaml, type V1Container, type V1DaemonSet, type V1Deployment, type V1Job, type V1ObjectMeta, type V1PodSpec, type V1ResourceRequirements, type V1Service } from '@kubernetes/client-node';
import { StoqError } from '../errors.js';
import type { Scenario } from '../scenario.js';
import { formatDuration } from '../units.js';

/** Labels and annotations of the session's objects (`stoq-bench.dev/session` is what `fleet collect` selects on). */
const LABEL = {
  session: 'stoq-bench.dev/session',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
const ANNOTATION = {
  startAt: 'stoq-bench.dev/start-at',
  scenario: 'stoq-bench.dev/scenario-id',
  clients: 'stoq-bench.dev/clients',
} as const;
/** Set by the Job controller on every pod of an Indexed Job (Kubernetes >= 1.22). */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** The environment variable the Job controller gives each pod of an Indexed Job. */
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

export const SERVER_MODES = ['deployment', 'host-network'] as const;
export type ServerMode = (typeof SERVER_MODES)[number];

/** Whole CPUs and memory, requests equal to limits: the Guaranteed QoS class, pinned by the static CPU manager. */
export interface Resources {
  /** A Kubernetes CPU quantity, e.g. `2` or `1500m`. */
  cpu: string;
  /** A Kubernetes memory quantity, e.g. `1Gi`. */
  memory: string;
}

export interface ServerSpec {
  mode: ServerMode;
  /** Server pods of the Deployment (mode `deployment`). */
  replicas: number;
  /** UDP port the server listens on. */
  port: number;
  /** Server worker threads. */
  threads: number;
  resources: Resources;
  /** `key=value` node labels the server pods are placed on (required for `host-network`). */
  nodeSelector: Record<string, string>;
}

export interface FleetSpec {
  /** The session's name: a DNS label, the prefix of every object and the value of the session label. */
  name: string;
  namespace?: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  clients: number;
  /** The server the clients measure, `[v6addr]:port`; absent: the server is rendered too (`server`). */
  target?: string;
  server?: ServerSpec;
  scenario: Scenario;
  /** The `stoq-bench run` flags that describe `scenario` completely (every field its kind takes). */
  scenarioFlags: string[];
  /** Interval length, ns. */
  intervalNs: number;
  /** The common start instant (whole seconds, UTC). */
  startAt: Date;
  /** A client that starts later than this after `startAt` marks itself late, ns. */
  startToleranceNs: number;
  /** Clients in the nodes' network namespace (NIC tests) instead of the pod network. */
  hostNetwork: boolean;
  resources: Resources;
  /** The node label the clients spread over (one client per node while nodes last). */
  topologyKey: string;
  /** The Job's active deadline, seconds (pods still running then are stopped and count as failed). */
  deadlineS: number;
}

/** The rendered session: its objects in the order they are applied, and how to find it again. */
export interface RenderedFleet {
  spec: FleetSpec;
  /** The Service first: the clients read its address from the variables Kubernetes gives pods created after it. */
  objects: Array<V1Deployment | V1DaemonSet | V1Service | V1Job>;
  job: V1Job;
  /** The label selector of every object of the session (`fleet collect --selector`). */
  selector: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CPU = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** A fresh session name, `stoq-` and 8 hex digits. */
export function sessionName(): string {
  return `stoq-${randomBytes(4).toString('hex')}`;
}

/** Checks a spec's names and quantities; throws INVALID_ARGUMENT naming the flag at fault. */
function checkSpec(spec: FleetSpec): void {
  const bad = (message: string) => new StoqError('INVALID_ARGUMENT', message);
  // "-clients" and "-server" follow, and the Job's pods add "-<index>-<5 letters>" within 63 characters.
  if (!DNS_LABEL.test(spec.name) || spec.name.length > 40) {
    throw bad(`--name: "${spec.name}" must be a DNS label of at most 40 characters (lower-case letters, digits, '-')`);
  }
  if (spec.namespace !== undefined && (!DNS_LABEL.test(spec.namespace) || spec.namespace.length > 63)) {
    throw bad(`--namespace: "${spec.namespace}" is not a DNS label`);
  }
  for (const [flag, r] of [['', spec.resources], ['server-', spec.server?.resources]] as const) {
    if (!r) continue;
    if (!CPU.test(r.cpu) || Number.parseFloat(r.cpu) === 0) throw bad(`--${flag}cpu: "${r.cpu}" is not a CPU quantity (e.g. 2 or 1500m)`);
    if (!MEMORY.test(r.memory)) throw bad(`--${flag}memory: "${r.memory}" is not a memory quantity (e.g. 1Gi or 512Mi)`);
  }
  if (spec.server?.mode === 'host-network' && Object.keys(spec.server.nodeSelector).length === 0) {
    throw bad('--server host-network needs --server-nodes KEY=VALUE: the server nodes must be apart from the client nodes');
  }
}

/** Whether a CPU quantity is whole cores (what the static CPU manager pins a Guaranteed pod to). */
export function wholeCores(cpu: string): boolean {
  return /^\d+$/.test(cpu);
}

/** Builds the session's objects. */
export function renderFleet(spec: FleetSpec): RenderedFleet {
  checkSpec(spec);
  const base = { [LABEL.name]: 'stoq-bench', [LABEL.instance]: spec.name, [LABEL.session]: spec.name, [LABEL.managedBy]: 'stoq-bench' };
  const clientLabels = { ...base, [LABEL.component]: 'client' };
  const serverLabels = { ...base, [LABEL.component]: 'server' };
  const annotations = {
    [ANNOTATION.startAt]: spec.startAt.toISOString(),
    [ANNOTATION.scenario]: spec.scenario.id,
    [ANNOTATION.clients]: String(spec.clients),
  };
  const meta = (name: string, labels: Record<string, string>): V1ObjectMeta => ({
    name,
    ...(spec.namespace ? { namespace: spec.namespace } : {}),
    labels,
    annotations,
  });
  const objects: RenderedFleet['objects'] = [];
  let target = spec.target;
  const server = spec.target === undefined ? spec.server : undefined;
  if (spec.target === undefined && !server) throw new StoqError('INVALID_ARGUMENT', 'give --target, or a server to render');
  if (server) {
    const name = `${spec.name}-server`;
    objects.push(service(server, meta(name, serverLabels), serverLabels));
    objects.push(serverWorkload(spec, server, meta(name, serverLabels), serverLabels));
    // The Service's address, from the variables Kubernetes gives pods created after the Service.
    const env = name.toUpperCase().replace(/-/g, '_');
    target = `[$(${env}_SERVICE_HOST)]:$(${env}_SERVICE_PORT)`;
  }
  const pod: V1PodSpec = {
    restartPolicy: 'Never',
    enableServiceLinks: server !== undefined,
    ...(spec.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: spec.topologyKey, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: clientLabels } },
    ],
    ...(server
      ? {
          affinity: {
            podAntiAffinity: {
              // No client on a server's node: the clients' load must cross the network, and not take the server's cores.
              requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: serverLabels } }],
            },
          },
        }
      : {}),
    containers: [
      {
        name: 'client',
        image: spec.image,
        imagePullPolicy: spec.imagePullPolicy,
        command: ['stoq-bench'],
        args: clientArgs(spec, target!),
        resources: guaranteed(spec.resources),
      },
    ],
  };
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(`${spec.name}-clients`, clientLabels),
    spec: {
      completionMode: 'Indexed',
      completions: spec.clients,
      parallelism: spec.clients,
      // A failed client is not retried (it would start late) and does not stop the others.
      backoffLimitPerIndex: 0,
      activeDeadlineSeconds: spec.deadlineS,
      template: { metadata: { labels: clientLabels, annotations }, spec: pod },
    },
  };
  objects.push(job);
  return { spec, objects, job, selector: `${LABEL.session}=${spec.name}` };
}

function guaranteed(r: Resources): V1ResourceRequirements {
  return { requests: { cpu: r.cpu, memory: r.memory }, limits: { cpu: r.cpu, memory: r.memory } };
}

function serverWorkload(spec: FleetSpec, server: ServerSpec, metadata: V1ObjectMeta, labels: Record<string, string>): V1Deployment | V1DaemonSet {
  const s = spec.scenario.settings;
  const container: V1Container = {
    name: 'server',
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    command: ['stoq-bench'],
    args: [
      'server',
      '--listen', `[::]:${server.port}`,
      '--threads', String(server.threads),
      '--cc', s.cc,
      '--payload-size', String(s.payloadSize),
      s.pacing ? '--pacing' : '--no-pacing',
      s.gso ? '--gso' : '--no-gso',
      '--json',
    ],
    ports: [{ name: 'perf', containerPort: server.port, protocol: 'UDP' }],
    resources: guaranteed(server.resources),
  };
  const pod: V1PodSpec = {
    ...(Object.keys(server.nodeSelector).length ? { nodeSelector: server.nodeSelector } : {}),
    ...(server.mode === 'host-network' ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
    containers: [container],
  };
  const template = { metadata: { labels, annotations: metadata.annotations }, spec: pod };
  const selector = { matchLabels: labels };
  if (server.mode === 'host-network') {
    return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector, template } };
  }
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { replicas: server.replicas, selector, template } };
}

function service(server: ServerSpec, metadata: V1ObjectMeta, labels: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      selector: labels,
      // stoq-bench measures QUIC over IPv6.
      ipFamilies: ['IPv6'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'perf', port: server.port, targetPort: server.port, protocol: 'UDP' }],
    },
  };
}

/** The `stoq-bench run` arguments of every client: the scenario in full, the target and the start instant. */
function clientArgs(spec: FleetSpec, target: string): string[] {
  return [
    'run',
    '--target', target,
    ...spec.scenarioFlags,
    '--interval', formatDuration(spec.intervalNs),
    '--start-at', spec.startAt.toISOString(),
    '--start-tolerance', formatDuration(spec.startToleranceNs),
    '--json',
    // a pod's history store leaves with the pod: the session's record is kept by `fleet collect`
    '--no-history',
  ];
}

/**
 * The command line the pod of completion index `index` runs: the client container's command and args with
 * `$(VAR)` references expanded as the kubelet expands them, from the container's literal `env`, the
 * Job controller's JOB_COMPLETION_INDEX and `extraEnv` (e.g. the Service variables of a cluster).
 */
export function podCommand(job: V1Job, index: number, extraEnv: Record<string, string> = {}): string[] {
  const container = job.spec?.template.spec?.containers[0];
  if (!container) throw new StoqError('INVALID_ARGUMENT', 'the Job has no container');
  const env: Record<string, string> = { ...extraEnv, [COMPLETION_INDEX_ENV]: String(index) };
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return [...(container.command ?? []), ...(container.args ?? [])].map((arg) => expand(arg, env));
}

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` is a
 * literal `$`; a reference to an undefined variable, or an unclosed one, stays as written.
 */
export function expand(text: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : text.slice(i, close + 1);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** The objects as one multi-document YAML stream, in apply order. */
export function toYaml(fleet: RenderedFleet): string {
  return fleet.objects.map((o) => dumpYaml(o)).join('---\n');
}

/** File names for `--out DIR`, in apply order (kubectl applies a directory in name order). */
export function manifestFiles(fleet: RenderedFleet): Array<{ file: string; yaml: string }> {
  return fleet.objects.map((o, i) => ({ file: `${String(i).padStart(2, '0')}-${o.kind!.toLowerCase()}-${o.metadata!.name}.yaml`, yaml: dumpYaml(o) }));
}
