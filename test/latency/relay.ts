// A user-space UDP delay relay for latency tests. This kernel has no netem, so the delay
// is added here: every datagram is held for a fixed one-way delay in each direction, in arrival order, and
// the relay records its own CLOCK_MONOTONIC timestamps (process.hrtime.bigint()) for each one.
//
// Timing: a datagram due in more than SPIN_NS is waited for with setTimeout (1 ms granularity, fires late,
// never early), aimed SPIN_NS short of the due time; the last stretch is polled with setImmediate, which
// yields to I/O on every turn. A datagram is therefore never forwarded before its due time, and late by
// the event loop's turn time (tens of microseconds when idle). The relay runs in the Node event loop of
// its process: anything else that blocks that loop delays forwarding, and the per-datagram record shows it.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** Poll (setImmediate) for the last stretch before a due time instead of relying on a late timer. */
const SPIN_NS = 1_500_000n;

export type Direction = 'c2s' | 's2c';

export interface DatagramRecord {
  dir: Direction;
  /** Which client it belongs to: 0 for the first client address seen, 1 for the next, ... */
  flow: number;
  /** UDP payload length. */
  size: number;
  /** First byte of the QUIC packet (0x80 set: a long header, i.e. handshake packets first in the datagram). */
  firstByte: number;
  /** Bytes of 1-RTT (short-header) packets in the datagram, after any coalesced long-header packets. */
  shortHeaderBytes: number;
  /** When the relay received it (CLOCK_MONOTONIC ns). */
  recvNs: bigint;
  /** When the relay handed it to the kernel for forwarding (CLOCK_MONOTONIC ns); 0n until then. */
  sendNs: bigint;
}

export interface DelayRelay {
  /** Where clients connect: `[::1]:port`. */
  address: string;
  /** Every datagram seen, in arrival order. */
  records: DatagramRecord[];
  close(): Promise<void>;
}

/** One client address and its own socket toward the target. */
interface Flow {
  index: number;
  address: string;
  port: number;
  back: dgram.Socket;
}

interface Pending {
  flow: Flow;
  record: DatagramRecord;
  data: Buffer;
  dueNs: bigint;
}

/**
 * Starts a relay on [::1] that forwards to `target` (`[::1]:port`), holding every datagram `delayNs` in
 * each direction. Each client address gets a socket of its own toward the target, as a NAT would give it.
 */
export async function startDelayRelay(target: string, delayNs: bigint): Promise<DelayRelay> {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(target);
  if (!m) throw new Error(`relay target must be [v6]:port, got ${target}`);
  const [, targetHost, targetPort] = m as unknown as [string, string, string];
  const bound = async () => {
    const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    await new Promise<void>((r) => s.bind(0, '::1', r));
    s.setRecvBufferSize(4 << 20);
    s.setSendBufferSize(4 << 20);
    return s;
  };
  const front = await bound();
  const records: DatagramRecord[] = [];
  // Each client's address and its socket toward the target, by "address port".
  const flows = new Map<string, Flow>();
  let closed = false;

  const queues: Record<Direction, Pending[]> = { c2s: [], s2c: [] };
  const armed: Record<Direction, boolean> = { c2s: false, s2c: false };
  const timers = new Set<NodeJS.Timeout>();

  const forward = (dir: Direction, p: Pending) => {
    p.record.sendNs = process.hrtime.bigint();
    if (dir === 'c2s') p.flow.back.send(p.data, Number(targetPort), targetHost);
    else front.send(p.data, p.flow.port, p.flow.address);
  };

  const pump = (dir: Direction) => {
    armed[dir] = false;
    if (closed) return;
    const q = queues[dir];
    let now = process.hrtime.bigint();
    while (q.length > 0 && q[0]!.dueNs <= now) {
      forward(dir, q.shift()!);
      now = process.hrtime.bigint();
    }
    if (q.length === 0) return;
    armed[dir] = true;
    const wait = q[0]!.dueNs - now;
    if (wait > SPIN_NS) {
      const t = setTimeout(() => {
        timers.delete(t);
        pump(dir);
      }, Number((wait - SPIN_NS) / 1_000_000n));
      timers.add(t);
    } else {
      setImmediate(() => pump(dir));
    }
  };

  const accept = (dir: Direction, flow: Flow, data: Buffer) => {
    const recvNs = process.hrtime.bigint();
    const record: DatagramRecord = { dir, flow: flow.index, size: data.length, firstByte: data[0] ?? 0, shortHeaderBytes: shortHeaderBytes(data), recvNs, sendNs: 0n };
    records.push(record);
    // Constant delay and arrival order: due times only grow, so a FIFO keeps the order.
    queues[dir].push({ flow, record, data, dueNs: recvNs + delayNs });
    if (!armed[dir]) pump(dir);
  };

  const backs: dgram.Socket[] = [];
  front.on('message', (data, rinfo) => {
    const key = `${rinfo.address} ${rinfo.port}`;
    let flow = flows.get(key);
    if (!flow) {
      // The socket toward the target is bound synchronously enough for a datagram to wait for it below.
      const back = dgram.createSocket({ type: 'udp6', ipv6Only: true });
      back.bind(0, '::1');
      back.on('listening', () => {
        back.setRecvBufferSize(4 << 20);
        back.setSendBufferSize(4 << 20);
      });
      backs.push(back);
      flow = { index: flows.size, address: rinfo.address, port: rinfo.port, back };
      flows.set(key, flow);
      const f = flow;
      back.on('message', (d) => accept('s2c', f, d));
    }
    accept('c2s', flow, data);
  });

  const port = (front.address() as AddressInfo).port;
  return {
    address: `[::1]:${port}`,
    records,
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all([front, ...backs].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Reads a QUIC varint at `at`; returns [value, length] or undefined past the end. */
function varint(b: Buffer, at: number): [number, number] | undefined {
  if (at >= b.length) return undefined;
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) return undefined;
  let v = b[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i]!;
  return [v, len];
}

/**
 * Bytes of the datagram taken by short-header (1-RTT) packets: skips coalesced long-header packets
 * (RFC 9000 section 17.2: Initial and Handshake carry a Length field). Only headers are read; nothing is
 * decrypted. Returns 0 when the datagram holds long-header packets only.
 */
export function shortHeaderBytes(b: Buffer): number {
  let at = 0;
  while (at < b.length && (b[at]! & 0x80) !== 0) {
    const type = (b[at]! >> 4) & 0x03; // v1: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry
    let p = at + 5; // first byte, version
    if (p >= b.length) return 0;
    p += 1 + b[p]!; // DCID
    if (p >= b.length) return 0;
    p += 1 + b[p]!; // SCID
    if (type === 3) return 0;
    if (type === 0) {
      const token = varint(b, p);
      if (!token) return 0;
      p += token[1] + token[0];
    }
    const length = varint(b, p);
    if (!length) return 0;
    at = p + length[1] + length[0];
  }
  // What follows must be a short-header packet (fixed bit 0x40 set); anything else is padding after the
  // long-header packets (as in a client's padded Initial datagram).
  return at < b.length && (b[at]! & 0x40) !== 0 ? b.length - at : 0;
}
