import type { IssuerDiscovery, IssuerMetadata } from '../discovery/issuer-discovery.js';
import type {
  AccessTokenClaims,
  AccessTokenRules,
  AccessTokenVerification,
} from './access-token.verifier.js';

/**
 * An access-token verifier built from the issuer's discovery document once it has arrived: until
 * then every bearer token is answered 503 `VERIFICATION_UNAVAILABLE` with `Retry-After` (never 401,
 * never 500), and the app starts and runs whether or not the issuer is up.
 *
 * ```ts
 * const discovery = new IssuerDiscovery({ issuer });
 * accessTokens: new DiscoveredAccessTokenVerifier(discovery, (metadata) =>
 *   new AccessTokenVerifier({
 *     issuer: metadata.issuer,
 *     audience: metadata.gatehouse_access_token_audience ?? 'gatehouse',
 *     keys: remoteKeySource(metadata.jwks_uri),
 *   }),
 * ),
 * ```
 */
export class DiscoveredAccessTokenVerifier implements AccessTokenVerification {
  private verifier: AccessTokenVerification | undefined;

  /**
   * @param discovery where the issuer's document comes from (started by Nest as a provider).
   * @param build makes the real verifier from the document, once.
   */
  constructor(
    private readonly discovery: IssuerDiscovery,
    private readonly build: (metadata: IssuerMetadata) => AccessTokenVerification,
  ) {}

  get checksSessionsAtPlatform(): boolean {
    return this.verifier?.checksSessionsAtPlatform ?? false;
  }

  verify(token: string): Promise<AccessTokenClaims> {
    return this.built().verify(token);
  }

  rules(): AccessTokenRules {
    return this.built().rules();
  }

  private built(): AccessTokenVerification {
    this.verifier ??= this.build(this.discovery.require());
    return this.verifier;
  }
}
