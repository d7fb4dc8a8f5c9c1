// `stoq-bench fleet render|merge|collect`: one measurement session spread over many client hosts on
// Kubernetes, merged into one record.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Options } from 'yargs';
import { fromNative, StoqError } from '../../errors.js';
import { checkWritable, writeFileAtomic } from '../../files.js';
import type { ClientInput, FleetRecord } from '../../fleet/merge.js';
import { engineSpec } from '../../native.js';
import { normalizeScenario } from '../../scenario.js';
import { summary } from '../../report/text.js';
import { cancelledExit, EXIT, type Command, type CommandGroup, type Io } from '../command.js';
import { address, instant, jsonOutput, time, whole } from '../options.js';
import { historyOptions, RunHistory } from '../run-history.js';
import { checkScenario, scenarioArgs, scenarioFrom, scenarioOptions } from '../scenario-flags.js';

const NOT_FOR_PODS = new Set(['target', 'runs', 'json', 'out', 'qlog']);
const podScenarioOptions = Object.fromEntries(Object.entries(scenarioOptions).filter(([name]) => !NOT_FOR_PODS.has(name)));
const serverDefaults = engineSpec().defaults.server;

/** Flags of the rendered server; meaningless with --target. */
const SERVER_FLAGS = ['server-replicas', 'server-port', 'server-threads', 'server-cpu', 'server-memory', 'server-nodes'];

/** A text flag given once (a repeated one is an error, not a list). */
const text = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: (value: unknown) => {
    if (Array.isArray(value)) throw new StoqError('INVALID_ARGUMENT', `--${flag}: given ${value.length} times (give it once)`);
    return value === undefined ? undefined : String(value);
  },
  ...extra,
});

const renderOptions: Record<string, Options> = {
  clients: whole('clients', "client pods, each on its own node while nodes last (the Indexed Job's completions and parallelism)", 1, 10_000, { demandOption: true }),
  image: text('image', 'the stoq-bench image the pods run (built from the Dockerfile), in a registry the cluster pulls from', { demandOption: true }),
  'image-pull-policy': { choices: ['Always', 'IfNotPresent', 'Never'], default: 'IfNotPresent', describe: 'when the kubelet pulls the image' },
  target: address('target', 'ADDRESS of the server the clients measure; without it the server is rendered too (--server)', 'target'),
  name: text('name', 'session name: prefix of every object and value of the stoq-bench.dev/session label (default: stoq- and 8 hex digits)'),
  namespace: text('namespace', 'namespace of the objects (default: the one kubectl uses)'),
  'start-in': time('start-in', 'the clients start this long after rendering (TIME; whole seconds, rounded up; default 2m)'),
  'start-at': instant('start-at', 'the clients start at this INSTANT instead'),
  'start-tolerance': time('start-tolerance', 'a client starting later than this after the instant marks itself late (TIME)', { default: '50ms' }),
  'host-network': { type: 'boolean', default: false, describe: "clients in the nodes' network namespace (NIC tests) instead of the pod network" },
  cpu: text('cpu', 'CPU of each client pod, requests = limits (default: client threads + 1; whole cores get pinned under the static CPU manager)'),
  memory: text('memory', 'memory of each client pod, requests = limits', { default: '1Gi' }),
  'topology-key': text('topology-key', 'node label the clients spread over (at most one more client in any domain than in another)', { default: 'kubernetes.io/hostname' }),
  deadline: time('deadline', "the Job's active deadline from rendering (TIME; default: the wait, the duration or 1h, and 10m)"),
  server: { choices: ['deployment', 'host-network'], default: 'deployment', describe: 'without --target: a Deployment behind a Service, or a host-network pod on each --server-nodes node' },
  'server-replicas': whole('server-replicas', 'server pods of the Deployment (default 1)', 1, 1000),
  'server-port': whole('server-port', 'UDP port of the server and its Service (default 4433)', 1, 65535),
  'server-threads': whole('server-threads', `server worker threads (default ${serverDefaults.threads})`, 1, 256),
  'server-cpu': text('server-cpu', 'CPU of each server pod, requests = limits (default: server threads + 1)'),
  'server-memory': text('server-memory', 'memory of each server pod, requests = limits (default 2Gi)'),
  'server-nodes': { type: 'string', array: true, describe: 'KEY=VALUE node labels the server pods go to (required with --server host-network)' },
  out: text('out', 'write one YAML file per object into DIR (in apply order) instead of stdout'),
  ...podScenarioOptions,
};

