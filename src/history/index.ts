// History: the SQLite store, named baselines and baseline files, change points, baseline selection.
export { HistoryStore, defaultStorePath } from './store.js';
export { selectBaseline, type BaselineFile } from './baseline.js';
export { detectChangePoints } from './change-point.js';
