// Shared option specs: units are parsed here, at the edge, and a bad value names its flag.
import type { Options } from 'yargs';
import { StoqError } from '../errors.js';
import { parseAddress, parseDuration, parseInstant, parseSize } from '../units.js';

function withUnit<T>(flag: string, parse: (text: string) => T) {
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

/** An option holding an INSTANT (a Date). */
export const instant = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: withUnit(flag, parseInstant),
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

/** An option holding an ADDRESS (`[v6addr]:port`), checked at the edge and kept as text. */
export const address = (flag: string, describe: string, extra: Options = {}): Options => ({
  type: 'string',
  describe,
  coerce: (value: unknown) => {
    if (value === undefined) return undefined;
    try {
      parseAddress(String(value));
      return String(value);
    } catch (error) {
      throw new StoqError('INVALID_ARGUMENT', `--${flag}: ${(error as Error).message}`);
    }
  },
  ...extra,
});
