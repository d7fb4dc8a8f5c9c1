// Child processes in these tests run the real store code: the TypeScript sources are transpiled into a
// temporary directory (with node_modules linked) so a plain `node` child can import them. The files a
// source imports come along; the generated binding at the package root is linked, not copied.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/** Transpiles the given src-relative files and what they import (and returns the directory that mirrors src/). */
export function transpileSources(files: string[]): string {
  const out = mkdtempSync(join(tmpdir(), 'stoq-src-'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', version: '0.0.0-test' }));
  const todo = files.map((f) => join(ROOT, 'src', f));
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const rel = relative(ROOT, file);
    if (!rel.startsWith('src/')) {
      // the binding (index.js at the package root): linked in place, so it loads its addon
      if (!existsSync(join(out, rel))) symlinkSync(file, join(out, rel));
      continue;
    }
    const src = readFileSync(file, 'utf8');
    for (const [, spec] of src.matchAll(/^(?:import|export)[^'"]*from '(\.{1,2}\/[^']+)';/gm)) {
      const target = resolve(dirname(file), spec);
      const ts = target.replace(/\.js$/, '.ts');
      todo.push(existsSync(ts) ? ts : target);
    }
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    }).outputText;
    const target = join(out, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  return join(out, 'src');
}
