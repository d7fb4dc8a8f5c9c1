// A workload as plain data, normalised by the engine (defaults filled in, checked, content-hash id).
// Its types are generated from the engine's; the kinds, congestion controls and defaults are the loaded
// engine's own (see ./kinds.ts for what each kind measures).
import type { CongestionControl, Kind, Scenario, ScenarioInput } from './generated/engine.js';
import { StoqError } from './errors.js';
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
  checkWholeNumbers(rest);
  return callNative(() => fromEngine('scenario', native.normalizeScenario(JSON.stringify(rest))));
}

/**
 * The engine's limited fields hold whole numbers: one that is not (fractional, negative, beyond 2^53, not a
 * number) is refused here in words naming the field and its range, rather than by the engine's JSON reader.
 */
function checkWholeNumbers(input: object): void {
  for (const limit of engineSpec().limits) {
    const value = limit.field.split('.').reduce<unknown>((o, key) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined), input);
    if (value === undefined || value === null || (Number.isSafeInteger(value) && (value as number) >= 0)) continue;
    throw new StoqError('INVALID_ARGUMENT', `${limit.label}: expected a whole number from ${limit.min} to ${limit.max}, got ${JSON.stringify(value) ?? String(value)}`, { field: limit.field });
  }
}
