import { Injectable } from '@nestjs/common';
import { Database } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { CLIENT_ID_SHAPE } from '../clients/client.service.js';
import { RevocationService } from '../revocations/revocation.service.js';
import type { ClientContext } from '../sessions/session.service.js';
import { AccessTokenIssuer } from '../tokens/access-token.issuer.js';
import { AuthorizationPageError, OPAQUE_MAX, OPAQUE_VALUE } from './authorization.service.js';

/** The query (or form) of the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2). */
export interface EndSessionParams {
  readonly id_token_hint?: string;
  readonly post_logout_redirect_uri?: string;
  readonly state?: string;
  readonly client_id?: string;
}

/** A logout request that passed every check: what the user is asked to confirm. */
export interface EndSessionRequest {
  readonly client: { readonly id: string; readonly name: string } | null;
  /** From a valid `id_token_hint`: the user and the token session the client wants ended. */
  readonly hint: { readonly userId: string; readonly sessionId: string | null } | null;
  readonly redirectUri: string | null;
  readonly state: string | null;
}

/** The browser's own sign-in at Gatehouse (its cookie session), when it has one. */
export interface BrowserSignIn {
  readonly userId: string;
  readonly sessionId: string;
}

const ID_TOKEN_MAX = 8192;

/** Whether `uri` parses as an absolute URL (what `locationAfter` builds the redirect from). */
function isAbsoluteUrl(uri: string): boolean {
  try {
    new URL(uri);
    return true;
  } catch {
    return false;
  }
}

/**
 * RP-initiated logout: a client sends the browser here to end the user's session. The request is
 * checked (a hint must be an ID token of ours for the client; a post-logout redirect must be
 * registered for it, exactly), then confirmed by the user on a page of ours, so that a cross-site
 * link cannot sign anyone out (logout CSRF). Confirmation ends both the browser's sign-in and the
 * token session the ID token was issued in, in one transaction, and reaches every service through the
 * revocation feed.
 */
@Injectable()
export class EndSessionService {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly tokens: AccessTokenIssuer,
    private readonly revocations: RevocationService,
    private readonly audit: AuditService,
  ) {}

  async validate(params: EndSessionParams): Promise<EndSessionRequest> {
    let hint: EndSessionRequest['hint'] = null;
    let clientId = params.client_id;
    if (clientId !== undefined && !CLIENT_ID_SHAPE.test(clientId)) {
      throw new AuthorizationPageError('invalid_request', 'The client is not registered.');
    }
    if (params.id_token_hint !== undefined) {
      const verified =
        params.id_token_hint.length <= ID_TOKEN_MAX
          ? await this.tokens.verifyIdTokenHint(params.id_token_hint)
          : null;
      if (!verified || (clientId !== undefined && clientId !== verified.clientId)) {
        throw new AuthorizationPageError(
          'invalid_request',
          'The id_token_hint is not an ID token issued to this client.',
        );
      }
      hint = { userId: verified.subject, sessionId: verified.sessionId };
      clientId = verified.clientId;
    }
    const client = clientId !== undefined ? await this.database.clients.findById(clientId) : null;
    if (clientId !== undefined && !client) {
      throw new AuthorizationPageError('invalid_request', 'The client is not registered.');
    }
    const redirectUri = params.post_logout_redirect_uri ?? null;
    if (
      redirectUri !== null &&
      (!client?.postLogoutRedirectUris.includes(redirectUri) || !isAbsoluteUrl(redirectUri))
    ) {
      // Never redirect anywhere unregistered (open redirect); without a client we cannot tell.
      // A registered value that is no absolute URL (`rp.example/bye`) cannot be a Location either.
      throw new AuthorizationPageError(
        'invalid_request',
        'The post_logout_redirect_uri is not registered for this client.',
      );
    }
    if (params.state !== undefined && !OPAQUE_VALUE.test(params.state)) {
      throw new AuthorizationPageError(
        'invalid_request',
        `state must be 1 to ${OPAQUE_MAX} printable characters.`,
      );
    }
    return {
      client: client ? { id: client.id, name: client.name } : null,
      hint,
      redirectUri,
      state: redirectUri !== null ? (params.state ?? null) : null,
    };
  }

  /**
   * Confirmed: ends the browser's sign-in and the hinted token session (if it is still the hinted
   * user's), and answers where the browser goes next (null: our signed-out page).
   */
  async end(
    request: EndSessionRequest,
    browser: BrowserSignIn | null,
    context: ClientContext,
  ): Promise<string | null> {
    const ending = new Map<string, string[]>();
    const add = (userId: string, sessionId: string) =>
      ending.set(userId, [...(ending.get(userId) ?? []), sessionId]);
    if (browser) {
      add(browser.userId, browser.sessionId);
    }
    if (request.hint?.sessionId) {
      const session = await this.database.sessions.findSummary(request.hint.sessionId);
      if (session && session.userId === request.hint.userId) {
        add(session.userId, session.id);
      }
    }
    if (ending.size > 0) {
      await this.database.transaction(async (repositories) => {
        const at = this.clock.now();
        for (const [userId, sessionIds] of ending) {
          const revoked = await this.revocations.revokeSessions(repositories, sessionIds, {
            at,
            reason: 'logout',
            by: `user:${userId}`,
          });
          if (revoked.length > 0) {
            await this.audit.record(repositories, {
              actor: `user:${userId}`,
              action: 'session.logout',
              subject: `user:${userId}`,
              ip: context.ip,
              details: {
                sessionIds: revoked,
                reason: 'logout',
                clientId: request.client?.id ?? null,
              },
            });
          }
        }
      });
    }
    return this.locationAfter(request);
  }

  /** The registered post-logout redirect with `state`, or null for our own signed-out page. */
  locationAfter(request: EndSessionRequest): string | null {
    if (request.redirectUri === null) {
      return null;
    }
    const location = new URL(request.redirectUri);
    if (request.state !== null) {
      location.searchParams.set('state', request.state);
    }
    return location.href;
  }
}
