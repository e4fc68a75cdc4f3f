import { OPERATOR_ROLES } from '@gatehouse/identity';
import { DEFAULT_CAPABILITIES } from '@gatehouse/nest-auth';
import { describe, expect, it } from 'vitest';

describe('operator roles', () => {
  it('are exactly the roles nest-auth gives admin-api capabilities to', () => {
    expect([...OPERATOR_ROLES].sort()).toEqual(Object.keys(DEFAULT_CAPABILITIES).sort());
  });
});
