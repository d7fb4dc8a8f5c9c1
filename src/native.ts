// The generated binding, loaded once, and the one place its values are read: JSON the engine serialised
// from the types that src/generated/engine.ts is generated from. Internal: users import `index.ts`.
import * as binding from '../index.js';
import { fromNative } from './errors.js';
import type { BindingValues, EngineSpec, Limit } from './generated/engine.js';

export const native = binding;

/** Reads a value the engine serialised as `what` (a name of `BindingValues`). */
export function fromEngine<K extends keyof BindingValues>(_what: K, json: string): BindingValues[K] {
  return JSON.parse(json) as BindingValues[K];
}

/** Calls into the binding; an engine error becomes a StoqError with its code and field. */
export function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNative(error);
  }
}

let spec: EngineSpec | undefined;

/** The engine's accepted range of a value (a scenario field, `settings.NAME`, or `intervalNs`). */
export function engineLimit(field: string): Limit {
  const limit = engineSpec().limits.find((l) => l.field === field);
  if (!limit) throw new Error(`the engine has no limit for ${field}`);
  return limit;
}

/** The loaded engine's interface: its kinds and the fields each takes, limits, defaults, codes, build. */
export function engineSpec(): EngineSpec {
  spec ??= fromEngine('spec', binding.engineSpec());
  return spec;
}
