// A debug engine (the dev profile) runs several times slower than a release one: say so wherever it
// measures or judges, so its figures are never taken for the engine's.
import { engineSpec } from '../native.js';
import type { RunRecord } from '../record.js';
import type { Io } from './command.js';

/** The warning for a debug engine, or undefined for a release one. */
export function debugEngineWarning(): string | undefined {
  if (engineSpec().build !== 'debug') return undefined;
  return 'the loaded engine is a debug build (the dev profile): it runs several times slower than a release build, and its records say build "debug" (rebuild with npm run build:native)';
}

/** Warns on stderr when records were measured by a debug engine (their figures are not the engine's). */
export function warnIfDebugRecords(io: Io, command: string, records: readonly RunRecord[]): void {
  const debug = records.filter((r) => r.environment.build === 'debug').length;
  if (debug > 0) {
    io.stderr(`stoq-bench ${command}: warning: ${debug} of ${records.length} record(s) were measured by a debug build of the engine (the dev profile), several times slower than a release build\n`);
  }
}

/** Warns on stderr when the loaded engine is a debug build. */
export function warnIfDebugEngine(io: Io, command: string): void {
  const warning = debugEngineWarning();
  if (warning) io.stderr(`stoq-bench ${command}: warning: ${warning}\n`);
}
