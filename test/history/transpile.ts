// Child processes in these tests run the real store code: the TypeScript sources are transpiled into a
// temporary directory (with node_modules linked) so a plain `node` child can import them.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/** Transpiles the given src-relative files (and returns the directory that mirrors src/). */
export function transpileSources(files: string[]): string {
  const out = mkdtempSync(join(tmpdir(), 'stoq-src-'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', version: '0.0.0-test' }));
  for (const f of files) {
    const src = readFileSync(join(ROOT, 'src', f), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    }).outputText;
    const target = join(out, 'src', f.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  return join(out, 'src');
}
