// The pure parts of bench/peers.ts: /proc/PID/stat parsing (proc(5)), the byte- and connection-count
// checks, median and spread over rounds.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { byteCountProblem, connectionCountProblem, parseProcStat, ratioOf, spreadOf } from '../../bench/peers-method.js';

describe('parseProcStat', () => {
  it('reads utime+stime and cutime+cstime (fields 14-17) in ticks', () => {
    // A real line's shape: pid (comm) state ppid ... with utime=250 stime=50 cutime=1000 cstime=200.
    const line = '4242 (node) S 1 4242 4242 0 -1 4194304 9052 0 0 0 250 50 1000 200 20 0 11 0 12345 1234567 5678 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0';
    expect(parseProcStat(line, 100)).toEqual({ selfS: 3, childrenS: 12 });
    expect(parseProcStat(line, 250)).toEqual({ selfS: 1.2, childrenS: 4.8 });
  });

  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    const line = '7 (a) b (c d) R 1 7 7 0 -1 0 0 0 0 0 3 4 5 6 20 0 1 0 1 1 1';
    expect(parseProcStat(line, 1)).toEqual({ selfS: 7, childrenS: 11 });
  });

  it('agrees with the kernel about this process: its CPU time never runs backwards and matches process.cpuUsage', () => {
    const ticks = 100; // USER_HZ on Linux
    const before = parseProcStat(readFileSync('/proc/self/stat', 'utf8'), ticks).selfS;
    const usage = process.cpuUsage();
    const after = parseProcStat(readFileSync('/proc/self/stat', 'utf8'), ticks).selfS;
    expect(after).toBeGreaterThanOrEqual(before);
    // getrusage and /proc count the same ticks; /proc truncates to whole ticks.
    expect(Math.abs((usage.user + usage.system) / 1e6 - before)).toBeLessThan(0.05);
  });

  it('refuses what is not a stat line', () => {
    expect(() => parseProcStat('', 100)).toThrow(/not a \/proc\/PID\/stat line/);
    expect(() => parseProcStat('12 (x) S 1 2 3', 100)).toThrow(/not a \/proc\/PID\/stat line/);
    expect(() => parseProcStat('12 (x) S 1 2 3 4 5 6 7 8 9 10 -1 2 3 4 5 6 7 8', 100)).toThrow(/not a \/proc\/PID\/stat line/);
  });
});

describe('byteCountProblem', () => {
  const asked = { sent: 64, received: 1000 };
  it('passes exact counts on both sides', () => {
    expect(byteCountProblem(asked, { clientSent: 64, clientReceived: 1000, serverSent: 1000, serverReceived: 64 })).toBeNull();
  });
  it('names every count that differs, one byte off included', () => {
    expect(byteCountProblem(asked, { clientSent: 64, clientReceived: 999, serverSent: 1000, serverReceived: 64 })).toBe('client received 999 B, asked 1000 B');
    expect(byteCountProblem(asked, { clientSent: 0, clientReceived: 1000, serverSent: 1001, serverReceived: 0 })).toBe(
      'client sent 0 B, asked 64 B; server received 0 B, asked 64 B; server sent 1001 B, asked 1000 B',
    );
  });
  it('does not trust a count that is missing', () => {
    expect(byteCountProblem(asked, { clientSent: 64, clientReceived: undefined as unknown as number, serverSent: 1000, serverReceived: 64 })).toMatch(/client received undefined B/);
  });
});

describe('connectionCountProblem', () => {
  it("passes the connections asked, with the client's other connections (stoq-bench's view) on the server's count", () => {
    expect(connectionCountProblem({ connections: 1, completed: 1 }, { serverAccepted: 1, clientCompleted: 1, clientOther: 0 })).toBeNull();
    expect(connectionCountProblem({ connections: 1, completed: 1 }, { serverAccepted: 2, clientCompleted: 1, clientOther: 1 })).toBeNull();
    expect(connectionCountProblem({ connections: 200, completed: 200 }, { serverAccepted: 201, clientCompleted: 200, clientOther: 1 })).toBeNull();
  });
  it('fails a connection the server accepted that the client does not account for, and one it missed', () => {
    expect(connectionCountProblem({ connections: 1, completed: 1 }, { serverAccepted: 2, clientCompleted: 1, clientOther: 0 })).toBe(
      'the server accepted 2, the client completed 1, asked 1',
    );
    expect(connectionCountProblem({ connections: 1, completed: 1 }, { serverAccepted: 1, clientCompleted: 1, clientOther: 1 })).toBe(
      'the server accepted 1, the client completed 1, asked 1 (and 1 other connection(s) of the client)',
    );
  });
  it('fails a client that completed fewer handshakes than asked', () => {
    expect(connectionCountProblem({ connections: 200, completed: 200 }, { serverAccepted: 200, clientCompleted: 199, clientOther: 0 })).toMatch(/client completed 199/);
  });
});

describe('spreadOf and ratioOf', () => {
  it('gives the median with the smallest and largest value', () => {
    expect(spreadOf([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, values: [3, 1, 2] });
    expect(spreadOf([4, 1, 3, 2])?.median).toBe(2.5);
  });
  it('has nothing to say without values, and refuses a value that is not a number', () => {
    expect(spreadOf([])).toBeNull();
    expect(() => spreadOf([1, NaN])).toThrow(/not a finite figure/);
  });
  it('divides medians, null when either side is missing or the divisor is 0', () => {
    expect(ratioOf(spreadOf([6, 2, 4]), spreadOf([2]))).toBe(2);
    expect(ratioOf(null, spreadOf([2]))).toBeNull();
    expect(ratioOf(spreadOf([1]), spreadOf([0]))).toBeNull();
  });
});
