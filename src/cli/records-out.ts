// `--out FILE` of the commands that measure: each run's record appended to FILE as one JSON line as the run
// ends (files.ts appendLines: under an exclusive lock, so concurrent sessions add whole records and lose
// none; an existing file is added to, never replaced). A record that cannot be written is never lost: it
// is printed on stdout as a JSON line at the end (unless it already was), and the error says where it is.
import { appendLines, checkWritable } from '../files.js';
import type { RunRecord } from '../record.js';
import type { Io } from './command.js';

/** The help text of --out, the same for every command that measures. */
export const OUT_HELP = 'append the run records to FILE as JSON lines, each run as it ends (created when absent; concurrent writers add whole lines)';

export class RecordsOut {
  private failure: string | undefined;
  private readonly unwritten: RunRecord[] = [];

  private constructor(private readonly path: string) {}

  /** For `--out path`, checked now (a usage error before anything is measured); undefined without one. */
  static open(path: string | undefined): RecordsOut | undefined {
    if (path === undefined) return undefined;
    checkWritable(path, `--out ${path}`);
    return new RecordsOut(path);
  }

  /** Appends one record; a failure is kept for `finish` (the measurement goes on). */
  async add(record: RunRecord): Promise<void> {
    if (this.failure === undefined) {
      try {
        await appendLines(this.path, JSON.stringify(record), { name: `--out ${this.path}` });
        return;
      } catch (error) {
        this.failure = error instanceof Error ? error.message : String(error);
      }
    }
    this.unwritten.push(record);
  }

  /**
   * After the session: true when every record reached the file. Otherwise prints the records that did not
   * (JSON lines, on stdout, or on stderr when stdout holds one JSON document; `printed`: they already were),
   * says on stderr where they are, and returns false.
   */
  finish(io: Io, command: string, where: { printed: boolean; store?: string; stream?: 'stdout' | 'stderr' }): boolean {
    if (this.failure === undefined) return true;
    const runs = this.unwritten.map((r) => r.session.run + 1);
    const session = this.unwritten[0]?.session;
    const stream = where.stream ?? 'stdout';
    if (!where.printed) for (const r of this.unwritten) io[stream](`${JSON.stringify(r)}\n`);
    const places = [
      where.printed ? 'printed above as JSON lines' : `printed on ${stream} as JSON lines`,
      ...(where.store ? [`recorded in the history store ${where.store}`] : []),
    ];
    io.stderr(
      `stoq-bench ${command}: ${this.failure}; run${runs.length > 1 ? 's' : ''} ${runs.join(', ')}` +
        `${session ? ` of ${session.runs} (session ${session.id})` : ''} not in it: ${places.join(' and ')}\n`,
    );
    return false;
  }
}
