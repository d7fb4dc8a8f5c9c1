import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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

/** Starts `stoq-bench server` as a child process and waits for its readiness line (no sleeps). */
export async function spawnServer(args: string[] = []): Promise<{ child: ChildProcess; address: string; lines: string[] }> {
  const child = spawn(process.execPath, [CLI, 'server', '--listen', '[::1]:0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
