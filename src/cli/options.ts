// Shared option specs: units are parsed here, at the edge, and a bad value names its flag.
import type { Options } from 'yargs';
import { StoqError } from '../errors.js';
import { formatDuration, formatRate, formatSize, parseAddress, parseDuration, parseInstant, parseRate, parseSize } from '../units.js';

/** The values a flag accepts, inclusive (the engine's limits of the field it sets). */
interface Range {
  min: number;
  max: number;
}

/** A coerce that parses a unit and checks the range, naming the flag: `--duration: expected a TIME from 1ms to 24h, got "1e9h"`. */
function withUnit(flag: string, parse: (text: string) => number, unit: string, format: (v: number) => string, range?: Range) {
  return (value: unknown) => {
    if (value === undefined) return undefined;
    let v: number;
    try {
      v = parse(String(value));
    } catch (error) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
    }
    if (range && !(v >= range.min && v <= range.max)) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: expected a ${unit} from ${format(range.min)} to ${format(range.max)}, got "${value}"`);
    }
    return v;
  };
}

/** An option holding a SIZE (bytes), within `range` when given. */
export const size = (flag: string, describe: string, extra: Options = {}, range?: Range): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseSize, 'SIZE', formatSize, range),
  ...extra,
});

/** An option holding a TIME (ns), within `range` when given. */
export const time = (flag: string, describe: string, extra: Options = {}, range?: Range): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseDuration, 'TIME', formatDuration, range),
  ...extra,
});

/** An option holding a RATE (bits per second). */
export const rate = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseRate, 'RATE', formatRate),
  ...extra,
});

/** An option holding an INSTANT (a Date). */
export const instant = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: (value: unknown) => {
    if (value === undefined) return undefined;
    try {
      return parseInstant(String(value));
    } catch (error) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
    }
  },
  ...extra,
});

/** A whole number within [min, max]. */
export const whole = (flag: string, describe: string, min: number, max: number, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: (value: unknown) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  },
  ...extra,
});

/**
 * An option holding an ADDRESS, read at the edge by the engine's parser (a name resolved, a zone to its
 * index; for a `target`, port 0 and wildcards refused) and kept as the address the engine will use.
 */
export const address = (flag: string, describe: string, use: 'target' | 'listen', extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: (value: unknown) => {
    if (value === undefined) return undefined;
    try {
      return parseAddress(String(value), use).address;
    } catch (error) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
    }
  },
  ...extra,
});

/**
 * The output convention of every command: text for people on a terminal (units, rounding, alerts marked),
 * JSON lines for machines (one JSON object per line) when stdout is not a terminal or with `--json`;
 * `--no-json` keeps text when piped (`stoq-bench run | tee log.txt`). `what` is what the command prints.
 */
export const jsonOutput = (what: string): Options => ({
  type: 'boolean',
  describe: `print ${what} as JSON, one object per line; the default when stdout is not a terminal (--no-json: text anyway)`,
  defaultDescription: 'on a terminal: text, otherwise JSON lines',
});

/** The convention above, for `--help`. */
export const OUTPUT_HELP =
  'Output: text for people on a terminal; JSON lines (one JSON object per line) when stdout is not a terminal or ' +
  'with --json; --no-json prints text anyway (stoq-bench run --no-json | tee log.txt). Live status goes to stderr, on a terminal only.';

/** The JSON-or-text choice of `jsonOutput`: the flag as given, else JSON unless stdout is a terminal. */
export function wantsJson(given: unknown, isTTY: boolean): boolean {
  return typeof given === 'boolean' ? given : !isTTY;
}

/**
 * For a command that also has `--format`: the flags disagree when `--json` or `--no-json` was given with a
 * `--format` that says otherwise (an error message), else undefined.
 */
export function formatConflict(argv: Record<string, unknown>): string | undefined {
  if (typeof argv.json !== 'boolean' || argv.format === undefined) return undefined;
  return (argv.format === 'json') === argv.json ? undefined : `--${argv.json ? '' : 'no-'}json and --format ${argv.format} disagree: give one of them`;
}

/** The `--format` of a command that has one: as given, else `json` or `text` as `jsonOutput` decides. */
export function formatOf<F extends string>(argv: Record<string, unknown>): F | 'json' | 'text' {
  return (argv.format as F | undefined) ?? (argv.json ? 'json' : 'text');
}
