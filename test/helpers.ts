import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';

export const CLI = fileURLToPath(new URL('../bin/stoq-bench.js', import.meta.url));

/** Runs the CLI in-process with captured output. */
export async function cli(args: string[], signal: AbortSignal = new AbortController().signal) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    isTTY: false,
    color: false,
    signal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Stops with SIGTERM each child still running, and empties the list (at most 10 s each). */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
  }
}

/** Starts `stoq-bench server` as a child process and waits for its readiness line (no sleeps). */
export async function spawnServer(args: string[] = [], listen = '[::1]:0'): Promise<{ child: ChildProcess; address: string; lines: string[] }> {
  const child = spawn(process.execPath, [CLI, 'server', '--listen', listen, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    rl.on('line', (line) => {
      lines.push(line);
      const event = JSON.parse(line) as { event: string; address?: string };
      if (event.event === 'listening') resolve(event.address!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, address, lines };
}

/**
 * The record schema (generated from the engine's types) compiled strictly: no unknown keyword or format,
 * every object closed. `check` fails the test with the errors of a record that does not validate.
 */
// ajv-formats is CommonJS: its default export is the plugin under ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const recordSchema = (() => {
  const schema = JSON.parse(readFileSync(new URL('../schema/run-record.schema.json', import.meta.url), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, logger: { log: () => {}, warn: (...m: unknown[]) => { throw new Error(`ajv: ${m.join(' ')}`); }, error: (...m: unknown[]) => { throw new Error(`ajv: ${m.join(' ')}`); } } });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return {
    validate,
    /** True when `record` validates; the errors otherwise (as a string, for the failure message). */
    errors(record: unknown): string | undefined {
      return validate(record) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' });
    },
  };
})();
