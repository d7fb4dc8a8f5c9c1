// `stoq-bench server` end to end, as separate processes on loopback: the loud warning when it is open to
// anyone, status lines whatever changes, counters per reason in JSON and Prometheus, one server per port
// whatever the threads, client certificates, the largest response (the client reports rejected streams),
// and usage errors. Every wait is bounded by a signal or a count; nothing asserts on speed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/index.js';
import type { ServerStats } from '../src/server.js';
import { CLI, cli, stopChildren } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-server-'));
const children: ChildProcess[] = [];

afterEach(() => stopChildren(children));

type Event = { event: string; address?: string; openToAnyone?: boolean; metrics?: string | null } & Partial<ServerStats>;

/** A server process; resolves once it reports its address. `events` keeps every JSON line, `stderr` the rest. */
async function server(args: string[]): Promise<{ child: ChildProcess; address: string; events: Event[]; stderr: () => string; listening: Event }> {
  const child = spawn(process.execPath, [CLI, 'server', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const events: Event[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += String(d)));
  const listening = await new Promise<Event>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server not ready within 15 s: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as Event;
      events.push(e);
      if (e.event === 'listening') {
        clearTimeout(t);
        resolve(e);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { child, address: listening.address!, events, stderr: () => stderr, listening };
}

/** Waits (bounded) until `n` events of `kind` arrived. */
async function eventsOf(events: Event[], kind: string, n: number, boundMs = 15_000): Promise<Event[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const found = events.filter((e) => e.event === kind);
    if (found.length >= n) return found;
    if (Date.now() > deadline) throw new Error(`${n} "${kind}" events not seen: ${JSON.stringify(events.slice(-3))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const port = (address: string) => Number(/:(\d+)$/.exec(address)![1]);

/** A version 1 Initial of 1200 bytes whose Length field runs past the datagram: not QUIC, seen by the server. */
const brokenInitial = Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, 8]), Buffer.alloc(8, 7), Buffer.from([8]), Buffer.alloc(8, 9), Buffer.from([0, 0x7f, 0xff]), Buffer.alloc(1200 - 26)]);

describe('who the server serves, said at start', () => {
  it('says loudly that it is open to anyone when it listens beyond loopback with no restriction', async () => {
    const open = await server(['--listen', '[::]:0']);
    expect(open.listening.openToAnyone).toBe(true);
    await eventsOf(open.events, 'stats', 1);
    expect(open.stderr()).toMatch(/WARNING: \[::\]:\d+ is open to anyone who can reach it: any peer may connect and ask for unlimited bytes at full rate/);
    expect(open.stderr()).toMatch(/--allow PREFIX or --client-ca FILE/);
  });

  it('is quiet on loopback, or with an allowlist, and names its limits', async () => {
    for (const args of [['--listen', '[::1]:0'], ['--listen', '[::]:0', '--allow', 'fd00::/64', '--allow', '127.0.0.1', '--max-response', '1MiB', '--max-rate', '100Mbps']]) {
      const s = await server(args);
      await eventsOf(s.events, 'stats', 1);
      expect(s.listening.openToAnyone, args.join(' ')).toBe(false);
      expect(s.stderr(), args.join(' ')).toBe('');
    }
    const s = await server(['--listen', '[::]:0', '--allow', 'fd00::/64', '--max-response', '1MiB', '--max-rate', '100Mbps']);
    expect(s.listening).toMatchObject({ limits: { allow: ['fd00::/64'], maxResponse: 1048576, maxRateBps: 100e6, retry: 'auto' } });
  });
});

describe('what hits the server', () => {
  it('prints a status line every interval even when nothing changes, and counts what it drops by reason', async () => {
    const s = await server(['--listen', '[::1]:0', '--stats-interval', '1']);
    const idle = await eventsOf(s.events, 'stats', 2);
    expect(idle[0]).toMatchObject({ accepted: 0, garbageDatagrams: 0 });
    const sock = createSocket('udp6');
    // Empty; too short for any header, or a short header under a connection ID the server never issued
    // (both dropped by the socket's filter, in the kernel); a Handshake packet for no connection; an Initial
    // whose length runs past the datagram (garbage).
    const noConnection = Buffer.concat([Buffer.from([0xe0, 0, 0, 0, 1, 8]), Buffer.alloc(8, 3), Buffer.from([8]), Buffer.alloc(8, 4), Buffer.alloc(30)]);
    const garbage = [Buffer.alloc(0), Buffer.from([0x40]), Buffer.from([0xc0, 0, 0]), Buffer.alloc(30, 0x41), noConnection, brokenInitial];
    for (const d of garbage) await new Promise<void>((r) => sock.send(d, port(s.address), '::1', () => r()));
    // An Initial-shaped datagram under 1200 bytes (the filter's too), and one of an unknown version (answered).
    const tooShort = Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, 8]), Buffer.alloc(8, 7), Buffer.from([0, 0, 0x40, 0x20]), Buffer.alloc(40)]);
    await new Promise<void>((r) => sock.send(tooShort, port(s.address), '::1', () => r()));
    const vn = Buffer.concat([Buffer.from([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8]), Buffer.alloc(8, 7), Buffer.from([8]), Buffer.alloc(8, 9), Buffer.alloc(1200 - 23)]);
    const answered = once(sock, 'message');
    await new Promise<void>((r) => sock.send(vn, port(s.address), '::1', () => r()));
    await answered;
    sock.close();
    const before = s.events.filter((e) => e.event === 'stats').length;
    const last = (await eventsOf(s.events, 'stats', before + 2)).at(-1);
    expect(last).toMatchObject({ zeroLength: 1, garbageDatagrams: 1, unknownConnection: 1, tooShort: 0, versionNegotiationSent: 1, accepted: 0 });
  });

  it('serves the counters as Prometheus metrics, by reason', async () => {
    const s = await server(['--listen', '[::1]:0', '--metrics', '[::1]:0']);
    expect(s.listening.metrics).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
    const r = await cli(['run', '--target', s.address, '--bytes', '100KiB', '--json']);
    expect(r.code).toBe(0);
    const sock = createSocket('udp6');
    await new Promise<void>((done) => sock.send(brokenInitial, port(s.address), '::1', () => done()));
    sock.close();
    /** The value of the sample of `name` whose labels include `label` (and the server's address). */
    const value = (text: string, name: string, label = '') =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`) && l.includes(label) && l.includes(`address="${s.address}"`))
        .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))[0];
    const deadline = Date.now() + 10_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await (await fetch(s.listening.metrics!)).text();
      if (value(text, 'stoq_bench_server_datagrams_dropped_total', 'reason="garbage"') === 1 && value(text, 'stoq_bench_server_connections_closed_total', 'outcome="clean"') === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(value(text, 'stoq_bench_server_datagrams_dropped_total', 'reason="garbage"')).toBe(1);
    expect(value(text, 'stoq_bench_server_datagrams_dropped_total', 'reason="shed"')).toBe(0);
    // Nobody flooded: no source shed in the kernel.
    expect(value(text, 'stoq_bench_server_kernel_shed_rules_total')).toBe(0);
    expect(value(text, 'stoq_bench_server_kernel_shed_drops_total')).toBe(0);
    expect(text).toMatch(/# TYPE stoq_bench_server_fair_share_waits_total counter/);
    // The run's connection and its view connection (ALPN stoq-bench-view).
    expect(value(text, 'stoq_bench_server_connections_accepted_total')).toBe(2);
    expect(value(text, 'stoq_bench_server_connections_closed_total', 'outcome="clean"')).toBe(2);
    expect(value(text, 'stoq_bench_server_connections_closed_total', 'outcome="idle_timeout"')).toBe(0);
    expect(value(text, 'stoq_bench_server_sent_bytes_total')).toBe(102400);
    expect(text).toMatch(/# TYPE stoq_bench_server_connections_half_open gauge/);
    expect(text).toMatch(/# TYPE stoq_bench_server_datagrams_dropped_total counter/);
  });

  it('accounts for every connection after a stop', async () => {
    const s = await server(['--listen', '[::1]:0']);
    const r = await cli(['run', '--target', s.address, '--scenario', 'handshakes', '--count', '20', '--json']);
    expect(r.code).toBe(0);
    s.child.kill('SIGTERM');
    const [stopped] = await eventsOf(s.events, 'stopped', 1);
    // The run's 20 connections and its view connection (ALPN stoq-bench-view).
    expect(stopped).toMatchObject({ accepted: 21, closed: 21, openConnections: 0, halfOpen: 0 });
    const ended = ['closedCleanly', 'errored', 'idleTimeouts', 'handshakeTimeouts', 'handshakeFailures', 'closedAtStop'] as const;
    expect(ended.reduce((sum, k) => sum + (stopped[k] ?? 0), 0)).toBe(21);
  });
});

