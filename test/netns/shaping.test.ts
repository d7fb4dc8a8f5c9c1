// Throughput accuracy against the kernel: a link shaped by tbf at known rates, and the kernel's veth
// counters as an independent count of what crossed it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/index.js';
import { canCreateTestbeds, createTestbed, type Counters, type Testbed } from './testbed.js';

/** Bytes a UDP datagram carries on a veth besides its UDP payload: IPv6 (40), UDP (8), Ethernet (14). */
const HEADERS = 40 + 8 + 14;
const RATES = [100e6, 200e6, 400e6];

const minus = (a: Counters, b: Counters): Counters => ({
  rxBytes: a.rxBytes - b.rxBytes,
  txBytes: a.txBytes - b.txBytes,
  rxPackets: a.rxPackets - b.rxPackets,
  txPackets: a.txPackets - b.txPackets,
});

async function measure(bed: Testbed, args: string[]): Promise<{ record: RunRecord; client: Counters }> {
  const before = bed.client.counters();
  const { code, stdout, stderr } = await bed.client.cli(['run', ...args, '--json']);
  expect(code, stderr).toBe(0);
  return { record: JSON.parse(stdout) as RunRecord, client: minus(bed.client.counters(), before) };
}

describe.skipIf(!canCreateTestbeds())('a shaped veth link between two namespaces', () => {
  let bed: Testbed;
  const shaped = new Map<number, RunRecord>();
  let counted: { record: RunRecord; client: Counters };

  beforeAll(async () => {
    bed = createTestbed();
    const server = await bed.server.server();
    for (const rate of RATES) {
      bed.shape(rate);
      shaped.set(rate, (await measure(bed, ['--target', server.address, '--duration', '3s'])).record);
    }
    server.child.kill('SIGTERM');
    // Without GSO each datagram is one packet on the veth, so the kernel's packet counts compare one to
    // one; a byte-count run reads every datagram the server sent before it closes.
    const plain = await bed.server.server(['--no-gso']);
    bed.shape(200e6);
    counted = await measure(bed, ['--target', plain.address, '--bytes', '20MiB', '--no-gso']);
    plain.child.kill('SIGTERM');
  }, 120_000);

  afterAll(() => bed?.close());

  for (const rate of RATES) {
    it(`at ${rate / 1e6} Mbit/s the goodput is what the shaper allows`, () => {
      const r = shaped.get(rate)!;
      expect(r.end.state).toBe('completed');
      // The shaper passes `rate` bits of frames per second. Of the frame bytes that arrived (the engine's
      // own UDP byte and datagram counts, plus headers), the application payload is the share received.
      const frameBytes = r.end.client.udpBytesReceived + r.environment.client.fastPath.datagramsReceived * HEADERS;
      const allowed = (rate * r.end.bytesReceived) / frameBytes;
      expect(r.end.goodputBps / allowed).toBeGreaterThan(0.95);
      expect(r.end.goodputBps / allowed).toBeLessThan(1.03);
    });
  }

  it("the engine's packets and bytes match the kernel's counters once headers are counted", () => {
    const { record: r, client } = counted;
    expect(r.end.state).toBe('completed');
    expect(r.end.bytesReceived).toBe(20 * 1024 * 1024);
    const fp = r.environment.client.fastPath;
    expect(fp.socketDrops).toBe(0);
    // Every datagram the engine read crossed the client's veth; the kernel adds a few of its own
    // (neighbour discovery), and a last few may arrive after the client closed.
    const extraIn = client.rxPackets - fp.datagramsReceived;
    expect(extraIn).toBeGreaterThanOrEqual(0);
    expect(extraIn).toBeLessThan(20);
    const rxBytes = r.end.client.udpBytesReceived + fp.datagramsReceived * HEADERS;
    expect(Math.abs(client.rxBytes - rxBytes) / client.rxBytes).toBeLessThan(0.002);
    const extraOut = client.txPackets - fp.datagramsSent;
    expect(extraOut).toBeGreaterThanOrEqual(0);
    expect(extraOut).toBeLessThan(20);
    const txBytes = r.end.client.udpBytesSent + fp.datagramsSent * HEADERS;
    expect(Math.abs(client.txBytes - txBytes) / client.txBytes).toBeLessThan(0.01);
  });

  it('halving the shaped rate halves the measured goodput', () => {
    const ratio = shaped.get(100e6)!.end.goodputBps / shaped.get(200e6)!.end.goodputBps;
    expect(ratio).toBeGreaterThan(0.47);
    expect(ratio).toBeLessThan(0.53);
  });
});
