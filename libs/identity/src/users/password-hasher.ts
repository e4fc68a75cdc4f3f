import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { hash, verify } from '@node-rs/argon2';

import { type HashPriority, PasswordHashQueue } from './password-hash-queue.js';
import { normalizePassword } from './password-policy.js';

/**
 * OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. @node-rs/argon2 defaults to
 * argon2id and runs off the main thread, so hashing never blocks the event loop; at most
 * `PASSWORD_HASH_CONCURRENCY` hashes run at once, so it cannot take the event loop's CPU either, and
 * at most `PASSWORD_HASH_QUEUE_LIMIT` wait (sign-ins first) before requests are refused as busy.
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  /** Verified against when the account does not exist, so that path costs the same work. */
  private readonly dummyHash: Promise<string>;
  private readonly queue: PasswordHashQueue;

  constructor(@InjectConfig() config: GatehouseConfig) {
    this.queue = new PasswordHashQueue({
      concurrency: config.passwordHashConcurrency,
      maxWaiting: config.passwordHashQueueLimit,
    });
    // Nothing is running yet, so this starts at once and is never refused.
    this.dummyHash = this.queue.run('sign-in', () =>
      hash('gatehouse-dummy-password', ARGON2_OPTIONS),
    );
  }

  /** A new password (registration, password change): an account change, served after sign-ins. */
  hash(password: string): Promise<string> {
    return this.queue.run('account-change', () =>
      hash(normalizePassword(password), ARGON2_OPTIONS),
    );
  }

  /**
   * Constant-time verification; `null` burns the same work on a dummy hash and returns false.
   * Throws `ServiceBusyError` when the queue is full — before any work, whether the account exists
   * or not.
   */
  async verify(
    passwordHash: string | null,
    password: string,
    priority: HashPriority,
  ): Promise<boolean> {
    const target = passwordHash ?? (await this.dummyHash);
    const matches = await this.queue.run(priority, () =>
      // A stored hash argon2 cannot read is a mismatch, not an outage.
      verify(target, normalizePassword(password)).catch(() => false),
    );
    return matches && passwordHash !== null;
  }
}
