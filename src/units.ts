// Units are parsed here, at the edge; everything inside works in bytes, nanoseconds and bits per second.
import { StoqError } from './errors.js';
import { callNative, native } from './native.js';

/** The formats accepted on the command line, documented once (shown in `--help`). */
export const FORMATS = `Formats:
  SIZE      bytes with an optional unit: 1350, 64KiB, 256MiB, 10MB, 1GiB
            (KiB/MiB/GiB/TiB are powers of 1024; kB/MB/GB/TB powers of 1000; B optional)
  TIME      a number with a unit, or several run together: 10s, 500ms, 1s500ms, 2m, 250us
            (units: ns, us, ms, s, m, h; a bare number is seconds)
  RATE      bits per second: 1Gbps, 2.5Gbit/s, 100Mbps, 10kbps (powers of 1000)
  ADDRESS   a host and port: [::1]:4433, [fd00::2]:4433, 192.0.2.1:4433, server.lab:4433
            (a name is resolved once, IPv6 first, then IPv4; a link-local address names its
            interface: [fe80::1%eth0]:4433; to listen, [::]:0 takes any address, port 0 picks one)
  INSTANT   ISO 8601 wall-clock time with its zone: 2026-11-30T12:00:00Z, 2026-11-30T13:00:00+01:00`;

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30, ti: 2 ** 40, tib: 2 ** 40,
};

const TIME_UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

const RATE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

function invalid(what: string, text: string, example: string): StoqError {
  const negative = text.startsWith('-') ? `a ${what} is never negative; ` : '';
  return new StoqError('INVALID_ARGUMENT', `invalid ${what} "${text}" (${negative}expected e.g. ${example})`);
}

/** Parses a byte count such as `256MiB` or `1350`; returns a safe integer number of bytes. */
export function parseSize(text: string | number): number {
  const s = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(s);
  const factor = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || factor === undefined) throw invalid('size', s, '256MiB, 10MB or 1350');
  const bytes = Number(m[1]) * factor;
  if (!Number.isSafeInteger(bytes)) throw invalid('size', s, 'a whole number of bytes below 2^53');
  return bytes;
}

/** Parses a duration such as `1s500ms`, `10ms` or `2.5` (seconds); returns nanoseconds as a number. */
export function parseDuration(text: string | number): number {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1e9);
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(s); m; m = part.exec(s)) {
    total += Number(m[1]) * TIME_UNITS_NS[m[2]];
    consumed = part.lastIndex;
  }
  if (s.length === 0 || consumed !== s.length) throw invalid('duration', s, '10s, 500ms or 1s500ms');
  return Math.round(total);
}

/** Parses a bit rate such as `2.5Gbps` or `100Mbit/s`; returns bits per second. */
export function parseRate(text: string | number): number {
  const s = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:bps|bit\/s|b\/s)?$/.exec(s);
  if (!m) throw invalid('rate', s, '1Gbps, 2.5Gbit/s or 100Mbps');
  return Number(m[1]) * RATE_UNITS[m[2].toLowerCase()];
}

/** An ADDRESS as the engine uses it. */
export interface Address {
  /** `[v6addr]:port` (a zone as its interface index, `[fe80::1%2]:4433`) or `v4addr:port`. */
  address: string;
  /** The IP address alone, zone included (`fe80::1%2`). */
  host: string;
  port: number;
}

/**
 * Reads an ADDRESS with the engine's parser, the one every command and the engine share: `[v6addr]:port`,
 * `v4addr:port` or `name:port`, a name resolved once (IPv6 first, then IPv4), a link-local address with
 * its zone (`[fe80::1%eth0]:4433`, carried to the socket as `sin6_scope_id`). A `target` is one host
 * with a port other than 0; a `listen` address may be a wildcard with port 0. Throws `INVALID_ARGUMENT`
 * (field `target` or `listen`) naming the text as typed.
 */
export function parseAddress(text: string, use: 'target' | 'listen'): Address {
  const address = callNative(() => native.parseAddress(String(text), use === 'listen'));
  const m = /^\[(.*)\]:(\d+)$/.exec(address) ?? /^(.*):(\d+)$/.exec(address);
  if (!m) throw new StoqError('INTERNAL', `the engine gave an address without a port: ${address}`);
  return { address, host: m[1], port: Number(m[2]) };
}

/** Formats nanoseconds as the shortest TIME that reads back the same: `10ms`, `5s`, `1m`, `250us`. */
export function formatDuration(ns: number): string {
  const units: Array<[string, number]> = [['h', 3600e9], ['m', 60e9], ['s', 1e9], ['ms', 1e6], ['us', 1e3]];
  const [unit, size] = units.find(([, size]) => ns >= size && ns % size === 0) ?? ['ns', 1];
  return `${ns / size}${unit}`;
}

/** Formats bytes as the shortest SIZE that reads back the same: `1200`, `16KiB`, `4GiB`, `1024TiB`. */
export function formatSize(bytes: number): string {
  const units: Array<[string, number]> = [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]];
  const [unit, size] = units.find(([, size]) => bytes >= size && bytes % size === 0) ?? ['', 1];
  return `${bytes / size}${unit}`;
}

/** Formats a confidence level as people read it: `95%`, `99.9%`. */
export function formatLevel(level: number): string {
  return `${+(level * 100).toFixed(4)}%`;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO 8601 instant with its zone (`2026-11-30T12:00:00Z`); a time without a zone is refused. */
export function parseInstant(text: string): Date {
  const s = String(text).trim();
  const ms = INSTANT.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) throw invalid('instant', s, '2026-11-30T12:00:00Z (ISO 8601 with a zone)');
  return new Date(ms);
}

/** Formats bits per second with a decimal prefix (`9.41 Gbit/s`). */
export function formatRate(bps: number): string {
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let v = bps;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 1 : 2)} ${units[i]}`;
}

/** Formats a byte count with a binary prefix (`1.00 GiB`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(2)} ${units[i]}`;
}

/** Formats microseconds for people (`51.2 us`, `1.84 ms`). */
export function formatMicros(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(2)} ms`;
  return `${us.toFixed(1)} us`;
}
