// Statistics: descriptive summaries, order statistics, two-sample inference, resampling, the run model.
// The one public entry of src/stats.
export { summarize, type Summary } from './descriptive.js';
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
export { quantileSorted, quantileInterval, type QuantileType } from './quantile.js';
export { normalSf, normalCdf, normalQuantile, studentTSf, studentTQuantile, binomialCdf } from './special.js';
export { mannWhitney, hodgesLehmannShift, welch, benjaminiHochberg } from './two-sample.js';
export { bcaTwoSample, blockBootstrapMean, batchMeansInterval } from './bootstrap.js';
export { autocorrelation, theilSen, drift, hodgesLehmannCentre } from './series.js';
export { summarizeRun, METRICS, type MetricId, type RunSummary } from './run-model.js';
export { createRng } from './rng.js';
