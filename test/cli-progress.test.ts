// Live progress of `stoq-bench run`: on a terminal a progress line on stderr (redrawn with \r, elapsed and
// time left), never on stdout; nothing but JSON records on stdout with --json; no progress off a terminal;
// no colour codes when colour is not allowed (NO_COLOR).
import { describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { Progress, formatSeconds } from '../src/cli/progress.js';
import { SCHEMA_VERSION } from '../src/record.js';
import { normalizeScenario } from '../src/scenario.js';

async function tty(args: string[], options: { isTTY?: boolean; color?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    isTTY: options.isTTY ?? true,
    color: options.color ?? false,
    signal: new AbortController().signal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** The last drawn state of a \r-redrawn line. */
const frames = (stderr: string) => stderr.split('\r').map((f) => f.trim()).filter(Boolean);

describe('run progress on a terminal', () => {
  it('draws elapsed and remaining time on stderr, interval lines stay on stdout', async () => {
    const { code, stdout, stderr } = await tty(['run', '--duration', '1s', '--interval', '250ms']);
    expect(code).toBe(0);
    expect(stdout).not.toContain('\r');
    expect(stdout).not.toMatch(/elapsed/);
    expect(stdout.split('\n').filter((l) => / s +\d/.test(l) && /-/.test(l)).length).toBeGreaterThanOrEqual(3);
    const f = frames(stderr);
    expect(f.length).toBeGreaterThanOrEqual(2);
    for (const frame of f) expect(frame).toMatch(/^\[[#.]{20}\] \d+% [\d.]+ s elapsed, [\d.]+ s left$/);
    // time moves forward and the time left shrinks, ending at or near zero
    const left = f.map((x) => Number(/([\d.]+) s left/.exec(x)![1]));
    expect(left[0]).toBeGreaterThan(left[left.length - 1]);
    expect(left[0]).toBeLessThanOrEqual(1);
    // the line is erased at the end: the last thing written to stderr is blanks and a \r
    expect(stderr).toMatch(/\r +\r$/);
    expect(stderr).not.toContain('\x1b['); // color: false
  });

  it('--json: only records on stdout, the progress still on stderr', async () => {
    const { code, stdout, stderr } = await tty(['run', '--bytes', '4MiB', '--json', '--interval', '50ms']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).schemaVersion).toBe(SCHEMA_VERSION);
    expect(frames(stderr).length).toBeGreaterThanOrEqual(1);
    expect(frames(stderr).every((f) => / elapsed, .* left$/.test(f))).toBe(true);
  });

  it('colour only when allowed', async () => {
    const { stderr } = await tty(['run', '--duration', '300ms', '--interval', '100ms'], { color: true });
    expect(stderr).toContain('\x1b[36m');
  });

  it('off a terminal: no progress at all', async () => {
    const { code, stderr } = await tty(['run', '--duration', '300ms', '--interval', '100ms'], { isTTY: false });
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('several runs are labelled; bytes- and count-bound runs estimate the time left from the rate', () => {
    let clock = 0;
    let err = '';
    const io: Io = { stdout: () => {}, stderr: (t) => void (err += t), isTTY: true, color: false, signal: new AbortController().signal };
    const scenario = normalizeScenario({ kind: 'download', bytes: 100e6 });
    const p = Progress.start(io, scenario, { run: 2, runs: 3, now: () => clock, tickMs: 60_000 })!;
    expect(p.line()).toBe('run 2/3 0.0 s elapsed, ? left');
    clock = 1000;
    p.interval({ bytesSent: 0, bytesReceived: 25e6, completed: 0, endS: 1 } as never);
    expect(p.line()).toBe('run 2/3 [#####...............] 25% 1.0 s elapsed, 3.0 s left');
    p.stop();
    expect(err.endsWith('\r')).toBe(true);
    const count = Progress.start(io, normalizeScenario({ kind: 'latency', count: 1000 }), { now: () => clock, tickMs: 60_000 })!;
    clock = 3000;
    count.interval({ bytesSent: 0, bytesReceived: 0, completed: 500, endS: 2 } as never);
    expect(count.line()).toBe('[##########..........] 50% 2.0 s elapsed, 2.0 s left');
    count.stop();
    expect(Progress.start({ ...io, isTTY: false }, scenario)).toBeUndefined();
    expect(formatSeconds(125)).toBe('2 m 05 s');
    expect(formatSeconds(3725)).toBe('1 h 02 m');
  });
});
