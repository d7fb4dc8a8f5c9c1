// `stoq-bench env` end to end: the fingerprint is the records' fingerprint, the host facts match the
// kernel's, the fast path is probed (or read from a record), AEAD speed is measured; bad flags exit 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-env-'));
const procInt = (p: string) => Number(readFileSync(p, 'utf8').trim());

describe('stoq-bench env', () => {
  it('--json: one fingerprint shared with run records; host facts, fast path probe, AEAD speed, versions', async () => {
    const env = await cli(['env', '--json', '--aead-time', '40ms']);
    expect(env.code).toBe(0);
    const e = JSON.parse(env.stdout);
    const run = await cli(['run', '--bytes', '1MiB', '--json']);
    expect(run.code).toBe(0);
    const record = JSON.parse(run.stdout);
    expect(e.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(e.fingerprint).toBe(record.environment.fingerprint);
    expect(e.identity.cpu).toEqual(record.environment.cpu);
    expect(e.identity.kernel).toBe(record.environment.kernel);
    expect(e.fingerprintCovers).toContain('CPU model');

    const lo = e.interfaces.find((i: { loopback: boolean }) => i.loopback);
    expect(lo.name).toBe('lo');
    expect(lo.mtu).toBe(procInt('/sys/class/net/lo/mtu'));
    expect(e.loopbackMtu).toBe(lo.mtu);
    const tc = spawnSync('tc', ['qdisc', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    if (tc.status === 0) expect(lo.qdisc).toBe(/^qdisc (\S+)/.exec(tc.stdout)?.[1]);
    for (const name of e.defaultRouteInterfaces) {
      expect(e.interfaces.find((i: { name: string }) => i.name === name).mtu).toBe(procInt(`/sys/class/net/${name}/mtu`));
    }
    expect(e.socketBuffers.rmemMax).toBe(procInt('/proc/sys/net/core/rmem_max'));
    expect(e.socketBuffers.wmemMax).toBe(procInt('/proc/sys/net/core/wmem_max'));

    expect(e.fastPath.source).toMatch(/^probe: upload of 1\.00 MiB over \[::1\]/);
    expect(typeof e.fastPath.gsoAvailable).toBe('boolean');
    expect(typeof e.fastPath.groAvailable).toBe('boolean');
    expect(e.fastPath.gsoAvailable).toBe(record.environment.client.fastPath.gsoAvailable);
    expect(e.fastPath.server).not.toBeNull();

    expect(e.aead.results.map((a: { bytes: number }) => a.bytes)).toEqual([1350, 16384]);
    for (const a of e.aead.results) {
      expect(a.perPacketBps).toBeGreaterThan(1e6);
      expect(a.bulkBps).toBeGreaterThan(1e6);
      expect(a.perPacketRangeBps[0]).toBeLessThanOrEqual(a.perPacketRangeBps[1]);
    }
    expect(e.build).toBe('release');
    expect(e.versions.node).toBe(process.version);
    expect(e.versions.quiche).toMatch(/^0\.30\./);
    expect(e.versions.stoqBench).toBe(record.tool.version);
  });

  it('text: one line per fact, normalised', async () => {
    const { code, stdout } = await cli(['env', '--aead-time', '20ms', '--no-probe', '--no-json']);
    expect(code).toBe(0);
    const normal = stdout.replace(/\d+/g, 'N').replace(/N(\.N)+/g, 'N');
    expect(normal).toMatch(/^testbed fingerprint [0-9a-fN]+ \(covers: CPU model, CPU count, kernel release, OS, architecture, engine build profile\)$/m);
    expect(normal).toMatch(/^cpu +.+ x N \(available parallelism N; flags: .+\)$/m);
    expect(normal).toMatch(/^ +lo +mtu N +qdisc \S+ +driver loopback/m);
    expect(normal).toMatch(/^mtu +loopback N; default route /m);
    expect(normal).toMatch(/^socket limits rmem_max N (B|KiB|MiB|GiB), wmem_max N (B|KiB|MiB|GiB)/m);
    expect(normal).toMatch(/^fast path +not probed \(--no-probe\)$/m);
    expect(normal).toMatch(/^ +N B +per packet N [kMGT]?bit\/s \(rounds .+\), bulk N [kMGT]?bit\/s$/m);
    expect(normal).toMatch(/^versions +stoq-bench N, node vN .+quiche N \(engine, BoringSSL\)$/m);
  });

  it('--record reads the fast path of an existing record instead of probing', async () => {
    const run = await cli(['run', '--scenario', 'requests', '--count', '5', '--json']);
    const file = join(dir, 'one.json');
    writeFileSync(file, run.stdout);
    const { code, stdout } = await cli(['env', '--record', file, '--no-aead', '--json']);
    expect(code).toBe(0);
    const e = JSON.parse(stdout);
    expect(e.fastPath.source).toBe(`record ${file} (run of ${JSON.parse(run.stdout).startedAt})`);
    expect(e.aead).toBeNull();
    expect(e.record).toEqual({ file, fingerprint: e.fingerprint, sameTestbed: true, differs: [] });

    // the same record as if taken on another kernel: named as a different testbed, with what differs
    const other = JSON.parse(run.stdout);
    other.environment.kernel = '5.10.0-other';
    other.environment.fingerprint = '0123456789abcdef';
    const otherFile = join(dir, 'other.json');
    writeFileSync(otherFile, JSON.stringify(other));
    const text = await cli(['env', '--record', otherFile, '--no-aead', '--no-json']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^record +.*other\.json: fingerprint 0123456789abcdef, a different testbed \(differs in kernel \(5\.10\.0-other vs [^)]+\)\): compare grades it against this host's runs only with --allow-testbed-mismatch$/m,
    );
  });

  const bad: Array<[string[], RegExp]> = [
    [['--record', join(dir, 'missing.jsonl')], /missing\.jsonl: cannot read \(no such file\)/],
    [['--aead-time', '5xs'], /--aead-time: invalid duration "5xs"/],
    [['--aead-time', '1ms'], /--aead-time must be from 10ms to 10s/],
    [['--record', 'x.json', '--no-probe'], /--record and --no-probe/],
    [['--bogus'], /Unknown argument/],
  ];
  for (const [args, message] of bad) {
    it(`bad: ${args.join(' ')}`, async () => {
      const { code, stdout, stderr } = await cli(['env', ...args]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
    });
  }

  it('a file that is not a run record is named', async () => {
    const file = join(dir, 'garbage.json');
    writeFileSync(file, '{"hello": 1}');
    const { code, stderr } = await cli(['env', '--record', file, '--no-aead']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/garbage\.json: not a stoq-bench run record/);
  });
});
