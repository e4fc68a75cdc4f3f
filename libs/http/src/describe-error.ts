import { inspect } from 'node:util';

/**
 * What went wrong, in one line for a person, whatever was thrown: an AggregateError (a refused
 * connection to both loopback addresses) has no message of its own, some libraries reject with
 * `undefined`, and a cause often says more than the error around it.
 */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const inner = [...new Set(error.errors.map(describeError))].join('; ');
    return error.message ? `${error.message}: ${inner}` : inner;
  }
  if (error instanceof Error) {
    const message = error.message || (error as NodeJS.ErrnoException).code || error.name;
    return error.cause === undefined ? message : `${message} (${describeError(error.cause)})`;
  }
  if (typeof error === 'string' && error.trim()) {
    return error;
  }
  if (error === undefined || error === null || error === '') {
    return 'it failed without saying why (no error was given)';
  }
  return inspect(error, { breakLength: Infinity, depth: 2 });
}
