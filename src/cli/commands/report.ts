// `stoq-bench report FILES.. --format markdown|junit|html [--out FILE]`: run records (JSON or JSON lines),
// a comparison (`compare --json`) or a validation (`validate --json`) as a report people look at.
// Every input is read and checked before anything is written; --out is written atomically and an existing
// file is replaced only with --force.
import { writeFileAtomic } from '../../files.js';
import { readReportInput, render, RENDERERS, REPORT_FORMATS, type ReportFormat } from '../../report/index.js';
import { DEFAULT_LEVEL } from '../../stats/run-model.js';
import { EXIT, type Command } from '../command.js';

export const reportCommand: Command = {
  name: 'report',
  usage: '<files..>',
  describe: 'Turn run records, a comparison (compare --json) or a validation (validate --json) into Markdown, JUnit XML or HTML',
  positionals: { files: { describe: 'run records (JSON or JSON lines), compare --json or validate --json output', type: 'string', array: true } },
  options: {
    format: { choices: REPORT_FORMATS, default: 'markdown', describe: REPORT_FORMATS.map((f) => `${f} (${RENDERERS[f].describe})`).join(', ') },
    out: { type: 'string', describe: 'write the report to FILE (atomically) instead of stdout; an existing FILE only with --force' },
    force: { type: 'boolean', default: false, describe: 'replace an existing --out FILE' },
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
    const text = render(argv.format as ReportFormat, inputs, { title: argv.title as string | undefined, level: argv.level as number });
    const out = argv.out as string | undefined;
    if (!out) {
      io.stdout(text);
      return EXIT.ok;
    }
    writeFileAtomic(out, text, { name: `--out ${out}`, replace: argv.force as boolean });
    io.stderr(`stoq-bench report: wrote ${argv.format} report to ${out} (${Buffer.byteLength(text)} bytes)\n`);
    return EXIT.ok;
  },
};
