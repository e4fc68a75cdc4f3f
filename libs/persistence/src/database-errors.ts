import { QueryFailedError } from 'typeorm';

const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  // postgres.js (the pipelined client): no connection within the timeout, or one lost or closed.
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
]);

// SQLSTATE class 08 (connection exception), 57P01..57P03 (shutdown, crash, cannot connect now),
// 53300 (too many connections).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Connection is not established',
  'Client has encountered a connection error',
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True when the error means "the database cannot be reached right now" rather than "this query is
 * wrong": the HTTP layer answers 503 and the pool reconnects on its own when the server is back.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  if (!(cause instanceof Error)) {
    return false;
  }
  const code = codeOf(cause);
  if (code && (UNAVAILABLE_NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
    return true;
  }
  return UNAVAILABLE_MESSAGES.some((message) => cause.message.includes(message));
}

/**
 * True when the error is PostgreSQL's unique violation (23505) of the named constraint or index
 * (node-postgres names it `constraint`, postgres.js `constraint_name`).
 */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError: unknown = error instanceof QueryFailedError ? error.driverError : error;
  const named = driverError as { constraint?: unknown; constraint_name?: unknown };
  return (
    codeOf(driverError) === '23505' &&
    (named.constraint === constraint || named.constraint_name === constraint)
  );
}
