import type { ErrorCode } from '../../shared/errors';

/** The one mapping from error codes to HTTP statuses. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'media_unreadable':
    case 'protocol_version':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
    case 'model_not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'queue_full':
      return 429;
    case 'disk_full':
      return 507;
    case 'unavailable':
      return 503;
    case 'model_invalid':
    case 'engine_failed':
    case 'cancelled':
    case 'interrupted':
    case 'internal':
      return 500;
  }
}
