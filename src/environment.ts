// The testbed: what makes two measurements comparable (the fingerprint, computed here and only here, for
// both `stoq-bench env` and every run record), and the wider description `stoq-bench env` prints: CPU,
// kernel, interfaces (MTU, qdisc, driver), socket buffer limits, the fast path, AEAD speed, versions.
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastPath } from './record.js';
import { VERSION } from './version.js';

/** How the engine was built (`npm run build:native` builds with `--release`). */
export const BUILD_PROFILE = 'release' as const;

/** The quiche version the engine depends on (crate/engine/Cargo.toml); the exact one comes from Cargo.lock when present. */
export const QUICHE_REQUIREMENT = '0.29';

/** What the fingerprint covers: two testbeds are comparable when all of these are equal. */
export interface TestbedIdentity {
  cpu: { model: string; count: number };
  kernel: string;
  os: string;
  arch: string;
  build: typeof BUILD_PROFILE;
}

/** The fields the fingerprint hashes, named for people (printed by `stoq-bench env`). */
export const FINGERPRINT_COVERS = ['CPU model', 'CPU count', 'kernel release', 'OS', 'architecture', 'engine build profile'] as const;

/** This host's identity as a testbed. */
export function testbedIdentity(): TestbedIdentity {
  const cpus = os.cpus();
  return {
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    kernel: os.release(),
    os: os.platform(),
    arch: os.arch(),
    build: BUILD_PROFILE,
  };
}

/** The one hash identifying comparable testbeds (16 hex digits). Records and `env` both use this. */
export function fingerprintOf(id: TestbedIdentity): string {
  // Key order is fixed here: records written before this module existed hash the same way.
  return createHash('sha256')
    .update(JSON.stringify({ cpu: { model: id.cpu.model, count: id.cpu.count }, kernel: id.kernel, os: id.os, arch: id.arch, build: id.build }))
    .digest('hex')
    .slice(0, 16);
}

// ---- the wider description (`stoq-bench env`)

export interface InterfaceInfo {
  name: string;
  mtu: number | null;
  operstate: string | null;
  /** Kernel driver bound to the device (absent for virtual interfaces such as lo). */
  driver: string | null;
  /** Link speed, Mbit/s, when the driver reports one. */
  speedMbps: number | null;
  qdisc: string | null;
  txQueues: number | null;
  rxQueues: number | null;
  loopback: boolean;
  /** Default routes through this interface. */
  defaultRoute: Array<'ipv6' | 'ipv4'>;
}

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

export interface FastPathProbe {
  source: string;
  gsoAvailable: boolean;
  groAvailable: boolean;
  /** Really used by the client / the embedded server during the probe or the record. */
  client: { gso: boolean; gro: boolean; gsoMaxSegmentsUsed: number; recvmmsg: boolean; sendmmsg: boolean; sendBufferBytes: number; recvBufferBytes: number; buffersForced: boolean };
  server: FastPathProbe['client'] | null;
  pacing: string | null;
}

/** How a record's testbed relates to this host: the same fingerprint, or which identity fields differ. */
export interface RecordTestbed {
  file: string;
  fingerprint: string;
  sameTestbed: boolean;
  differs: string[];
}

/** Compares a record's environment with this host's identity, field by field. */
export function compareTestbed(file: string, env: Record<string, unknown>, id: TestbedIdentity = testbedIdentity()): RecordTestbed {
  const fingerprint = String(env.fingerprint);
  const differs: string[] = [];
  const cpu = env.cpu as { model?: string; count?: number } | undefined;
  if (cpu?.model !== id.cpu.model) differs.push(`CPU model (${cpu?.model ?? '?'} vs ${id.cpu.model})`);
  if (cpu?.count !== id.cpu.count) differs.push(`CPU count (${cpu?.count ?? '?'} vs ${id.cpu.count})`);
  if (env.kernel !== id.kernel) differs.push(`kernel (${String(env.kernel ?? '?')} vs ${id.kernel})`);
  if (env.os !== `${id.os}-${id.arch}`) differs.push(`OS/architecture (${String(env.os ?? '?')} vs ${id.os}-${id.arch})`);
  if (env.build !== id.build) differs.push(`build (${String(env.build ?? '?')} vs ${id.build})`);
  const same = fingerprint === fingerprintOf(id);
  if (!same && differs.length === 0) differs.push('the fingerprint (computed from fields this record does not show)');
  return { file, fingerprint, sameTestbed: same, differs: same ? [] : differs };
}

