import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { hash, verify } from '@node-rs/argon2';
import pLimit, { type LimitFunction } from 'p-limit';

import { normalizePassword } from './password-policy.js';

/**
 * OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. @node-rs/argon2 defaults to
 * argon2id and runs off the main thread, so hashing never blocks the event loop; at most
 * `PASSWORD_HASH_CONCURRENCY` hashes run at once, so it cannot take the event loop's CPU either.
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  /** Verified against when the account does not exist, so that path costs the same work. */
  private readonly dummyHash: Promise<string>;
  private readonly limit: LimitFunction;

  constructor(@InjectConfig() config: GatehouseConfig) {
    this.limit = pLimit(config.passwordHashConcurrency);
    this.dummyHash = this.limit(() => hash('gatehouse-dummy-password', ARGON2_OPTIONS));
  }

  hash(password: string): Promise<string> {
    return this.limit(() => hash(normalizePassword(password), ARGON2_OPTIONS));
  }

  /** Constant-time verification; `null` burns the same work on a dummy hash and returns false. */
  async verify(passwordHash: string | null, password: string): Promise<boolean> {
    const target = passwordHash ?? (await this.dummyHash);
    const matches = await this.limit(() => verify(target, normalizePassword(password))).catch(
      () => false,
    );
    return matches && passwordHash !== null;
  }
}
