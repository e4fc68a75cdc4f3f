import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Database } from '@gatehouse/persistence';

import { audienceOf } from './delegation.js';
import { invalidTarget } from './oauth.errors.js';

/** RFC 8707 §2: at most this many `resource` parameters per request. */
export const MAX_RESOURCES = 10;
const RESOURCE_MAX_LENGTH = 512;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+$/;

/** What an access token is for: its scope and its audience. */
export interface MintedGrant {
  readonly scope: string;
  readonly audience: readonly string[];
}

/**
 * RFC 8707 §2: a resource indicator is an absolute URI without fragment; `invalid_target` for
 * anything else. Whether it names a resource the grant can reach is `ResourceIndicators`' question.
 */
export function assertResourceShape(resources: readonly unknown[]): asserts resources is string[] {
  if (resources.length > MAX_RESOURCES) {
    throw invalidTarget(`At most ${MAX_RESOURCES} resource parameters.`);
  }
  for (const resource of resources) {
    if (
      typeof resource !== 'string' ||
      resource.length > RESOURCE_MAX_LENGTH ||
      !ABSOLUTE_URI.test(resource)
    ) {
      throw invalidTarget('resource must be an absolute URI without fragment.');
    }
  }
}

/**
 * The resource servers a token can be minted for: auth-api and the siblings on the default audience,
 * admin-api, and those an operator registered (a resource-server client's `audience`).
 */
@Injectable()
export class ResourceIndicators {
  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly database: Database,
  ) {}

  /** The scope and audience of a token for `scope` and the `resource`s asked for. */
  async mint(scope: string, resources: readonly string[]): Promise<MintedGrant> {
    return audienceOf(
      {
        default: this.config.tokens.audience,
        admin: this.config.tokens.adminAudience,
        registered: await this.registeredAmong(resources),
      },
      scope,
      resources,
    );
  }

  /** Each one names a resource server of this deployment, or `invalid_target`. */
  async assertKnown(resources: readonly string[]): Promise<void> {
    const registered = await this.registeredAmong(resources);
    const unknown = resources.find(
      (resource) => !this.isBuiltIn(resource) && !registered.has(resource),
    );
    if (unknown !== undefined) {
      throw invalidTarget(`The resource ${unknown} is not a resource server of this issuer.`);
    }
  }

  private isBuiltIn(resource: string): boolean {
    return (
      resource === this.config.tokens.audience || resource === this.config.tokens.adminAudience
    );
  }

  private async registeredAmong(resources: readonly string[]): Promise<ReadonlySet<string>> {
    const candidates = [...new Set(resources)].filter((resource) => !this.isBuiltIn(resource));
    const found = await Promise.all(
      candidates.map(async (resource) =>
        (await this.database.clients.isResourceIndicator(resource)) ? resource : null,
      ),
    );
    return new Set(found.filter((resource): resource is string => resource !== null));
  }
}