export interface EnvironmentReport {
  fingerprint: string;
  /** With --record: the record's testbed against this host. */
  record?: RecordTestbed;
  fingerprintCovers: readonly string[];
  identity: TestbedIdentity;
  hostname: string;
  kernelVersion: string;
  cpu: { model: string; count: number; availableParallelism: number; flags: string[] };
  memoryBytes: number;
  interfaces: InterfaceInfo[];
  loopbackMtu: number | null;
  defaultRouteInterfaces: string[];
  socketBuffers: { rmemMax: number | null; wmemMax: number | null; rmemDefault: number | null; wmemDefault: number | null };
  fastPath: FastPathProbe | { source: string; error: string } | null;
  aead: { method: string; results: AeadResult[] } | null;
  build: typeof BUILD_PROFILE;
  versions: { stoqBench: string; node: string; v8: string; openssl: string; quiche: string; napi: string };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function readInt(path: string): number | null {
  const t = readText(path);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** CPU feature flags that matter to QUIC crypto (from /proc/cpuinfo). */
function cpuFlags(): string[] {
  const info = readText('/proc/cpuinfo');
  const line = info?.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return [];
  const have = new Set(line.split(':')[1].trim().split(/\s+/));
  return ['aes', 'vaes', 'pclmulqdq', 'vpclmulqdq', 'avx2', 'avx512f', 'sha_ni'].filter((f) => have.has(f));
}

/** Interfaces holding a default route, from /proc/net/ipv6_route and /proc/net/route. */
export function defaultRoutes(): Map<string, Array<'ipv6' | 'ipv4'>> {
  const out = new Map<string, Array<'ipv6' | 'ipv4'>>();
  const add = (dev: string, family: 'ipv6' | 'ipv4') => {
    const list = out.get(dev) ?? [];
    if (!list.includes(family)) list.push(family);
    out.set(dev, list);
  };
  for (const line of readText('/proc/net/ipv6_route')?.split('\n') ?? []) {
    const f = line.trim().split(/\s+/);
    // dest, prefix len, src, src len, next hop, metric, refcnt, use, flags, device; RTF_REJECT (0x200) is not a route out
    if (f.length >= 10 && /^0+$/.test(f[0]) && f[1] === '00' && f[9] !== 'lo' && (parseInt(f[8], 16) & 0x200) === 0) add(f[9], 'ipv6');
  }
  for (const line of readText('/proc/net/route')?.split('\n').slice(1) ?? []) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === '00000000' && f[7] === '00000000') add(f[0], 'ipv4');
  }
  return out;
}

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/**
 * The root qdisc of every interface: `tc qdisc show`, completed by `ip -o link show` (which also names
 * `noop`, the qdisc of a device that is down). Null when neither tool is installed.
 */
