// `stoq-bench report FILES.. --format markdown|junit|html [--out FILE]`: run records (JSON or JSON lines),
// a comparison (`compare --json`) or a validation (`validate --json`) as a report people look at.
// Every input is read and checked before anything is written; --out is written atomically.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { StoqError } from '../../errors.js';
import { readInputFile } from '../../history/inputs.js';
import { renderHtml } from '../../report/html.js';
import { renderJunit } from '../../report/junit.js';
import { renderMarkdown, type ComparisonReport, type ReportInput } from '../../report/markdown.js';
import { DEFAULT_LEVEL } from '../../stats/run-model.js';
import { EXIT, type Command } from '../command.js';
import type { Validation } from '../../grading/validate.js';

export const REPORT_FORMATS = ['markdown', 'junit', 'html'] as const;
type Format = (typeof REPORT_FORMATS)[number];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one input: a validation, a comparison, or run records (anything else names the file and the problem). */
export function readReportInput(file: string): ReportInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoqError('INVALID_FILE', `${file}: cannot read (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : code ?? String(error)})`);
  }
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
  const content = readInputFile(file);
  if (content.kind === 'numbers') throw new StoqError('INVALID_FILE', `${file}: a JSON array of numbers, not run records, a comparison or a validation`);
  return { file, kind: 'records', records: content.records };
}

export function render(format: Format, inputs: readonly ReportInput[], options: { title?: string; level?: number }): string {
  if (format === 'junit') return renderJunit(inputs, options);
  if (format === 'html') return renderHtml(inputs, options);
  return renderMarkdown(inputs, options);
}

export const reportCommand: Command = {
  name: 'report',
  usage: '<files..>',
  describe: 'Turn run records, a comparison (compare --json) or a validation (validate --json) into Markdown, JUnit XML or HTML',
  positionals: { files: { describe: 'run records (JSON or JSON lines), compare --json or validate --json output', type: 'string', array: true } },
  options: {
    format: { choices: REPORT_FORMATS, default: 'markdown', describe: 'markdown (a CI step summary), junit (XML, one test case per metric and expectation) or html (one offline page with charts)' },
    out: { type: 'string', describe: 'write the report to FILE (atomically) instead of stdout' },
    title: { type: 'string', describe: 'report title' },
    level: { type: 'number', default: DEFAULT_LEVEL, describe: 'two-sided confidence level of the across-run intervals of run records' },
  },
  check(argv) {
    const level = argv.level as number;
    if (!(level > 0 && level < 1)) return `--level must be between 0 and 1 (got ${level})`;
    if (argv.out === '') return '--out needs a FILE';
    return undefined;
  },
  async run(argv, io) {
    const files = argv.files as string[];
    const inputs = files.map(readReportInput);
    const text = render(argv.format as Format, inputs, { title: argv.title as string | undefined, level: argv.level as number });
    const out = argv.out as string | undefined;
    if (!out) {
      io.stdout(text);
      return EXIT.ok;
    }
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, out);
    } catch (error) {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
      const code = (error as NodeJS.ErrnoException).code;
      throw new StoqError('INVALID_ARGUMENT', `--out ${out}: cannot write (${code === 'ENOENT' ? 'no such directory' : code ?? String(error)})`);
    }
    io.stderr(`stoq-bench report: wrote ${argv.format} report to ${out} (${text.length} bytes)\n`);
    return EXIT.ok;
  },
};
