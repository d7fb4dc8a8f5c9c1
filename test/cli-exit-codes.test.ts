// The documented exit codes and flags of every command, end to end through main(argv, io):
// 0 success, 1 a failed check, 2 usage error (a bad flag, value, unit or file: the message names it,
// stdout stays empty and nothing is written), 3 runtime failure, 4 could not judge, 130/143 cancelled by
// SIGINT/SIGTERM after writing what was measured. `--help` and `--version` on every command.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, EXIT_CODES, SignalCancel } from '../src/cli/command.js';
import { commands } from '../src/cli/commands/index.js';
import { VERSION } from '../src/version.js';
import { createRng } from '../src/stats/rng.js';
import { CLI, cli } from './helpers.js';
import { fakeRecord, fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-exit-'));
const missing = join(dir, 'no-such-file.jsonl');
const rng = createRng(7);
function writeJsonl(name: string, records: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}
const base = writeJsonl('base.jsonl', fakeSession(rng, 'base', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 }));
const slow = writeJsonl('slow.jsonl', fakeSession(rng, 'slow', 6, { noise: 0.01, levelBps: 6e9, latencyUs: 60, latencySamples: 400 }));
const spread = writeJsonl('spread.jsonl', [6e9, 9e9, 12e9].map((levelBps, run) => fakeRecord(rng, { session: 'spread', run, runs: 3, levelBps, noise: 0.01 })));

