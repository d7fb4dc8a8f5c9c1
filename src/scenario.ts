// A workload as plain data, normalised by the engine (defaults filled in, checked, content-hash id).
// Its types are generated from the engine's; the kinds, congestion controls and defaults are the loaded
// engine's own (see ./kinds.ts for what each kind measures).
import type { CongestionControl, Kind, Scenario, ScenarioInput } from './generated/engine.js';
import { callNative, engineSpec, fromEngine, native } from './native.js';

export type { Scenario, ScenarioInput, Settings, CongestionControl } from './generated/engine.js';
export type ScenarioKind = Kind;

/** Every scenario kind, in the order users see them. */
export const SCENARIO_KINDS: readonly ScenarioKind[] = engineSpec().kinds.map((k) => k.kind);

/** The congestion controls the engine offers. */
export const CONGESTION_CONTROLS: readonly CongestionControl[] = engineSpec().congestionControls;

/**
 * Validates a scenario and fills its defaults; throws a StoqError (`INVALID_ARGUMENT`) naming the problem,
 * with `field` naming the field at fault.
 */
export function normalizeScenario(input: ScenarioInput): Scenario {
  const { id: _ignored, ...rest } = input;
  return callNative(() => fromEngine('scenario', native.normalizeScenario(JSON.stringify(rest))));
}
