import type { Options } from 'yargs';

/** Where a command writes; passed in so tests can capture output and the CLI stays testable. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stdout is a terminal (live progress allowed). */
  isTTY: boolean;
  /** Colour allowed (a TTY and NO_COLOR unset). */
  color: boolean;
  /** Aborted on SIGINT/SIGTERM when running as the real CLI. */
  signal: AbortSignal;
}

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failedCheck: 1, usage: 2, runtime: 3 } as const;

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
  /** Cross-flag rules: return an error message, or undefined when the flags fit together. */
  check?(argv: Record<string, unknown>): string | undefined;
  run(argv: Record<string, unknown>, io: Io): Promise<number>;
}
