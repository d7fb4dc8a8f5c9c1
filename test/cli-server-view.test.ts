// The server's side of a run against a separate `stoq-bench server` process, fetched over its view
// connection (ALPN stoq-bench-view): per-interval path stats of the run's connections, the sender labelled
// by the direction of the data, and a server that refuses recorded as refusing. Exact counts, no timing.
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/index.js';
import { cli, recordSchema, spawnServer, stopChildren } from './helpers.js';

const children: ChildProcess[] = [];

afterEach(() => stopChildren(children));

async function server(args: string[] = []) {
  const s = await spawnServer(args);
  children.push(s.child);
  return s;
}

/** Stops the server and returns its `stopped` event (its totals of payload bytes). */
async function stopped(s: { child: ChildProcess; lines: string[] }): Promise<{ bytesSent: number; bytesReceived: number }> {
  const exited = once(s.child, 'exit');
  s.child.kill('SIGTERM');
  await exited;
  return s.lines.map((l) => JSON.parse(l)).find((e) => e.event === 'stopped');
}

async function record(args: string[]): Promise<RunRecord> {
  const { code, stdout, stderr } = await cli(['run', '--json', '--no-history', '--interval', '100ms', ...args]);
  expect(code, stderr).toBe(0);
  const r = JSON.parse(stdout.trim().split('\n')[0]!) as RunRecord;
  expect(recordSchema.errors(r)).toBeUndefined();
  return r;
}

describe("a remote stoq-bench server's side of a run", () => {
  it('a download records the sender (the server) per interval, fetched, and its bytes are the client\'s', async () => {
    const s = await server();
    const r = await record(['--target', s.address, '--bytes', '20MB']);
    expect(r.end.state).toBe('completed');
    expect(r.embeddedServer).toBe(false);
    expect(r.serverView).toEqual({ source: 'fetched' });
    expect(r.end.bytesReceived).toBe(20_000_000);
    // Each interval that moved data has the sender's window, grown past the initial 10 packets.
    const busy = r.intervals.filter((i) => i.bytesReceived > 1_000_000);
    expect(busy.length).toBeGreaterThan(0);
    for (const i of busy) {
      expect(i.server, JSON.stringify(i)).not.toBeNull();
      expect(i.server!.connections).toBe(1);
      expect(i.server!.cwnd!).toBeGreaterThan(13_500);
      expect(i.server!.packetsSent).toBeGreaterThan(0);
    }
    const sender = r.end.server!;
    expect(sender.packetsSent).toBeGreaterThan(r.end.client.packetsSent);
    expect(r.end.client.packetsReceived).toBeLessThanOrEqual(sender.packetsSent + 10);
    expect(r.environment.server).not.toBeNull();
    // The server sent, as payload, exactly what the client received.
    expect((await stopped(s)).bytesSent).toBe(r.end.bytesReceived);
  });

  it('an upload: the client is the sender, the server the receiver, labelled so', async () => {
    const s = await server();
    const { code, stdout } = await cli(['run', '--no-json', '--no-history', '--target', s.address, '--scenario', 'upload', '--bytes', '5MB']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}client \(sender\): \d+ packets sent/m);
    expect(stdout).toMatch(/^ {2}server: \d+ packets sent, \d+ received/m);
    const r = await record(['--target', s.address, '--scenario', 'upload', '--bytes', '5MB']);
    expect(r.serverView.source).toBe('fetched');
    expect(r.end.server!.packetsReceived).toBeGreaterThan(r.end.server!.packetsSent);
    expect(r.end.bytesSent).toBe(5_000_000);
  });

  it('a download labels the server as the sender in text', async () => {
    const s = await server();
    const { code, stdout } = await cli(['run', '--no-json', '--no-history', '--target', s.address, '--bytes', '5MB']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}server \(sender\): \d+ packets sent, \d+ received, \d+ lost/m);
    expect(stdout).toMatch(/fast path: client .*; server GSO/);
  });

  it('a server run with --no-share-view is recorded as refusing, and the run is fine', async () => {
    const s = await server(['--no-share-view']);
    const r = await record(['--target', s.address, '--bytes', '1MB']);
    expect(r.end.state).toBe('completed');
    expect(r.serverView).toEqual({ source: 'unknown', reason: 'refused by the server: the server does not share its view (--no-share-view)' });
    expect(r.end.server).toBeNull();
    expect(r.intervals.every((i) => i.server === null)).toBe(true);
    const { stdout } = await cli(['run', '--no-json', '--no-history', '--target', s.address, '--bytes', '1MB']);
    expect(stdout).toMatch(/^ {2}server \(sender\): unknown \(refused by the server: /m);
  });
});
