// The independent perf peers of the interoperability tests, written for them on other QUIC stacks and built
// by scripts/build-interop.sh into .cache/interop/: quic-go (./quic-go-perf, from the Go module proxy) and
// quinn (./quinn-perf, from crates.io). Both speak the same command line and print JSON lines, so one
// driver serves both; they are started and read by signal, never by sleeps. The server certificates come
// from ./certificates.sh, made at test time with the openssl CLI.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = `${ROOT}scripts/build-interop.sh`;
const CERTIFICATES = `${ROOT}test/interop/certificates.sh`;

export type PeerName = 'quic-go' | 'quinn';

export const PEER_BINARY: Record<PeerName, string> = {
  'quic-go': `${ROOT}.cache/interop/quic-go-perf`,
  quinn: `${ROOT}.cache/interop/quinn-perf`,
};

const TOOLCHAIN: Record<PeerName, { candidates: string[]; missing: string }> = {
  'quic-go': {
    candidates: ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'],
    missing: 'no Go toolchain: install Go (the quic-go peer is built from the Go module proxy)',
  },
  quinn: { candidates: ['cargo'], missing: 'no cargo: install Rust (the quinn peer is built from crates.io)' },
};

/** Why `peer` cannot be built here (its toolchain is missing), or null when it can. */
export function peerUnavailable(peer: PeerName): string | null {
  if (existsSync(PEER_BINARY[peer])) return null;
  const { candidates, missing } = TOOLCHAIN[peer];
  const found = candidates.some((bin) => spawnSync(bin, ['version'], { stdio: 'ignore' }).status === 0);
  return found ? null : missing;
}

/**
 * Builds `peer` when missing or stale (the script is a no-op when it is up to date); bounded in time. The
 * quinn peer's first build compiles quinn, rustls and ring: minutes on two cores.
 */
