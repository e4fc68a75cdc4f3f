import { describe, expect, it } from 'vitest';

import { describeError } from './describe-error.js';

describe(describeError.name, () => {
  it('names the cause of whatever was thrown, never undefined', () => {
    expect(describeError(new Error('lock file exists'))).toBe('lock file exists');
    expect(describeError('plain text')).toBe('plain text');
    expect(describeError(undefined)).toBe('it failed without saying why (no error was given)');
    expect(describeError({ code: 'E42' })).toBe("{ code: 'E42' }");
  });

  it('lists the errors of an AggregateError that has no message of its own', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    expect(
      describeError(new AggregateError([refused('::1:3000'), refused('127.0.0.1:3000')])),
    ).toBe('connect ECONNREFUSED ::1:3000; connect ECONNREFUSED 127.0.0.1:3000');
  });

  it('adds the cause, and falls back to the code of an error without a message', () => {
    const cause = Object.assign(new Error(''), { code: 'ECONNRESET' });
    expect(describeError(new TypeError('fetch failed', { cause }))).toBe(
      'fetch failed (ECONNRESET)',
    );
  });
});
