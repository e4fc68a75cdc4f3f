import { HttpException, HttpStatus } from '@nestjs/common';
import { IdentityError } from '@gatehouse/identity';
import { isDatabaseUnavailableError } from '@gatehouse/persistence';

/** The REST error shape of both apps (outside /oauth, which speaks RFC 6749). */
export interface ErrorBody {
  statusCode: number;
  /** Stable, documented code: clients branch on this, never on `message`. */
  error: string;
  message: string;
  /** Per-field messages of a 400 VALIDATION_FAILED. */
  details?: readonly { field: string; messages: readonly string[] }[];
  /** Present on 5xx so an operator can find the log line. */
  requestId?: string;
}

export interface RenderedError {
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
  /** True when the error is ours to log as a failure (5xx that are not expected outages). */
  readonly unexpected: boolean;
}

const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

const STABLE_CODE = /^[A-Z][A-Z0-9_]+$/;

function codeFor(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
}

/** What a 415 tells the client to do: every REST route reads JSON (some read forms too). */
export const SEND_JSON_MESSAGE = 'Send the body as application/json.';

function fromHttpException(exception: HttpException): ErrorBody {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'object' && response !== null) {
    const { error, message } = response as { error?: unknown; message?: unknown };
    return {
      statusCode: status,
      error: typeof error === 'string' && STABLE_CODE.test(error) ? error : codeFor(status),
      message: typeof message === 'string' ? message : exception.message,
    };
  }
  // Fastify's own errors reach us wrapped by Nest with their bare message ("Unsupported Media Type").
  const message = status === 415 ? SEND_JSON_MESSAGE : String(response);
  return { statusCode: status, error: codeFor(status), message };
}

/** Client errors raised by Fastify itself (body parsing, size, media type) carry `statusCode` < 500. */
function fromFrameworkError(error: unknown): ErrorBody | undefined {
  const { statusCode, message } = (error ?? {}) as { statusCode?: unknown; message?: unknown };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      statusCode,
      error: codeFor(statusCode),
      message: typeof message === 'string' ? message : (HttpStatus[statusCode] ?? 'Bad request'),
    };
  }
  return undefined;
}

/**
 * Maps anything thrown while serving a request to the public error body. Below 500 the body is
 * precise; at 500 it says nothing but the request id (the stack goes to the log only).
 */
export function renderError(exception: unknown, requestId: string): RenderedError {
  if (exception instanceof IdentityError) {
    const details =
      'details' in exception ? (exception.details as ErrorBody['details']) : undefined;
    const body: ErrorBody = {
      statusCode: exception.status,
      error: exception.code,
      message: exception.message,
      ...(exception.status >= 500 ? { requestId } : {}),
    };
    return {
      body: details ? { ...body, details } : body,
      headers: exception.headers,
      unexpected: false,
    };
  }
  if (exception instanceof HttpException) {
    const body = fromHttpException(exception);
    // A deliberate 5xx (e.g. NOT_READY) is an outage to report, not a bug to log with its stack.
    return {
      body: body.statusCode >= 500 ? { ...body, requestId } : body,
      headers: {},
      unexpected: false,
    };
  }
  if (isDatabaseUnavailableError(exception)) {
    return {
      body: {
        statusCode: 503,
        error: 'DATABASE_UNAVAILABLE',
        message: 'The service is temporarily unavailable. Retry shortly.',
        requestId,
      },
      headers: { 'retry-after': '5' },
      unexpected: false,
    };
  }
  const clientError = fromFrameworkError(exception);
  if (clientError) {
    return { body: clientError, headers: {}, unexpected: false };
  }
  return {
    body: { statusCode: 500, error: 'INTERNAL_ERROR', message: 'Internal server error', requestId },
    headers: {},
    unexpected: true,
  };
}
