// The package as users get it: `npm pack` of the platform package (npm/linux-x64-gnu, with the built addon
// copied into a temporary copy) and of the main package (built dist/, optionalDependencies naming the
// platform package at the same version); both tarballs installed into an empty directory; then, on a PATH
// without cargo or rustc, `npx stoq-bench --version` and a short loopback run. The packages' own
// dependencies (yargs, ...) come from the npm cache, or the registry when the cache lacks them.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const platformDir = join(root, 'npm', 'linux-x64-gnu');
const platform = JSON.parse(readFileSync(join(platformDir, 'package.json'), 'utf8'));
const addon = join(root, platform.main as string);

function sh(cmd: string, args: string[], options: SpawnSyncOptions & { timeout: number }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  const out = `${cmd} ${args.join(' ')} (in ${options.cwd}): exit ${r.status}${r.error ? ` ${r.error.message}` : ''}\n${r.stdout}\n${r.stderr}`;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), out };
}

/** `npm pack --json` in `cwd`; returns the tarball path and its file list. */
function pack(cwd: string, dest: string): { tarball: string; files: string[] } {
  const r = sh('npm', ['pack', '--json', '--pack-destination', dest], { cwd, timeout: 60_000 });
  expect(r.status, r.out).toBe(0);
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
}

describe('the npm packages', () => {
  it('main package: optionalDependencies names the platform package at the same version; files hold dist/', () => {
    expect(platform.name).toBe('stoq-bench-linux-x64-gnu');
    expect(platform.version).toBe(pkg.version);
    expect(platform).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
    expect(pkg.optionalDependencies).toEqual({ [platform.name]: pkg.version });
    expect(pkg.files).toContain('dist/');
    expect(pkg.bin['stoq-bench']).toBe('./bin/stoq-bench.js');
  });

  it.skipIf(!existsSync(addon))(
    'both tarballs install into an empty directory; npx stoq-bench works on a PATH without cargo or rustc',
    () => {
      const tmp = mkdtempSync(join(tmpdir(), 'stoq-pack-'));
      // dist/ as built from src/ now (setup builds it too)
      const build = sh('npm', ['run', '--silent', 'build:ts'], { cwd: root, timeout: 60_000 });
      expect(build.status, build.out).toBe(0);

      // the platform package, with the addon, from a temporary copy (the repository is left as it is)
      const platformCopy = join(tmp, 'platform');
      mkdirSync(platformCopy);
      copyFileSync(join(platformDir, 'package.json'), join(platformCopy, 'package.json'));
      copyFileSync(addon, join(platformCopy, platform.main));
      const p = pack(platformCopy, tmp);
      expect(p.files.sort()).toEqual([platform.main, 'package.json'].sort());

      const m = pack(root, tmp);
      for (const f of ['bin/stoq-bench.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/monitor/monitor.js', 'index.js', 'index.d.ts', 'package.json']) {
        expect(m.files, f).toContain(f);
      }
      expect(m.files.filter((f) => f.endsWith('.node') || f.startsWith('src/') || f.startsWith('crate/') || f.startsWith('test/'))).toEqual([]);

      // an empty project installs both tarballs (scripts off: better-sqlite3's build is not needed here)
      const app = join(tmp, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
      const install = sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', m.tarball, p.tarball], { cwd: app, timeout: 90_000, env: npmEnv });
      expect(install.status, install.out).toBe(0);
      const installed = join(app, 'node_modules');
      expect(existsSync(join(installed, 'stoq-bench', 'dist', 'cli', 'main.js'))).toBe(true);
      expect(existsSync(join(installed, platform.name, platform.main))).toBe(true);
      expect(readdirSync(join(installed, 'stoq-bench')).filter((f) => f.endsWith('.node'))).toEqual([]); // the addon comes from the platform package

      // a PATH with node and npm but no Rust toolchain
      const path = [...new Set([dirname(process.execPath), '/usr/bin', '/bin'])].join(':');
      const env: NodeJS.ProcessEnv = { ...npmEnv, PATH: path };
      for (const k of ['CARGO_HOME', 'RUSTUP_HOME', 'CARGO', 'RUSTC']) delete env[k];
      const rust = sh('sh', ['-c', 'command -v cargo || command -v rustc || echo none'], { cwd: app, env, timeout: 5_000 });
      expect(rust.stdout.trim()).toBe('none');

      const version = sh('npx', ['--offline', '--no-install', 'stoq-bench', '--version'], { cwd: app, env, timeout: 30_000 });
      expect(version.status, version.out).toBe(0);
      expect(version.stdout.trim()).toBe(pkg.version);

      const run = sh('npx', ['--offline', '--no-install', 'stoq-bench', 'run', '--bytes', '1MiB', '--json'], { cwd: app, env, timeout: 30_000 });
      expect(run.status, run.out).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const record = JSON.parse(lines[0]);
      expect(record).toMatchObject({ schemaVersion: 1, embeddedServer: true, scenario: { kind: 'download', bytes: 1048576 }, end: { state: 'completed', bytesReceived: 1048576 } });
      expect(record.target).toMatch(/^\[::1\]:\d+$/);

      // the typed ESM exports resolve from the installed package
      const esm = sh(process.execPath, ['--input-type=module', '-e', "import * as s from 'stoq-bench'; console.log(typeof s.runScenario, s.VERSION)"], { cwd: app, env, timeout: 30_000 });
      expect(esm.status, esm.out).toBe(0);
      expect(esm.stdout.trim()).toBe(`function ${pkg.version}`);
    },
    120_000,
  );
});