describe('one server per port', () => {
  for (const [first, second] of [['1', '1'], ['2', '2'], ['4', '1']]) {
    it(`a second server fails to start (threads ${first} then ${second})`, async () => {
      const s = await server(['--listen', '[::1]:0', '--threads', first]);
      const r = await cli(['server', '--listen', s.address, '--threads', second]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^stoq-bench server: IO: cannot listen on \[::1\]:\d+/);
    });
  }
});

describe('what a client may ask for', () => {
  it('a request above --max-response is refused, and the client reports the stream as rejected', async () => {
    const s = await server(['--listen', '[::1]:0', '--max-response', '1KiB']);
    const r = await cli(['run', '--target', s.address, '--bytes', '10KiB', '--streams', '2', '--json']);
    expect(r.code).toBe(3);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.connections[0]).toMatchObject({ state: 'errored', streamsRejected: 2, streamsFailed: 0 });
    expect(record.end.error?.message).toMatch(/rejected by the server \(perf error 2\)/);
    const text = await cli(['run', '--target', s.address, '--duration', '1s']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/rejected by the server \(perf error 2\): it refused a request for an endless response/);
  });

  it('with --client-ca, only clients with a certificate it signed are served', async () => {
    const ssl = (args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    };
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stoq test CA']);
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client']);
    ssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2']);
    const s = await server(['--listen', '[::1]:0', '--client-ca', join(dir, 'ca.pem')]);
    const ok = await cli(['run', '--target', s.address, '--bytes', '100KiB', '--client-cert', join(dir, 'client.pem'), '--client-key', join(dir, 'client.key')]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const refused = await cli(['run', '--target', s.address, '--bytes', '100KiB', '--idle-timeout', '1s']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/TLS.*certificate_required/);
  });
});

describe('usage errors name their flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['server', '--allow', 'bogus'], /--allow: not an IP prefix: "bogus"/],
    [['server', '--allow', 'fd00::/129'], /--allow: not an IP prefix: "fd00::\/129"/],
    [['server', '--max-rate', 'fast'], /--max-rate: invalid rate "fast"/],
    [['server', '--max-response', '1XB'], /--max-response: invalid size "1XB"/],
    [['server', '--retry', 'sometimes'], /Invalid values:\s+Argument: retry/],
    [['server', '--handshake-timeout', '0s'], /--handshake-timeout must be more than 0/],
    [['server', '--listen', '127.0.0.1:0', '--ipv6-only'], /IPv6 only, but the listen address 127.0.0.1:\d+ is IPv4/],
    [['server', '--client-ca', '/nonexistent/ca.pem'], /client CA file not found: \/nonexistent\/ca.pem/],
    [['run', '--client-cert', 'c.pem'], /--client-cert and --client-key go together/],
    [['monitor', '--target', '[::1]:1', '--client-key', 'k.pem'], /--client-cert and --client-key go together/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }
});
