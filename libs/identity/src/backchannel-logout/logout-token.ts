import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';

import { Clock } from '../clock.js';
import { signCompactJws } from '../signing-keys/jws.js';
import { SigningKeyService } from '../signing-keys/signing-key.service.js';

/** OpenID Connect Back-Channel Logout 1.0 §2.4: the one member of the `events` claim. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** §2.4: explicit typing, so a logout token can never pass for an ID or access token. */
export const LOGOUT_TOKEN_TYPE = 'logout+jwt';
/** §2.4 recommends at most two minutes. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

export interface LogoutTokenSubject {
  /** The RP: the token's only audience. */
  readonly clientId: string;
  readonly userId: string;
  /** The session the client's ID token named (`sid`). */
  readonly sessionId: string;
}

/**
 * Signs logout tokens with the platform's active key (`kid` in the header, like every token of
 * ours), verifiable from the JWKS. Each call is a new token (new `jti`, `iat`): a retry minutes later
 * sends a fresh one rather than an expired one. `sub` and `sid` are always present (§2.4 allows both;
 * clients asking `backchannelLogoutSessionRequired` need `sid`), `nonce` never (§2.4 forbids it).
 */
@Injectable()
export class LogoutTokenIssuer {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly keys: SigningKeyService,
    private readonly clock: Clock,
  ) {}

  async issue(subject: LogoutTokenSubject): Promise<string> {
    const { kid, alg, privateKey } = await this.keys.activeKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return signCompactJws(
      { alg, kid, typ: LOGOUT_TOKEN_TYPE },
      {
        iss: this.config.issuer,
        sub: subject.userId,
        aud: subject.clientId,
        iat: now,
        exp: now + LOGOUT_TOKEN_TTL_SECONDS,
        jti: randomUUID(),
        sid: subject.sessionId,
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      },
      privateKey,
    );
  }
}
