/** Every error the daemon reports has one of these codes; clients branch on the code, people read the message. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'queue_full',
  'payload_too_large',
  'protocol_version',
  'model_not_found',
  'model_invalid',
  'media_unreadable',
  'disk_full',
  'unavailable',
  'cancelled',
  'interrupted',
  'engine_failed',
  'internal',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The wire form of an error: a code, a message that names the field and the fix, and the field's path when one is to blame. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
}

/** The one error class of the project: a code from {@link ERROR_CODES}, a human message, an optional field path and cause. */
export class LongshotError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LongshotError';
    this.code = code;
    this.field = options.field;
  }

  /** The error as it travels in a reply. */
  toBody(): ErrorBody {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

/** Turns anything thrown into an {@link ErrorBody}; unknown errors become `internal` without leaking their stack. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof LongshotError) return err.toBody();
  return { code: 'internal', message: 'internal error: ' + (err instanceof Error ? err.message : String(err)) };
}
