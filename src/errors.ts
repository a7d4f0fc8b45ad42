// One error class for every Lars failure, with a stable machine-readable code.
// Messages say what went wrong and what to do next.

export type LarsErrorCode =
  | 'ERR_NATIVE_MISSING'
  | 'ERR_NATIVE_STALE'
  | 'ERR_CONFIG'
  | 'ERR_LISTEN'
  | 'ERR_CLOSED'
  | 'ERR_INVALID_INPUT'
  | 'ERR_NOT_FOUND'
  | 'ERR_PROTOCOL'
  | 'ERR_STORE'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_TIMEOUT'
  | 'ERR_NO_HOST'
  | 'ERR_REFUSED'
  | 'ERR_USAGE';

export class LarsError extends Error {
  readonly code: LarsErrorCode;

  constructor(code: LarsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LarsError';
    this.code = code;
  }
}

export function isLarsError(err: unknown, code?: LarsErrorCode): err is LarsError {
  return err instanceof LarsError && (code === undefined || err.code === code);
}
