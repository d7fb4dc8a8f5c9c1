// Between-session noise: how much a metric moves from one session (invocation, testbed) to the next, the sd of
// its log session medians. Thresholds come from it, not from a fixed percentage.
import { quantileSorted } from './quantile.js';
import { groupBySession, type MetricId, type RunSummary } from './run-model.js';
import { variance } from './series.js';

/** Between-session noise of a metric: the sd of log session medians, and where it was measured. */
export interface Noise {
  sd: number;
  sessions: number;
  source: string;
}

/** Between-session noise from runs spanning several sessions: sd of log session medians (>= 3 sessions). */
export function sessionNoise(runs: readonly RunSummary[], metric: MetricId, source: string): Noise | undefined {
  const medians: number[] = [];
  for (const list of groupBySession(runs).values()) {
    const vals = list.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined && v > 0);
    if (vals.length > 0) medians.push(Math.log(quantileSorted(Float64Array.from(vals).sort(), 0.5)));
  }
  if (medians.length < 3) return undefined;
  return { sd: Math.sqrt(variance(medians)), sessions: medians.length, source };
}
