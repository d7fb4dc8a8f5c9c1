#!/usr/bin/env node
// Installs a packed release as a user would and runs it, on the machine (and Node.js) it runs on:
//
//   node scripts/check-installed.mjs DIST_DIR
//
// DIST_DIR is what `npm run release:pack` made (release.json and the tarballs). An empty project depends on the
// main tarball, every platform package name resolves to its tarball, and npm picks the one for this machine;
// then `npx stoq-bench --version` must print the release's version and a 1 MiB download over [::1] must deliver
// exactly 1048576 bytes. Needs only Node.js and npm (CI runs it in plain node:<version> images); exits non-zero,
// saying what failed, otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist-packages');
const release = JSON.parse(readFileSync(join(dist, 'release.json'), 'utf8'));
const BYTES = 1048576;

function check(ok, message) {
  if (!ok) {
    console.error(`check-installed: ${message}`);
    process.exit(1);
  }
}
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, shell: process.platform === 'win32' });
  check(r.status === 0, `${cmd} ${args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const main = release.packages.find((p) => !p.platform);
const app = mkdtempSync(join(tmpdir(), 'stoq-installed-'));
const overrides = Object.fromEntries(release.packages.filter((p) => p.platform).map((p) => [p.name, `file:${join(dist, p.tarball)}`]));
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { [main.name]: `file:${join(dist, main.tarball)}` }, overrides }));
run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], app);

const chosen = readdirSync(join(app, 'node_modules')).filter((d) => d.startsWith(`${main.name}-`));
check(chosen.length === 1, `npm installed ${chosen.length} platform packages (${chosen.join(', ')}), expected exactly one`);
const platform = release.packages.find((p) => p.name === chosen[0]);
check(existsSync(join(app, 'node_modules', platform.name, `stoq-bench.${platform.platform}.node`)), `${platform.name} holds no addon`);

const version = run('npx', ['--no-install', 'stoq-bench', '--version'], app).trim();
check(version === release.version, `stoq-bench --version printed ${version}, expected ${release.version}`);
const record = JSON.parse(run('npx', ['--no-install', 'stoq-bench', 'run', '--bytes', '1MiB', '--json'], app).trim());
check(record.end?.state === 'completed' && record.end?.bytesReceived === BYTES, `the download ended ${record.end?.state} with ${record.end?.bytesReceived} bytes, expected ${BYTES}`);
console.log(`check-installed: ${platform.name} on Node.js ${process.version} (${process.platform}-${process.arch}): --version and a ${BYTES}-byte download over [::1] as expected`);
