// The testbed's identity: what makes two measurements comparable, hashed into the fingerprint every record
// carries and `stoq-bench env` prints. Computed here and only here. The engine's build is read from the
// loaded engine, so a debug engine never passes for a release one.
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Build, Environment, Host } from '../generated/engine.js';
import { engineSpec } from '../native.js';

/** What the fingerprint covers: two testbeds are comparable when all of these are equal. */
export interface TestbedIdentity {
  cpu: { model: string; count: number };
  kernel: string;
  os: string;
  arch: string;
  /** How the loaded engine was compiled. */
  build: Build;
}

/** The fields the fingerprint hashes, named for people (printed by `stoq-bench env`). */
export const FINGERPRINT_COVERS = ['CPU model', 'CPU count', 'kernel release', 'OS', 'architecture', 'engine build profile'] as const;

/** This host's identity as a testbed, with the build of the engine loaded in this process. */
export function testbedIdentity(): TestbedIdentity {
  const cpus = os.cpus();
  return {
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    kernel: os.release(),
    os: os.platform(),
    arch: os.arch(),
    build: engineSpec().build,
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

/** The host part of a record's environment: this testbed's identity, its fingerprint, and who drove it. */
export function recordHost(id: TestbedIdentity = testbedIdentity()): Host {
  return {
    fingerprint: fingerprintOf(id),
    hostname: os.hostname(),
    os: `${id.os}-${id.arch}`,
    kernel: id.kernel,
    cpu: id.cpu,
    node: process.version,
    build: id.build,
  };
}

/** How a record's testbed relates to this host: the same fingerprint, or which identity fields differ. */
export interface RecordTestbed {
  file: string;
  fingerprint: string;
  sameTestbed: boolean;
  differs: string[];
}

/** Compares a record's environment with this host's identity, field by field. */
export function compareTestbed(file: string, env: Environment, id: TestbedIdentity = testbedIdentity()): RecordTestbed {
  const differs: string[] = [];
  if (env.cpu.model !== id.cpu.model) differs.push(`CPU model (${env.cpu.model} vs ${id.cpu.model})`);
  if (env.cpu.count !== id.cpu.count) differs.push(`CPU count (${env.cpu.count} vs ${id.cpu.count})`);
  if (env.kernel !== id.kernel) differs.push(`kernel (${env.kernel} vs ${id.kernel})`);
  if (env.os !== `${id.os}-${id.arch}`) differs.push(`OS/architecture (${env.os} vs ${id.os}-${id.arch})`);
  if (env.build !== id.build) differs.push(`build (${env.build} vs ${id.build})`);
  const same = env.fingerprint === fingerprintOf(id);
  if (!same && differs.length === 0) differs.push('the fingerprint (computed from fields this record does not show)');
  return { file, fingerprint: env.fingerprint, sameTestbed: same, differs: same ? [] : differs };
}
