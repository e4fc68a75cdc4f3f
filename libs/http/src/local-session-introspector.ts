import type { SessionService } from '@gatehouse/identity';
import type { SessionIntrospection, SessionIntrospector } from '@gatehouse/nest-auth';

/** auth-api validates its own cookies in-process: the same rules, no network hop. */
export class LocalSessionIntrospector implements SessionIntrospector {
  constructor(private readonly sessions: SessionService) {}

  async introspect(token: string): Promise<SessionIntrospection> {
    const result = await this.sessions.authenticateCookie(token);
    if (result.status !== 'active') {
      return { active: false, reason: result.status };
    }
    const { id, userId, userRoles } = result.session;
    return { active: true, sessionId: id, userId, roles: userRoles };
  }
}
