// History: the SQLite store, named baselines and baseline files, change points, baseline selection.
export { HistoryStore, defaultStorePath, SCHEMA_VERSION as HISTORY_SCHEMA_VERSION, type SessionInfo, type BaselineInfo } from './store.js';
export { selectBaseline, historyWindow, makeBaselineFile, readBaselineFile, parseBaselineFile, type BaselineFile, type SelectedBaseline } from './baseline.js';
export { detectChangePoints, latestChange, type ChangePoint } from './change-point.js';
