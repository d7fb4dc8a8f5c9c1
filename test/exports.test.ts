// The public surface other TypeScript tools import: pinned, so a change to it is a deliberate one.
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as api from '../src/index.js';
import type { RunOutcome, RunRecord, ScenarioInput } from '../src/index.js';

describe('public exports', () => {
  it('are exactly these', () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "CONGESTION_CONTROLS",
        "ERROR_CODES",
        "HistoryStore",
        "METRICS",
        "SCENARIO_KINDS",
        "SCHEMA_VERSION",
        "StoqError",
        "StoqServer",
        "VERSION",
        "benjaminiHochberg",
        "classifyTier",
        "compareRuns",
        "detectChangePoints",
        "formatBytes",
        "formatRate",
        "hodgesLehmannShift",
        "mannWhitney",
        "normalizeScenario",
        "parseDuration",
        "parseRate",
        "parseRecords",
        "parseSize",
        "parseSlo",
        "quantileSorted",
        "readRecordFiles",
        "runLimit",
        "runScenario",
        "runSession",
        "selectBaseline",
        "startServer",
        "summarize",
        "summarizeRun",
      ]
    `);
  });

  it('have the documented types', () => {
    expectTypeOf(api.runScenario).parameter(0).toMatchTypeOf<ScenarioInput>();
    expectTypeOf(api.runScenario).returns.resolves.toEqualTypeOf<RunOutcome>();
    expectTypeOf<RunOutcome['samples']['latencyNs']>().toEqualTypeOf<BigUint64Array>();
    expectTypeOf<RunRecord['end']['state']>().toEqualTypeOf<'completed' | 'cancelled' | 'errored'>();
    expectTypeOf<RunRecord["schemaVersion"]>().toEqualTypeOf<4>();
  });

  it('scenario ids are stable content hashes shared by both spellings', () => {
    const a = api.normalizeScenario({ kind: 'download', bytes: 1 << 20 });
    const b = api.normalizeScenario({ kind: 'download', bytes: 1 << 20, connections: 1, settings: { cc: 'cubic' } });
    expect(a.id).toBe(b.id);
    // The same id the engine's own test pins (crate/engine/src/scenario.rs).
    expect(a.id).toBe('3af01f68abc4c98d');
    expect(a.settings.payloadSize).toBe(1350);
  });
});
