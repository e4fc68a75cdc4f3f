import { createHash } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type PasskeyRow,
  type Repositories,
  type WebAuthnPurpose,
} from '@gatehouse/persistence';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';

import { Clock } from '../clock.js';
import { PasskeyInvalidError } from '../identity.errors.js';

/** A ceremony's answer lives this long: the user picks an authenticator and touches it. */
const CHALLENGE_TTL_SECONDS = 300;
/** What the browser is told to wait for, a little less than the challenge lives. */
const CEREMONY_TIMEOUT_MS = 240_000;

/** `PublicKeyCredential.toJSON()` of a create() or get() (WebAuthn Level 3 §5.1.8, §5.1.9). */
export type WebAuthnResponse = RegistrationResponseJSON | AuthenticationResponseJSON;

/** A passkey the authenticator has just proved possession of. */
export interface VerifiedAssertion {
  readonly passkey: PasskeyRow;
  /** The authenticator verified the user (PIN, biometrics), not only their presence. */
  readonly userVerified: boolean;
}

export interface VerifiedRegistration {
  readonly credentialId: Buffer;
  readonly publicKey: Buffer;
  readonly signCount: number;
  readonly transports: string[];
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The user handle of a user: the 16 bytes of their id (no email or name reaches the authenticator). */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/** The challenge a response answers, read from its clientDataJSON; null if there is none. */
function challengeOf(response: WebAuthnResponse): string | null {
  try {
    const clientData: unknown = JSON.parse(
      Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'),
    );
    const challenge = (clientData as { challenge?: unknown }).challenge;
    return typeof challenge === 'string' && challenge.length > 0 ? challenge : null;
  } catch {
    return null;
  }
}

/**
 * The relying party of WebAuthn (with `@simplewebauthn/server`): its ID is the host name of `ISSUER`
 * and the only origin it accepts is the origin of `ISSUER` (the pages that run the ceremonies are
 * served there). Every ceremony's challenge is stored (its SHA-256), bound to a purpose and a user,
 * and spent before its response is verified, so a response is accepted at most once.
 */
@Injectable()
export class PasskeyCeremonies {
  readonly rpId: string;
  readonly origin: string;
  private readonly rpName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
  ) {
    const issuer = new URL(config.issuer);
    this.rpId = issuer.hostname;
    this.origin = issuer.origin;
    this.rpName = config.mail.productName;
  }

  /** Options for `navigator.credentials.create()`: a discoverable credential, none of `existing`. */
  async registrationOptions(
    user: { readonly id: string; readonly email: string },
    existing: readonly PasskeyRow[],
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: this.rpName,
      rpID: this.rpId,
      userID: userHandle(user.id),
      userName: user.email,
      userDisplayName: user.email,
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({
        id: passkey.credentialId.toString('base64url'),
        transports: passkey.transports as AuthenticatorTransportFuture[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await this.remember(options.challenge, 'register', user.id);
    return options;
  }

  /**
   * Options for `navigator.credentials.get()`: for a passwordless sign-in no credential is named
   * (the authenticator offers its discoverable ones) and user verification is required; for a
   * second step the user's passkeys are named.
   */
  async authenticationOptions(
    purpose: Exclude<WebAuthnPurpose, 'register'>,
    userId: string | null,
    allowed: readonly PasskeyRow[] = [],
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: purpose === 'sign_in' ? 'required' : 'preferred',
      allowCredentials: allowed.map((passkey) => ({
        id: passkey.credentialId.toString('base64url'),
        transports: passkey.transports as AuthenticatorTransportFuture[],
      })),
    });
    await this.remember(options.challenge, purpose, userId);
    return options;
  }

  /** Verifies a create() response to a `register` challenge of this user. */
  async verifyRegistration(
    userId: string,
    response: RegistrationResponseJSON,
  ): Promise<VerifiedRegistration> {
    const challenge = await this.spend(response, 'register', userId, 400);
    const verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      requireUserVerification: false,
    }).catch(() => null);
    if (!verification?.verified) {
      throw new PasskeyInvalidError(400);
    }
    const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
    return {
      credentialId: Buffer.from(credential.id, 'base64url'),
      publicKey: Buffer.from(credential.publicKey),
      signCount: credential.counter,
      transports: credential.transports ?? response.response.transports ?? [],
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
    };
  }

  /**
   * Verifies a get() response to a challenge of this purpose (bound to `userId` for a second step),
   * and records the use: the counter must move on (a counter gone backwards is a cloned
   * authenticator), the backup flag is refreshed. Any failure is the same PasskeyInvalidError.
   */
  async verifyAssertion(
    repositories: Repositories,
    response: AuthenticationResponseJSON,
    purpose: Exclude<WebAuthnPurpose, 'register'>,
    userId: string | null,
  ): Promise<VerifiedAssertion> {
    const challenge = await this.spend(response, purpose, userId, 401);
    const passkey = await repositories.mfa.findPasskeyByCredentialId(
      Buffer.from(response.rawId, 'base64url'),
    );
    if (!passkey || (userId !== null && passkey.userId !== userId)) {
      throw new PasskeyInvalidError();
    }
    // A discoverable credential names its user: it must be the passkey's owner.
    const handle = response.response.userHandle;
    if (handle && handle !== Buffer.from(userHandle(passkey.userId)).toString('base64url')) {
      throw new PasskeyInvalidError();
    }
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      credential: {
        id: passkey.credentialId.toString('base64url'),
        publicKey: new Uint8Array(passkey.publicKey),
        counter: passkey.signCount,
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: purpose === 'sign_in',
    }).catch(() => null);
    if (!verification?.verified) {
      throw new PasskeyInvalidError();
    }
    const { newCounter, credentialBackedUp, userVerified } = verification.authenticationInfo;
    const recorded = await repositories.mfa.recordPasskeyUse(
      passkey.id,
      passkey.signCount,
      newCounter,
      credentialBackedUp,
      this.clock.now(),
    );
    if (!recorded) {
      throw new PasskeyInvalidError();
    }
    return { passkey, userVerified };
  }

  private async remember(
    challenge: string,
    purpose: WebAuthnPurpose,
    userId: string | null,
  ): Promise<void> {
    const now = this.clock.now();
    await this.database.mfa.createWebAuthnChallenge(
      sha256(challenge),
      purpose,
      userId,
      now,
      new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
    );
  }

  /**
   * Spends the stored challenge the response answers (on the pool, not in the caller's transaction:
   * a challenge is used up even by a response that fails). Answers the challenge itself.
   */
  private async spend(
    response: WebAuthnResponse,
    purpose: WebAuthnPurpose,
    userId: string | null,
    status: 400 | 401,
  ): Promise<string> {
    const challenge = challengeOf(response);
    if (!challenge) {
      throw new PasskeyInvalidError(status);
    }
    const spent = await this.database.mfa.spendWebAuthnChallenge(
      sha256(challenge),
      purpose,
      this.clock.now(),
    );
    if (!spent || spent.userId !== userId) {
      throw new PasskeyInvalidError(status);
    }
    return challenge;
  }
}