function qdiscs(): Map<string, string> | null {
  const tc = run('tc', ['qdisc', 'show']);
  const ip = run('ip', ['-o', 'link', 'show']);
  if (tc === null && ip === null) return null;
  const out = new Map<string, string>();
  for (const line of tc?.split('\n') ?? []) {
    const m = /^qdisc (\S+) \S+ dev (\S+) root/.exec(line);
    if (m && !out.has(m[2])) out.set(m[2], m[1]);
  }
  for (const line of ip?.split('\n') ?? []) {
    const m = /^\d+: ([^:@\s]+)(?:@\S+)?: .* qdisc (\S+)/.exec(line);
    if (m && !out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

/** Every network interface visible in /sys/class/net. */
export function interfaces(): InterfaceInfo[] {
  const base = '/sys/class/net';
  let names: string[];
  try {
    names = readdirSync(base).sort();
  } catch {
    return [];
  }
  const routes = defaultRoutes();
  const q = qdiscs();
  return names.map((name) => {
    const dir = join(base, name);
    let driver: string | null = null;
    try {
      driver = basename(readlinkSync(join(dir, 'device', 'driver')));
    } catch {
      driver = null;
    }
    const speed = readInt(join(dir, 'speed'));
    const queues = (prefix: string) => {
      try {
        return readdirSync(join(dir, 'queues')).filter((d) => d.startsWith(prefix)).length;
      } catch {
        return null;
      }
    };
    return {
      name,
      mtu: readInt(join(dir, 'mtu')),
      operstate: readText(join(dir, 'operstate')),
      driver,
      speedMbps: speed !== null && speed > 0 ? speed : null,
      qdisc: q?.get(name) ?? null,
      txQueues: queues('tx-'),
      rxQueues: queues('rx-'),
      loopback: readInt(join(dir, 'type')) === 772,
      defaultRoute: routes.get(name) ?? [],
    };
  });
}

/** The exact quiche version from Cargo.lock when the source tree is at hand, else the requirement. */
export function quicheVersion(): string {
  const lock = fileURLToPath(new URL('../Cargo.lock', import.meta.url));
  if (existsSync(lock)) {
    const m = /name = "quiche"\nversion = "([^"]+)"/.exec(readText(lock) ?? '');
    if (m) return m[1];
  }
  return `${QUICHE_REQUIREMENT}.x`;
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
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
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

/** The fast-path part of a record's environment (a probe run's, or one read from a file). */
export function fastPathFrom(env: { fastPath: FastPath; serverFastPath?: FastPath; pacing?: string }, source: string): FastPathProbe {
  const pick = (f: FastPath) => ({
    gso: f.gso,
    gro: f.gro,
    gsoMaxSegmentsUsed: f.gsoMaxSegmentsUsed,
    recvmmsg: f.recvmmsg,
    sendmmsg: f.sendmmsg,
    sendBufferBytes: f.sendBufferBytes,
    recvBufferBytes: f.recvBufferBytes,
    buffersForced: f.buffersForced,
  });
  return {
    source,
    gsoAvailable: env.fastPath.gsoAvailable,
    groAvailable: env.fastPath.groAvailable,
    client: pick(env.fastPath),
    server: env.serverFastPath ? pick(env.serverFastPath) : null,
    pacing: env.pacing ?? null,
  };
}

/** Everything `stoq-bench env` reports except the fast path and AEAD, which it measures separately. */
export function describeHost(): Omit<EnvironmentReport, 'fastPath' | 'aead'> {
  const identity = testbedIdentity();
  const ifs = interfaces();
  return {
    fingerprint: fingerprintOf(identity),
    fingerprintCovers: FINGERPRINT_COVERS,
    identity,
    hostname: os.hostname(),
    kernelVersion: os.version(),
    cpu: { ...identity.cpu, availableParallelism: os.availableParallelism(), flags: cpuFlags() },
    memoryBytes: os.totalmem(),
    interfaces: ifs,
    loopbackMtu: ifs.find((i) => i.loopback)?.mtu ?? null,
    defaultRouteInterfaces: ifs.filter((i) => i.defaultRoute.length > 0).map((i) => i.name),
    socketBuffers: {
      rmemMax: readInt('/proc/sys/net/core/rmem_max'),
      wmemMax: readInt('/proc/sys/net/core/wmem_max'),
      rmemDefault: readInt('/proc/sys/net/core/rmem_default'),
      wmemDefault: readInt('/proc/sys/net/core/wmem_default'),
    },
    build: BUILD_PROFILE,
    versions: {
      stoqBench: VERSION,
      node: process.version,
      v8: process.versions.v8,
      openssl: process.versions.openssl,
      quiche: quicheVersion(),
      napi: process.versions.napi ?? 'unknown',
    },
  };
}
