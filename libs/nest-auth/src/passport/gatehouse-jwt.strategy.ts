import { createPublicKey, type JsonWebKey, KeyObject, webcrypto } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { decodeProtectedHeader, type JWTHeaderParameters, type JWTPayload } from 'jose';
import passport from 'passport';
import { Strategy as JwtStrategy, type StrategyOptions } from 'passport-jwt';

import {
  GatehouseAuthError,
  InvalidTokenError,
  MissingCredentialsError,
  TokenExpiredError,
  VerificationUnavailableError,
} from '../auth.errors.js';
import type { Caller } from '../current-user.js';
import { CALLER_KEY } from '../decorators/current-user.decorator.js';
import { bearerTokenOf } from '../guards/bearer-token.js';
import type { GuardedRequest } from '../guards/http-exchange.js';
import { needsAuthorization } from '../guards/route-policy.js';
import {
  type AccessTokenClaims,
  type AccessTokenRules,
  type AccessTokenVerification,
  isKeySetUnreachable,
} from '../tokens/access-token.verifier.js';
import {
  GATEHOUSE_STRATEGY,
  PASSPORT_HANDOFF_KEY,
  type PassportHandoff,
  recogniseStrategyGuard,
} from './passport-route.js';

/**
 * A Passport strategy for Gatehouse access tokens, registered as `'gatehouse'`, for apps that
 * protect routes with `@UseGuards(AuthGuard('gatehouse'))`. Add it to the app's providers (beside
 * `GatehouseAuthModule`, whose global guard stays the default and leaves such routes to it: a token
 * is verified once per request, by one of them).
 *
 * passport-jwt verifies the token (signature, pinned algorithms, iss, aud, exp and nbf) under the
 * rules of the app's `accessTokens` verifier, with a key from the same key source (imported once
 * per key, handed to jsonwebtoken as a `KeyObject`); the strategy adds `typ` and the required
 * claims, then the same session and revocation checks, `CurrentUser` and scope and capability
 * checks as `AuthenticationGuard`, and answers refusals with the same status, body and
 * `WWW-Authenticate`. A token verified before (by either path) skips the signature, as it does in
 * the guard; `exp`, `nbf` and revocation are checked on every request.
 */
@Injectable()
export class GatehouseJwtStrategy extends PassportStrategy(passport.Strategy, GATEHOUSE_STRATEGY) {
  private readonly keyObjects = new WeakMap<object, KeyObject>();
  private readonly passportJwts = new WeakMap<AccessTokenRules, JwtStrategy>();

  constructor() {
    super();
    // From now on the global guard leaves routes with AuthGuard('gatehouse') to this strategy.
    recogniseStrategyGuard(AuthGuard(GATEHOUSE_STRATEGY));
  }

  /** Passport's entry point, on a per-request copy of the strategy (with `success`, `fail`, `error`). */
  override authenticate(incoming: unknown): void {
    const request = incoming as GuardedRequest;
    const handoff = request[PASSPORT_HANDOFF_KEY] as PassportHandoff | undefined;
    if (!handoff) {
      // Without the route's policy its scopes and capabilities could not be enforced.
      this.error(
        new Error("AuthGuard('gatehouse') runs behind GatehouseAuthModule's global guard"),
      );
      return;
    }
    const token = bearerTokenOf(handoff.exchange.header('authorization'));
    try {
      if (token === undefined) {
        throw new MissingCredentialsError();
      }
      const rules = verificationOf(handoff).rules();
      const claims = rules.recall(token);
      if (claims) {
        this.admit(request, claims, false).then(
          (caller) => this.success(caller),
          (error: unknown) => this.error(error as Error),
        );
        return;
      }
      this.verifyWithPassportJwt(request, handoff, rules);
    } catch (error) {
      this.refuse(handoff, error);
    }
  }

  /** passport-jwt's verify callback, for a token it has just verified. */
  validate(request: GuardedRequest, payload: JWTPayload): Promise<Caller> {
    return this.admit(request, payload, true);
  }

  /**
   * The verified token's caller: its required claims, the verifier's own session checks, the
   * revocation list, then the route's scopes and capabilities. `fresh`: verified by passport-jwt
   * just now, not recalled from the verified-token cache.
   */
  private async admit(
    request: GuardedRequest,
    payload: JWTPayload,
    fresh: boolean,
  ): Promise<Caller> {
    const handoff = request[PASSPORT_HANDOFF_KEY] as PassportHandoff;
    const { exchange, policy } = handoff;
    let caller: Caller;
    try {
      caller = await callerOf(handoff, payload, fresh);
    } catch (error) {
      handoff.callers.answerRefusal(exchange, error);
      throw error;
    }
    request[CALLER_KEY] = caller;
    if (needsAuthorization(policy)) {
      caller = await handoff.authorization.authorize(exchange, caller, policy);
      request[CALLER_KEY] = caller;
    }
    return caller;
  }

  /** A token seen for the first time: passport-jwt verifies it, then calls `validate`. */
  private verifyWithPassportJwt(
    request: GuardedRequest,
    handoff: PassportHandoff,
    rules: AccessTokenRules,
  ): void {
    const attempt = Object.create(this.passportJwtFor(rules)) as PassportActions & {
      authenticate(request: GuardedRequest): void;
    };
    attempt.success = (caller) => this.success(caller);
    attempt.fail = (challenge) => this.refuse(handoff, refusalOf(challenge));
    attempt.error = (error) => this.error(error);
    attempt.authenticate(request);
  }

