import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database, type Repositories, type SigningKey } from '@gatehouse/persistence';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import type { JwsAlgorithm } from './jws.js';
import { deriveKey, open, seal } from './key-encryption.js';

export type SigningAlgorithm = GatehouseConfig['keys']['algorithm'];

export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: JwsAlgorithm;
  /** For jose. */
  readonly key: CryptoKey | Uint8Array;
  /** The same key for node:crypto (`signCompactJws`). */
  readonly privateKey: KeyObject;
}

export interface KeyRotation {
  readonly retired: string | null;
  readonly active: string;
  readonly next: string;
}

/** How long a signer keeps using the key it loaded before it looks for a rotation. */
const SIGNER_CACHE_MS = 60_000;
/** Beyond the access-token lifetime, a retired key stays published for signer caches and clock skew. */
const RETIREMENT_MARGIN_SECONDS = 300;
const KEY_LOCK = 'gatehouse:signing-keys';

/**
 * The JWT signing keys and their life: `next` (published, not used) → `active` (signs) → `retired`
 * (published until every token it signed has expired) → dropped from the JWKS. Publishing the next
 * key ahead of use means verifiers that cache the JWKS already know it when it starts signing.
 * Private keys are stored AES-256-GCM encrypted under a key derived from `KEY_ENCRYPTION_KEY`.
 */
@Injectable()
export class SigningKeyService {
  private readonly encryptionKey: Buffer;
  private signer: { key: ActiveSigningKey; loadedAt: number } | undefined;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {
    const kek = config.keys.encryptionKey;
    if (!kek) {
      throw new Error('KEY_ENCRYPTION_KEY is not set: signing keys cannot be stored or read.');
    }
    this.encryptionKey = deriveKey(kek, 'signing-keys');
  }

  /** At start-up: make sure an active and a next key exist (once across concurrent instances). */
  ensureKeys(): Promise<void> {
    return this.database.exclusively(KEY_LOCK, async (repositories) => {
      const now = this.clock.now();
      if (!(await repositories.signingKeys.findByStatus('active'))) {
        await this.createKey(repositories, 'active', now);
      }
      if (!(await repositories.signingKeys.findByStatus('next'))) {
        await this.createKey(repositories, 'next', now);
      }
    });
  }

  /**
   * One step of the life cycle: active → retired, next → active, a fresh next. `actor` is who asked
   * (`user:<id>` from admin-api, `system:keys-rotate` from the script), for the audit log.
   */
  async rotate(actor = 'system:keys-rotate'): Promise<KeyRotation> {
    const rotation = await this.database.exclusively(KEY_LOCK, async (repositories) => {
      const now = this.clock.now();
      const retired = await repositories.signingKeys.retireActive(now);
      const active =
        (await repositories.signingKeys.activateNext(now)) ??
        (await this.createKey(repositories, 'active', now));
      const next = await this.createKey(repositories, 'next', now);
      await this.audit.record(repositories, {
        actor,
        action: 'admin.keys_rotated',
        subject: `key:${active}`,
        details: { retired, active, next },
      });
      return { retired, active, next };
    });
    this.signer = undefined;
    return rotation;
  }

  /** The key that signs now; re-read at least every minute, so a rotation elsewhere is followed. */
  async activeKey(): Promise<ActiveSigningKey> {
    if (this.signer && Date.now() - this.signer.loadedAt < SIGNER_CACHE_MS) {
      return this.signer.key;
    }
    const row = await this.database.signingKeys.findByStatus('active');
    if (!row) {
      throw new Error('No active signing key: the app did not run SigningKeyService.ensureKeys().');
    }
    const jwk = this.privateJwkOf(row);
    const key: ActiveSigningKey = {
      kid: row.kid,
      alg: row.alg as JwsAlgorithm,
      key: await importJWK(jwk, row.alg),
      privateKey: createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }),
    };
    this.signer = { key, loadedAt: Date.now() };
    return key;
  }

  /**
   * At start-up of the app that signs: the active key must decrypt under KEY_ENCRYPTION_KEY. A wrong
   * key would otherwise surface as a 500 at the first token request, long after a deploy went green.
   */
  async assertKeysReadable(): Promise<void> {
    const row = await this.database.signingKeys.findByStatus('active');
    if (!row) {
      throw new Error('No active signing key: the app did not run SigningKeyService.ensureKeys().');
    }
    try {
      await importJWK(this.privateJwkOf(row), row.alg);
    } catch {
      throw new Error(
        'KEY_ENCRYPTION_KEY does not decrypt the signing keys in the database: it is not the key ' +
          'they were stored with. Start with that key; if it is lost, see docs/operators.md, "Signing keys".',
      );
    }
  }

  /** The public keys a verifier may meet (RFC 7517 JWK Set). */
  async jwks(): Promise<JSONWebKeySet> {
    const retiredAfter = new Date(
      this.clock.now().getTime() -
        (this.config.tokens.accessTokenTtlSeconds + RETIREMENT_MARGIN_SECONDS) * 1000,
    );
    const keys = await this.database.signingKeys.listPublished(retiredAfter);
    return { keys: keys.map((key) => key.publicJwk as JWK) };
  }

  list(): Promise<SigningKey[]> {
    return this.database.signingKeys.list();
  }

  private async createKey(
    repositories: Repositories,
    status: 'next' | 'active',
    now: Date,
  ): Promise<string> {
    const alg = this.config.keys.algorithm;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    await repositories.signingKeys.insert({
      kid,
      alg,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
      privateKeyEncrypted: seal(this.encryptionKey, Buffer.from(JSON.stringify(privateJwk)), kid),
      status,
      createdAt: now,
      activatedAt: status === 'active' ? now : null,
    });
    return kid;
  }

  private privateJwkOf(row: SigningKey): JWK {
    return JSON.parse(
      open(this.encryptionKey, row.privateKeyEncrypted, row.kid).toString('utf8'),
    ) as JWK;
  }
}
