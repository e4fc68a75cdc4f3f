/**
 * notes-api's own configuration: a sibling app shares nothing with Gatehouse but the issuer's public
 * endpoints and the revocation feed, so it reads its few variables itself.
 */
export interface NotesApiConfig {
  readonly port: number;
  readonly host: string;
  /** auth-api's issuer: the JWKS and audience come from its discovery document. */
  readonly issuer: string;
  /** notes-api's own table, and the `revocations` feed auth-api writes (the same database). */
  readonly databaseUrl: string;
  readonly trustedOrigins: readonly string[];
  /** With Redis, the revocation feed arrives over pub/sub instead of a PostgreSQL LISTEN. */
  readonly redisUrl: string | undefined;
  /**
   * A confidential client of auth-api: with it, notes-api also accepts the `gh_session` cookie of a
   * browser on the same site, validated through auth-api's introspection endpoint.
   */
  readonly introspectionClient: { readonly id: string; readonly secret: string } | undefined;
  /**
   * notes-api's own resource indicator (RFC 8707), when an operator registered it as a resource
   * server with that `audience`: tokens minted for it are accepted beside the default audience.
   */
  readonly audience: string | undefined;
  /** First delay before the revocation feed reconnects (it backfills on reconnect). */
  readonly feedReconnectDelayMs: number;
  /** Longest wait between two attempts to fetch the issuer's discovery document. */
  readonly discoveryRetryMaxMs: number;
  /** Echoed by `GET /health` in `Gatehouse-Instance`: `npm start` knows its own notes-api by it. */
  readonly instanceId: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadNotesApiConfig(env: Env): NotesApiConfig {
  const problems: string[] = [];
  const port = Number(env['NOTES_API_PORT'] || '3002');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push('NOTES_API_PORT: expected an integer port from 1 to 65535');
  }
  const issuer = (env['ISSUER'] || 'http://localhost:3000').replace(/\/$/, '');
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(issuer)) {
    problems.push('ISSUER: expected the http(s) URL of auth-api');
  }
  const databaseUrl = env['DATABASE_URL'] ?? '';
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: expected a postgres:// URL (npm start provides the embedded one)');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return {
    port,
    host: env['HOST'] || '127.0.0.1',
    issuer,
    databaseUrl,
    trustedOrigins: (env['TRUSTED_ORIGINS'] || 'http://localhost:3000,http://localhost:3001')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    redisUrl: env['REDIS_URL'] || undefined,
    feedReconnectDelayMs: Number(env['NOTES_API_FEED_RECONNECT_MS'] || '100'),
    discoveryRetryMaxMs: Number(env['NOTES_API_DISCOVERY_RETRY_MAX_MS'] || '10000'),
    audience: env['NOTES_API_AUDIENCE'] || undefined,
    instanceId: env['INSTANCE_ID'] || undefined,
    introspectionClient:
      env['NOTES_API_CLIENT_ID'] && env['NOTES_API_CLIENT_SECRET']
        ? { id: env['NOTES_API_CLIENT_ID'], secret: env['NOTES_API_CLIENT_SECRET'] }
        : undefined,
  };
}
