// Client records as pods leave them: `kubectl logs` of a client holds its stdout (the record, one JSON line,
// from `run --json`) and its stderr (messages) interleaved. Files given to `fleet merge` are read the same
// way, and so are files of records (one record, an array, or JSON lines).
import { StoqError } from '../errors.js';
import { readTextFile } from '../files.js';
import type { RunRecord } from '../record.js';
import { parseRecords, validateRecord } from '../records.js';

export interface ClientLog {
  records: RunRecord[];
  /** The lines that were not records (the client's messages), in order. */
  messages: string[];
}

/**
 * The records in a log: every line that is a JSON object must be a valid record (INVALID_FILE naming the
 * line otherwise); other lines are the client's messages, kept.
 */
export function readClientLog(text: string, source: string): ClientLog {
  const records: RunRecord[] = [];
  const messages: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    if (!trimmed.startsWith('{')) {
      messages.push(trimmed);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new StoqError('INVALID_FILE', `${source}:${i + 1}: a JSON line that does not parse (${(error as Error).message})`);
    }
    records.push(validateRecord(value, `${source}:${i + 1}`));
  });
  return { records, messages };
}

/** Reads a file of client records: a pod's log, JSON lines, one record or an array of them. */
export function readClientFile(path: string): ClientLog {
  const text = readTextFile(path);
  try {
    JSON.parse(text);
  } catch {
    // not one JSON document: a log, or JSON lines
    return readClientLog(text, path);
  }
  return { records: parseRecords(text, path), messages: [] };
}
