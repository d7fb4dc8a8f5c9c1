// The run record: what one run measured, as versioned data. Its shape is defined once, in the engine's
// Rust types (crate/engine/src/record.rs); schema/run-record.schema.json and these types are generated
// from them. Reading records from files (and upgrading older versions) is ./records.ts.
import type { RunRecord, Undetermined } from './generated/engine.js';
import { engineSpec } from './native.js';

export type {
  RunRecord,
  IntervalRecord,
  ClosingRecord,
  SideRecord,
  EndRecord,
  SideTotals,
  ConnectionRecord,
  LatencyRecord,
  Environment,
  SideEnvironment,
  FastPath,
  RunState,
  StartRecord,
  FleetSummary,
  FleetClient,
  ErrorInfo,
  ServerView,
} from './generated/engine.js';

/** The `schemaVersion` of the records this version writes. */
export const SCHEMA_VERSION: RunRecord['schemaVersion'] = 4;

/** The latency percentiles a record reports (null where its sample cannot bound them). */
export const LATENCY_PERCENTILES = ['p50Us', 'p90Us', 'p99Us', 'p999Us'] as const;

/**
 * The percentiles a sample of `n` cannot bound, by the engine's rule (a distribution-free interval at its
 * level needs `minSamples`), each with the reason: a latency summary leaves them null. The engine applies
 * the rule to its runs; this applies it where a summary is made or upgraded outside the engine.
 */
export function undeterminedPercentiles(n: number): Undetermined[] {
  const rule = engineSpec().percentiles;
  return rule.minSamples
    .filter((m) => n < m.minSamples)
    .map(({ percentile, minSamples }) => ({
      percentile,
      minSamples,
      reason: `${n} samples cannot bound ${percentile}: a distribution-free ${rule.level * 100}% interval needs at least ${minSamples}`,
    }));
}
