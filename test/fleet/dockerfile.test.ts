// The Dockerfile cannot be built here (no container engine): it is read with Docker's own parser (the
// `dockerfile` package wraps moby/buildkit's) and checked against the repository, so what it copies exists
// and reaches the build context, and the runtime image holds everything the package publishes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = `${ROOT}.cache/fleet-venv/bin/python`;

interface Instruction {
  cmd: string;
  flags: string[];
  value: string[];
  line: number;
}

function parse(): Instruction[] {
  const code = `import dockerfile, json, sys
print(json.dumps([dict(cmd=c.cmd, flags=list(c.flags), value=list(c.value), line=c.start_line) for c in dockerfile.parse_file(sys.argv[1])]))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', code, `${ROOT}Dockerfile`], { encoding: 'utf8' })) as Instruction[];
}

const hasParser = existsSync(PYTHON) && (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import dockerfile']);
    return true;
  } catch {
    return false;
  }
})();

it.skipIf(!hasParser)('the Dockerfile: two stages of one Node, every copied path present and in the context, the runtime complete', () => {
  const lines = parse();
  const froms = lines.filter((l) => l.cmd === 'FROM');
  expect(froms.map((f) => f.value.join(' '))).toEqual([
    'rust:${RUST_VERSION}-bookworm AS rust',
    'node:${NODE_VERSION}-bookworm AS build',
    'node:${NODE_VERSION}-bookworm-slim AS runtime',
  ]);
  const ignored = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const excluded = (path: string) => ignored.some((p) => (p.startsWith('*') ? path.endsWith(p.slice(1)) : path === p || path.startsWith(`${p}/`)));
  let stage = '';
  const copiedToRuntime: string[] = [];
  for (const l of lines) {
    if (l.cmd === 'FROM') stage = l.value[2];
    if (l.cmd !== 'COPY') continue;
    const sources = l.value.slice(0, -1);
    const from = l.flags.find((f) => f.startsWith('--from='))?.slice(7);
    if (from === undefined) {
      // from the build context: present in the repository, not excluded by .dockerignore
      for (const src of sources) {
        expect(existsSync(`${ROOT}${src}`), `line ${l.line}: ${src}`).toBe(true);
        expect(excluded(src), `line ${l.line}: ${src} is in .dockerignore`).toBe(false);
      }
    } else {
      expect(froms.slice(0, froms.findIndex((f) => f.value[2] === stage)).map((f) => f.value[2]), `line ${l.line}`).toContain(from);
      if (stage === 'runtime') copiedToRuntime.push(...sources.map((s) => s.replace(/^\/src\//, '')));
    }
  }
  // everything the npm package publishes, its manifest, its dependencies and the addon
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { files: string[]; bin: Record<string, string> };
  for (const f of [...pkg.files.map((f) => f.replace(/\/$/, '')), 'package.json', 'node_modules', 'stoq-bench.*.node']) expect(copiedToRuntime).toContain(f);
  // the pods run `stoq-bench`: the entry point is the package's binary
  expect(lines.find((l) => l.cmd === 'ENTRYPOINT')!.value).toEqual(['stoq-bench']);
  expect(lines.find((l) => l.cmd === 'RUN' && l.value[0].includes('ln -s'))!.value[0]).toContain(`/opt/stoq-bench/${pkg.bin['stoq-bench'].replace(/^\.\//, '')} /usr/local/bin/stoq-bench`);
  expect(lines.filter((l) => l.cmd === 'USER').map((l) => l.value[0])).toEqual(['node']);
});
