// Grading: a candidate against a baseline, verdicts and severity, SLOs, network tiers.
export { compareRuns, type Comparison, type MetricComparison, type Verdict, type Severity } from './compare.js';
export { parseSlo, type Slo } from './slo.js';
export { classifyTier } from './tiers.js';
export { runLimit, type Limit } from './limits.js';
