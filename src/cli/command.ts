import type { Options } from 'yargs';
import { StoqError } from '../errors.js';

/** Where a command writes; passed in so tests can capture output and the CLI stays testable. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stdout is a terminal (live progress allowed). */
  isTTY: boolean;
  /** Colour allowed (a TTY and NO_COLOR unset). */
  color: boolean;
  /**
   * Aborted on SIGINT/SIGTERM when running as the real CLI (the reason is a `SignalCancel`); for a command
   * that stops when stdout closes, also when it closes (the reason is an `OutputClosed`).
   */
  signal: AbortSignal;
  /** Aborted (an `OutputClosed`) once stdout's reader went away; stdout writes are dropped from then on. */
  stdoutClosed?: AbortSignal;
  /** The stdout writes dropped since it closed, and the last of them. */
  dropped?(): { lines: number; last: string | undefined };
  /** Gives SIGINT and SIGTERM back their default action (the process ends at once), for a command that finishes on its own. */
  releaseSignals?(): void;
}

/**
 * Exit codes of every command, documented once here and in the README:
 * - 0 ok: every check passed (or there was nothing to check);
 * - 1 failed check: a regression, a FAIL, a contradicted claim, a hard-coded figure, a monitor ending unhealthy;
 * - 2 usage: a bad flag, value, unit or file; nothing was measured or written;
 * - 3 runtime: a run whose connections errored, an engine or store failure;
 * - 4 not judged: a verdict command could not judge (Invalid, Inconclusive, Unbacked); `--allow-invalid`,
 *   `--allow-inconclusive` and `--allow-unbacked` let such a result pass;
 * - 130 / 143: cancelled by SIGINT / SIGTERM (128 + the signal number, the shell convention), after what was
 *   measured was written;
 * - 141: stdout's reader went away (`| head -1`): the command stopped as on a signal, after writing what was
 *   measured to --out and the history (128 + SIGPIPE, what a shell reports for a writer its pipe ended).
 * A failed check outranks "not judged": a command that finds both exits 1.
 */
export const EXIT = { ok: 0, failedCheck: 1, usage: 2, runtime: 3, notJudged: 4, sigint: 130, stdoutClosed: 141, sigterm: 143 } as const;

/** The table above as rows, for `--help` epilogues and the README. */
export const EXIT_CODES: ReadonlyArray<[number, string]> = [
  [EXIT.ok, 'every check passed'],
  [EXIT.failedCheck, 'a failed check: a regression, a FAIL, a contradicted claim, a hard-coded figure'],
  [EXIT.usage, 'usage error: a bad flag, value, unit or file; nothing measured or written'],
  [EXIT.runtime, 'runtime failure: connections that errored, an engine or store failure'],
  [EXIT.notJudged, 'could not judge: Invalid, Inconclusive or Unbacked (the --allow-... flags relax it)'],
  [EXIT.sigint, 'cancelled by SIGINT, after writing what was measured'],
  [EXIT.stdoutClosed, 'stdout closed by its reader (| head): stopped, after writing what was measured'],
  [EXIT.sigterm, 'cancelled by SIGTERM, after writing what was measured'],
];

export const EXIT_HELP = `Exit codes:\n${EXIT_CODES.map(([code, text]) => `  ${String(code).padEnd(4)} ${text}`).join('\n')}`;

/** Why a run was cancelled: the signal the CLI received. */
export class SignalCancel extends StoqError {
  readonly signal: 'SIGINT' | 'SIGTERM';

  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super('CANCELLED', `stopped by ${signal}`);
    this.signal = signal;
  }
}

/** Why a command stopped early: stdout's reader went away (EPIPE). */
export class OutputClosed extends StoqError {
  constructor(reason: string) {
    super('CANCELLED', `stdout closed (${reason})`);
  }
}

/**
 * The exit code of a command cancelled through `signal`: 130 for SIGINT (also for any other abort), 143 for
 * SIGTERM, 141 when stdout closed.
 */
export function cancelledExit(signal: AbortSignal): number {
  if (signal.reason instanceof OutputClosed) return EXIT.stdoutClosed;
  return signal.reason instanceof SignalCancel && signal.reason.signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
}

/**
 * One CLI command: its flags as one data table, its cross-flag rules in one `check`, and a handler that
 * returns the exit code.
 */
export interface Command {
  name: string;
  aliases?: string[];
  describe: string;
  /** Positional arguments, e.g. `<files..>`; described in `positionals`. */
  usage?: string;
  positionals?: Record<string, { describe: string; type: 'string'; array?: boolean }>;
  options: Record<string, Options>;
  /** Text shown after the flags in `--help` (the rules a command applies). */
  epilogue?: string;
  /** Cross-flag rules: return an error message, or undefined when the flags fit together. */
  check?(argv: Record<string, unknown>): string | undefined;
  /**
   * How the command ends before it is done. `measurement`: the first SIGINT or SIGTERM, or stdout closing,
   * stops it and it writes what it measured (`run`, `validate`, `monitor`). `service`: it runs until SIGINT or
   * SIGTERM, whatever happens to stdout (its lines are then dropped and counted, the last one shown on
   * stderr). Absent: it finishes on its own, and a signal ends the process at once.
   */
  longRunning?: 'measurement' | 'service';
  run(argv: Record<string, unknown>, io: Io): Promise<number>;
}

/** Commands gathered under one name (`stoq-bench fleet render`). */
export interface CommandGroup {
  name: string;
  describe: string;
  subcommands: Command[];
}