  private passportJwtFor(rules: AccessTokenRules): JwtStrategy {
    let jwt = this.passportJwts.get(rules);
    if (!jwt) {
      jwt = this.newPassportJwt(rules);
      this.passportJwts.set(rules, jwt);
    }
    return jwt;
  }

  /**
   * passport-jwt configured with the verifier's rules, built when they are first known (an app whose
   * verifier waits for the issuer's discovery document knows its issuer and audience only then). An
   * arrow function: its callbacks hold the strategy, not the per-request copy that built it.
   */
  private readonly newPassportJwt = (rules: AccessTokenRules): JwtStrategy =>
    new JwtStrategy(
      {
        jwtFromRequest: (request: GuardedRequest) =>
          bearerTokenOf(request.headers['authorization'] as string | undefined) ?? null,
        secretOrKeyProvider: (_request, token: string, done) => {
          // jsonwebtoken 9 takes a KeyObject; @types/passport-jwt still says PEM string or Buffer.
          this.keyOf(token, rules).then((key) => done(null, key as unknown as Buffer), done);
        },
        issuer: rules.issuer,
        audience: [...rules.audience],
        algorithms: [...rules.algorithms] as StrategyOptions['algorithms'],
        jsonWebTokenOptions: { clockTolerance: rules.clockToleranceSeconds },
        passReqToCallback: true,
      },
      (request: GuardedRequest, payload: JWTPayload, done) => {
        this.validate(request, payload).then((caller) => done(null, caller), done);
      },
    );

  /**
   * The verification key by the token's `kid`, from the verifier's own key source (its cache, its
   * unknown-kid refetch rule), as a `KeyObject` made once per key. The header is checked first, as
   * jose does: an algorithm outside the pinned ones, or a `typ` other than `at+jwt`, is refused
   * before any key is looked up.
   */
  private async keyOf(token: string, rules: AccessTokenRules): Promise<KeyObject> {
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWTHeaderParameters;
    } catch {
      throw new InvalidTokenError();
    }
    if (
      header.alg === undefined ||
      !rules.algorithms.includes(header.alg) ||
      header.crit !== undefined ||
      mediaType(header.typ) !== rules.typ
    ) {
      throw new InvalidTokenError();
    }
    const [protectedHeader, payload = '', signature = ''] = token.split('.');
    let key: unknown;
    try {
      key = await rules.keys(header, { protected: protectedHeader, payload, signature });
    } catch (error) {
      throw isKeySetUnreachable(error)
        ? new VerificationUnavailableError()
        : new InvalidTokenError();
    }
    return this.keyObjectOf(key);
  }

  /** jose resolves each key once per key set (a `CryptoKey`); its `KeyObject` is made once too. */
  private keyObjectOf(key: unknown): KeyObject {
    if (key instanceof KeyObject) {
      return key;
    }
    if (key instanceof Uint8Array || typeof key !== 'object' || key === null) {
      throw new InvalidTokenError();
    }
    let keyObject = this.keyObjects.get(key);
    if (!keyObject) {
      keyObject =
        'kty' in key
          ? createPublicKey({ key: key as JsonWebKey, format: 'jwk' })
          : KeyObject.from(key as webcrypto.CryptoKey);
      this.keyObjects.set(key, keyObject);
    }
    return keyObject;
  }

  /** A refusal before `validate` ran: the guard's status, body and headers for the same case. */
  private refuse({ exchange, callers }: PassportHandoff, error: unknown): void {
    if (error instanceof MissingCredentialsError) {
      exchange.setHeader('WWW-Authenticate', callers.challenge);
    } else {
      callers.answerRefusal(exchange, error);
    }
    this.error(error);
  }
}

function verificationOf(handoff: PassportHandoff): AccessTokenVerification {
  if (!handoff.verification) {
    throw new InvalidTokenError('Bearer tokens are not accepted here.');
  }
  return handoff.verification;
}

/**
 * A token verified just now (`fresh`, by passport-jwt) or recalled from the verifier's cache: its
 * required claims, the verifier's own session checks, then the revocation list and its `Caller`.
 */
async function callerOf(
  handoff: PassportHandoff,
  payload: JWTPayload,
  fresh: boolean,
): Promise<Caller> {
  const verification = verificationOf(handoff);
  const rules = verification.rules();
  const token = bearerTokenOf(handoff.exchange.header('authorization'))!;
  const claims = payload as AccessTokenClaims;
  if (fresh) {
    if (rules.requiredClaims.some((claim) => payload[claim] === undefined)) {
      throw new InvalidTokenError();
    }
    rules.remember(token, claims);
  }
  if (verification.checksSessionsAtPlatform) {
    await rules.checkSession(token, claims);
  }
  return handoff.callers.callerOf(token, claims, verification.checksSessionsAtPlatform);
}

/** The actions Passport gives each per-request copy of a strategy. */
interface PassportActions {
  success(user: Caller): void;
  fail(challenge?: unknown): void;
  error(error: Error): void;
}

/** passport-jwt's failures: our key lookup's own error, or jsonwebtoken's. */
function refusalOf(challenge: unknown): GatehouseAuthError {
  if (challenge instanceof GatehouseAuthError) {
    return challenge;
  }
  if (challenge instanceof Error && challenge.name === 'TokenExpiredError') {
    return new TokenExpiredError();
  }
  return new InvalidTokenError();
}

/** RFC 7515 §4.1.9 as jose compares it: case-insensitive, `application/` optional. */
function mediaType(typ: string | undefined): string | undefined {
  return typ?.toLowerCase().replace(/^application\//, '');
}