/** Files under `dir` (recursively), to check a usage error wrote nothing. */
function files(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

describe('--help and --version on every command', () => {
  const names = commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);

  it('the list covers every command of the design', () => {
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['baseline', 'claims', 'compare', 'env', 'history', 'monitor', 'report', 'run', 'server', 'stats', 'validate']));
    expect(names).toContain('benchmark');
  });

  it.each(names)('%s --help: usage, every flag, the formats; exit 0', async (name) => {
    const command = commands.find((c) => c.name === name || c.aliases?.includes(name))!;
    const { code, stdout, stderr } = await cli([name, '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^stoq-bench ${command.name}\\b`));
    for (const flag of Object.keys(command.options)) expect(stdout, flag).toContain(flag.length === 1 ? `-${flag} ` : `--${flag}`);
    expect(stdout).toMatch(/--help/);
    expect(stdout).toMatch(/--version/);
    expect(stdout).toMatch(/Formats:/);
    // one exit-code table, on every command
    expect(stdout).toMatch(/Exit codes:\n {2}0 +every check passed\n {2}1 +a failed check[^\n]*\n {2}2 +usage error[^\n]*\n {2}3 +runtime failure[^\n]*\n {2}4 +could not judge[^\n]*\n {2}130 +cancelled by SIGINT[^\n]*\n {2}141 +stdout closed by its reader[^\n]*\n {2}143 +cancelled by SIGTERM/);
  });

  it.each(names)('%s --version prints the version; exit 0', async (name) => {
    const { code, stdout, stderr } = await cli([name, '--version']);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('top level: --help lists every command, --version, no command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.stdout).toMatch(new RegExp(`stoq-bench ${c.name}\\b`));
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name a command/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
  });
});

/** [command line, what stderr must say]: each exits 2 with nothing on stdout and nothing written. */
const USAGE: Record<string, Array<[string[], RegExp]>> = {
  server: [
    [['server', '--bogus'], /Unknown argument: --bogus$/m],
    [['server', '--payload-size', '1500XB'], /--payload-size: invalid size "1500XB"/],
    [['server', '--threads', 'many'], /--threads: expected a whole number/],
    [['server', '--cert', missing, '--key', missing], /certificate file not found: .*no-such-file/],
    [['server', '--cert', missing], /--cert and --key go together/],
  ],
  run: [
    [['run', '--bogus'], /Unknown argument: --bogus$/m],
    // named as typed, negated forms included, each once
    [['run', '--no-such-flag'], /Unknown argument: --no-such-flag$/m],
    [['run', '--no-pacing', '--bogus-thing=3', '--no-bogus'], /Unknown arguments: --bogus-thing, --no-bogus$/m],
    [['run', '--bytes', '10XB'], /--bytes: invalid size "10XB"/],
    [['run', '--duration', '5parsecs'], /--duration: invalid duration "5parsecs"/],
    [['run', '--interval', '1fortnight'], /--interval: invalid duration/],
    [['run', '--bytes', '1MiB', '--duration', '1s'], /give one of --bytes, --duration or --count/],
    [['run', '--scenario', 'teleport'], /Argument: scenario, Given: "teleport"/],
    [['run', '--bytes', '1MiB', '--out', join(dir, 'no/such/dir/runs.jsonl')], /--out .*no\/such\/dir\/runs\.jsonl: cannot write \(no such directory\)/],
    [['benchmark', '--count', 'lots', '--scenario', 'latency'], /--count: expected a whole number/],
  ],
  validate: [
    [['validate', '--bogus'], /Unknown argument: --bogus$/m],
    [['validate', '--expect-goodput', 'fast'], /--expect-goodput: invalid rate "fast"/],
    [['validate', '--expect-p99-rtt', '2parsecs'], /--expect-p99-rtt: invalid duration "2parsecs"/],
    [['validate', '--records', missing, '--expect-goodput', '1Gbps'], /no-such-file\.jsonl: cannot read \(no such file\)/],
  ],
  monitor: [
    [['monitor'], /Missing required argument: target/],
    [['monitor', '--target', '[::1]:1', '--interval', '1lightyear'], /--interval: invalid duration/],
    [['monitor', '--target', '[::1]:1', '--slo', 'goodput>=fast'], /--slo: invalid rate "fast"/],
    [['monitor', '--target', '[::1]:1', '--baseline', 'main', '--history', join(dir, 'absent.db')], /--baseline: no baseline named "main"/],
    [['monitor', '--target', '[::1]:1', '--alerts', join(dir, 'no/such/dir/alerts.jsonl'), '--history', join(dir, 'm.db')], /--alerts .*: cannot write \(no such directory\)/],
  ],
  stats: [
    [['stats'], /Not enough non-option arguments/],
    [['stats', missing], /no-such-file\.jsonl: cannot read \(no such file\)/],
    [['stats', base, '--level', 'abc'], /--level must be between 0 and 1/],
    [['stats', base, '--bogus'], /Unknown argument: --bogus$/m],
  ],
  compare: [
    [['compare'], /Missing required argument: candidate/],
    [['compare', '--candidate', missing, '--baseline', base], /no-such-file\.jsonl: cannot read \(no such file\)/],
    [['compare', '--candidate', slow, '--baseline', missing], /no-such-file\.jsonl: cannot read \(no such file\)/],
    [['compare', '--candidate', slow, '--baseline', base, '--level', '1.5'], /--level must be between 0 and 1/],
    [['compare', '--candidate', slow, '--baseline', base, '--slo', 'goodput>=fast'], /invalid rate "fast"/],
    [['compare', '--candidate', slow, '--baseline', base, '--fail-on', 'Apocalyptic'], /Argument: fail-on, Given: "Apocalyptic"/],
  ],
  baseline: [
    [['baseline'], /Not enough non-option arguments/],
    [['baseline', 'frobnicate'], /unknown baseline action "frobnicate"/],
    [['baseline', 'show'], /usage: stoq-bench baseline show NAME/],
    [['baseline', 'save', 'x'], /usage: stoq-bench baseline save NAME FILES\.\./],
    [['baseline', 'list', '--bogus'], /Unknown argument: --bogus$/m],
  ],
  report: [
    [['report'], /Not enough non-option arguments/],
    [['report', missing], /no-such-file\.jsonl: cannot read \(no such file\)/],
    [['report', base, '--format', 'pdf'], /Argument: format, Given: "pdf"/],
    [['report', missing, '--out', join(dir, 'report.html'), '--format', 'html'], /no-such-file\.jsonl: cannot read/],
  ],
  claims: [
    [['claims'], /Not enough non-option arguments/],
    [['claims', missing], /no-such-file\.jsonl: cannot read \(no such file\)/],
    [['claims', base, '--format', 'pdf'], /Argument: format, Given: "pdf"/],
    [['claims', base, '--tolerance', '2'], /--tolerance must be between 0 and 1/],
  ],
  history: [
    [['history', 'frobnicate'], /unknown history action "frobnicate"/],
    [['history', '--format', 'html'], /--format html draws a trend/],
    [['history', '--store', join(dir, 'absent-store.db')], /no history store at .*absent-store\.db/],
  ],
  env: [
    [['env', '--bogus'], /Unknown argument: --bogus$/m],
    [['env', '--record', missing], /no-such-file\.jsonl: cannot read \(no such file\)/],
  ],
};

describe('usage errors: exit 2, a message naming the flag or file, nothing on stdout, nothing written', () => {
  // a command without its own cases here still gets the generic one
  for (const c of commands) USAGE[c.name] ??= [[[c.name, '--bogus'], /Unknown argument: --bogus$|Not enough non-option arguments|Missing required argument/]];

  it('every command has cases', () => {
    expect(Object.keys(USAGE).sort()).toEqual(commands.map((c) => c.name).sort());
  });

  for (const [name, cases] of Object.entries(USAGE)) {
    it.each(cases.map(([args, message]) => ({ line: args.join(' ').replaceAll(dir, 'DIR'), args, message })))(`${name}: $line`, async ({ args, message }) => {
      const before = files();
      const { code, stdout, stderr } = await cli(args);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toMatch(/^stoq-bench: /);
      expect(stderr).toMatch(message);
      expect(files()).toEqual(before);
    });
  }

  it('server --listen names the flag in its message', async () => {
    const { code, stderr } = await cli(['server', '--listen', 'bad']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--listen/);
  });

  it('compare --warmup names the flag in its message', async () => {
    const { code, stderr } = await cli(['compare', '--candidate', slow, '--baseline', base, '--warmup', '5parsecs']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--warmup/);
  });

  it('baseline save: a missing file leaves no store behind', async () => {
    const store = join(dir, 'store-left-behind', 'h.db');
    const { code } = await cli(['baseline', 'save', 'x', missing, '--store', store]);
    expect(code).toBe(2);
    expect(existsSync(store)).toBe(false);
  });

  it('baseline import: a missing file leaves no store behind', async () => {
    const store = join(dir, 'store-left-behind-2', 'h.db');
    const { code } = await cli(['baseline', 'import', missing, '--store', store]);
    expect(code).toBe(2);
    expect(existsSync(store)).toBe(false);
  });
});

describe('exit 1: a failed check', () => {
  it('compare: a regression', async () => {
    const r = await cli(['compare', '--baseline', base, '--candidate', slow, '--store', join(dir, 'c.db')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Regression/);
  });

  it('validate: an expectation the confidence bound does not clear', async () => {
    const r = await cli(['validate', '--records', spread, '--expect-goodput', '8Gbps']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL/);
  });

  it('a failed check outranks "could not judge": exit 1 when both', async () => {
    const doc = join(dir, 'both.md');
    writeFileSync(doc, 'Goodput: 400 Gbit/s, and 5,700 handshakes per second.\n');
    const r = await cli(['claims', doc, '--records', base]);
    expect(r.stdout).toMatch(/CONTRADICTED/);
    expect(r.stdout).toMatch(/UNBACKED/);
    expect(r.code).toBe(1);
  });

  it('validate and compare pass: exit 0', async () => {
    expect((await cli(['validate', '--records', base, '--expect-goodput', '1Gbps'])).code).toBe(0);
    // goodput alone: the latency percentiles of six runs are Inconclusive against their own copy (exit 4)
    expect((await cli(['compare', '--baseline', base, '--candidate', base, '--store', join(dir, 'c.db'), '--metric', 'goodput'])).code).toBe(0);
  });
});

describe('exit 4: could not judge', () => {
  it('is the documented code, relaxed by the --allow flags', async () => {
    expect(EXIT.notJudged).toBe(4);
    expect(EXIT_CODES.map(([code]) => code)).toEqual([0, 1, 2, 3, 4, 130, 141, 143]);
    const one = writeJsonl('one-short.jsonl', [fakeRecord(rng, { session: 'one-short', intervals: 2, warmup: 0 })]);
    expect((await cli(['validate', '--records', one, '--expect-goodput', '1Gbps'])).code).toBe(4);
    expect((await cli(['validate', '--records', one, '--expect-goodput', '1Gbps', '--allow-invalid'])).code).toBe(0);
    const doc = join(dir, 'unbacked.md');
    writeFileSync(doc, 'It completes 5,700 handshakes per second.\n');
    expect((await cli(['claims', doc, '--records', base])).code).toBe(4);
    expect((await cli(['claims', doc, '--records', base, '--allow-unbacked'])).code).toBe(0);
    expect((await cli(['compare', '--candidate', base, '--store', join(dir, 'nothing.db')])).code).toBe(4);
  });
});

describe('130 and 143: a run cancelled by a signal exits non-zero after writing what it measured', () => {
  it('in process: the abort reason names the signal', async () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const controller = new AbortController();
      const out = join(dir, `cancelled-${signal}.jsonl`);
      const running = cli(['run', '--duration', '20s', '--interval', '100ms', '--json', '--out', out, '--no-history'], controller.signal);
      setTimeout(() => controller.abort(new SignalCancel(signal)), 700);
      const r = await running;
      expect(r.code).toBe(code);
      const [record] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(record.end.state).toBe('cancelled');
      expect(record.end.bytesReceived).toBeGreaterThan(0);
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
    }
  });

  it('the real process: SIGINT exits 130 and SIGTERM 143, with the record written and recorded', async () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const out = join(dir, `signalled-${signal}.jsonl`);
      const store = join(dir, `signalled-${signal}.db`);
      const child = spawn(process.execPath, [CLI, 'run', '--duration', '20s', '--interval', '100ms', '--out', out, '--store', store, '--no-json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      // readiness by output: the first interval line
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no interval within 15 s')), 15_000);
        child.stdout!.on('data', (d: Buffer) => {
          if (/Gbit\/s|Mbit\/s/.test(String(d))) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      child.kill(signal);
      const [exit] = (await once(child, 'exit')) as [number | null];
      expect(exit).toBe(code);
      expect(JSON.parse(readFileSync(out, 'utf8').trim()).end.state).toBe('cancelled');
      const { HistoryStore } = await import('../src/history/store.js');
      const s = HistoryStore.open(store, { readonly: true });
      expect(s.counts().runs).toBe(1);
      s.close();
    }
  }, 60_000);
});

describe('exit 3: a runtime failure', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      }
    }
  });

  it('run: connections that errored (nobody answers on the target port)', async () => {
    // a UDP port nobody serves: bind it, note it, release it
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp6');
    await new Promise<void>((r) => s.bind(0, '::1', r));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = await cli(['run', '--target', `[::1]:${port}`, '--scenario', 'latency', '--count', '1', '--idle-timeout', '200ms', '--no-json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/: errored/);
    expect(r.stdout).toMatch(/error: TIMEOUT/);
  });

  it('server: the port is taken by another server', async () => {
    const first = spawn(process.execPath, [CLI, 'server', '--listen', '[::1]:0', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(first);
    const address = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('server not ready within 10 s')), 10_000);
      first.stdout!.on('data', (d: Buffer) => {
        const m = /"address":"([^"]+)"/.exec(String(d));
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
    const r = await cli(['server', '--listen', address]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^stoq-bench server: IO: /);
  });

  it('monitor: the metrics address is taken', async () => {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '::1', r));
    const port = (tcp.address() as { port: number }).port;
    try {
      mkdirSync(join(dir, 'mon'), { recursive: true });
      const r = await cli(['monitor', '--target', '[::1]:1', '--metrics', `[::1]:${port}`, '--duration', '1s', '--history', join(dir, 'mon', 'h.db')]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`^stoq-bench monitor: IO: --metrics \\[::1\\]:${port}: cannot listen \\(EADDRINUSE\\)`));
      expect(r.stdout).toBe('');
    } finally {
      tcp.close();
    }
  });
});
