import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';

/** Where an access token's verification key comes from, by its `kid` (jose's key resolver). */
export type KeySource = JWTVerifyGetKey;

/** An unknown `kid` triggers at most one JWKS refetch per this long (a flood of forged kids costs nothing). */
const REFETCH_COOLDOWN_MS = 30_000;

/**
 * Keys from a remote JWKS (a sibling app verifying auth-api's tokens). Imported keys are cached;
 * an unknown `kid` refetches at most once per 30 s; the set is refreshed every 10 minutes.
 */
export function remoteKeySource(jwksUri: string | URL): KeySource {
  return createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: REFETCH_COOLDOWN_MS,
    cacheMaxAge: 600_000,
  });
}

/**
 * Keys from a local loader (auth-api reads its own signing keys): the same caching and unknown-kid
 * refetch rule as the remote source, without the HTTP hop. Concurrent verifications share one load.
 */
export function localKeySource(
  load: () => Promise<JSONWebKeySet>,
  { maxAgeMs = 60_000 }: { maxAgeMs?: number } = {},
): KeySource {
  let current: { resolve: KeySource; loadedAt: number } | undefined;
  let loading: Promise<{ resolve: KeySource; loadedAt: number }> | undefined;
  const reload = () => {
    loading ??= load()
      .then((jwks) => {
        current = { resolve: createLocalJWKSet(jwks), loadedAt: Date.now() };
        return current;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };
  return async (header, token) => {
    const set = !current || Date.now() - current.loadedAt > maxAgeMs ? await reload() : current;
    try {
      return await set.resolve(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey &&
        Date.now() - set.loadedAt > REFETCH_COOLDOWN_MS
      ) {
        return (await reload()).resolve(header, token);
      }
      throw error;
    }
  };
}
