// What `claims` reads: documents and source files (directories walked), and the evidence: run-record or
// baseline files, or else the history store that `run` and `monitor` record into.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoqError } from '../errors.js';
import { readTextFile } from '../files.js';
import { isBaselineFile, parseBaselineFile } from '../history/baseline.js';
import { HistoryStore } from '../history/store.js';
import { parseRecords } from '../records.js';
import type { RunRecord } from '../record.js';
import { isSourceFile } from './hardcoded.js';

const DOCUMENT_EXTENSIONS = /\.(md|markdown|mdx|txt|rst|adoc)$/i;
const SKIP_DIRS = new Set(['node_modules', '.git', 'target', 'dist', 'build', '.cache', 'vendor', '__pycache__', '.venv']);

export interface Input {
  path: string;
  kind: 'document' | 'source';
  text: string;
}

const read = (path: string) => readTextFile(path);

/**
 * The files to check: each file named (a source file by its extension, anything else a document), and in
 * each directory named, its documents and source files (build, dependency and VCS directories skipped).
 */
export function readInputs(paths: readonly string[]): Input[] {
  const out: Input[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(p);
      } else if (e.isFile() && (isSourceFile(p) || DOCUMENT_EXTENSIONS.test(p))) {
        out.push({ path: p, kind: isSourceFile(p) ? 'source' : 'document', text: read(p) });
      }
    }
  };
  for (const path of paths) {
    if (existsSync(path) && statSync(path).isDirectory()) walk(path);
    else out.push({ path, kind: isSourceFile(path) ? 'source' : 'document', text: read(path) });
  }
  return out;
}

/** Run records from record files (one record, an array or JSON lines) or baseline files. */
export function readRecordEvidence(paths: readonly string[]): RunRecord[] {
  return paths.flatMap((path) => {
    const text = read(path);
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch {
      whole = undefined; // JSON lines: parseRecords names the line at fault
    }
    return isBaselineFile(whole) ? parseBaselineFile(text, path).records : parseRecords(text, path);
  });
}

/**
 * Every run in the history store at `path`, or an INVALID_FILE error saying how to get some. `recent` keeps
 * only that many most recent sessions.
 */
export function readStoreEvidence(path: string, recent?: number): { records: RunRecord[]; sessions: number } {
  const how = 'record runs first (`stoq-bench run --runs 5` records every run there), or give --records FILES';
  if (!existsSync(path)) throw new StoqError('INVALID_FILE', `no history store at ${path}: ${how}`);
  const store = HistoryStore.open(path, { readonly: true });
  try {
    const sessions = store.sessions(recent ? { limit: recent } : {});
    if (sessions.length === 0) throw new StoqError('INVALID_FILE', `the history store ${path} holds no runs: ${how}`);
    return { records: store.records(sessions.map((s) => s.id).reverse()), sessions: sessions.length };
  } finally {
    store.close();
  }
}
