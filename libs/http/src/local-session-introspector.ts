import { acrOf, type SessionService } from '@gatehouse/identity';
import type { Caller, SessionIntrospection, SessionIntrospector } from '@gatehouse/nest-auth';
import type { CookieSessionWithUser } from '@gatehouse/persistence';

/** What auth-api's own guard attaches to a cookie caller (`Caller.details`). */
class ValidatedCookieSession {
  constructor(readonly record: CookieSessionWithUser) {}
}

/**
 * The session row and user the guard validated this request with, when the caller came with a
 * session cookie to this process; `GET /me` answers from it instead of reading them again.
 */
export function validatedCookieSession(caller: Caller): CookieSessionWithUser | null {
  return caller.details instanceof ValidatedCookieSession ? caller.details.record : null;
}

/** auth-api validates its own cookies in-process: the same rules, no network hop. */
export class LocalSessionIntrospector implements SessionIntrospector {
  /** One answer per row object: a row served from the session cache is answered without allocating. */
  private readonly answers = new WeakMap<CookieSessionWithUser, SessionIntrospection>();

  constructor(private readonly sessions: SessionService) {}

  async introspect(token: string): Promise<SessionIntrospection> {
    const result = await this.sessions.authenticateCookie(token);
    return result.status === 'active'
      ? this.answerFor(result.session)
      : { active: false, reason: result.status };
  }

  /** A session in the session cache with no idle expiry to slide yet: no promise, no query. */
  recall(token: string): SessionIntrospection | undefined {
    const row = this.sessions.recallCookie(token);
    return row && this.answerFor(row);
  }

  evict(sessionId: string): void {
    this.sessions.forgetSessions([sessionId]);
  }

  private answerFor(row: CookieSessionWithUser): SessionIntrospection {
    let answer = this.answers.get(row);
    if (!answer) {
      answer = {
        active: true,
        sessionId: row.id,
        userId: row.userId,
        roles: row.userRoles,
        authenticatedAt: row.authTime ?? row.createdAt,
        amr: row.amr ?? [],
        acr: acrOf(row.amr),
        details: new ValidatedCookieSession(row),
      };
      this.answers.set(row, answer);
    }
    return answer;
  }
}
