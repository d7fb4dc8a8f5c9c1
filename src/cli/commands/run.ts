import { randomUUID } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { runScenario } from '../../run.js';
import { normalizeScenario } from '../../scenario.js';
import type { RunRecord } from '../../record.js';
import { StoqError } from '../../errors.js';
import { formatRate } from '../../units.js';
import { intervalHeader, intervalLine, summary } from '../../report/text.js';
import type { StoredRecord } from '../../records.js';
import { cancelledExit, EXIT, type Command } from '../command.js';
import { Progress } from '../progress.js';
import { historyOptions, RunHistory } from '../run-history.js';
import { checkScenario, scenarioFrom, scenarioOptions } from '../scenario-flags.js';

export const runCommand: Command = {
  name: 'run',
  aliases: ['benchmark'],
  describe: 'Measure a scenario against --target, or an embedded server on [::1]',
  options: { ...scenarioOptions, ...historyOptions },
  check: checkScenario,
  async run(argv, io) {
    const scenario = normalizeScenario(scenarioFrom(argv));
    const json = argv.json as boolean;
    const runs = argv.runs as number;
    const out = argv.out as string | undefined;
    if (out) {
      // fail now (usage error, exit 2), not after the measurement, if it cannot be written
      try {
        writeFileSync(out, '', { flag: 'a' });
      } catch (error) {
        throw new StoqError('INVALID_FILE', `--out ${out}: cannot write (${(error as NodeJS.ErrnoException).code ?? error})`);
      }
    }
    const history = RunHistory.open(argv, io);
    const records: RunRecord[] = [];
    const session = randomUUID();
    try {
      for (let run = 0; run < runs && !io.signal.aborted; run++) {
        if (!json) io.stdout(`${runs > 1 ? `run ${run + 1}/${runs}\n` : ''}${intervalHeader()}\n`);
        // on a terminal, a progress line on stderr (stdout keeps only the data)
        const progress = Progress.start(io, scenario, { run: run + 1, runs });
        let record: RunRecord;
        try {
          ({ record } = await runScenario(scenario, {
            target: argv.target as string | undefined,
            intervalNs: argv.interval as number,
            qlogDir: argv.qlog as string | undefined,
            signal: io.signal,
            session: { id: session, run, runs },
            onInterval: (i) => {
              progress?.interval(i);
              if (json) return;
              const write = () => io.stdout(`${intervalLine(i)}\n`);
              if (progress) progress.print(write);
              else write();
            },
          }));
        } finally {
          progress?.stop();
        }
        records.push(record);
        history.add(record as unknown as StoredRecord);
        io.stdout(json ? `${JSON.stringify(record)}\n` : `${summary(record)}\n`);
      }
    } finally {
      history.close();
    }
    if (!json && records.length > 1) io.stdout(`${acrossRuns(records)}\n`);
    if (out) {
      const tmp = `${out}.${process.pid}.tmp`;
      writeFileSync(tmp, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      renameSync(tmp, out);
    }
    // a cancelled session exits non-zero (130 SIGINT, 143 SIGTERM) once what it measured is written
    if (io.signal.aborted) return cancelledExit(io.signal);
    return records.some((r) => r.end.state === 'errored') ? EXIT.runtime : EXIT.ok;
  },
};

/** Median and range across the runs of a session (full statistics: `stoq-bench stats`). */
function acrossRuns(records: RunRecord[]): string {
  const g = records.map((r) => r.end.goodputBps).sort((a, b) => a - b);
  const mid = g.length % 2 ? g[(g.length - 1) / 2] : (g[g.length / 2 - 1] + g[g.length / 2]) / 2;
  return `across ${records.length} runs: goodput median ${formatRate(mid)}, range ${formatRate(g[0])} to ${formatRate(g[g.length - 1])}`;
}
