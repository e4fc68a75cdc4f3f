import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';

import { Clock } from '../clock.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';
import type { AuthorizationParams } from './authorization.service.js';
import type { EndSessionParams } from './end-session.service.js';

/** How long a user may take between the authorization request and its sign-in or consent page. */
export const INTERACTION_TTL_SECONDS = 600;

/** An authorization request in progress, carried through the sign-in and consent pages. */
export interface Interaction {
  readonly params: AuthorizationParams;
  /** Epoch ms when the request arrived: a sign-in after it satisfies prompt=login and max_age. */
  readonly startedAt: number;
}

/** A logout request waiting for the user's confirmation. */
export interface LogoutInteraction {
  readonly params: EndSessionParams;
  readonly startedAt: number;
}

/**
 * Seals an interaction into an opaque URL-safe string (AES-256-GCM under a key derived from
 * KEY_ENCRYPTION_KEY): no server-side state, any instance can resume it, and a user cannot edit the
 * request (or its start time) between pages. The request is validated again on every resume.
 */
@Injectable()
export class InteractionSealer {
  private readonly key: Buffer;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly clock: Clock,
  ) {
    if (!config.keys.encryptionKey) {
      throw new Error(
        'KEY_ENCRYPTION_KEY is not set: authorization interactions cannot be sealed.',
      );
    }
    this.key = deriveKey(config.keys.encryptionKey, 'authorization-interactions');
  }

  start(params: AuthorizationParams): string {
    return this.seal('interaction', params);
  }

  /** The interaction, or null when it was tampered with, is not ours or has expired. */
  resume(sealed: string | undefined): Interaction | null {
    return this.open<AuthorizationParams>('interaction', sealed);
  }

  startLogout(params: EndSessionParams): string {
    return this.seal('logout', params);
  }

  resumeLogout(sealed: string | undefined): LogoutInteraction | null {
    return this.open<EndSessionParams>('logout', sealed);
  }

  /** The sign-in page's "send the link again": the user gave the right password moments ago. */
  startVerificationResend(userId: string): string {
    return this.seal('verification-resend', { userId });
  }

  resumeVerificationResend(sealed: string | undefined): string | null {
    const userId = this.open<{ userId: unknown }>('verification-resend', sealed)?.params.userId;
    return typeof userId === 'string' ? userId : null;
  }

  /** `purpose` is the AAD: a sealed logout can never be resumed as an authorization, or back. */
  private seal(purpose: string, params: object): string {
    const interaction = { params, startedAt: this.clock.now().getTime() };
    return seal(this.key, Buffer.from(JSON.stringify(interaction)), purpose).toString('base64url');
  }

  private open<P>(
    purpose: string,
    sealed: string | undefined,
  ): { readonly params: P; readonly startedAt: number } | null {
    // base64url only: Node's decoder would skip other characters, so one value could be spelled
    // several ways (and carry CR LF into a Location header).
    if (!sealed || sealed.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(sealed)) {
      return null;
    }
    try {
      const interaction = JSON.parse(
        open(this.key, Buffer.from(sealed, 'base64url'), purpose).toString('utf8'),
      ) as { params: P; startedAt: number };
      const age = this.clock.now().getTime() - interaction.startedAt;
      return age >= 0 && age <= INTERACTION_TTL_SECONDS * 1000 ? interaction : null;
    } catch {
      return null;
    }
  }
}
