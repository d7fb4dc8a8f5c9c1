// Shared option specs: units are parsed here, at the edge, and a bad value names its flag.
import type { Options } from 'yargs';
import { StoqError } from '../errors.js';
import { parseAddress, parseDuration, parseSize } from '../units.js';

function withUnit(flag: string, parse: (text: string) => number) {
  return (value: unknown) => {
    if (value === undefined) return undefined;
    try {
      return parse(String(value));
    } catch (error) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
    }
  };
}

/** An option holding a SIZE (bytes). */
export const size = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseSize),
  ...extra,
});

/** An option holding a TIME (ns). */
export const time = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseDuration),
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
