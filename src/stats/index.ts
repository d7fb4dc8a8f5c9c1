// Statistics: descriptive summaries, order statistics, two-sample inference, resampling, the run model.
// The one public entry of src/stats.
export { summarize, DEFAULT_PERCENTILES, MAD_NORMAL_SCALE, type Summary, type SummaryOptions, type Percentile } from './descriptive.js';
export {
  orderStatistics,
  sortedOrderStatistics,
  fromSorted,
  median,
  medianInPlace,
  LARGE_SAMPLE,
  type OrderStatistics,
  type OrderStatisticsPlan,
  type OrderBounds,
} from './order-statistics.js';
export {
  quantileSorted,
  quantileInterval,
  minSampleForQuantile,
  quantileConvention,
  selectInPlace,
  type QuantileType,
  type QuantileInterval,
} from './quantile.js';
export { normalSf, normalCdf, normalQuantile, studentTSf, studentTQuantile, binomialCdf } from './special.js';
export { mannWhitney, hodgesLehmannShift, minRunsForLevel, welch, benjaminiHochberg, type MannWhitney, type MannWhitneyMethod, type ShiftInterval, type Welch } from './two-sample.js';
export { bcaTwoSample, blockBootstrapMean, batchMeansInterval, type Interval } from './bootstrap.js';
export { mean, variance, autocorrelation, effectiveSampleSize, theilSen, drift, hodgesLehmannCentre, type TheilSen } from './series.js';
export { summarizeRun, groupBySession, METRICS, METRIC_IDS, type MetricId, type MetricInfo, type RunSummary, type RunModelOptions, type Steadiness } from './run-model.js';
export { createRng, type Rng } from './rng.js';
