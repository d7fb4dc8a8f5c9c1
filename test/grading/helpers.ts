import type { MetricId, RunSummary } from '../../src/stats/run-model.js';

/** A run summary with the given metric values (steady, completed) for fast simulations. */
export function run(metrics: Partial<Record<MetricId, number>>, over: Partial<RunSummary> = {}): RunSummary {
  return {
    sessionId: 's1',
    run: 0,
    startedAt: '2026-11-28T12:00:00Z',
    scenarioId: 'scn',
    scenarioKind: 'download',
    fingerprint: 'tb',
    state: 'completed',
    metrics,
    undetermined: {},
    latencyCount: over.latencySamples?.length ?? 0,
    warmup: { omittedIntervals: 1, omittedS: 1, method: 'test' },
    steadiness: { status: 'steady', reasons: [], series: 'goodput', intervals: 10, durationS: 10, lag1: 0, effectiveN: 10, drift: null },
    withinRun: null,
    ...over,
  };
}

export function goodputRuns(values: number[], over: Partial<RunSummary> = {}): RunSummary[] {
  return values.map((v, i) => run({ goodput: v }, { run: i, ...over }));
}
