// Gathering a session from a cluster with the user's kubectl: find the session's client Job by its labels,
// wait until it has completed or failed, read every pod's log (each holds its client's record), and say
// what became of each client. A pod that failed is reported; its record, if it left one, is still merged.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { loadYaml, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { StoqError } from '../errors.js';
import type { ErrorInfo, RunState } from '../record.js';
import { readClientLog } from './logs.js';
import type { ClientInput } from './merge.js';
import { COMPLETION_INDEX_ANNOTATION } from './render.js';

export interface KubectlOptions {
  /** The kubectl binary. */
  kubectl: string;
  context?: string;
  kubeconfig?: string;
  namespace?: string;
}

export interface CollectOptions extends KubectlOptions {
  /** A label selector matching the session's Job (`stoq-bench.dev/session=NAME`). */
  selector: string;
  /** How long to wait for the Job to finish, seconds. */
  timeoutS: number;
  signal?: AbortSignal;
}

/** What was gathered: the Job, each client (by completion index) and each pod's raw log. */
export interface Collected {
  job: string;
  clients: ClientInput[];
  /** How the Job ended: `Complete` or `Failed` (with the controller's reason). */
  outcome: string;
  logs: Map<number, string>;
  /** One line per client that failed, for the user. */
  problems: string[];
}

/**
 * Kubernetes objects as kubectl prints them (`--output json`: one object, or a List of them), read into
 * @kubernetes/client-node's models by its own deserialiser (timestamps become Dates).
 * @throws StoqError IO when kubectl printed something else
 */
function kubeObjects<T>(json: string, what: string): T[] {
  try {
    const parsed = JSON.parse(json) as { kind?: string; items?: unknown[] };
    const items = parsed.kind === 'List' || Array.isArray(parsed.items) ? (parsed.items ?? []) : [parsed];
    // JSON is YAML: the library's loader picks each object's model from its apiVersion and kind
    return items.map((item) => loadYaml<T>(JSON.stringify(item)));
  } catch (error) {
    throw new StoqError('IO', `kubectl printed no Kubernetes ${what} (${(error as Error).message})`, { cause: error });
  }
}

