// A link-local target with its zone, over a real link: two namespaces joined by a veth pair, each end
// with an fe80:: address. The zone names the client's own interface; the engine carries it to the socket
// (sin6_scope_id), without which the kernel could not tell the link. Loopback has no zone to test this on.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/index.js';
import { canCreateTestbeds, createTestbed, type Testbed } from './testbed.js';

const MIB = 1024 * 1024;

describe.skipIf(!canCreateTestbeds())('a link-local address with its zone, across a veth pair', () => {
  let bed: Testbed;
  beforeAll(() => {
    bed = createTestbed();
  });
  afterAll(() => bed?.close());

  /** The index of `dev` inside namespace `ns`. */
  const ifindex = (ns: string, dev: string) =>
    Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/ifindex`]).toString().trim());

  async function download(listen: string, port: (address: string) => string) {
    const server = await bed.server.server([], listen);
    try {
      const target = `[${bed.server.linkLocal}%${bed.client.dev}]:${port(server.address)}`;
      const r = await bed.client.cli(['run', '--target', target, '--bytes', '4MiB', '--json', '--no-history']);
      return { ...r, target, server: server.address };
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    }
  }

  const portOf = (address: string) => /:(\d+)$/.exec(address)![1];

  it('run reaches a server listening on its own link-local address, zone and all', async () => {
    const r = await download(`[${bed.server.linkLocal}%${bed.server.dev}]:0`, portOf);
    expect(r.code, r.stderr).toBe(0);
    // The server reports its address with its own interface's index as the zone.
    expect(r.server).toBe(`[fe80::1%${ifindex(bed.server.ns, bed.server.dev)}]:${portOf(r.server)}`);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.end.state).toBe('completed');
    expect(record.end.bytesReceived).toBe(4 * MIB);
    // The record names the address measured: the zone as the client's interface index.
    expect(record.target).toBe(`[fe80::1%${ifindex(bed.client.ns, bed.client.dev)}]:${portOf(r.server)}`);
  });

  it('and a server listening on every address answers it over the link', async () => {
    const r = await download('[::]:0', portOf);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunRecord).end.bytesReceived).toBe(4 * MIB);
  });

  it('without its zone the address is refused before anything starts (exit 2)', async () => {
    const r = await bed.client.cli(['run', '--target', '[fe80::1]:4433', '--no-history']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target: "[fe80::1]:4433": a link-local address needs its zone');
  });
});
