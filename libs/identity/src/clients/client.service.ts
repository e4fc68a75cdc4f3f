import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  type Client,
  type ClientChanges,
  Database,
  isUniqueViolation,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  ClientNotFoundError,
  ClientProtectedError,
  ValidationFailedError,
} from '../identity.errors.js';
import { RevocationService } from '../revocations/revocation.service.js';
import { RESERVED_SCOPES } from '../oauth/delegation.js';
import { OPENID_CONNECT_SCOPES } from '../oauth/granted-scope.js';
import { invalidClient, invalidRequest } from '../oauth/oauth.errors.js';
import { checkOutboundUrl } from '../outbound/outbound-policy.js';
import { ClientCache } from './client-cache.js';
import { assertRegistrable } from './client-rules.js';
import { clientSecretMatches, generateClientSecret, hashClientSecret } from './client-secret.js';

export type GrantType =
  | 'password'
  | 'authorization_code'
  | 'refresh_token'
  | 'client_credentials'
  | 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 6749 Appendix A.1: client_id is VSCHAR (%x20-7E); at most the column's 128 characters. */
export const CLIENT_ID_SHAPE = /^[\x20-\x7e]{1,128}$/;

/** The unique index on resource indicators, answered as the field it is about. */
function audienceTaken(error: unknown): never {
  if (isUniqueViolation(error, 'clients_audience_key')) {
    throw new ValidationFailedError([
      { field: 'audience', messages: ['audience is the resource indicator of another client'] },
    ]);
  }
  throw error;
}

/** A public client presented without a secret, or a confidential one with its secret. */
function credentialsMatch(client: Client, credentials: ClientCredentials): boolean {
  return client.secretHash === null
    ? credentials.clientSecret === null
    : credentials.clientSecret !== null &&
        clientSecretMatches(credentials.clientSecret, client.secretHash);
}

/** Whether the change took a scope, a grant type or first-party status away. */
function narrows(before: Client, after: Client): boolean {
  const lost = (was: readonly string[], now: readonly string[]) =>
    was.some((x) => !now.includes(x));
  return (
    lost(before.scopes, after.scopes) ||
    lost(before.grantTypes, after.grantTypes) ||
    (before.firstParty && !after.firstParty)
  );
}

/** The change, with the password grant kept where the client has it. */
function keepPasswordGrant(before: Client, changes: ClientChanges): ClientChanges {
  const grantTypes = changes.grantTypes;
  if (!grantTypes || !before.grantTypes.includes('password') || grantTypes.includes('password')) {
    return changes;
  }
  return { ...changes, grantTypes: ['password', ...grantTypes] };
}

export interface NewClientRequest {
  readonly name: string;
  readonly grantTypes: readonly GrantType[];
  readonly scopes?: readonly string[];
  readonly redirectUris?: readonly string[];
  /** Where RP-initiated logout may return the browser to (exact match). */
  readonly postLogoutRedirectUris?: readonly string[];
  /** Public clients (native apps, CLIs) have no secret (RFC 6749 §2.1). */
  readonly public?: boolean;
  /** Default true: the consent page for this client's users (first-party clients never see one). */
  readonly requireConsent?: boolean;
  /** Default false: authorization requests without `state` are refused. */
  readonly requireState?: boolean;
  /** Default false: an app of the platform's own, which may hold the reserved scopes. */
  readonly firstParty?: boolean;
  /** Default false: may introspect tokens (RFC 7662 §2.1); needs a secret. */
  readonly resourceServer?: boolean;
  /** A resource server's resource indicator (RFC 8707): the `aud` of tokens minted for it. */
  readonly audience?: string | null;
  /** OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed (SSRF-checked). */
  readonly backchannelLogoutUri?: string | null;
  /** Default false: the client needs `sid` in its logout tokens (always sent). */
  readonly backchannelLogoutSessionRequired?: boolean;
}

export interface CreatedClient {
  readonly client: Client;
  /** Shown once; only its hash is stored. Null for a public client. */
  readonly clientSecret: string | null;
}