const fleetRenderCommand: Command = {
  name: 'render',
  describe: 'Write the Kubernetes manifests of a session of --clients client pods (and the server without --target)',
  options: renderOptions,
  epilogue:
    'The clients are an Indexed Job (completions = parallelism = --clients) spread over nodes, each pod running\n' +
    '`stoq-bench run` with the session\'s scenario. Apply them (kubectl apply -f) before the start instant; every\n' +
    'client waits for it, then records how late it started and its clock\'s sync state.\n' +
    'Then: stoq-bench fleet collect --selector stoq-bench.dev/session=NAME.',
  check(argv) {
    const problem = checkScenario(argv);
    if (problem) return problem;
    if (argv['start-in'] !== undefined && argv['start-at'] !== undefined) return 'give --start-in or --start-at, not both';
    if (argv.target !== undefined) {
      const given = SERVER_FLAGS.filter((f) => argv[f] !== undefined);
      if (argv.server !== 'deployment') given.unshift('server');
      if (given.length) return `--${given[0]} applies when the server is rendered (no --target)`;
    }
    return undefined;
  },
  async run(argv, io) {
    // loaded here: the Kubernetes models are large, and no other command needs them
    const { manifestFiles, renderFleet, sessionName, toYaml, wholeCores } = await import('../../fleet/render.js');
    const scenario = normalizeScenario(scenarioFrom(argv));
    const now = Date.now();
    const startAt = (argv['start-at'] as Date | undefined) ?? new Date(Math.ceil((now + ((argv['start-in'] as number | undefined) ?? 120e9) / 1e6) / 1000) * 1000);
    const waitS = Math.max(0, (startAt.getTime() - now) / 1e3);
    const deadlineNs = argv.deadline as number | undefined;
    const boundS = scenario.durationNs ? scenario.durationNs / 1e9 : 3600;
    const threads = scenario.settings.threads;
    const serverThreads = (argv['server-threads'] as number | undefined) ?? serverDefaults.threads;
    const fleet = renderFleet({
      name: (argv.name as string | undefined) ?? sessionName(),
      namespace: argv.namespace as string | undefined,
      image: argv.image as string,
      imagePullPolicy: argv['image-pull-policy'] as 'Always' | 'IfNotPresent' | 'Never',
      clients: argv.clients as number,
      target: argv.target as string | undefined,
      server:
        argv.target === undefined
          ? {
              mode: argv.server as 'deployment' | 'host-network',
              replicas: (argv['server-replicas'] as number | undefined) ?? 1,
              port: (argv['server-port'] as number | undefined) ?? 4433,
              threads: serverThreads,
              resources: { cpu: (argv['server-cpu'] as string | undefined) ?? String(serverThreads + 1), memory: (argv['server-memory'] as string | undefined) ?? '2Gi' },
              nodeSelector: nodeSelector(argv['server-nodes'] as string[] | undefined),
            }
          : undefined,
      scenario,
      scenarioFlags: scenarioArgs(scenario),
      intervalNs: (argv.interval as number | undefined) ?? engineSpec().defaults.intervalNs,
      startAt,
      startToleranceNs: argv['start-tolerance'] as number,
      hostNetwork: argv['host-network'] as boolean,
      resources: { cpu: (argv.cpu as string | undefined) ?? String(threads + 1), memory: argv.memory as string },
      topologyKey: argv['topology-key'] as string,
      deadlineS: deadlineNs !== undefined ? Math.ceil(deadlineNs / 1e9) : Math.ceil(waitS + boundS + 600),
    });
    const out = argv.out as string | undefined;
    if (out) {
      makeDirectory(out, 'out');
      for (const { file, yaml } of manifestFiles(fleet)) writeFileAtomic(join(out, file), yaml, { name: `--out ${join(out, file)}` });
    } else {
      io.stdout(toYaml(fleet));
    }
    const s = fleet.spec;
    const notes = [
      `session ${s.name}: ${s.clients} client(s) of scenario ${scenario.kind} (${scenario.id}) start at ${startAt.toISOString()} (in ${Math.round(waitS)} s; late beyond ${s.startToleranceNs / 1e6} ms)`,
      `  apply:   kubectl apply -f ${out ?? 'FILE'}${s.namespace ? ` -n ${s.namespace}` : ''}   (before the start instant)`,
      `  collect: stoq-bench fleet collect --selector ${fleet.selector}${s.namespace ? ` --namespace ${s.namespace}` : ''} --out session.json`,
    ];
    if (!wholeCores(s.resources.cpu)) notes.push(`  note: --cpu ${s.resources.cpu} is not whole cores: the static CPU manager pins only whole cores of Guaranteed pods`);
    io.stderr(`${notes.join('\n')}\n`);
    return EXIT.ok;
  },
};

