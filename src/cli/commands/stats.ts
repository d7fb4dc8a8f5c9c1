// `stoq-bench stats FILE..`: descriptive statistics of a JSON array of numbers, or of the runs in run-record
// files (per-run reduction, then across runs, one number per run and metric).
import { summarize, type Summary } from '../../stats/descriptive.js';
import { DEFAULT_LEVEL, formatLevel, METRICS, summarizeRun, type MetricId } from '../../stats/run-model.js';
import { readInputFile } from '../../history/inputs.js';
import { formatRuns, formatSummary } from '../../grading/format.js';
import { parseDuration } from '../../units.js';
import type { QuantileType } from '../../stats/quantile.js';
import { EXIT, type Command } from '../command.js';
import { jsonOutput } from '../options.js';

function jsonable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => (v instanceof Float64Array ? undefined : typeof v === 'number' && !Number.isFinite(v) ? null : v)),
  );
}

export const statsCommand: Command = {
  name: 'stats',
  usage: '<files..>',
  describe: 'Descriptive statistics of a JSON array of numbers, or of the runs in run-record files',
  positionals: { files: { describe: 'a JSON array of numbers, or run records (JSON or JSON lines)', type: 'string', array: true } },
  options: {
    json: jsonOutput('the statistics'),
    level: { type: 'number', default: DEFAULT_LEVEL, describe: 'two-sided confidence level of every interval' },
    'quantile-type': { type: 'number', default: 7, choices: [4, 5, 6, 7, 8, 9], describe: 'Hyndman-Fan quantile type (7 = R and numpy default)' },
    warmup: { type: 'string', describe: 'TIME to omit at the start of each run (default: chosen by MSER)' },
    seed: { type: 'number', default: 1, describe: 'seed of resampling estimates' },
  },
  check(argv) {
    const level = argv.level as number;
    if (!(level > 0 && level < 1)) return `--level must be between 0 and 1 (got ${level})`;
    if (!Number.isSafeInteger(argv.seed)) return `--seed must be a whole number (got ${argv.seed})`;
    return undefined;
  },
  async run(argv, io) {
    const files = argv.files as string[];
    const level = argv.level as number;
    const quantileType = argv.quantileType as QuantileType;
    const warmupS = argv.warmup !== undefined ? parseDuration(argv.warmup as string) / 1e9 : undefined;
    const seed = argv.seed as number;
    const contents = files.map((f) => ({ file: f, content: readInputFile(f) }));
    const output: unknown[] = [];
    const text: string[] = [];
    for (const { file, content } of contents) {
      if (content.kind === 'numbers') {
        const s = summarize(content.values, { level, quantileType, seed });
        output.push({ file, kind: 'numbers', summary: s });
        text.push(`${file}: ${content.values.length} values\n${formatSummary(s)}`);
        continue;
      }
      const runs = content.records.map((r) => summarizeRun(r, { warmupS, level, seed }));
      const across: Partial<Record<MetricId, Summary>> = {};
      const parts: string[] = [`${file}: ${runs.length} run(s)\n${formatRuns(runs)}`];
      for (const m of Object.keys(METRICS) as MetricId[]) {
        const completed = runs.filter((r) => r.state === 'completed');
        const undetermined = completed.filter((r) => r.undetermined[m] !== undefined);
        if (undetermined.length > 0) {
          // never summarised from the runs that happen to determine it: say which runs cannot, and why
          parts.push(`\n${METRICS[m].label}: not summarised across runs: ${undetermined.length} of ${completed.length} completed run(s) cannot determine it (${[...new Set(undetermined.map((r) => r.undetermined[m]))].join('; ')})`);
          continue;
        }
        const values = completed.filter((r) => r.metrics[m] !== undefined).map((r) => r.metrics[m] as number);
        if (values.length === 0) continue;
        across[m] = summarize(values, { level, quantileType, seed, ordered: false });
        parts.push(`\n${METRICS[m].label} across ${values.length} completed run(s) (${METRICS[m].reduction}, one value per run):\n${formatSummary(across[m] as Summary, m)}`);
      }
      for (const r of runs.filter((x) => x.withinRun && x.metrics.goodput !== undefined)) {
        const bb = r.withinRun!.blockBootstrap;
        parts.push(
          `run ${r.sessionId}#${r.run} steady level ${formatLevel(level)} CI: [${(bb.lower / 1e9).toFixed(3)}, ${(bb.upper / 1e9).toFixed(3)}] Gbit/s (${bb.method})`,
        );
      }
      output.push({ file, kind: 'records', runs, across });
      text.push(parts.join('\n') + '\n');
    }
    if (argv.json) io.stdout(`${JSON.stringify(jsonable(output.length === 1 ? output[0] : output))}\n`);
    else io.stdout(text.join('\n'));
    return EXIT.ok;
  },
};
