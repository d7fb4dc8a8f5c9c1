// The AEAD probe of `stoq-bench env`: AES-128-GCM speed on one core, in this process (node:crypto, the
// OpenSSL Node links), per packet as QUIC seals each one and in bulk.
import { createCipheriv, randomBytes } from 'node:crypto';
import { median } from '../stats/order-statistics.js';

export interface AeadResult {
  cipher: 'aes-128-gcm';
  bytes: number;
  /** A fresh cipher context and nonce per buffer, as QUIC seals each packet (includes Node's per-call cost). */
  perPacketBps: number;
  /** One context, `update` per buffer: the bulk cipher rate (comparable with `openssl speed`). */
  bulkBps: number;
  rounds: number;
  /** Spread of the per-packet rate over the rounds. */
  perPacketRangeBps: [number, number];
}

/**
 * AES-128-GCM speed on one core, in this process (node:crypto, the OpenSSL Node links). Each size is
 * measured in `rounds` interleaved rounds of `budgetMs / rounds`; the median round is reported.
 */
export function measureAead(options: { sizes?: number[]; budgetMs?: number; rounds?: number } = {}): AeadResult[] {
  const sizes = options.sizes ?? [1350, 16384];
  const rounds = Math.max(1, options.rounds ?? 5);
  const slice = BigInt(Math.max(1, Math.round(((options.budgetMs ?? 200) / rounds) * 1e6)));
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const tagSink = { n: 0 };
  const perPacket = (buf: Buffer, counter: number) => {
    iv.writeUInt32BE(counter >>> 0, 8);
    const c = createCipheriv('aes-128-gcm', key, iv);
    const out = c.update(buf);
    c.final();
    tagSink.n += c.getAuthTag()[0] + out.length;
  };
  const timed = (fn: (i: number) => void): number => {
    const start = process.hrtime.bigint();
    const end = start + slice;
    let i = 0;
    let now = start;
    while (now < end) {
      for (let k = 0; k < 16; k++) fn(i++);
      now = process.hrtime.bigint();
    }
    return i / (Number(now - start) / 1e9);
  };
  const results: AeadResult[] = [];
  const samples = sizes.map(() => ({ per: [] as number[], bulk: [] as number[] }));
  const bufs = sizes.map((s) => randomBytes(s));
  // warm-up: first calls load the cipher and fill caches
  bufs.forEach((b) => {
    for (let i = 0; i < 64; i++) perPacket(b, i);
  });
  for (let r = 0; r < rounds; r++) {
    sizes.forEach((size, j) => {
      const buf = bufs[j];
      samples[j].per.push(timed((i) => perPacket(buf, i)) * size * 8);
      iv.writeUInt32BE(r, 8);
      const c = createCipheriv('aes-128-gcm', key, iv);
      samples[j].bulk.push(timed(() => void (tagSink.n += c.update(buf).length)) * size * 8);
      c.final();
    });
  }
  sizes.forEach((bytes, j) => {
    const per = samples[j].per;
    results.push({
      cipher: 'aes-128-gcm',
      bytes,
      perPacketBps: median(per),
      bulkBps: median(samples[j].bulk),
      rounds,
      perPacketRangeBps: [Math.min(...per), Math.max(...per)],
    });
  });
  return results;
}

