/**
 * Stable error codes. The engine's codes (from Rust) and those raised in TypeScript share this list, so a
 * caller can branch on `error.code` without parsing messages.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT', // bad scenario, flag or option value
  'INVALID_FILE', // a file that is missing, unreadable, malformed or of a foreign format
  'IO', // a socket or file operation failed
  'TLS', // certificate or key could not be loaded or generated
  'QUIC', // quiche reported a transport error
  'TIMEOUT', // the peer went silent for longer than the idle timeout
  'PEER', // the peer closed the connection or a stream with an error
  'CANCELLED', // the caller aborted
  'INTERNAL', // a bug: an engine thread panicked (caught before it reached Node)
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class StoqError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoqError';
    this.code = code;
  }
}

/** Turns an engine error (its message is prefixed `CODE: `) into a StoqError with that code. */
export function fromNative(error: unknown): StoqError {
  if (error instanceof StoqError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  const code = m && (ERROR_CODES as readonly string[]).includes(m[1]) ? (m[1] as ErrorCode) : 'INTERNAL';
  return new StoqError(code, m ? m[2] : message, { cause: error });
}
