// What `report` reads: a validation (`validate --json`), a comparison (`compare --json`), or run records
// (JSON or JSON lines, or a baseline file). Anything else is an INVALID_FILE error naming the file and why.
import { StoqError } from '../errors.js';
import { readTextFile } from '../files.js';
import type { Validation } from '../grading/validate.js';
import { parseInputText } from '../history/inputs.js';
import type { ComparisonReport, ReportInput } from './model.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one input: a validation, a comparison, or run records (anything else names the file and the problem). */
export function readReportInput(file: string): ReportInput {
  const text = readTextFile(file);
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined; // JSON lines of records, or not JSON at all: the record reader says which
  }
  if (isObject(whole) && whole.kind === 'stoq-bench.validation') {
    if (!Array.isArray(whole.expectations) || typeof whole.level !== 'number') throw new StoqError('INVALID_FILE', `${file}: a validation without expectations or level`);
    return { file, kind: 'validation', validation: whole as unknown as Validation };
  }
  if (isObject(whole) && typeof whole.verdict === 'string' && whole.schemaVersion === undefined) {
    if (whole.metrics !== undefined && !Array.isArray(whole.metrics)) throw new StoqError('INVALID_FILE', `${file}: a comparison whose metrics is not an array`);
    for (const [i, m] of ((whole.metrics as unknown[]) ?? []).entries()) {
      if (!isObject(m) || typeof m.metric !== 'string' || !isObject(m.baseline) || !isObject(m.candidate) || !isObject(m.ratio)) {
        throw new StoqError('INVALID_FILE', `${file}: metrics[${i}] is not a metric comparison (expected the output of stoq-bench compare --json)`);
      }
    }
    return { file, kind: 'comparison', comparison: whole as unknown as ComparisonReport };
  }
  const content = parseInputText(text, file);
  if (content.kind === 'numbers') throw new StoqError('INVALID_FILE', `${file}: a JSON array of numbers, not run records, a comparison or a validation`);
  return { file, kind: 'records', records: content.records };
}
