// One output convention for every command, checked on the real process: text for people on a terminal,
// JSON lines (one JSON object per line) when stdout is not a terminal or with --json, and --no-json for text
// when piped. The terminal is a real pseudo-terminal (util-linux `script`), stderr kept apart from it.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/stats/rng.js';
import { CLI, cli, spawnServer } from './helpers.js';
import { fakeSession } from './stats/make-records.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const rng = createRng(12);
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const jsonl = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
const base = write('base.jsonl', jsonl(fakeSession(rng, 'base', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 })));
const cand = write('cand.jsonl', jsonl(fakeSession(rng, 'cand', 6, { noise: 0.01, latencyUs: 60, latencySamples: 400 })));
const doc = write('doc.md', 'Goodput above 1 Mbit/s.\n');
const store = join(dir, 'history.db');

/**
 * Each command that prints for people or machines, with arguments that need no network beyond [::1], and a
 * line its text output is known by.
 */
const COMMANDS: Array<{ name: string; args: string[]; text: RegExp }> = [
  { name: 'run', args: ['run', '--bytes', '1MiB', '--no-history'], text: /^scenario download .*: completed$/m },
  { name: 'validate', args: ['validate', '--records', base, '--expect-goodput', '1Gbps'], text: /^PASS goodput >= 1\.00 Gbit\/s/m },
  { name: 'stats', args: ['stats', base], text: /goodput/ },
  { name: 'compare', args: ['compare', '--baseline', base, '--candidate', cand, '--store', store, '--metric', 'goodput'], text: /^gate: /m },
  { name: 'env', args: ['env', '--no-probe', '--no-aead'], text: /^testbed fingerprint [0-9a-f]+/m },
  { name: 'baseline save', args: ['baseline', 'save', 'main', base, '--store', store, '--force'], text: /^saved baseline "main": 6 runs/ },
  { name: 'baseline list', args: ['baseline', 'list', '--store', store], text: /^name +runs/m },
  { name: 'baseline show', args: ['baseline', 'show', 'main', '--store', store], text: /^baseline "main": 6 runs/ },
  { name: 'history', args: ['history', '--store', store], text: /session\(s\), newest first$/m },
  { name: 'history trend', args: ['history', 'trend', '--store', store], text: /goodput on testbed/ },
  { name: 'claims', args: ['claims', doc, '--records', base], text: /"1 Mbit\/s" {2}BACKED: measured/ },
];

/** Runs the CLI with stdout a pipe (stderr apart). */
function piped(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI with stdout a pseudo-terminal (stderr to a file, so live status lines stay apart). */
function terminal(args: string[]) {
  const err = join(dir, 'terminal.err');
  const command = `${[process.execPath, CLI, ...args].map(q).join(' ')} 2>${q(err)}`;
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  // a terminal turns \n into \r\n
  return { code: r.status, stdout: r.stdout.replace(/\r\n/g, '\n'), stderr: r.stderr };
}

/** Every line of `text` parsed as JSON (throws on a line that is not one JSON value). */
function jsonLines(text: string): unknown[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe(''); // the last line ends too
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((line) => JSON.parse(line));
}

describe('stdout not a terminal: JSON lines unless --no-json', () => {
  beforeAll(() => {
    // the store the baseline and history commands read (a session of records, as run would leave it)
    expect(piped(['baseline', 'save', 'main', base, '--store', store, '--force']).code).toBe(0);
  });

  for (const c of COMMANDS) {
    it(`${c.name}: JSON lines by default, each line parses; text with --no-json`, () => {
      const json = piped(c.args);
      expect(json.code, json.stderr).toBe(0);
      for (const value of jsonLines(json.stdout)) expect(typeof value).toBe('object');
      const text = piped([...c.args, '--no-json']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(c.text);
      expect(() => jsonLines(text.stdout)).toThrow();
    }, 60_000);
  }

  it('server and monitor: their events as JSON lines, or text with --no-json', async () => {
    const server = await spawnServer(); // --json: the address is read from the listening event
    try {
      for (const extra of [[], ['--no-json']]) {
        const r = spawnSync(process.execPath, [CLI, 'monitor', '--target', server.address, '--duration', '1s', '--interval', '200ms', '--probe-count', '5', '--burst-every', '0', '--history', join(dir, 'monitor.db'), ...extra], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        if (extra.length === 0) expect(jsonLines(r.stdout).map((e) => (e as { event: string }).event)).toEqual(expect.arrayContaining(['started', 'stopped']));
        else expect(r.stdout).toMatch(/^monitoring /m);
      }
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
    for (const extra of [[], ['--no-json']]) {
      const child = spawn(process.execPath, [CLI, 'server', '--listen', '[::1]:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.on('data', (d) => (stdout += d));
      await new Promise<void>((resolve) => child.stdout!.on('data', () => stdout.includes('\n') && resolve()));
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      if (extra.length === 0) expect(jsonLines(stdout).map((e) => (e as { event: string }).event)).toEqual(expect.arrayContaining(['listening', 'stopped']));
      else expect(stdout).toMatch(/^stoq-bench server listening on \[::1\]:\d+ .*\nstopped: connections open 0/);
    }
  }, 60_000);

  it('commands with a report format of their own keep it: report, history --format html, claims --format sarif', () => {
    expect(piped(['report', base]).stdout).toMatch(/^# stoq-bench report\n/);
    expect(piped(['history', 'trend', '--store', store, '--format', 'html']).stdout).toMatch(/^<!doctype html>/i);
    expect(JSON.parse(piped(['claims', doc, '--records', base, '--format', 'sarif']).stdout).version).toBe('2.1.0');
    expect(piped(['baseline', 'export', 'main', '--store', store]).stdout).toMatch(/^\{\n/); // the baseline file itself
  }, 60_000);

  it('--json or --no-json with a --format that says otherwise is a usage error', async () => {
    const r = await cli(['claims', doc, '--records', base, '--json', '--format', 'markdown']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'stoq-bench: --json and --format markdown disagree: give one of them\n' });
    expect((await cli(['history', '--store', store, '--no-json', '--format', 'json'])).stderr).toBe('stoq-bench: --no-json and --format json disagree: give one of them\n');
    expect((await cli(['history', '--store', store, '--json', '--format', 'json'])).code).toBe(0);
  });
});

describe('stdout a terminal: text unless --json', () => {
  it('script (util-linux) gives the process a pseudo-terminal', () => {
    expect(spawnSync('script', ['-qec', 'test -t 1', '/dev/null']).status).toBe(0);
  });

  for (const c of COMMANDS.filter((x) => ['run', 'stats', 'env', 'validate', 'claims'].includes(x.name))) {
    it(`${c.name}: text; JSON lines with --json`, () => {
      const text = terminal(c.args);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(c.text);
      expect(() => jsonLines(text.stdout)).toThrow();
      const json = terminal([...c.args, '--json']);
      expect(json.code).toBe(0);
      for (const value of jsonLines(json.stdout)) expect(typeof value).toBe('object');
    }, 60_000);
  }
});
