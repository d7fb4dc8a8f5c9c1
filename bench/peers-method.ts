// The pure parts of bench/peers.ts: CPU time from /proc/PID/stat, the byte- and connection-count checks
// every figure must pass before it is used, and the median with its spread over rounds
// (test/bench/peers-method.test.ts).
import { median } from '../src/stats/index.js';

/** CPU time of a process from one /proc/PID/stat line (proc(5)), seconds. */
export interface ProcCpu {
  /** utime + stime: the process's own threads. */
  selfS: number;
  /** cutime + cstime: its children that it has waited for. */
  childrenS: number;
}

/**
 * Parses /proc/PID/stat (proc(5)): fields 14-17 (utime, stime, cutime, cstime) in clock ticks, divided by
 * `ticksPerSecond` (`getconf CLK_TCK`). The command name (field 2) is in parentheses and may hold spaces
 * or parentheses, so fields are counted after its last ')'.
 * @throws Error when the line does not have the fields of proc(5)
 */
export function parseProcStat(text: string, ticksPerSecond: number): ProcCpu {
  const close = text.lastIndexOf(')');
  const fields = close < 0 ? [] : text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state); field k is fields[k - 3].
  const ticks = [14, 15, 16, 17].map((k) => Number(fields[k - 3]));
  if (fields.length < 15 || ticks.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 120))}`);
  }
  const [utime, stime, cutime, cstime] = ticks;
  return { selfS: (utime + stime) / ticksPerSecond, childrenS: (cutime + cstime) / ticksPerSecond };
}

/** Application bytes of one run as each side counted them (the server's: for this run's streams only). */
export interface ByteCounts {
  clientSent: number;
  clientReceived: number;
  serverSent: number;
  serverReceived: number;
}

/**
 * Why a run's byte counts disqualify its figures, or null when both sides counted exactly what was asked:
 * the client sent `sent` and received `received`, the server received `sent` and sent `received`.
 */
export function byteCountProblem(asked: { sent: number; received: number }, seen: ByteCounts): string | null {
  const wrong = [
    ['client sent', seen.clientSent, asked.sent],
    ['client received', seen.clientReceived, asked.received],
    ['server received', seen.serverReceived, asked.sent],
    ['server sent', seen.serverSent, asked.received],
  ].filter(([, got, want]) => got !== want);
  return wrong.length === 0 ? null : wrong.map(([who, got, want]) => `${who} ${got} B, asked ${want} B`).join('; ');
}

/** Connections of one run as each side counted them. */
export interface ConnectionCounts {
  /** Connections the server accepted during the run. */
  serverAccepted: number;
  /** Connections the client completed: every handshake of a handshake run, otherwise its measured one(s). */
  clientCompleted: number;
  /** Connections the client opened besides the measured ones (stoq-bench's view connection). */
  clientOther: number;
}

/**
 * Why a run's connection counts disqualify its figures, or null when the server accepted exactly the
 * `connections` asked plus the client's other ones, and the client completed at least `completed`.
 */
export function connectionCountProblem(asked: { connections: number; completed: number }, seen: ConnectionCounts): string | null {
  if (seen.serverAccepted === asked.connections + seen.clientOther && seen.clientCompleted >= asked.completed) return null;
  const other = seen.clientOther > 0 ? ` (and ${seen.clientOther} other connection(s) of the client)` : '';
  return `the server accepted ${seen.serverAccepted}, the client completed ${seen.clientCompleted}, asked ${asked.connections}${other}`;
}

/** The median of a figure over rounds with its spread (the smallest and largest value); null with none. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spreadOf(values: number[]): Spread | null {
  if (values.length === 0) return null;
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`not a finite figure among ${values.join(', ')}`);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
}

/** `a / b` of two medians, or null when either is missing. */
export function ratioOf(a: Spread | null, b: Spread | null): number | null {
  return a && b && b.median !== 0 ? a.median / b.median : null;
}
