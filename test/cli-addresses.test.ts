// Targets are checked at the edge, the same way everywhere: one parser (the engine's) for `run`,
// `validate`, `monitor`, `server` and the library. A target that cannot be measured is a usage error
// (exit 2, the flag and the text as typed, nothing started); a name resolves, IPv6 first; the descriptors
// that --connections needs are checked, and the soft limit raised, before anything is measured.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, StoqError } from '../src/index.js';
import { parseAddress } from '../src/units.js';
import { cli, CLI, spawnServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-addresses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each command with the flags that would make it measure `--target` (nothing may start). */
const TARGET_COMMANDS: string[][] = [
  ['run', '--bytes', '1MiB', '--no-history'],
  ['validate', '--bytes', '1MiB', '--expect-goodput', '1Mbps', '--no-history'],
  ['monitor', '--duration', '1s', '--history', join(dir, 'monitor.db')],
];

/** [target as typed, why it is refused]. */
const BAD_TARGETS: Array<[string, RegExp]> = [
  ['[::1]:0', /port 0 cannot be a target/],
  ['localhost:0', /port 0 cannot be a target/],
  ['[::]:4433', /a wildcard address cannot be a target/],
  ['[ff02::1]:4433', /a multicast address cannot be used/],
  ['[fe80::1]:4433', /a link-local address needs its zone/],
  ['[fe80::1%nosuchif0]:4433', /no interface named "nosuchif0"/],
  ['[fd00::1%lo]:4433', /link-local addresses \(fe80::\/10\) only/],
  ['no-such-host.invalid:4433', /cannot resolve "no-such-host\.invalid"/],
  ['::1:4433', /an IPv6 address goes in brackets/],
  ['[::1]:99999', /the port must be a number from 0 to 65535/],
  ['[::1]', /expected \[v6addr\]:port/],
];

describe('a target that cannot be measured is a usage error, for every command alike', () => {
  for (const command of TARGET_COMMANDS) {
    it(`${command[0]} refuses it with exit 2, naming --target and the text as typed`, async () => {
      for (const [target, why] of BAD_TARGETS) {
        const r = await cli([...command, '--target', target]);
        expect(r.code, `${target}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`--target: "${target}"`);
        expect(r.stderr).toMatch(why);
        expect(r.stdout).toBe('');
      }
    });
  }

  it('server refuses a listening address it cannot use, naming --listen', async () => {
    for (const [listen, why] of [
      ['[ff02::1]:4433', /multicast/],
      ['[fe80::1]:0', /needs its zone/],
      ['no-such-host.invalid:0', /cannot resolve/],
      ['[::1]:65536', /the port must be a number/],
    ] as const) {
      const r = await cli(['server', '--listen', listen]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--listen: "${listen}"`);
      expect(r.stderr).toMatch(why);
    }
  });

  it('monitor refuses a bad --metrics address the same way', async () => {
    const r = await cli(['monitor', '--target', '[::1]:4433', '--metrics', '[ff02::1]:9464', '--history', join(dir, 'm.db')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--metrics: "[ff02::1]:9464"');
  });

  it('the library refuses it with the same error, field target', async () => {
    const error = await runScenario({ kind: 'latency', count: 1 }, { target: '[::1]:0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoqError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'target' });
    expect((error as Error).message).toMatch(/"\[::1\]:0": port 0 cannot be a target/);
  });
});

describe('names and zones', () => {
  let server: { child: ChildProcess; address: string };
  beforeAll(async () => {
    // Listening on both families, so the name reaches it whichever family the host file gives it.
    server = await spawnServer([], '[::]:0');
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  });

  it('a name resolves once, IPv6 first, and the record names the address measured', async () => {
    const port = Number(/:(\d+)$/.exec(server.address)![1]);
    const expected = parseAddress(`localhost:${port}`, 'target');
    // localhost is ::1 where the host file says so, else 127.0.0.1: the AAAA answer wins when there is one.
    expect(['[::1]', '127.0.0.1']).toContain(expected.address.replace(/:\d+$/, ''));
    const r = await cli(['run', '--target', `localhost:${port}`, '--bytes', '1MiB', '--json', '--no-history']);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.target).toBe(expected.address);
    expect(record.end.bytesReceived).toBe(1024 * 1024);
  });

  it('monitor takes a name like run does', async () => {
    const port = Number(/:(\d+)$/.exec(server.address)![1]);
    const r = await cli(['monitor', '--json', '--target', `localhost:${port}`, '--duration', '2s', '--history', join(dir, 'named.db')]);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'started', target: parseAddress(`localhost:${port}`, 'target').address });
    // Its probes reach the server: none failed (the name was not refused by each probe in turn).
    expect(events.at(-1)).toMatchObject({ event: 'stopped', probes: { failed: 0 } });
    expect(events.at(-1).probes.ok).toBeGreaterThan(0);
  });

  it('a zone becomes the interface index, and reads back the same', () => {
    // Loopback is interface 1; a link-local address may name it (a real link is tested in test/netns).
    expect(parseAddress('[fe80::1%lo]:4433', 'target')).toEqual({ address: '[fe80::1%1]:4433', host: 'fe80::1%1', port: 4433 });
    expect(parseAddress('[fe80::1%1]:4433', 'target').address).toBe('[fe80::1%1]:4433');
    expect(parseAddress('[::]:0', 'listen')).toEqual({ address: '[::]:0', host: '::', port: 0 });
  });
});

describe('--connections against the descriptor limit, before anything is measured', () => {
  const hard = Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim());

  it.skipIf(!(hard < 99_000))('more connections than the hard limit allows: exit 2 naming --connections', async () => {
    const r = await cli(['run', '--connections', String(hard + 1), '--duration', '1s', '--no-history']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--connections: \d+ connections need about \d+ file descriptors .*RLIMIT_NOFILE/);
    expect(r.stdout).toBe('');
  });

  it.skipIf(!(hard >= 1024))('a soft limit too low is raised to what the run needs', async () => {
    // 400 sockets under a soft limit of 256: without raising it the run would fail with EMFILE.
    const child = spawn('sh', ['-c', `ulimit -Sn 256 && exec "${process.execPath}" "${CLI}" run --connections 400 --bytes 4MiB --json --no-history`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    const record = JSON.parse(stdout);
    expect(record.end.connections).toMatchObject({ total: 400, completed: 400 });
    expect(record.end.bytesReceived).toBe(4 * 1024 * 1024);
  }, 60_000);
});
