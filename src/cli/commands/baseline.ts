// `stoq-bench baseline save|list|show|export|import|rm`: named baselines in the history store, and baseline
// files (JSON) to commit to a repository for CI.
import { StoqError } from '../../errors.js';
import { formatRuns, table } from '../../grading/format.js';
import { writeFileAtomic } from '../../files.js';
import { makeBaselineFile, readBaselineFile } from '../../history/baseline.js';
import { resolveSide } from '../../history/inputs.js';
import { defaultStorePath, HistoryStore } from '../../history/store.js';
import { summarizeRun } from '../../stats/run-model.js';
import { EXIT, type Command } from '../command.js';
import { jsonOutput } from '../options.js';

const ACTIONS: Record<string, { args: [number, number]; usage: string }> = {
  save: { args: [2, Infinity], usage: 'save NAME FILES..' },
  list: { args: [0, 0], usage: 'list' },
  show: { args: [1, 1], usage: 'show NAME' },
  export: { args: [1, 1], usage: 'export NAME [--out FILE]' },
  import: { args: [1, 1], usage: 'import FILE [--name NAME]' },
  rm: { args: [1, 1], usage: 'rm NAME' },
};

export const baselineCommand: Command = {
  name: 'baseline',
  usage: '<action> [args..]',
  describe: 'Named baselines: save NAME FILES.. | list | show NAME | export NAME | import FILE | rm NAME',
  positionals: {
    action: { describe: `one of ${Object.keys(ACTIONS).join(', ')}`, type: 'string' },
    args: { describe: 'the action\'s arguments', type: 'string', array: true },
  },
  options: {
    store: { type: 'string', describe: 'history store (default $STOQ_BENCH_STORE or ~/.local/share/stoq-bench/history.db)' },
    out: { type: 'string', describe: 'export: write the baseline file here instead of stdout' },
    name: { type: 'string', describe: 'import: store under this name instead of the one in the file' },
    note: { type: 'string', describe: 'save: a note kept with the baseline' },
    force: { type: 'boolean', default: false, describe: 'replace an existing baseline or file' },
    json: jsonOutput('what an action did, the list or the baseline shown (export: the baseline file itself, whatever this says)'),
  },
  check(argv) {
    const action = argv.action as string;
    const spec = ACTIONS[action];
    if (!spec) return `unknown baseline action "${action}" (expected ${Object.keys(ACTIONS).join(', ')})`;
    const n = ((argv.args as string[] | undefined) ?? []).length;
    if (n < spec.args[0] || n > spec.args[1]) return `usage: stoq-bench baseline ${spec.usage}`;
    return undefined;
  },
  async run(argv, io) {
    const action = argv.action as string;
    const args = ((argv.args as string[] | undefined) ?? []).map(String);
    // Opened on first use, after the files named have been read: a bad file leaves no store behind.
    let opened: HistoryStore | undefined;
    const store = () => (opened ??= HistoryStore.open((argv.store as string | undefined) ?? defaultStorePath()));
    // what an action did: a line for people, or one JSON object
    const say = (text: string, event: Record<string, unknown>) => io.stdout(argv.json ? `${JSON.stringify(event)}\n` : `${text}\n`);
    try {
      switch (action) {
        case 'save': {
          const [name, ...files] = args;
          const side = resolveSide(files, store, 'file', false);
          const info = store().saveBaseline(name, side.records, { note: argv.note as string | undefined, replace: argv.force as boolean });
          say(`saved baseline "${info.name}": ${info.runs} runs from ${info.sessions} session(s), testbed ${info.fingerprint}, scenario ${info.scenarioId}`, { action: 'saved', ...info });
          return EXIT.ok;
        }
        case 'list': {
          const list = store().listBaselines();
          if (argv.json) io.stdout(`${JSON.stringify(list)}\n`);
          else if (list.length === 0) io.stdout(`no baselines in ${store().path}\n`);
          else io.stdout(table(['name', 'runs', 'sessions', 'testbed', 'scenario', 'created', 'note'], list.map((b) => [b.name, String(b.runs), String(b.sessions), b.fingerprint, b.scenarioId, b.createdAt, b.note ?? ''])));
          return EXIT.ok;
        }
        case 'show': {
          const info = store().baselineInfo(args[0]);
          const records = store().baselineRecords(args[0]);
          if (!info || !records) throw new StoqError('INVALID_ARGUMENT', `no baseline named "${args[0]}"`);
          const runs = records.map((r) => summarizeRun(r));
          if (argv.json) {
            io.stdout(`${JSON.stringify({ ...info, runs: runs.map(({ latencySamples: _s, ...r }) => r) })}\n`);
          } else {
            io.stdout(`baseline "${info.name}": ${info.runs} runs, ${info.sessions} session(s), testbed ${info.fingerprint}, scenario ${info.scenarioId}, created ${info.createdAt}${info.note ? `, note: ${info.note}` : ''}\n`);
            io.stdout(formatRuns(runs));
          }
          return EXIT.ok;
        }
        case 'export': {
          const records = store().baselineRecords(args[0]);
          const info = store().baselineInfo(args[0]);
          if (!records || !info) throw new StoqError('INVALID_ARGUMENT', `no baseline named "${args[0]}"`);
          const text = `${JSON.stringify(makeBaselineFile(info.name, records, info.note), null, 1)}\n`;
          if (argv.out) {
            writeFileAtomic(argv.out as string, text, { replace: argv.force as boolean, name: `--out ${argv.out}` });
            io.stderr(`exported baseline "${info.name}" (${records.length} runs) to ${argv.out}\n`);
          } else io.stdout(text);
          return EXIT.ok;
        }
        case 'import': {
          const file = readBaselineFile(args[0]);
          const name = (argv.name as string | undefined) ?? file.name;
          const info = store().saveBaseline(name, file.records, { note: file.note ?? undefined, replace: argv.force as boolean });
          say(`imported baseline "${info.name}": ${info.runs} runs from ${args[0]}`, { action: 'imported', file: args[0], ...info });
          return EXIT.ok;
        }
        case 'rm': {
          if (!store().removeBaseline(args[0])) throw new StoqError('INVALID_ARGUMENT', `no baseline named "${args[0]}"`);
          say(`removed baseline "${args[0]}" (its runs stay in the history)`, { action: 'removed', name: args[0] });
          return EXIT.ok;
        }
      }
      return EXIT.usage;
    } finally {
      opened?.close();
    }
  },
};
