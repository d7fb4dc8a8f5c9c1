// What the CLI reads: a JSON array of numbers, run-record files (JSON or JSON lines), baseline files, or a
// baseline name in the store.
import { existsSync } from 'node:fs';
import { StoqError } from '../errors.js';
import { readTextFile } from '../files.js';
import { parseRecords } from '../records.js';
import type { RunRecord } from '../record.js';
import { isBaselineFile, parseBaselineFile } from './baseline.js';
import type { HistoryStore } from './store.js';

export type FileContent = { kind: 'numbers'; values: number[] } | { kind: 'records'; records: RunRecord[]; baselineName?: string };

/** Reads a file as numbers (a JSON array of numbers), a baseline file, or run records. */
export function readInputFile(path: string): FileContent {
  return parseInputText(readTextFile(path), path);
}

/** Reads text (of the file `path`) as numbers, a baseline file, or run records. */
export function parseInputText(text: string, path: string): FileContent {
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  if (Array.isArray(whole) && whole.length > 0 && whole.every((v) => typeof v === 'number')) {
    const bad = whole.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new StoqError('INVALID_FILE', `${path}: element ${bad} is not a finite number`);
    return { kind: 'numbers', values: whole as number[] };
  }
  if (Array.isArray(whole) && whole.length === 0) throw new StoqError('INVALID_FILE', `${path}: an empty array`);
  if (isBaselineFile(whole)) {
    const b = parseBaselineFile(text, path);
    return { kind: 'records', records: b.records, baselineName: b.name };
  }
  return { kind: 'records', records: parseRecords(text, path) };
}

/** One side of a comparison: named baseline (when a single argument is not a file) or files. */
export function resolveSide(
  specs: readonly string[],
  store: () => HistoryStore | undefined,
  what: string,
  allowName = true,
): { records: RunRecord[]; description: string; source: 'named' | 'files' } {
  if (allowName && specs.length === 1 && !existsSync(specs[0]) && !/[/\\]|\.jsonl?$/i.test(specs[0])) {
    const s = store();
    const records = s?.baselineRecords(specs[0]);
    if (!records) throw new StoqError('INVALID_ARGUMENT', `${what} "${specs[0]}" is neither a file nor a baseline in the store (see: stoq-bench baseline list)`);
    return { records, description: `baseline "${specs[0]}" from ${s!.path} (${records.length} runs)`, source: 'named' };
  }
  const records: RunRecord[] = [];
  const names: string[] = [];
  for (const f of specs) {
    const c = readInputFile(f);
    if (c.kind === 'numbers') throw new StoqError('INVALID_FILE', `${f}: a JSON array of numbers, not run records`);
    records.push(...c.records);
    if (c.baselineName) names.push(`baseline file "${c.baselineName}"`);
  }
  return { records, description: `${specs.join(', ')}${names.length ? ` (${names.join(', ')})` : ''}: ${records.length} runs`, source: 'files' };
}
