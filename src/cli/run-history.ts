// Every measured run goes into the history store unless --no-history says otherwise (the way criterion
// keeps its history without being asked), so `claims`, `compare` and `history` have evidence later.
import type { Options } from 'yargs';
import { defaultStorePath, HistoryStore } from '../history/store.js';
import type { RunRecord } from '../record.js';
import type { Io } from './command.js';

export const historyOptions: Record<string, Options> = {
  history: { type: 'boolean', default: true, describe: 'record every run into the history store; --no-history to skip' },
  store: { type: 'string', describe: 'history store FILE (default $STOQ_BENCH_STORE, else $XDG_DATA_HOME or ~/.local/share, /stoq-bench/history.db)' },
};

/**
 * Records runs as they end. The store is opened before anything is measured; one that cannot be used (corrupt,
 * foreign, no SQLite binding) is named on stderr and the runs are measured and written all the same: the
 * history never costs a measurement.
 */
export class RunHistory {
  private failed = false;

  private constructor(
    private readonly store: HistoryStore | undefined,
    private readonly io: Io,
  ) {}

  /** Opens the store the flags name (or none with --no-history). */
  static open(argv: Record<string, unknown>, io: Io): RunHistory {
    if (argv.history === false) return new RunHistory(undefined, io);
    const path = (argv.store as string | undefined) ?? defaultStorePath();
    try {
      return new RunHistory(HistoryStore.open(path), io);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      io.stderr(`stoq-bench: warning: runs not recorded into the history store: ${message} (--store FILE for another store, --no-history to measure without recording)\n`);
      return new RunHistory(undefined, io);
    }
  }

  /** Adds one run; a failure is reported on stderr and never loses the run (it is still printed and written). */
  add(record: RunRecord): void {
    if (!this.store) return;
    try {
      this.store.addRecords([record]);
    } catch (error) {
      this.failed = true;
      this.io.stderr(`stoq-bench: warning: run ${record.session.run + 1} not recorded in ${this.store.path}: ${error instanceof Error ? error.message : error}\n`);
    }
  }

  /** The store's path when every run added so far is in it. */
  get holdsAll(): string | undefined {
    return this.store && !this.failed ? this.store.path : undefined;
  }

  close(): void {
    this.store?.close();
  }
}
