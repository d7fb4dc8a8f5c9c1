// A `perf` server on engine threads. Its counters and options are the engine's types.
import { fromNative } from './errors.js';
import type { StoppedServer as EngineStoppedServer, RetryMode, ServerStats, SettingsInput } from './generated/engine.js';
import { callNative, fromEngine, native } from './native.js';

export type { RetryMode, ServerStats } from './generated/engine.js';

/**
 * A running server's counters: the engine counts every one. (`ServerStats`, the record's type, also holds
 * records upgraded from schemaVersion 2, whose server left some uncounted: null there.)
 */
export type LiveServerStats = {
  [K in keyof ServerStats]: K extends 'rssPerConnectionBytes' ? ServerStats[K] : NonNullable<ServerStats[K]>;
};

/** A stopped server: its final counters and the fast path its sockets used. */
export type StoppedServer = Omit<EngineStoppedServer, 'stats'> & { stats: LiveServerStats };

export interface ServerOptions {
  /** `[v6addr]:port`; port 0 picks one. Default: the engine's (`[::]:4433`). */
  listen?: string;
  /** Accept only IPv6 on an IPv6 address (no IPv4-mapped clients on `[::]`). Default false. */
  ipv6Only?: boolean;
  /** Worker threads sharing the port (a reuseport group no other process can join). Default: the engine's (1). */
  threads?: number;
  /** PEM certificate and key files; a self-signed certificate is generated when absent. */
  cert?: string;
  key?: string;
  /** PEM file of the CAs client certificates must chain to; a client without one fails the handshake. */
  clientCa?: string;
  /** Sources allowed to use the server: IPv6 or IPv4 prefixes (`fd00::/64`, `10.0.0.0/8`) or addresses. Default: everyone. */
  allow?: string[];
  /** Transport settings the server uses (congestion control, windows, pacing, payload size, idle timeout). */
  settings?: SettingsInput;
  /** Write a qlog per accepted connection into this directory. */
  qlogDir?: string;
  /** Connections with state, half-open included; beyond it an Initial is refused (CONNECTION_REFUSED) before any state. Default: the engine's. */
  maxConnections?: number;
  /** Half-open connections one source prefix (an IPv6 /64, an IPv4 address) may hold; beyond it Initials are dropped. Default: the engine's. */
  maxHalfOpenPerPrefix?: number;
  /** Address validation with Retry: always, never, or `auto` (once `retryThreshold` connections are half-open). Default: the engine's. */
  retry?: RetryMode;
  /** Half-open connections from which `auto` sends Retries. Default: the engine's. */
  retryThreshold?: number;
  /** A handshake not complete after this is dropped, ns. Default: the engine's. */
  handshakeTimeoutNs?: number;
  /** Largest response a request may ask for, bytes; above it the stream is refused with perf error 2 (rejected). */
  maxResponse?: number;
  /** Send rate cap per connection, bytes per second. */
  maxRate?: number;
  /** Share the server's side of a client's own connections with that client (ALPN `stoq-bench-view`); when false, the client records it as refused. Default: true. */
  shareView?: boolean;
}

type NativeServer = InstanceType<typeof native.NativeServer>;

const engineServers = new WeakMap<StoqServer, NativeServer>();

/** The engine's server behind a `StoqServer`: a run of this process reads the server's side through it. */
export function engineServer(server: StoqServer): NativeServer | undefined {
  return engineServers.get(server);
}

/** A `perf` server running on engine threads. */
export class StoqServer {
  readonly #native: InstanceType<typeof native.NativeServer>;
  #stopped: Promise<StoppedServer> | undefined;

  private constructor(server: InstanceType<typeof native.NativeServer>) {
    this.#native = server;
    engineServers.set(this, server);
  }

  /** Binds and starts; resolves once the socket is bound (the address is final). */
  static async start(options: ServerOptions = {}): Promise<StoqServer> {
    const server = callNative(() =>
      native.NativeServer.start({
        listen: options.listen,
        ipv6Only: options.ipv6Only,
        threads: options.threads,
        cert: options.cert,
        key: options.key,
        clientCa: options.clientCa,
        allow: options.allow,
        settingsJson: options.settings ? JSON.stringify(options.settings) : undefined,
        qlogDir: options.qlogDir,
        maxConnections: options.maxConnections,
        maxHalfOpenPerPrefix: options.maxHalfOpenPerPrefix,
        retry: options.retry,
        retryThreshold: options.retryThreshold,
        handshakeTimeoutNs: options.handshakeTimeoutNs,
        maxResponse: options.maxResponse,
        maxRate: options.maxRate,
        shareView: options.shareView,
      }),
    );
    return new StoqServer(server);
  }

  /** The bound address, e.g. `[::1]:4433`. */
  get address(): string {
    return this.#native.address;
  }

  /** Anyone who reaches the port may use the server: it listens beyond loopback, with no allowlist and no client certificates. */
  get openToAnyone(): boolean {
    return this.#native.openToAnyone;
  }

  /** The server's counters now; memory is the process's resident set. Throws once the server is stopped. */
  stats(): LiveServerStats {
    return fromEngine('serverStats', callNative(() => this.#native.stats())) as LiveServerStats;
  }

  /** Closes every connection cleanly and stops; safe to call more than once. */
  stop(): Promise<StoppedServer> {
    this.#stopped ??= this.#native.stop().then(
      (json) => fromEngine('stopped', json) as StoppedServer,
      (error: unknown) => {
        throw fromNative(error);
      },
    );
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export function startServer(options?: ServerOptions): Promise<StoqServer> {
  return StoqServer.start(options);
}
