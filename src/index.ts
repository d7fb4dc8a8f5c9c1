// The public API of stoq-bench. Everything a TypeScript tool needs is exported here; the generated
// binding (`index.js` at the package root) is internal.
export { runScenario, runSession, type RunOptions, type RunOutcome } from './run.js';
export { startServer, StoqServer, type LiveServerStats, type RetryMode, type ServerOptions, type ServerStats, type StoppedServer } from './server.js';
export {
  normalizeScenario,
  SCENARIO_KINDS,
  CONGESTION_CONTROLS,
  type Scenario,
  type ScenarioInput,
  type ScenarioKind,
  type Settings,
  type CongestionControl,
} from './scenario.js';
export {
  SCHEMA_VERSION,
  type RunRecord,
  type IntervalRecord,
  type ClosingRecord,
  type SideRecord,
  type EndRecord,
  type SideTotals,
  type ConnectionRecord,
  type LatencyRecord,
  type Environment,
  type SideEnvironment,
  type FastPath,
  type RunState,
  type ServerView,
} from './record.js';
export { StoqError, ERROR_CODES, type ErrorCode } from './errors.js';
// Judging records: statistics with their uncertainty, comparison and grading, the history store.
export {
  summarize,
  quantileSorted,
  mannWhitney,
  hodgesLehmannShift,
  benjaminiHochberg,
  summarizeRun,
  METRICS,
  type Summary,
  type RunSummary,
  type MetricId,
} from './stats/index.js';
export { compareRuns, parseSlo, classifyTier, runLimit, type Comparison, type MetricComparison, type Verdict, type Severity, type Limit } from './grading/index.js';
export { HistoryStore, selectBaseline, detectChangePoints, type BaselineFile } from './history/index.js';
export { readRecordFiles, parseRecords } from './records.js';
export { parseSize, parseDuration, parseRate, formatRate, formatBytes } from './units.js';
export { VERSION } from './version.js';
