import { describe, expect, it } from 'vitest';

import { DEFAULT_CAPABILITIES, mergeCapabilities } from './capabilities.js';
import { Caller, type CallerInit } from './current-user.js';

const user = (roles: string[]): CallerInit => ({
  id: 'u1',
  kind: 'user',
  credential: 'cookie',
  sessionId: 's1',
  clientId: null,
  roles,
  scopes: [],
});

describe(Caller.name, () => {
  it('grants an admin every capability of the default map', () => {
    const admin = new Caller(user(['admin']), DEFAULT_CAPABILITIES);
    expect(admin.isAdmin()).toBe(true);
    for (const capability of DEFAULT_CAPABILITIES['admin']!) {
      expect(admin.can(capability)).toBe(true);
    }
  });

  it('lets support read and revoke sessions but not manage clients or keys', () => {
    const support = new Caller(user(['support']), DEFAULT_CAPABILITIES);
    expect(support.isAdmin()).toBe(false);
    expect(support.can('sessions:read')).toBe(true);
    expect(support.can('sessions:revoke')).toBe(true);
    expect(support.can('clients:manage')).toBe(false);
    expect(support.can('keys:manage')).toBe(false);
  });

  it('gives a plain user no capability', () => {
    expect(new Caller(user([]), DEFAULT_CAPABILITIES).can('sessions:read')).toBe(false);
  });

  it('unions capabilities of several roles and of an extended map', () => {
    const map = mergeCapabilities(DEFAULT_CAPABILITIES, {
      support: ['users:manage'],
      editor: ['notes:publish'],
    });
    const caller = new Caller(user(['support', 'editor']), map);
    expect(caller.can('users:manage')).toBe(true);
    expect(caller.can('notes:publish')).toBe(true);
    expect(caller.can('sessions:read')).toBe(true);
    expect(DEFAULT_CAPABILITIES['support']).not.toContain('users:manage');
  });
});
