import { Injectable } from '@nestjs/common';
import { Database, type User, type UserCursor, type UserListRow } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { UserNotFoundError } from '../identity.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import { SessionCache } from '../sessions/session-cache.js';
import type { ClientContext } from '../sessions/session.service.js';
import { normalizeEmail } from './email.js';

/** Operators' actions on accounts (admin-api); each one is audited with the operator. */
@Injectable()
export class UserAdministrationService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
    private readonly sessionCache: SessionCache,
  ) {}

  /** Every user newest first, or those whose email starts with `emailPrefix`; `limit + 1` rows. */
  list(
    emailPrefix: string | undefined,
    cursor: UserCursor | null,
    limit: number,
  ): Promise<UserListRow[]> {
    const prefix = emailPrefix === undefined ? undefined : normalizeEmail(emailPrefix);
    return this.database.users.listPage(prefix || undefined, cursor, limit);
  }

  async get(id: string): Promise<User> {
    const user = await this.database.users.findById(id);
    if (!user) {
      throw new UserNotFoundError();
    }
    return user;
  }

  /** The roles a live account holds now; null when it is gone or disabled. */
  async currentRoles(id: string): Promise<readonly string[] | null> {
    const user = await this.database.users.findById(id);
    return user && user.disabledAt === null ? user.roles : null;
  }

  async setRoles(
    id: string,
    roles: readonly string[],
    operatorId: string,
    context: ClientContext,
  ): Promise<User> {
    await this.database.transaction(async (repositories) => {
      if (!(await repositories.users.setRoles(id, [...new Set(roles)]))) {
        throw new UserNotFoundError();
      }
      // Bearer callers' roles are read at each capability check (nest-auth's `currentRoles`); cached
      // cookie sessions are evicted in every process through the feed, so the change applies at once.
      const live = await repositories.sessions.listLiveForUser(id, this.clock.now(), 1000);
      await this.revocations.evictFromCaches(
        repositories,
        live.filter((session) => session.kind === 'cookie').map((session) => session.id),
      );
      repositories.afterCommit(() => Promise.resolve(this.sessionCache.evictUser(id)));
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.user_roles_set',
        subject: `user:${id}`,
        ip: context.ip,
        details: { roles },
      });
    });
    return this.get(id);
  }

  /** Blocks login and refresh, and ends every session of the account at once. */
  async disable(id: string, operatorId: string, context: ClientContext): Promise<User> {
    await this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      if (!(await repositories.users.setDisabledAt(id, at))) {
        throw new UserNotFoundError();
      }
      const revoked = await this.revocations.revokeAllForUser(repositories, id, {
        at,
        reason: 'user_disabled',
        by: `user:${operatorId}`,
      });
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.user_disabled',
        subject: `user:${id}`,
        ip: context.ip,
        details: { revokedSessionIds: revoked },
      });
    });
    return this.get(id);
  }

  async enable(id: string, operatorId: string, context: ClientContext): Promise<User> {
    await this.database.transaction(async (repositories) => {
      if (!(await repositories.users.setDisabledAt(id, null))) {
        throw new UserNotFoundError();
      }
      await this.audit.record(repositories, {
        actor: `user:${operatorId}`,
        action: 'admin.user_enabled',
        subject: `user:${id}`,
        ip: context.ip,
      });
    });
    return this.get(id);
  }
}
