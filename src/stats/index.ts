// Statistics: descriptive summaries, two-sample inference, resampling, the run model.
export { summarize, DEFAULT_PERCENTILES, MAD_NORMAL_SCALE, type Summary, type SummaryOptions, type Percentile } from './descriptive.js';
export { quantileSorted, quantileInterval, minSampleForQuantile, quantileConvention, type QuantileType, type QuantileInterval } from './quantile.js';
export { mannWhitney, hodgesLehmannShift, welch, benjaminiHochberg, type MannWhitney, type ShiftInterval, type Welch } from './two-sample.js';
export { bcaTwoSample, blockBootstrapMean, batchMeansInterval, type Interval } from './bootstrap.js';
export { autocorrelation, effectiveSampleSize, theilSen, drift, hodgesLehmannCentre, type TheilSen } from './series.js';
export { summarizeRun, groupBySession, METRICS, METRIC_IDS, type MetricId, type MetricInfo, type RunSummary, type RunModelOptions, type Steadiness } from './run-model.js';
export { createRng, type Rng } from './rng.js';
