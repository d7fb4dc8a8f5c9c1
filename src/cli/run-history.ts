// Every measured run goes into the history store unless --no-history says otherwise (the way criterion
// keeps its history without being asked), so `claims`, `compare` and `history` have evidence later.
import type { Options } from 'yargs';
import { StoqError } from '../errors.js';
import { defaultStorePath, HistoryStore } from '../history/store.js';
import type { StoredRecord } from '../records.js';
import type { Io } from './command.js';

export const historyOptions: Record<string, Options> = {
  history: { type: 'boolean', default: true, describe: 'record every run into the history store; --no-history to skip' },
  store: { type: 'string', describe: 'history store FILE (default $STOQ_BENCH_STORE, else $XDG_DATA_HOME or ~/.local/share, /stoq-bench/history.db)' },
};

/** Records runs as they end; opened before anything is measured, so a store that cannot be used is a usage error. */
export class RunHistory {
  private constructor(
    private readonly store: HistoryStore | undefined,
    private readonly io: Io,
  ) {}

  /** Opens the store the flags name (or none with --no-history); INVALID_FILE names the store and the way out. */
  static open(argv: Record<string, unknown>, io: Io): RunHistory {
    if (argv.history === false) return new RunHistory(undefined, io);
    const path = (argv.store as string | undefined) ?? defaultStorePath();
    try {
      return new RunHistory(HistoryStore.open(path), io);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StoqError('INVALID_FILE', `history store: ${message} (give --store FILE, or --no-history to measure without recording)`);
    }
  }

  /** Adds one run; a failure is reported on stderr and never loses the run (it is still printed and written). */
  add(record: StoredRecord): void {
    if (!this.store) return;
    try {
      this.store.addRecords([record]);
    } catch (error) {
      this.io.stderr(`stoq-bench: warning: run ${record.session.run + 1} not recorded in ${this.store.path}: ${error instanceof Error ? error.message : error}\n`);
    }
  }

  close(): void {
    this.store?.close();
  }
}