/** `KEY=VALUE` flags as a node selector. */
function nodeSelector(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const m = /^([^=\s]+)=([^=\s]*)$/.exec(pair);
    if (!m) throw new StoqError('INVALID_ARGUMENT', `--server-nodes: expected KEY=VALUE, got "${pair}"`);
    out[m[1]] = m[2];
  }
  return out;
}

/** Writes a merged record where --out says (one JSON line) and prints it as JSON or text; exit 3 when a client errored. */
function emitSession(record: FleetRecord, argv: Record<string, unknown>, io: Io): number {
  const out = argv.out as string | undefined;
  if (out) writeFileAtomic(out, `${JSON.stringify(record)}\n`, { name: `--out ${out}` });
  io.stdout(argv.json ? `${JSON.stringify(record)}\n` : `${summary(record)}\n`);
  return record.end.state === 'errored' ? EXIT.runtime : EXIT.ok;
}

const MERGE_RULES =
  "Merged: totals are the clients' sums; intervals and rates cover only the span where every client was running,\n" +
  "on one wall-clock time line; latency percentiles come from the clients' HdrHistograms summed; fairness is\n" +
  "Jain's index over the clients' shares in that span. Exit 3 when a client errored or left no record.";

const outputOptions: Record<string, Options> = {
  out: text('out', 'also write the merged record to FILE (one JSON line)'),
  json: jsonOutput('the merged record'),
  session: text('session', "the merged record's session id (default: derived from the clients' runs)"),
};

const fleetMergeCommand: Command = {
  name: 'merge',
  usage: '<files..>',
  describe: "Merge the records of one session's clients (files, or `kubectl logs` of each pod) into one record",
  positionals: { files: { describe: "client records: a pod's log, JSON lines or a record per file", type: 'string', array: true } },
  options: outputOptions,
  epilogue: MERGE_RULES,
  async run(argv, io) {
    const { readClientFile } = await import('../../fleet/logs.js');
    const { mergeFleet } = await import('../../fleet/merge.js');
    const out = argv.out as string | undefined;
    if (out) checkWritable(out, `--out ${out}`);
    const inputs: ClientInput[] = [];
    for (const file of argv.files as string[]) {
      const { records } = readClientFile(file);
      if (records.length === 0) throw new StoqError('INVALID_FILE', `${file}: holds no run record`);
      records.forEach((record, i) => inputs.push({ index: inputs.length, source: records.length > 1 ? `${file} [${i}]` : file, record }));
    }
    return emitSession(mergeFleet(inputs, { sessionId: argv.session as string | undefined }), argv, io);
  },
};

