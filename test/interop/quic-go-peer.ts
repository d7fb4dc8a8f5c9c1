// The quic-go perf peer of the interoperability tests (built from ./quic-go-perf by scripts/build-interop.sh
// into .cache/interop/), started and read by signal, never by sleeps.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PEER = `${ROOT}.cache/interop/quic-go-perf`;
const BUILD = `${ROOT}scripts/build-interop.sh`;

/** Why the peer cannot be built here (no Go toolchain), or null when it can. */
export function peerUnavailable(): string | null {
  if (existsSync(PEER)) return null;
  const candidates = ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'];
  const go = candidates.find((bin) => spawnSync(bin, ['version'], { stdio: 'ignore' }).status === 0);
  return go ? null : 'no Go toolchain: install Go (the quic-go peer is built from the Go module proxy)';
}

/** Builds the peer when missing or stale (the script is a no-op when it is up to date); bounded in time. */
export function buildPeer(timeoutMs = 240_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`scripts/build-interop.sh failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

export interface StreamReport {
  event: 'stream';
  remote: string;
  streamId: number;
  /** The response size the client asked for (a decimal string: u64::MAX does not fit a JSON number). */
  requested: string;
  uploadBytes: number;
  downloadBytes: number;
  error?: string;
}

export interface PeerServer {
  address: string;
  /** One report per stream served so far. */
  streams: StreamReport[];
  /** Resolves once `n` streams have been reported. */
  waitForStreams(n: number, timeoutMs?: number): Promise<StreamReport[]>;
  stop(): Promise<void>;
}

/** Starts the quic-go perf server on [::1] and waits for its readiness line. */
export async function startPeerServer(): Promise<PeerServer> {
  // stdin stays open as a lifeline: the server also ends if this process dies.
  const child: ChildProcess = spawn(PEER, ['server', '--listen', '[::1]:0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const streams: StreamReport[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`quic-go perf server not ready in 10 s: ${stderr}`)), 10_000);
    rl.on('line', (line) => {
      const event = JSON.parse(line) as { event: string; address?: string };
      if (event.event === 'listening') {
        clearTimeout(timer);
        resolve(event.address!);
      } else if (event.event === 'stream') {
        streams.push(event as StreamReport);
        for (const w of waiters.splice(0)) w();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`quic-go perf server exited with ${code}: ${stderr}`));
    });
  });
  return {
    address,
    streams,
    waitForStreams(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${streams.length} of ${n} stream reports in ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (streams.length >= n) {
            clearTimeout(timer);
            resolve(streams.slice());
          } else waiters.push(check);
        };
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface PeerClientResult {
  code: number | null;
  /** The client's final line: `done` with the byte counts, or `error`. */
  report: { event: string; alpn?: string; uploadBytes?: number; downloadBytes?: number; seconds?: number; error?: string };
  stderr: string;
}

/** Runs the quic-go perf client once: one bidirectional stream uploading `upload` and asking for `download`. */
export function runPeerClient(target: string, upload: number, download: number): Promise<PeerClientResult> {
  return new Promise((resolve, reject) => {
    execFile(
      PEER,
      ['client', '--target', target, '--upload', String(upload), '--download', String(download), '--timeout', '20s'],
      { timeout: 30_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const lines = stdout.trim().split('\n').filter(Boolean);
        if (lines.length === 0) return reject(new Error(`quic-go perf client printed nothing (${err?.message}): ${stderr}`));
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, report: JSON.parse(lines.at(-1)!), stderr });
      },
    );
  });
}
