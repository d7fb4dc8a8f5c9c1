// Grading: a candidate against a baseline, verdicts and severity, SLOs, network tiers.
export { compareRuns, failsGate, SEVERITIES, type Comparison, type CompareOptions, type MetricComparison, type Verdict, type Severity, type Noise } from './compare.js';
export { parseSlo, type Slo } from './slo.js';
export { classifyTier, TIERS, type Tier } from './tiers.js';
export { formatComparison, formatSummary, formatRuns } from './format.js';
