import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { type SignedInUser, SessionService } from '@gatehouse/identity';
import { isTrustedOrigin } from '@gatehouse/nest-auth';
import type { FastifyRequest } from 'fastify';

/** The browser's sign-in at Gatehouse, as the pages see it. */
export interface PageUser extends SignedInUser {
  readonly sessionId: string;
}

/**
 * What every page needs of the browser session: who is signed in (the session cookie of the browser
 * strategy), and whether a form came from one of our pages (Origin, else Referer: the CSRF defence of
 * cookie-authenticated writes).
 */
@Injectable()
export class BrowserSignInReader {
  readonly cookieName: string;
  private readonly ownOrigin: ReadonlySet<string>;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly sessions: SessionService,
  ) {
    this.cookieName = config.session.cookieName;
    this.ownOrigin = new Set([new URL(config.issuer).origin]);
  }

  async current(request: FastifyRequest): Promise<PageUser | null> {
    const token = request.cookies[this.cookieName];
    if (!token) {
      return null;
    }
    const result = await this.sessions.authenticateCookie(token);
    return result.status === 'active'
      ? {
          userId: result.session.userId,
          sessionId: result.session.id,
          authTime: result.session.authTime ?? result.session.createdAt,
          amr: result.session.amr,
        }
      : null;
  }

  fromOwnPage(request: FastifyRequest): boolean {
    return isTrustedOrigin(request.headers, this.ownOrigin);
  }
}
