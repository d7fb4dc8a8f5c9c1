// The wider description of the testbed that `stoq-bench env` prints: CPU, kernel, interfaces (MTU, qdisc,
// driver), default routes, socket buffer limits, the fast path, versions. The fingerprint itself is
// computed in ./fingerprint.ts; the AEAD probe is ./aead.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Build, Environment, FastPath } from '../generated/engine.js';
import { VERSION } from '../version.js';
import type { AeadResult } from './aead.js';
import { FINGERPRINT_COVERS, fingerprintOf, testbedIdentity, type RecordTestbed, type TestbedIdentity } from './fingerprint.js';

/** The quiche version the engine depends on (crate/engine/Cargo.toml); the exact one comes from Cargo.lock when present. */
const QUICHE_REQUIREMENT = '0.29';

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

export interface FastPathProbe {
  source: string;
  gsoAvailable: boolean;
  groAvailable: boolean;
  /** Really used by the client / the embedded server during the probe or the record. */
  client: { gso: boolean; gro: boolean; gsoMaxSegmentsUsed: number; recvmmsg: boolean; sendmmsg: boolean; sendBufferBytes: number; recvBufferBytes: number; buffersForced: boolean };
  server: FastPathProbe['client'] | null;
  pacing: string | null;
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
  /** How the loaded engine was compiled (a debug engine runs several times slower). */
  build: Build;
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
function defaultRoutes(): Map<string, Array<'ipv6' | 'ipv4'>> {
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
function interfaces(): InterfaceInfo[] {
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
function quicheVersion(): string {
  const lock = fileURLToPath(new URL('../../Cargo.lock', import.meta.url));
  if (existsSync(lock)) {
    const m = /name = "quiche"\nversion = "([^"]+)"/.exec(readText(lock) ?? '');
    if (m) return m[1];
  }
  return `${QUICHE_REQUIREMENT}.x`;
}

/** The fast-path part of a record's environment (a probe run's, or one read from a file). */
export function fastPathFrom(env: Pick<Environment, 'client' | 'server'>, source: string): FastPathProbe {
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
    gsoAvailable: env.client.fastPath.gsoAvailable,
    groAvailable: env.client.fastPath.groAvailable,
    client: pick(env.client.fastPath),
    server: env.server ? pick(env.server.fastPath) : null,
    pacing: env.client.pacing,
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
    build: identity.build,
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
