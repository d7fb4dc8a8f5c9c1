#!/usr/bin/env node
// `npm run release:pack [-- --prebuilt DIR] [-- --partial]`: packs a release into dist-packages/, ready for
// `npm publish`: the main package and one package per napi target, each holding its addon.
//
// napi-rs's release flow: every target's addon is built (scripts/cross-build.sh), `napi artifacts` moves each
// into its npm/<platform>/ package, `napi pre-publish --dry-run` checks each package's name, files and addon, then
// `npm pack` packs every package. Addons already built elsewhere (CI's runners) are taken from --prebuilt DIR,
// searched recursively as `actions/download-artifact` lays them out; every other target is built here when this
// host can build it.
//
// A release is whole or nothing: a target that cannot be built here fails the command, naming what is missing,
// and no dist-packages/ is left behind. --partial packs what could be built instead and lists the rest in
// dist-packages/release.json (for tests on hosts without every cross toolchain; never publish such a set: the
// main package still names every platform package).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNapiConfig } from '@napi-rs/cli';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist-packages');
const args = process.argv.slice(2);
const partial = args.includes('--partial');
const prebuiltAt = args.indexOf('--prebuilt');
const prebuilt = prebuiltAt >= 0 ? args[prebuiltAt + 1] : undefined;
if (prebuiltAt >= 0 && (!prebuilt || !existsSync(prebuilt))) fail(`--prebuilt needs an existing directory, got ${prebuilt ?? 'nothing'}`);
for (const a of args) {
  if (!['--partial', '--prebuilt', prebuilt].includes(a)) fail(`unknown argument ${a} (accepted: --partial, --prebuilt DIR)`);
}

function fail(message) {
  console.error(`release:pack: ${message}`);
  process.exit(1);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function must(cmd, argv, options) {
  const r = run(cmd, argv, options);
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    fail(`${cmd} ${argv.join(' ')} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  }
  return r;
}

function findFile(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name) return path;
  }
  return undefined;
}

const config = await readNapiConfig(join(root, 'package.json'));
const { binaryName, packageJson } = config;
const addons = mkdtempSync(join(tmpdir(), 'stoq-release-'));
process.on('exit', () => rmSync(addons, { recursive: true, force: true }));
rmSync(out, { recursive: true, force: true });
// Addons of an earlier pack never reach this one.
for (const t of config.targets) rmSync(join(root, 'npm', t.platformArchABI, `${binaryName}.${t.platformArchABI}.node`), { force: true });

const packed = [];
const skipped = [];
for (const target of config.targets) {
  const file = `${binaryName}.${target.platformArchABI}.node`;
  const from = prebuilt ? findFile(prebuilt, file) : undefined;
  if (from) {
    mkdirSync(join(addons, target.platformArchABI));
    copyFileSync(from, join(addons, target.platformArchABI, file));
    console.error(`release:pack: ${target.triple}: prebuilt ${relative(root, from)}`);
    packed.push(target);
    continue;
  }
  console.error(`release:pack: ${target.triple}: building`);
  const started = Date.now();
  const r = spawnSync('bash', ['scripts/cross-build.sh', target.triple, join(addons, target.platformArchABI)], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  process.stderr.write(r.stderr);
  if (r.status === 3) {
    const reason = r.stderr.trim().split('\n').at(-1).replace(/^cross-build: /, '');
    skipped.push({ target: target.triple, platform: target.platformArchABI, reason });
    continue;
  }
  if (r.status !== 0) fail(`building ${target.triple} failed (exit ${r.status})`);
  console.error(`release:pack: ${target.triple}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  packed.push(target);
}

if (skipped.length > 0 && !partial) {
  fail(`no release: ${skipped.map((s) => `${s.platform} (${s.reason})`).join('; ')}. Build those on their runners (.github/workflows/ci.yml) and pass their addons with --prebuilt DIR.`);
}
if (packed.length === 0) fail('no target could be built here');

// napi's own tools see only the targets packed now (all of them, unless --partial).
const napiArgs = [];
if (skipped.length > 0) {
  const subset = join(addons, 'napi.json');
  writeFileSync(subset, JSON.stringify({ binaryName, targets: packed.map((t) => t.triple) }));
  napiArgs.push('--config-path', subset);
}
must('npx', ['--no-install', 'napi', 'artifacts', '--output-dir', addons, '--npm-dir', 'npm', ...napiArgs]);
must('npx', ['--no-install', 'napi', 'pre-publish', '--dry-run', '--skip-optional-publish', '--npm-dir', 'npm', ...napiArgs]);
// The main package ships dist/ as built from src/ now.
must('npm', ['run', '--silent', 'build:ts']);

mkdirSync(out, { recursive: true });
function pack(dir) {
  const r = must('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir });
  const [info] = JSON.parse(r.stdout);
  return { name: info.name, version: info.version, tarball: info.filename, size: info.size, unpackedSize: info.unpackedSize, files: info.files.map((f) => f.path) };
}
const packages = packed.map((t) => ({ ...pack(join(root, 'npm', t.platformArchABI)), target: t.triple, platform: t.platformArchABI }));
packages.push(pack(root));
for (const p of packages) {
  if (statSync(join(out, p.tarball)).size !== p.size) fail(`${p.tarball}: size on disk differs from what npm pack reported`);
}

const manifest = { version: packageJson.version, complete: skipped.length === 0, packages, skipped };
writeFileSync(join(out, 'release.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
for (const p of packages) console.log(`${p.tarball.padEnd(36)} ${mib(p.size).padStart(9)} packed, ${mib(p.unpackedSize).padStart(9)} unpacked`);
for (const s of skipped) console.log(`${s.platform.padEnd(36)} not packed: ${s.reason}`);
console.log(manifest.complete ? `dist-packages/: a complete release of ${packageJson.name}@${packageJson.version}` : 'dist-packages/: PARTIAL (--partial): not for publishing');
