// A `perf` server on engine threads. Its counters and options are the engine's types.
import { fromNative } from './errors.js';
import type { ServerStats, SettingsInput, StoppedServer } from './generated/engine.js';
import { callNative, fromEngine, native } from './native.js';

export type { ServerStats, StoppedServer } from './generated/engine.js';

export interface ServerOptions {
  /** `[v6addr]:port`; port 0 picks one. Default: the engine's (`[::]:4433`). */
  listen?: string;
  /** Worker threads sharing the port (SO_REUSEPORT). Default: the engine's (1). */
  threads?: number;
  /** PEM certificate and key files; a self-signed certificate is generated when absent. */
  cert?: string;
  key?: string;
  /** Transport settings the server sends with (congestion control, windows, pacing, payload size). */
  settings?: SettingsInput;
  /** Write a qlog per connection into this directory. */
  qlogDir?: string;
  /** Connections beyond this are refused with application error 2 (rejected). Default: the engine's. */
  maxConnections?: number;
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
    const server = callNative(() =>
      native.NativeServer.start({
        listen: options.listen,
        threads: options.threads,
        cert: options.cert,
        key: options.key,
        settingsJson: options.settings ? JSON.stringify(options.settings) : undefined,
        qlogDir: options.qlogDir,
        maxConnections: options.maxConnections,
      }),
    );
    return new StoqServer(server);
  }

  /** The bound address, e.g. `[::1]:4433`. */
  get address(): string {
    return this.#native.address;
  }

  /** The server's counters now; memory is the process's resident set. Throws once the server is stopped. */
  stats(): ServerStats {
    return fromEngine('serverStats', callNative(() => this.#native.stats()));
  }

  /** Closes every connection cleanly and stops; safe to call more than once. */
  stop(): Promise<StoppedServer> {
    this.#stopped ??= this.#native.stop().then(
      (json) => fromEngine('stopped', json),
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
