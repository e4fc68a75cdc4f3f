import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

import { normalizePassword } from './password-policy.js';

/**
 * OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. @node-rs/argon2 defaults to
 * argon2id and runs on the libuv thread pool, so hashing never blocks the event loop.
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  /** Verified against when the account does not exist, so that path costs the same work. */
  private readonly dummyHash: Promise<string> = hash('gatehouse-dummy-password', ARGON2_OPTIONS);

  hash(password: string): Promise<string> {
    return hash(normalizePassword(password), ARGON2_OPTIONS);
  }

  /** Constant-time verification; `null` burns the same work on a dummy hash and returns false. */
  async verify(passwordHash: string | null, password: string): Promise<boolean> {
    const target = passwordHash ?? (await this.dummyHash);
    const matches = await verify(target, normalizePassword(password)).catch(() => false);
    return matches && passwordHash !== null;
  }
}