/** How the client presented itself (RFC 6749 §2.3.1): exactly one method per request. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string | null;
}

@Injectable()
export class ClientService {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly audit: AuditService,
    private readonly revocations: RevocationService,
    private readonly clock: Clock,
    private readonly cache: ClientCache,
  ) {}

  /**
   * The platform's own public client for its mobile and CLI apps (password and device grants),
   * created once; operators edit it through admin-api from then on.
   */
  async ensureFirstPartyClient(): Promise<void> {
    await this.database.clients.insertUnlessExists({
      id: this.config.tokens.firstPartyClientId,
      name: 'Gatehouse first-party apps',
      secretHash: null,
      grantTypes: ['password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      scopes: [...OPENID_CONNECT_SCOPES, ...RESERVED_SCOPES],
      firstParty: true,
    });
  }

  private get reservedAudiences() {
    return { default: this.config.tokens.audience, admin: this.config.tokens.adminAudience };
  }

  /** `actor`: the operator creating it (audited), or system code and tests. */
  async create(request: NewClientRequest, actor = 'system'): Promise<CreatedClient> {
    this.assertLogoutUri(request.backchannelLogoutUri);
    assertRegistrable(
      {
        grantTypes: request.grantTypes,
        redirectUris: request.redirectUris ?? [],
        scopes: request.scopes ?? [],
        firstParty: request.firstParty ?? false,
        resourceServer: request.resourceServer ?? false,
        confidential: !request.public,
        audience: request.audience ?? null,
      },
      this.reservedAudiences,
    );
    const clientSecret = request.public ? null : generateClientSecret();
    const client = await this.database
      .transaction(async (repositories) => {
        const created = await repositories.clients.insert({
          id: randomUUID(),
          name: request.name,
          secretHash: clientSecret === null ? null : hashClientSecret(clientSecret),
          grantTypes: request.grantTypes,
          scopes: request.scopes ?? [],
          redirectUris: request.redirectUris ?? [],
          postLogoutRedirectUris: request.postLogoutRedirectUris ?? [],
          firstParty: request.firstParty ?? false,
          requireConsent: request.requireConsent ?? true,
          requireState: request.requireState ?? false,
          resourceServer: request.resourceServer ?? false,
          audience: request.audience ?? null,
          backchannelLogoutUri: request.backchannelLogoutUri ?? null,
          backchannelLogoutSessionRequired: request.backchannelLogoutSessionRequired ?? false,
        });
        await this.audit.record(repositories, {
          actor,
          action: 'admin.client_created',
          subject: `client:${created.id}`,
          details: {
            name: request.name,
            grantTypes: request.grantTypes,
            scopes: request.scopes ?? [],
            public: !clientSecret,
            firstParty: request.firstParty ?? false,
            resourceServer: request.resourceServer ?? false,
            audience: request.audience ?? null,
            backchannelLogoutUri: request.backchannelLogoutUri ?? null,
          },
        });
        return created;
      })
      .catch(audienceTaken);
    return { client, clientSecret };
  }

  list(): Promise<Client[]> {
    return this.database.clients.list();
  }

  async get(id: string): Promise<Client> {
    const client = await this.database.clients.findById(id);
    if (!client) {
      throw new ClientNotFoundError();
    }
    return client;
  }

  /**
   * A change that takes power away (a scope or grant type removed, first-party status withdrawn)
   * ends the client's sessions and its own tokens at once, through the feed: those access tokens
   * still carry the old scope, and nothing else would stop them for up to ACCESS_TOKEN_TTL.
   * The platform's first-party client is edited like any other, but stays first-party and keeps its
   * password grant, which admin-api neither registers nor removes (RFC 9700 §2.4).
   */
  update(id: string, requested: ClientChanges, actor: string): Promise<Client> {
    if (this.isPlatformClient(id) && requested.firstParty === false) {
      throw new ClientProtectedError('The first-party client stays first-party.');
    }
    this.assertLogoutUri(requested.backchannelLogoutUri);
    return this.database
      .transaction(async (repositories) => {
        const before = await repositories.clients.findById(id);
        const changes =
          before && this.isPlatformClient(id) ? keepPasswordGrant(before, requested) : requested;
        const client = before && (await repositories.clients.update(id, changes));
        if (!before || !client) {
          throw new ClientNotFoundError();
        }
        // Checked on the result, inside the transaction: a bad combination rolls the change back.
        assertRegistrable(
          { ...client, confidential: client.secretHash !== null },
          this.reservedAudiences,
        );
        const at = this.clock.now();
        let revoked: string[] = [];
        if (narrows(before, client)) {
          revoked = await this.revocations.revokeAllForClient(repositories, id, {
            at,
            reason: 'client_narrowed',
            by: actor,
          });
          await this.revocations.revokeClientTokens(repositories, id, at);
        }
        await this.revocations.forgetClient(repositories, id);
        await this.audit.record(repositories, {
          actor,
          action: 'admin.client_updated',
          subject: `client:${id}`,
          details: { ...changes, ...(revoked.length > 0 ? { revokedSessionIds: revoked } : {}) },
        });
        return client;
      })
      .catch(audienceTaken);
  }

  /** A new secret, shown once; the old one stops working at once. */
  async rotateSecret(id: string, actor: string): Promise<string> {
    const client = await this.get(id);
    if (client.secretHash === null) {
      throw new ClientProtectedError('A public client has no secret to rotate.');
    }
    const secret = generateClientSecret();
    await this.database.transaction(async (repositories) => {
      await repositories.clients.setSecretHash(id, hashClientSecret(secret));
      await this.revocations.forgetClient(repositories, id);
      await this.audit.record(repositories, {
        actor,
        action: 'admin.client_secret_rotated',
        subject: `client:${id}`,
      });
    });
    return secret;
  }

  /** Ends every session and token of the client (feed included), then removes it and them. */
  async delete(id: string, actor: string): Promise<void> {
    if (this.isPlatformClient(id)) {
      throw new ClientProtectedError(
        'The first-party client cannot be deleted; change its scopes or redirect URIs instead.',
      );
    }
    await this.database.transaction(async (repositories) => {
      const at = this.clock.now();
      const revoked = await this.revocations.revokeAllForClient(repositories, id, {
        at,
        reason: 'client_deleted',
        by: actor,
      });
      await this.revocations.revokeClientTokens(repositories, id, at);
      await repositories.sessions.deleteForClient(id);
      if (!(await repositories.clients.delete(id))) {
        throw new ClientNotFoundError();
      }
      await this.audit.record(repositories, {
        actor,
        action: 'admin.client_deleted',
        subject: `client:${id}`,
        details: { revokedSessionIds: revoked },
      });
    });
  }

  /**
   * A back-channel logout URI must be one the SSRF guard would call (checked again at every delivery,
   * with the addresses its host resolves to) and carry no fragment (Back-Channel Logout 1.0 §2.2).
   */
  private assertLogoutUri(uri: string | null | undefined): void {
    if (uri === null || uri === undefined) {
      return;
    }
    const refusal = checkOutboundUrl(uri, this.config.outbound);
    const problem = refusal
      ? `backchannelLogoutUri is refused (${refusal.reason}): ${refusal.message}`
      : uri.includes('#')
        ? 'backchannelLogoutUri must not contain a fragment'
        : null;
    if (problem) {
      throw new ValidationFailedError([{ field: 'backchannelLogoutUri', messages: [problem] }]);
    }
  }

  /** The client of FIRST_PARTY_CLIENT_ID, created at start-up. */
  private isPlatformClient(id: string): boolean {
    return id === this.config.tokens.firstPartyClientId;
  }

  /**
   * A confidential client must prove its secret; a public client only names itself. Unknown client,
   * wrong secret and missing secret all answer the same `invalid_client`.
   */
  async authenticate(credentials: ClientCredentials | null): Promise<Client> {
    if (!credentials) {
      throw invalidClient('Client authentication is required.');
    }
    const cached = this.cache.get(credentials.clientId);
    // Only a cached client the credentials satisfy is answered from memory: anything else (a secret
    // rotated a moment ago, say) is judged against the row as PostgreSQL has it now.
    if (cached && credentialsMatch(cached, credentials)) {
      return cached;
    }
    const epoch = this.cache.epoch;
    const client = CLIENT_ID_SHAPE.test(credentials.clientId)
      ? await this.database.clients.findById(credentials.clientId)
      : null;
    if (!client) {
      throw invalidClient();
    }
    this.cache.set(client, epoch);
    if (!credentialsMatch(client, credentials)) {
      throw client.secretHash === null
        ? invalidRequest('A public client has no secret.')
        : invalidClient();
    }
    return client;
  }
}
