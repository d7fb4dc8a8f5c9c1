// The run and server commands end to end: output, the record's schema, exit codes, bad flags.
import { readFileSync, mkdtempSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineSpec } from '../src/native.js';
import { cli, recordSchema, spawnServer } from './helpers.js';

const validate = recordSchema.validate;

describe('stoq-bench run', () => {
  it('prints interval lines and a summary against the embedded server', async () => {
    const { code, stdout } = await cli(['run', '--bytes', '4MiB', '--interval', '100ms', '--no-json']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Interval +Transfer +Goodput/);
    expect(stdout).toMatch(/scenario download \(id [0-9a-f]{16}\) against \[::1\]:\d+ \(embedded server\): completed/);
    expect(stdout).toMatch(/4\.00 MiB received in [\d.]+ s: goodput [\d.]+ [GMk]?bit\/s/);
  });

  it('--json prints records that match the schema, one per run, and --out writes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-'));
    const out = join(dir, 'runs.jsonl');
    const { code, stdout } = await cli(['run', '--scenario', 'latency', '--count', '50', '--runs', '2', '--json', '--out', out]);
    expect(code).toBe(0);
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
      expect(r.end.latency.n).toBe(50);
    }
    expect(records[0].session.id).toBe(records[1].session.id);
    expect(records.map((r) => r.session.run)).toEqual([0, 1]);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('every scenario kind produces a schema-valid record', async () => {
    for (const args of [
      ['--scenario', 'upload', '--bytes', '1MiB'],
      ['--scenario', 'bidir', '--bytes', '1MiB'],
      ['--scenario', 'requests', '--count', '20', '--inflight', '2'],
      ['--scenario', 'handshakes', '--count', '5'],
    ]) {
      const { code, stdout } = await cli(['run', ...args, '--json']);
      expect(code).toBe(0);
      const r = JSON.parse(stdout);
      expect(validate(r), `${args.join(' ')}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('--qlog writes a qlog per connection for the client and the embedded server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-qlog-'));
    const { code } = await cli(['run', '--scenario', 'requests', '--count', '5', '--connections', '2', '--qlog', dir, '--json']);
    expect(code).toBe(0);
    const files = readdirSync(dir);
    expect(files.filter((f) => /^client-.*\.sqlog$/.test(f))).toHaveLength(2);
    expect(files.filter((f) => /^server-.*\.sqlog$/.test(f))).toHaveLength(2);
    expect(statSync(join(dir, files[0])).size).toBeGreaterThan(0);
  });

  it('measures a separate server process given as --target', async () => {
    const { child, address } = await spawnServer();
    try {
      const { code, stdout } = await cli(['run', '--target', address, '--bytes', '2MiB', '--json']);
      expect(code).toBe(0);
      const r = JSON.parse(stdout);
      expect(r.embeddedServer).toBe(false);
      expect(r.end.bytesReceived).toBe(2 * 1024 * 1024);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('bad flags: a clear message naming the flag, exit 2, nothing written', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--connections', '0'], /--connections: expected a whole number from 1/],
    [['--connections', 'many'], /--connections: expected a whole number/],
    [['--cc', 'vegas'], /Invalid values:[\s\S]*cc/],
    [['--bytes', '10XB'], /--bytes: invalid size "10XB"/],
    [['--duration', '5 parsecs'], /--duration: invalid duration/],
    [['--bytes', '1MiB', '--duration', '1s'], /one of --bytes, --duration or --count/],
    [['--scenario', 'latency', '--bytes', '1MiB'], /--bytes applies to download/],
    [['--interval', '1ms'], /--interval: expected a TIME from 10ms to 24h, got "1ms"/],
    [['--payload-size', '100'], /--payload-size: expected a SIZE from 1200 to 65527, got "100"/],
    [['--scenario', 'teleport'], /Invalid values/],
    // a flag the kind does not take would change the scenario's id without changing the workload
    [['--scenario', 'download', '--inflight', '16'], /--inflight applies to requests, not download/],
    [['--scenario', 'latency', '--streams', '4'], /--streams applies to download, upload and bidir, not latency/],
    [['--scenario', 'latency', '--connections', '2'], /--connections applies to .*, not latency \(latency runs one request at a time on one connection\)/],
    [['--scenario', 'handshakes', '--stream-type', 'uni'], /--stream-type applies to .*, not handshakes/],
    [['--scenario', 'upload', '--request-size', '10'], /--request-size applies to requests and latency, not upload/],
    // the engine's own checks, reported by the flag of the field at fault
    [['--scenario', 'bidir', '--stream-type', 'uni'], /--stream-type: bidir needs bidirectional streams/],
    [['--bogus'], /Unknown argument/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const dir = mkdtempSync(join(tmpdir(), 'stoq-'));
      const out = join(dir, 'never.jsonl');
      const { code, stderr, stdout } = await cli(['run', ...args, '--out', out]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('flags follow the engine', () => {
  it('--help shows the engine\'s defaults and limits', async () => {
    const spec = engineSpec();
    const { code, stdout } = await cli(['run', '--help']);
    expect(code).toBe(0);
    const line = (flag: string) => stdout.split('\n').find((l) => l.trimStart().startsWith(`--${flag} `)) ?? '';
    expect(line('payload-size')).toMatch(new RegExp(`\\[default: ${spec.defaults.settings.payloadSize}\\]`));
    expect(line('payload-size')).toMatch(/1200 to 65527/);
    expect(line('connections')).toMatch(new RegExp(`\\[default: ${spec.defaults.connections}\\]`));
    expect(line('cc')).toMatch(new RegExp(`\\[default: ${spec.defaults.settings.cc}\\]`));
    expect(line('interval')).toMatch(/10ms to 24h.*\[default: 1s\]/);
  });

  it('flags left out are left to the engine: the same workload keeps its id', async () => {
    const plain = JSON.parse((await cli(['run', '--scenario', 'latency', '--count', '3', '--json'])).stdout);
    const spelled = JSON.parse((await cli(['run', '--scenario', 'latency', '--count', '3', '--request-size', '64', '--payload-size', '1350', '--json'])).stdout);
    expect(spelled.scenario.id).toBe(plain.scenario.id);
  });
});

describe('stoq-bench server', () => {
  it('prints its bound address, serves, and exits 0 on SIGTERM after closing cleanly', async () => {
    const { child, address, lines } = await spawnServer();
    expect(address).toMatch(/^\[::1\]:\d+$/);
    const { code } = await cli(['run', '--target', address, '--scenario', 'requests', '--count', '10', '--json']);
    expect(code).toBe(0);
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const stopped = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'stopped');
    // The run's connection and its view connection (ALPN stoq-bench-view).
    expect(stopped.accepted).toBe(2);
    expect(stopped.streams).toBe(10);
  });

  it('refuses --cert without --key', async () => {
    const { code, stderr } = await cli(['server', '--cert', 'x.pem']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--cert and --key go together/);
  });

  it('names a missing certificate file', async () => {
    const { code, stderr } = await cli(['server', '--cert', '/nonexistent/c.pem', '--key', '/nonexistent/k.pem', '--listen', '[::1]:0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/certificate file not found: \/nonexistent\/c.pem/);
  });
});
