// One entry per scenario kind: what it measures, in which run-level metrics, and how its records read.
// What a kind takes (stop conditions, fields, defaults) is the engine's to say (`engineSpec().kinds`, from
// the kind's workload module in crate/engine/src/workload/); this table adds what the TypeScript side
// judges and shows. CLI flags, the run model, reports, validation and monitoring read it here.
import type { KindSpec, ScenarioField } from './generated/engine.js';
import { engineSpec } from './native.js';
import type { Scenario, ScenarioKind } from './scenario.js';

/** The run-level metrics: one number per run (see the run model). */
export type MetricId = 'goodput' | 'latencyP50' | 'latencyP99' | 'requestRate' | 'handshakeRate';

export interface KindInfo {
  /** Its run-level metrics, headline first. */
  metrics: readonly MetricId[];
  /** The metrics it is the scenario of by default (what `validate` measures for an expectation). */
  measures: readonly MetricId[];
  /** The series its intervals are checked for steadiness on: goodput, or completions per second. */
  series: 'goodput' | 'completions';
  /** The directions its `bytes` go (transfers): each direction moves all of them, so bidir moves twice. */
  bytes?: { sent: boolean; received: boolean };
  /** What one latency sample times, for people; absent when the kind times nothing. */
  sample?: 'round trip' | 'handshake';
}

const TRANSFER = { metrics: ['goodput'], series: 'goodput' } as const;

export const KINDS: Readonly<Record<ScenarioKind, KindInfo>> = {
  download: { ...TRANSFER, measures: ['goodput'], bytes: { sent: false, received: true } },
  upload: { ...TRANSFER, measures: [], bytes: { sent: true, received: false } },
  bidir: { ...TRANSFER, measures: [], bytes: { sent: true, received: true } },
  requests: { metrics: ['requestRate', 'latencyP50', 'latencyP99'], measures: ['requestRate'], series: 'completions', sample: 'round trip' },
  latency: { metrics: ['latencyP50', 'latencyP99', 'requestRate'], measures: ['latencyP50', 'latencyP99'], series: 'completions', sample: 'round trip' },
  handshakes: { metrics: ['handshakeRate'], measures: ['handshakeRate'], series: 'completions', sample: 'handshake' },
};

/** The engine's declaration of a kind: its stop conditions, the fields it takes, its defaults. */
export function kindSpec(kind: ScenarioKind): KindSpec {
  const spec = engineSpec().kinds.find((k) => k.kind === kind);
  if (!spec) throw new Error(`the engine has no scenario kind ${kind}`);
  return spec;
}

/** Whether `kind` takes a scenario field (settings and run options apply to every kind). */
export function takes(kind: ScenarioKind, field: string): boolean {
  const spec = kindSpec(kind);
  const own = [...spec.stops, ...spec.fields] as string[];
  const optional = [...engineSpec().stops, ...engineSpec().kinds.flatMap((k) => k.fields)] as string[];
  return own.includes(field) || !optional.includes(field as ScenarioField);
}

/** The kinds that take a field. */
export function kindsTaking(field: string): ScenarioKind[] {
  return engineSpec().kinds.filter((k) => takes(k.kind, field)).map((k) => k.kind);
}

const allKinds = (): ScenarioKind[] => engineSpec().kinds.map((k) => k.kind);

/** The kinds whose records carry a metric, the one measured for it by default first. */
export function kindsWith(metric: MetricId): ScenarioKind[] {
  const natural = kindFor(metric);
  return [natural, ...allKinds().filter((k) => k !== natural && KINDS[k].metrics.includes(metric))];
}

/** The kinds whose latency samples time a round trip, or a handshake. */
export function kindsTiming(sample: 'round trip' | 'handshake'): ScenarioKind[] {
  return allKinds().filter((k) => KINDS[k].sample === sample);
}

/** The kind measured for a metric when no scenario is named. */
export function kindFor(metric: MetricId): ScenarioKind {
  const kind = allKinds().find((k) => KINDS[k].measures.includes(metric));
  if (!kind) throw new Error(`no scenario kind measures ${metric}`);
  return kind;
}

/** The two sides of a run, as a record names them. */
export type Side = 'client' | 'server';

/**
 * The sides that send a scenario's data: the server for a download, the client for an upload, both for bidir;
 * for requests and latency the side with the larger message (the server on a tie: it answers); none for
 * handshakes. Their path figures (window, losses, pacing) are the ones that explain the transfer.
 */
export function dataSenders(s: Pick<Scenario, 'kind' | 'requestSize' | 'responseSize'>): Side[] {
  const bytes = KINDS[s.kind].bytes;
  if (bytes) return [...(bytes.sent ? (['client'] as const) : []), ...(bytes.received ? (['server'] as const) : [])];
  if (s.kind === 'handshakes') return [];
  return (s.requestSize ?? 0) > (s.responseSize ?? 0) ? ['client'] : ['server'];
}

/** Whether a kind moves payload one way or both (download, upload, bidir): its headline is goodput. */
export function isTransfer(kind: ScenarioKind): boolean {
  return KINDS[kind].series === 'goodput';
}
