// The run record: what one run measured, as versioned data. Its shape is defined once, in the engine's
// Rust types (crate/engine/src/record.rs); schema/run-record.schema.json and these types are generated
// from them. Reading records from files (and upgrading older versions) is ./records.ts.
import type { RunRecord } from './generated/engine.js';

export type {
  RunRecord,
  IntervalRecord,
  EndRecord,
  ConnectionRecord,
  LatencyRecord,
  Environment,
  FastPath,
  RunState,
} from './generated/engine.js';

/** The `schemaVersion` of the records this version writes. */
export const SCHEMA_VERSION: RunRecord['schemaVersion'] = 3;

/** The latency percentiles a record reports (null where its sample cannot bound them). */
export const LATENCY_PERCENTILES = ['p50Us', 'p90Us', 'p99Us', 'p999Us'] as const;