/** Runs kubectl with the cluster flags; resolves with stdout, rejects with a StoqError carrying its stderr. */
function kubectl(o: KubectlOptions, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(o.kubectl, [...clusterFlags(o), ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, signal }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new StoqError('INVALID_ARGUMENT', `--kubectl: "${o.kubectl}" is not installed or not on PATH`));
      if (error.name === 'AbortError') return reject(new StoqError('CANCELLED', 'stopped while kubectl ran'));
      reject(new StoqError('IO', `kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
    });
  });
}

function clusterFlags(o: KubectlOptions): string[] {
  return [
    ...(o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : []),
    ...(o.context ? ['--context', o.context] : []),
    ...(o.namespace ? ['--namespace', o.namespace] : []),
  ];
}

/** Finds the session's Job, waits for it, and gathers every client. */
export async function collectFleet(o: CollectOptions): Promise<Collected> {
  const jobs = kubeObjects<V1Job>(await kubectl(o, ['get', 'jobs', '--selector', o.selector, '--output', 'json'], o.signal), 'Jobs');
  if (jobs.length === 0) {
    throw new StoqError('INVALID_ARGUMENT', `no Job matches --selector ${o.selector}${o.namespace ? ` in namespace ${o.namespace}` : ''} (check --context and --namespace)`);
  }
  if (jobs.length > 1) throw new StoqError('INVALID_ARGUMENT', `--selector ${o.selector} matches ${jobs.length} Jobs (${jobs.map((j) => j.metadata?.name).join(', ')}): name one session`);
  const name = jobs[0].metadata?.name;
  if (!name) throw new StoqError('IO', 'kubectl printed a Job without a name');
  const outcome = await waitForJob(o, name);
  // read again: the finished Job's status and its pods' selector
  const [job] = kubeObjects<V1Job>(await kubectl(o, ['get', `job/${name}`, '--output', 'json'], o.signal), 'Job');
  const matchLabels = job.spec?.selector?.matchLabels ?? {};
  const podSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',') || o.selector;
  const pods = kubeObjects<V1Pod>(await kubectl(o, ['get', 'pods', '--selector', podSelector, '--output', 'json'], o.signal), 'Pods');
  const completions = job.spec?.completions ?? 0;
  const clients: ClientInput[] = [];
  const logs = new Map<number, string>();
  const problems: string[] = [];
  for (let index = 0; index < completions; index++) {
    // a retried index has several pods: the latest one speaks for it
    const pod = pods
      .filter((p) => p.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] === String(index))
      .sort((a, b) => (a.metadata?.creationTimestamp?.getTime() ?? 0) - (b.metadata?.creationTimestamp?.getTime() ?? 0))
      .pop();
    if (!pod) {
      const failure: ErrorInfo = { code: 'INVALID_FILE', message: `no pod ran client ${index} (the Job ended ${outcome})` };
      clients.push({ index, source: `job/${name} index ${index}`, record: null, failure });
      problems.push(`client ${index}: ${failure.message}; it left no record`);
      continue;
    }
    const podName = pod.metadata?.name ?? `index ${index}`;
    const node = pod.spec?.nodeName;
    let log = '';
    let logError: string | undefined;
    try {
      log = await kubectl(o, ['logs', `pod/${podName}`, '--container', 'client'], o.signal);
      logs.set(index, log);
    } catch (error) {
      if ((error as StoqError).code === 'CANCELLED') throw error;
      logError = (error as Error).message;
    }
    const { records, messages } = log ? readClientLog(log, `pod/${podName}`) : { records: [], messages: [] };
    if (records.length > 1) throw new StoqError('INVALID_FILE', `pod/${podName}: ${records.length} records in one client's log (a client runs once)`);
    const record = records[0] ?? null;
    const failure = podFailure(pod, record?.end.state ?? null, record?.end.error ?? null, logError, messages);
    clients.push({ index, source: `pod/${podName}`, pod: podName, node, record, ...(failure ? { failure } : {}) });
    if (failure) problems.push(`client ${index} (pod ${podName}${node ? ` on node ${node}` : ''}): ${failure.message}; ${record ? 'its record is merged, marked errored' : 'it left no record'}`);
  }
  return { job: name, clients, outcome, logs, problems };
}

/** Why a client's pod failed, or undefined when it ran to completion with a record. */
function podFailure(pod: V1Pod, state: RunState | null, runError: ErrorInfo | null, logError: string | undefined, messages: string[]): ErrorInfo | undefined {
  const status = pod.status ?? {};
  const container = status.containerStatuses?.find((c) => c.name === 'client');
  const terminated = container?.state?.terminated;
  const waiting = container?.state?.waiting;
  const tail = messages.slice(-3).join(' | ');
  const said = tail ? `; it said: ${tail}` : '';
  if (status.phase === 'Succeeded' && state !== null) return undefined;
  if (terminated) {
    if (terminated.exitCode === 0 && state !== null) return undefined;
    const why = `pod ${status.phase ?? 'ended'}: exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`;
    return { code: runError?.code ?? (state === null ? 'INVALID_FILE' : 'IO'), message: `${why}${runError ? `: ${runError.message}` : ''}${said}` };
  }
  const where = waiting?.reason ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` : status.reason ? `${status.reason}${status.message ? `: ${status.message}` : ''}` : `phase ${status.phase ?? 'unknown'}`;
  return { code: 'INVALID_FILE', message: `pod did not finish (${where})${logError ? `; no log: ${logError}` : ''}${said}` };
}

/**
 * Waits until the Job has the Complete or the Failed condition (one `kubectl wait` for each, whichever
 * answers first), at most `timeoutS`. Resolves with the condition and the controller's reason.
 */
async function waitForJob(o: CollectOptions, name: string): Promise<string> {
  const children: ChildProcess[] = [];
  const waitFor = (condition: 'Complete' | 'Failed') =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(o.kubectl, [...clusterFlags(o), 'wait', `job/${name}`, `--for=condition=${condition}`, `--timeout=${o.timeoutS}s`], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.once('error', (error) => reject(error));
      child.once('exit', (code, signal) => (code === 0 ? resolve(condition) : reject(new Error(signal ? `stopped (${signal})` : stderr.trim() || `exit code ${code}`))));
    });
  const abort = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const condition = await Promise.any([waitFor('Complete'), waitFor('Failed')]);
    if (o.signal?.aborted) throw new StoqError('CANCELLED', `stopped while waiting for job/${name}`);
    if (condition === 'Complete') return 'Complete';
    const [job] = kubeObjects<V1Job>(await kubectl(o, ['get', `job/${name}`, '--output', 'json'], o.signal), 'Job');
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    return `Failed${failed?.reason ? ` (${failed.reason}${failed.message ? `: ${failed.message}` : ''})` : ''}`;
  } catch (error) {
    if (error instanceof StoqError) throw error;
    if (o.signal?.aborted) throw new StoqError('CANCELLED', `stopped while waiting for job/${name}`);
    const reasons = error instanceof AggregateError ? error.errors.map((e: Error) => e.message) : [String(error)];
    if (reasons.some((r) => /ENOENT/.test(r))) throw new StoqError('INVALID_ARGUMENT', `--kubectl: "${o.kubectl}" is not installed or not on PATH`);
    throw new StoqError('TIMEOUT', `job/${name} neither completed nor failed within ${o.timeoutS} s (${[...new Set(reasons)].join('; ')})`);
  } finally {
    o.signal?.removeEventListener('abort', abort);
    // the other wait is no longer needed
    abort();
  }
}
