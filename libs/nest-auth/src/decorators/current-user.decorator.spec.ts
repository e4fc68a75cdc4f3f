import { describe, expect, it } from 'vitest';

import { DEFAULT_CAPABILITIES } from '../capabilities.js';
import { Caller } from '../current-user.js';
import { CALLER_KEY, currentUserOf } from './current-user.decorator.js';

describe(currentUserOf.name, () => {
  it('returns the caller the guard left on the request, as @CurrentUser() injects it', () => {
    const caller = new Caller(
      {
        id: 'u1',
        kind: 'user',
        credential: 'bearer',
        sessionId: 's1',
        clientId: 'c1',
        roles: [],
        scopes: ['account'],
      },
      DEFAULT_CAPABILITIES,
    );
    expect(currentUserOf({ [CALLER_KEY]: caller })).toBe(caller);
  });

  it('throws on a request no guard authenticated instead of answering for nobody', () => {
    expect(() => currentUserOf({})).toThrow(/no authenticated caller/);
  });
});
