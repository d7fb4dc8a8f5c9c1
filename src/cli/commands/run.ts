import { fromNative } from '../../errors.js';
import type { RunRecord } from '../../record.js';
import { intervalHeader, intervalLine, summary } from '../../report/text.js';
import { runSession } from '../../run.js';
import { normalizeScenario } from '../../scenario.js';
import { median } from '../../stats/order-statistics.js';
import { formatRate } from '../../units.js';
import { cancelledExit, EXIT, type Command } from '../command.js';
import { warnIfDebugEngine } from '../engine-build.js';
import { Progress } from '../progress.js';
import { RecordsOut } from '../records-out.js';
import { instant, time } from '../options.js';
import { historyOptions, RunHistory } from '../run-history.js';
import { checkScenario, connectionFrom, scenarioFrom, scenarioOptions } from '../scenario-flags.js';

/** Starting together with the other clients of a session on other hosts (`fleet render` sets these). */
const startOptions = {
  'start-at': instant('start-at', 'wait until this INSTANT to start, with the other clients of a session (fleet render sets it)'),
  'start-tolerance': time('start-tolerance', 'with --start-at: a start later than this after the instant marks the record late (TIME)', { default: '50ms' }),
};

export const runCommand: Command = {
  name: 'run',
  aliases: ['benchmark'],
  describe: 'Measure a scenario against --target, or an embedded server on [::1]',
  longRunning: 'measurement',
  options: { ...scenarioOptions, ...historyOptions, ...startOptions },
  check: (argv) => checkScenario(argv) ?? checkStart(argv),
  async run(argv, io) {
    const scenario = normalizeScenario(scenarioFrom(argv));
    warnIfDebugEngine(io, 'run');
    const json = argv.json as boolean;
    const runs = argv.runs as number;
    // refused now (a usage error), not after the measurement, when it cannot be written
    const out = RecordsOut.open(argv.out as string | undefined);
    const history = RunHistory.open(argv, io);
    const startAt = argv['start-at'] as Date | undefined;
    if (startAt) {
      const left = startAt.getTime() - Date.now();
      io.stderr(
        left > 0
          ? `waiting until ${startAt.toISOString()} (${(left / 1e3).toFixed(1)} s) to start with the session\n`
          : `the start instant ${startAt.toISOString()} passed ${(-left / 1e3).toFixed(3)} s ago: starting now, late\n`,
      );
    }
    let records: RunRecord[];
    let progress: Progress | undefined;
    try {
      records = await runSession(scenario, runs, {
        ...connectionFrom(argv),
        signal: io.signal,
        startAt: startAt && { at: startAt, toleranceNs: argv['start-tolerance'] as number },
        beforeRun: (run) => {
          if (!json) io.stdout(`${runs > 1 ? `run ${run + 1}/${runs}\n` : ''}${intervalHeader(scenario)}\n`);
          // on a terminal, a progress line on stderr (stdout keeps only the data)
          progress = Progress.start(io, scenario, { run: run + 1, runs });
          return (i) => {
            progress?.interval(i);
            if (json) return;
            const write = () => io.stdout(`${intervalLine(i, scenario)}\n`);
            if (progress) progress.print(write);
            else write();
          };
        },
        afterRun: () => progress?.stop(),
        onRecord: async (record) => {
          history.add(record);
          await out?.add(record);
          io.stdout(json ? `${JSON.stringify(record)}\n` : `${summary(record)}\n`);
        },
      });
    } catch (error) {
      // stopped while waiting for the start instant: nothing was measured
      if (!io.signal.aborted || fromNative(error).code !== 'CANCELLED') throw error;
      io.stderr(`stoq-bench run: ${fromNative(error).message}\n`);
      return cancelledExit(io.signal);
    } finally {
      history.close();
    }
    if (!json && records.length > 1) io.stdout(`${acrossRuns(records)}\n`);
    const written = out?.finish(io, 'run', { printed: json && !io.stdoutClosed?.aborted, store: history.holdsAll }) ?? true;
    // records --out could not take are a runtime failure; a cancelled session exits non-zero (130 SIGINT,
    // 143 SIGTERM, 141 stdout closed) once what it measured is written
    if (!written) return EXIT.runtime;
    if (io.signal.aborted) return cancelledExit(io.signal);
    return records.some((r) => r.end.state === 'errored') ? EXIT.runtime : EXIT.ok;
  },
};

/** Median and range across the runs of a session (full statistics: `stoq-bench stats`). */
function acrossRuns(records: RunRecord[]): string {
  const g = records.map((r) => r.end.goodputBps);
  return `across ${records.length} runs: goodput median ${formatRate(median(g))}, range ${formatRate(Math.min(...g))} to ${formatRate(Math.max(...g))}`;
}

function checkStart(argv: Record<string, unknown>): string | undefined {
  if (argv['start-at'] !== undefined && (argv.runs as number) > 1) return '--start-at starts one run together with other clients: give --runs 1';
  return undefined;
}
