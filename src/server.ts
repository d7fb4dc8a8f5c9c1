import { fromNative } from './errors.js';
import { native } from './native.js';
import type { Settings } from './scenario.js';
import type { FastPath } from './record.js';

export interface ServerOptions {
  /** `[v6addr]:port`; port 0 picks one. Default `[::]:4433`. */
  listen?: string;
  /** Worker threads sharing the port (SO_REUSEPORT). Default 1. */
  threads?: number;
  /** PEM certificate and key files; a self-signed certificate is generated in memory when absent. */
  cert?: string;
  key?: string;
  /** Transport settings the server sends with (congestion control, windows, pacing, payload size). */
  settings?: Partial<Settings>;
  /** Write a qlog per connection into this directory. */
  qlogDir?: string;
  /** Connections beyond this are refused with application error 2 (rejected). */
  maxConnections?: number;
}

/** The server's counters; memory is the process's resident set. */
export interface ServerStats {
  openConnections: number;
  accepted: number;
  closed: number;
  errored: number;
  rejected: number;
  streams: number;
  bytesSent: number;
  bytesReceived: number;
  garbageDatagrams: number;
  rssBytes: number;
  baselineRssBytes: number;
  peakConnections: number;
  /** Memory above the baseline per connection when the most were open. */
  rssPerConnectionBytes: number | null;
}

export interface StoppedServer {
  stats: ServerStats;
  fastPath: FastPath;
}

/** A `perf` server running on engine threads. */
export class StoqServer {
  readonly #native: InstanceType<typeof native.NativeServer>;
  #stopped: Promise<StoppedServer> | undefined;

  private constructor(server: InstanceType<typeof native.NativeServer>) {
    this.#native = server;
  }

  /** Binds and starts; resolves once the socket is bound (the address is final). */
  static async start(options: ServerOptions = {}): Promise<StoqServer> {
    try {
      return new StoqServer(
        native.NativeServer.start({
          listen: options.listen ?? '[::]:4433',
          threads: options.threads,
          cert: options.cert,
          key: options.key,
          settingsJson: options.settings ? JSON.stringify(options.settings) : undefined,
          qlogDir: options.qlogDir,
          maxConnections: options.maxConnections,
        }),
      );
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** The bound address, e.g. `[::1]:4433`. */
  get address(): string {
    return this.#native.address;
  }

  stats(): ServerStats {
    if (this.#stopped) throw fromNative(new Error('INVALID_ARGUMENT: the server is stopped'));
    return JSON.parse(this.#native.stats()) as ServerStats;
  }

  /** Closes every connection cleanly and stops; safe to call more than once. */
  stop(): Promise<StoppedServer> {
    this.#stopped ??= this.#native.stop().then((json) => JSON.parse(json) as StoppedServer, (e) => {
      throw fromNative(e);
    });
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export function startServer(options?: ServerOptions): Promise<StoqServer> {
  return StoqServer.start(options);
}