/** Creates a directory a flag names; a failure is the usage error naming the flag. */
function makeDirectory(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new StoqError('INVALID_FILE', `--${flag} ${dir}: cannot create the directory (${(error as NodeJS.ErrnoException).code ?? error})`, { cause: error });
  }
}

const fleetCollectCommand: Command = {
  name: 'collect',
  describe: "Wait for a session's client Job on a cluster (kubectl), gather every pod's record and merge them",
  options: {
    selector: text('selector', 'label selector of the session (printed by render: stoq-bench.dev/session=NAME)', { alias: 'l', demandOption: true }),
    context: text('context', "kubeconfig context of the cluster (default: kubectl's current one)"),
    kubeconfig: text('kubeconfig', "kubeconfig file (default: kubectl's, $KUBECONFIG or ~/.kube/config)"),
    namespace: text('namespace', "namespace of the session (default: the context's)", { alias: 'n' }),
    kubectl: text('kubectl', 'the kubectl binary', { default: 'kubectl' }),
    timeout: time('timeout', 'wait at most this long for the Job to complete or fail (TIME)', { default: '1h' }),
    'records-dir': text('records-dir', "also keep each pod's log (its record and messages) as DIR/client-INDEX.log"),
    ...outputOptions,
    ...historyOptions,
  },
  epilogue: `A pod that failed is named on stderr; its record, if it left one, is merged and marked errored.\nThe session goes into the history store like a run (--no-history to skip).\n${MERGE_RULES}`,
  async run(argv, io) {
    const { collectFleet } = await import('../../fleet/collect.js');
    const { mergeFleet } = await import('../../fleet/merge.js');
    const out = argv.out as string | undefined;
    if (out) checkWritable(out, `--out ${out}`);
    const dir = argv['records-dir'] as string | undefined;
    if (dir) makeDirectory(dir, 'records-dir');
    const selector = argv.selector as string;
    let collected;
    try {
      collected = await collectFleet({
        kubectl: argv.kubectl as string,
        context: argv.context as string | undefined,
        kubeconfig: argv.kubeconfig as string | undefined,
        namespace: argv.namespace as string | undefined,
        selector,
        timeoutS: Math.max(1, Math.ceil((argv.timeout as number) / 1e9)),
        signal: io.signal,
      });
    } catch (error) {
      // stopped while waiting for the Job: nothing was gathered
      if (!io.signal.aborted || fromNative(error).code !== 'CANCELLED') throw error;
      io.stderr(`stoq-bench fleet collect: ${fromNative(error).message}\n`);
      return cancelledExit(io.signal);
    }
    if (dir) for (const [index, log] of collected.logs) writeFileAtomic(join(dir, `client-${index}.log`), log, { name: `--records-dir ${dir}` });
    io.stderr(`job/${collected.job}: ${collected.outcome}; ${collected.clients.length} client(s)\n`);
    for (const problem of collected.problems) io.stderr(`stoq-bench fleet collect: ${problem}\n`);
    const session = /(?:^|,)stoq-bench\.dev\/session=([^,]+)/.exec(selector)?.[1] ?? collected.job;
    const record = mergeFleet(collected.clients, { sessionId: (argv.session as string | undefined) ?? session });
    // the session is a measurement like a run: into the history store unless --no-history
    const history = RunHistory.open(argv, io);
    try {
      history.add(record);
    } finally {
      history.close();
    }
    return emitSession(record, argv, io);
  },
};

export const fleetCommands: CommandGroup = {
  name: 'fleet',
  describe: 'A session over many client hosts on Kubernetes: render | merge | collect',
  subcommands: [fleetRenderCommand, fleetMergeCommand, fleetCollectCommand],
};
