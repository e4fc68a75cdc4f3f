import { Injectable } from '@nestjs/common';
import type { Client } from '@gatehouse/persistence';

import { Clock } from '../clock.js';

/**
 * How long a client row read for client authentication is trusted without PostgreSQL. A change to a
 * client evicts it at once (in this process after the commit, in the others through the revocation
 * feed); this bound holds while the feed is down.
 */
export const CLIENT_CACHE_TTL_MS = 1_000;

/** Clients are few; the bound keeps a flood of distinct ids from growing the map. */
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly client: Client;
  readonly expiresAtMs: number;
}

/**
 * Registered clients as the token endpoint last read them, by id: a refresh grant, a client
 * credentials grant or an introspection call costs no client query while its client is cached
 * (one of the two statements of a refresh). Only clients that exist are kept, so unknown ids always
 * reach PostgreSQL, and a read that raced an eviction is not stored (`epoch`), so a changed client
 * cannot be put back by a read from before the change.
 */
@Injectable()
export class ClientCache {
  private readonly entries = new Map<string, Entry>();
  private evictions = 0;

  constructor(private readonly clock: Clock) {}

  /** Changes whenever something is evicted; pass the value read before a lookup to `set`. */
  get epoch(): number {
    return this.evictions;
  }

  get(id: string): Client | undefined {
    const entry = this.entries.get(id);
    if (entry && entry.expiresAtMs > this.clock.now().getTime()) {
      return entry.client;
    }
    this.entries.delete(id);
    return undefined;
  }

  set(client: Client, epoch: number): void {
    if (epoch !== this.evictions) {
      return;
    }
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(client.id)) {
      // Map iteration is insertion order: the oldest entry goes first.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    this.entries.set(client.id, {
      client,
      expiresAtMs: this.clock.now().getTime() + CLIENT_CACHE_TTL_MS,
    });
  }

  evict(id: string): void {
    this.evictions += 1;
    this.entries.delete(id);
  }

  /** The feed that carries evictions was lost: nothing cached can be vouched for. */
  clear(): void {
    this.evictions += 1;
    this.entries.clear();
  }
}