export function buildPeer(peer: PeerName, timeoutMs = 600_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD, peer], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`scripts/build-interop.sh ${peer} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** The certificate kinds of ./certificates.sh, in its order. */
export const CERTIFICATE_KINDS = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-pss-2048', 'rsa-pss-4096', 'rsa-pkcs1-2048', 'rsa-pkcs1-4096'] as const;
export type CertificateKind = (typeof CERTIFICATE_KINDS)[number];

export interface Identity {
  cert: string;
  key: string;
}

export interface Certificates {
  /** One self-signed certificate and key of each kind, for localhost, ::1 and 127.0.0.1. */
  identity(kind: CertificateKind): Identity;
  remove(): void;
}

/** Makes one certificate of every kind into a fresh temporary directory (openssl CLI, a few seconds). */
export function makeCertificates(): Promise<Certificates> {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-bench-certificates-'));
  return new Promise((resolve, reject) => {
    execFile('bash', [CERTIFICATES, dir], { timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const made = stdout.trim().split('\n');
      if (err || made.join() !== CERTIFICATE_KINDS.join()) {
        rmSync(dir, { recursive: true, force: true });
        return reject(new Error(`test/interop/certificates.sh failed (made ${made.join(', ')}): ${err?.message ?? ''}\n${stderr}`));
      }
      resolve({
        identity: (kind) => ({ cert: join(dir, `${kind}.crt`), key: join(dir, `${kind}.key`) }),
        remove: () => rmSync(dir, { recursive: true, force: true }),
      });
    });
  });
}

/** The peer server's view of one request stream. */
export interface StreamReport {
  event: 'stream';
  remote: string;
  streamId: number;
  uni: boolean;
  /** The response size the client asked for (a decimal string: u64::MAX does not fit a JSON number). */
  requested?: string;
  /** Bytes received after the 8-byte header, up to FIN. */
  uploadBytes?: number;
  /** Bytes the reply stream accepted for sending (when it was stopped: the final size of its reset). */
  downloadBytes?: number;
  /** The server-initiated unidirectional stream the reply went on. */
  replyStreamId?: number;
  /** The code of the client's STOP_SENDING, when it ended the reply. */
  stoppedWith?: number;
  error?: string;
}

/** The peer server's view of one handshake. */
export interface ConnectionReport {
  event: 'connection';
  remote: string;
  error?: string;
}

export interface PeerServer {
  address: string;
  /** The server's process id (for its CPU time in /proc/PID/stat). */
  pid: number;
  /** One report per request stream served so far, in the order they ended. */
  streams: StreamReport[];
  /** One report per handshake so far. */
  connections: ConnectionReport[];
  /** Resolves once at least `streams` stream and `connections` connection reports are in. */
  waitFor(counts: { streams?: number; connections?: number }, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Fix the largest UDP payload the server sends (1200 to 65527; default: the peer's path MTU discovery). */
  payloadSize?: number;
  /** Run the server pinned to this CPU (`taskset -c`). */
  cpu?: number;
}

/** Starts the perf server of `peer` on [::1] presenting `identity` and waits for its readiness line. */
export async function startPeerServer(peer: PeerName, identity?: Identity, options: ServerOptions = {}): Promise<PeerServer> {
  const args = ['server', '--listen', '[::1]:0', ...(identity ? ['--cert', identity.cert, '--key', identity.key] : [])];
  if (options.payloadSize !== undefined) args.push('--payload-size', String(options.payloadSize));
  const [bin, argv] = options.cpu === undefined ? [PEER_BINARY[peer], args] : ['taskset', ['-c', String(options.cpu), PEER_BINARY[peer], ...args]];
  // stdin stays open as a lifeline: the server also ends if this process dies. taskset execs the server,
  // so the child's pid is the server's.
  const child: ChildProcess = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const streams: StreamReport[] = [];
  const connections: ConnectionReport[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${peer} perf server not ready in 10 s: ${stderr}`)), 10_000);
    rl.on('line', (line) => {
      const event = JSON.parse(line) as { event: string; address?: string; error?: string };
      if (event.event === 'listening') {
        clearTimeout(timer);
        resolve(event.address!);
      } else if (event.event === 'error') {
        clearTimeout(timer);
        reject(new Error(`${peer} perf server: ${event.error}`));
      } else {
        if (event.event === 'stream') streams.push(event as StreamReport);
        // A handshake the peer ends with no_application_protocol (TLS alert 120) is stoq-bench's client
        // asking for the server's view (ALPN stoq-bench-view), not a perf connection.
        if (event.event === 'connection' && !/error 120|known protocol/.test(event.error ?? '')) connections.push(event as ConnectionReport);
        for (const w of waiters.splice(0)) w();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${peer} perf server exited with ${code}: ${stderr}`));
    });
  });
  return {
    address,
    pid: child.pid!,
    streams,
    connections,
    waitFor({ streams: s = 0, connections: c = 0 }, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${streams.length} of ${s} stream and ${connections.length} of ${c} connection reports in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          if (streams.length >= s && connections.length >= c) {
            clearTimeout(timer);
            resolve();
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

/** What the peer client does: `connections` handshakes one after another, `requests` streams on each. */
export interface ClientOptions {
  /** Bytes uploaded per request. @default 0 */
  upload?: number;
  /** Bytes asked for per request. @default 0 */
  download?: number;
  /** Ask for u64::MAX and end each response with STOP_SENDING after this long (a Go duration: 200ms). */
  duration?: string;
  /** @default 1 */
  requests?: number;
  /** @default 1 */
  inflight?: number;
  /** Unidirectional request streams; the reply comes on a new server stream. @default false */
  uni?: boolean;
  /** @default 1 */
  connections?: number;
  /** Fix the largest UDP payload the client sends (1200 to 65527; default: the peer's path MTU discovery). */
  payloadSize?: number;
  /** Report each request's time in `requestMicros`. @default false */
  latencies?: boolean;
  /** Give up after this long (a Go duration). @default 20s */
  timeout?: string;
}

/** The peer client's final line: `done` with the byte counts it saw, or `error`. */
export interface ClientReport {
  event: 'done' | 'error';
  alpn?: string;
  connections?: number;
  /** Request streams completed (a stopped one included). */
  streams?: number;
  /** Responses ended by the client's STOP_SENDING. */
  stoppedStreams?: number;
  uploadBytes?: number;
  /** Response bytes read (of a stopped response: those read before the stop). */
  downloadBytes?: number;
  /** quinn: the TLS 1.3 scheme the server signed the handshake with (RFC 8446 names). */
  signatureScheme?: string;
  /** quic-go: the key of the server's certificate ("ECDSA P-256", "Ed25519", "RSA-2048"). */
  peerKey?: string;
  /**
   * quic-go: the sum of the final sizes of the RESET_STREAM frames that answered the STOP_SENDINGs, i.e.
   * the bytes the server committed to the stopped responses (null when none was stopped).
   */
  resetFinalSize?: number | null;
  /** From the first connect to the last response's end, seconds. */
  seconds?: number;
  /** With `latencies`: each completed request's time from opening its stream to the response's end, us. */
  requestMicros?: number[] | null;
  error?: string;
}

export interface PeerClientResult {
  code: number | null;
  report: ClientReport;
  stderr: string;
}

/** The command line of the perf client of either peer for `options`. */
export function peerClientArgs(target: string, options: ClientOptions = {}): string[] {
  const args = ['client', '--target', target, '--timeout', options.timeout ?? '20s'];
  for (const flag of ['upload', 'download', 'requests', 'inflight', 'connections'] as const) {
    if (options[flag] !== undefined) args.push(`--${flag}`, String(options[flag]));
  }
  if (options.payloadSize !== undefined) args.push('--payload-size', String(options.payloadSize));
  if (options.duration) args.push('--duration', options.duration);
  if (options.uni) args.push('--uni');
  if (options.latencies) args.push('--latencies');
  return args;
}

/** Runs the perf client of `peer` once against `target`. */
export function runPeerClient(peer: PeerName, target: string, options: ClientOptions = {}): Promise<PeerClientResult> {
  const args = peerClientArgs(target, options);
  return new Promise((resolve, reject) => {
    execFile(PEER_BINARY[peer], args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const lines = stdout.trim().split('\n').filter(Boolean);
      if (lines.length === 0) return reject(new Error(`${peer} perf client printed nothing (${err?.message}): ${stderr}`));
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, report: JSON.parse(lines.at(-1)!) as ClientReport, stderr });
    });
  });
}
