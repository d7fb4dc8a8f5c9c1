// One entry per scenario kind: what it measures, in which run-level metrics, and how its records read.
// What a kind takes (stop conditions, fields, defaults) is the engine's to say (`engineSpec().kinds`, from
// the kind's workload module in crate/engine/src/workload/); this table adds what the TypeScript side
// judges and shows. CLI flags, the run model, reports, validation and monitoring read it here.
import type { KindSpec, ScenarioField } from './generated/engine.js';
import { engineSpec } from './native.js';
import type { ScenarioKind } from './scenario.js';

/** The run-level metrics: one number per run (see the run model). */
export type MetricId = 'goodput' | 'latencyP50' | 'latencyP99' | 'requestRate' | 'handshakeRate';

export interface KindInfo {
  /** Its run-level metrics, headline first. */
  metrics: readonly MetricId[];
  /** The metrics it is the scenario of by default (what `validate` measures for an expectation). */
  measures: readonly MetricId[];
  /** The series its intervals are checked for steadiness on: goodput, or completions per second. */
  series: 'goodput' | 'completions';
  /** Directions payload flows in: `bytes` is per direction, so a bidir run moves twice its bytes. */
  directions: 0 | 1 | 2;
  /** What one latency sample times, for people; absent when the kind times nothing. */
  sample?: 'round trip' | 'handshake';
}

const TRANSFER: Omit<KindInfo, 'measures'> = { metrics: ['goodput'], series: 'goodput', directions: 1 };

export const KINDS: Readonly<Record<ScenarioKind, KindInfo>> = {
  download: { ...TRANSFER, measures: ['goodput'] },
  upload: { ...TRANSFER, measures: [] },
  bidir: { ...TRANSFER, measures: [], directions: 2 },
  requests: { metrics: ['requestRate', 'latencyP50', 'latencyP99'], measures: ['requestRate'], series: 'completions', directions: 2, sample: 'round trip' },
  latency: { metrics: ['latencyP50', 'latencyP99', 'requestRate'], measures: ['latencyP50', 'latencyP99'], series: 'completions', directions: 2, sample: 'round trip' },
  handshakes: { metrics: ['handshakeRate', 'latencyP50', 'latencyP99'], measures: ['handshakeRate'], series: 'completions', directions: 0, sample: 'handshake' },
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

/** The kinds whose records carry a metric. */
export function kindsWith(metric: MetricId): ScenarioKind[] {
  return engineSpec().kinds.map((k) => k.kind).filter((k) => KINDS[k].metrics.includes(metric));
}

/** The kind measured for a metric when no scenario is named. */
export function kindFor(metric: MetricId): ScenarioKind {
  const kind = engineSpec().kinds.map((k) => k.kind).find((k) => KINDS[k].measures.includes(metric));
  if (!kind) throw new Error(`no scenario kind measures ${metric}`);
  return kind;
}

/** Whether a kind moves payload one way or both (download, upload, bidir): its headline is goodput. */
export function isTransfer(kind: ScenarioKind): boolean {
  return KINDS[kind].series === 'goodput';
}
