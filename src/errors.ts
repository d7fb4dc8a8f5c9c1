import type { ErrorCode as EngineErrorCode } from './generated/engine.js';

/**
 * Stable error codes: the engine's list (`ErrorCode` in crate/engine/src/error.rs), raised by the engine
 * and by TypeScript alike, so a caller can branch on `error.code` without parsing messages. A test checks
 * that this list and the loaded engine's are the same.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT', // bad scenario, flag or option value
  'INVALID_FILE', // a file that is missing, unreadable, malformed or of a foreign format
  'IO', // a socket or file operation failed
  'TLS', // certificate or key could not be loaded or generated, or the TLS handshake failed
  'QUIC', // quiche reported a transport error
  'TIMEOUT', // the peer went silent for longer than the idle timeout
  'PEER', // the peer closed the connection or a stream with an error, or answered short
  'CANCELLED', // the caller aborted
  'INTERNAL', // a bug: an engine thread panicked (caught before it reached Node)
] as const satisfies readonly EngineErrorCode[];

export type ErrorCode = (typeof ERROR_CODES)[number];

export class StoqError extends Error {
  readonly code: ErrorCode;
  /**
   * The argument at fault, when one is: a scenario field as the engine spells it (`connections`,
   * `settings.payloadSize`), or an option (`intervalNs`, `target`, `listen`).
   */
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.name = 'StoqError';
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
  }
}

function isErrorCode(code: unknown): code is ErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code);
}

/**
 * A StoqError from what the engine threw: the engine's JS errors carry their `code` (and `field`) as
 * properties. Anything else thrown through the binding is a bug (`INTERNAL`).
 */
export function fromNative(error: unknown): StoqError {
  if (error instanceof StoqError) return error;
  if (!(error instanceof Error)) return new StoqError('INTERNAL', String(error));
  const { code, field } = error as Error & { code?: unknown; field?: unknown };
  if (!isErrorCode(code)) return new StoqError('INTERNAL', error.message, { cause: error });
  return new StoqError(code, error.message, { cause: error, field: typeof field === 'string' ? field : undefined });
}
