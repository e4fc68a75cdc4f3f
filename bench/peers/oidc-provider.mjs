/**
 * Peer: oidc-provider with one public client and refresh token rotation on: the refresh_token grant
 * at POST /token, as a Gatehouse OAuth client uses it. Version 8.x: 9.x supports Node 22+ only (it
 * warns "Unsupported runtime" on Node 20). Two storage adapters, chosen by ADAPTER:
 *
 * - `memory` (default): in memory, like the provider's own development adapter (an LRU), of
 *   200,000 entries instead of that adapter's fixed 1,000 (see MEMORY_ENTRIES).
 * - `postgres`: an adapter of ours on the documented adapter interface (example/my_adapter.js of
 *   panva/node-oidc-provider: upsert, find, findByUserCode, findByUid, consume, destroy,
 *   revokeByGrantId) storing every model in one jsonb table, oidc_provider.payloads (id, type,
 *   payload, grant_id, user_code, uid, expires_at, consumed_at; primary key (id, type), indexes on
 *   grant_id, user_code and uid), through a pg Pool of 10 connections like Gatehouse's default
 *   DATABASE_POOL_SIZE, with named prepared statements like Gatehouse's hot statements. One file,
 *   two adapters, so both rows run the very same provider configuration.
 *
 * Fairness: each refresh (8.8.1's refresh_token grant) finds the presented refresh token, finds its
 * grant, consumes the token, saves its successor, saves an opaque access token (600 s) and, because
 * the scope has openid, signs an ID token with ES256 (a per-process key, like Gatehouse's ES256
 * access token). In memory that costs no I/O at all. With `postgres` it is 5 statements, each its
 * own round trip and its own implicit transaction (the provider awaits them one after another):
 * SELECT refresh token, SELECT grant, UPDATE consumed_at, INSERT successor, INSERT access token
 * (counted with log_statement; its client is static config, no statement). Gatehouse costs 1, a
 * named prepared statement in its own implicit transaction: one data-modifying CTE that reads the
 * token with its session and user, marks it used, inserts the successor and slides the session (its
 * client comes from an in-process cache of 1 s, checked with log_statement too); it writes no access
 * token row (its access token is a JWT). The
 * provider's reuse detection is check-then-act across separate statements (find, then consume):
 * two concurrent presentations of one token can both succeed, where Gatehouse's conditional UPDATE
 * lets exactly one win. A reused refresh token revokes its grant (7 statements: the two finds, a
 * DELETE of the token, one per token model by grant_id, one of the grant). No interactions
 * (login/consent) are exercised: grants and refresh tokens are minted by POST /bench/setup.
 *
 * Env: PORT (required), ADAPTER (memory | postgres), DATABASE_URL (postgres). Routes: GET /health,
 * POST /bench/setup?count=N (1-1,000 in memory, 1-10,000 in PostgreSQL), POST /token (the
 * provider's), GET /me (bearer access token, answered from the provider's token store),
 * GET /bench/statements (statements the postgres adapter has sent so far).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';
import pg from 'pg';

const port = Number(process.env.PORT);
if (!port) {
  throw new Error('PORT is required');
}
const ADAPTER = process.env.ADAPTER ?? 'memory';
if (ADAPTER !== 'memory' && ADAPTER !== 'postgres') {
  throw new Error('ADAPTER must be memory or postgres');
}
const issuer = `http://127.0.0.1:${port}`;
const CLIENT_ID = 'bench-public';
const SCOPE = 'openid offline_access';
// In memory: an LRU like the provider's own development adapter (lib/adapters/memory_adapter.js,
// quick-lru), but of 200,000 entries instead of its fixed 1,000. A chain keeps ~3 entries hot (the
// grant, its token list, the live refresh token) and adds 2 per refresh; with 1,000, a chain that
// fell behind by a few hundred refreshes of the others lost its grant (invalid_grant), which ended
// runs at 50 chains. PostgreSQL evicts nothing.
const MAX_CHAINS = ADAPTER === 'memory' ? 1_000 : 10_000;
const MEMORY_ENTRIES = 200_000;

let statements = 0;
let pool;

/** A named prepared statement (parsed once per connection), counted. */
function run(name, text, values) {
  statements += 1;
  return pool.query({ name, text, values });
}

/** oidc-provider's adapter interface on one jsonb table; one instance per model (`type`). */
class PostgresAdapter {
  constructor(type) {
    this.type = type;
  }

  async upsert(id, payload, expiresIn) {
    await run(
      'oidc_upsert',
      `INSERT INTO oidc_provider.payloads
         (id, type, payload, grant_id, user_code, uid, expires_at, consumed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
       ON CONFLICT (id, type) DO UPDATE SET payload = $3, grant_id = $4, user_code = $5,
         uid = $6, expires_at = $7, consumed_at = NULL`,
      [
        id,
        this.type,
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      ],
    );
  }

  async find(id) {
    return this.one('oidc_find', 'id = $1', id);
  }

  async findByUserCode(userCode) {
    return this.one('oidc_find_by_user_code', 'user_code = $1', userCode);
  }

  async findByUid(uid) {
    return this.one('oidc_find_by_uid', 'uid = $1', uid);
  }

  async consume(id) {
    await run(
      'oidc_consume',
      'UPDATE oidc_provider.payloads SET consumed_at = now() WHERE id = $1 AND type = $2',
      [id, this.type],
    );
  }

  async destroy(id) {
    await run('oidc_destroy', 'DELETE FROM oidc_provider.payloads WHERE id = $1 AND type = $2', [
      id,
      this.type,
    ]);
  }

  async revokeByGrantId(grantId) {
    await run(
      'oidc_revoke_by_grant_id',
      'DELETE FROM oidc_provider.payloads WHERE grant_id = $1 AND type = $2',
      [grantId, this.type],
    );
  }

  /** What was stored, unless expired; `consumed` (epoch seconds) once consumed, as documented. */
  async one(name, where, value) {
    const { rows } = await run(
      name,
      `SELECT payload, extract(epoch FROM consumed_at)::int AS consumed
       FROM oidc_provider.payloads
       WHERE ${where} AND type = $2 AND (expires_at IS NULL OR expires_at > now())`,
      [value, this.type],
    );
    const row = rows[0];
    if (!row) {
      return undefined;
    }
    return row.consumed === null ? row.payload : { ...row.payload, consumed: row.consumed };
  }
}

/** The provider's memory adapter, bounded at MEMORY_ENTRIES: one Map in recency order. */
const memory = new Map();

function remember(key, value) {
  memory.delete(key);
  memory.set(key, value);
  if (memory.size > MEMORY_ENTRIES) {
    memory.delete(memory.keys().next().value);
  }
}

function recall(key) {
  const value = memory.get(key);
  if (value !== undefined) {
    remember(key, value);
  }
  return value;
}

class MemoryAdapter {
  constructor(type) {
    this.type = type;
  }

  key(id) {
    return `${this.type}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const keys = recall(grantKey) ?? [];
      keys.push(key);
      remember(grantKey, keys);
    }
    if (payload.userCode) {
      remember(`userCode:${payload.userCode}`, id);
    }
    if (payload.uid) {
      remember(`uid:${payload.uid}`, id);
    }
    remember(key, {
      payload: { ...payload },
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity,
    });
  }

  async find(id) {
    const entry = recall(this.key(id));
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }

  async findByUserCode(userCode) {
    const id = recall(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUid(uid) {
    const id = recall(`uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = recall(this.key(id));
    if (entry) {
      entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
  }

  async destroy(id) {
    memory.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of memory.get(grantKey) ?? []) {
      memory.delete(key);
    }
    memory.delete(grantKey);
  }
}

if (ADAPTER === 'postgres') {
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS oidc_provider;
    CREATE TABLE IF NOT EXISTS oidc_provider.payloads (
      id text NOT NULL,
      type text NOT NULL,
      payload jsonb NOT NULL,
      grant_id text,
      user_code text,
      uid text,
      expires_at timestamptz,
      consumed_at timestamptz,
      PRIMARY KEY (id, type)
    );
    CREATE INDEX IF NOT EXISTS payloads_grant_id ON oidc_provider.payloads (grant_id);
    CREATE INDEX IF NOT EXISTS payloads_user_code ON oidc_provider.payloads (user_code);
    CREATE INDEX IF NOT EXISTS payloads_uid ON oidc_provider.payloads (uid);
  `);
}
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: 'k1' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/cb'],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64')] },
  scopes: ['openid', 'offline_access'],
  findAccount: (_ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
  issueRefreshToken: () => true,
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 86_400, Grant: 86_400 },
  features: { devInteractions: { enabled: false } },
  adapter: ADAPTER === 'postgres' ? PostgresAdapter : MemoryAdapter,
});
// A 500 (server_error) answer is a failed refresh for the chain driver; say why here.
provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));

async function setup(count) {
  const client = await provider.Client.find(CLIENT_ID);
  const authTime = Math.floor(Date.now() / 1000);
  const refreshTokens = [];
  for (let i = 0; i < count; i += 1) {
    const accountId = randomUUID();
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      scope: SCOPE,
      gty: 'authorization_code',
      authTime,
    });
    refreshTokens.push(await token.save());
  }
  return { tokenEndpoint: `${issuer}/token`, clientId: CLIENT_ID, refreshTokens };
}

// Runs ahead of the provider's own routes (Provider#use inserts before them).
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/health') {
    ctx.body = { status: 'ok' };
  } else if (ctx.method === 'POST' && ctx.path === '/bench/setup') {
    const count = Number(ctx.query.count ?? 1);
    if (!Number.isInteger(count) || count < 1 || count > MAX_CHAINS) {
      ctx.status = 400;
      ctx.body = { error: `count must be an integer from 1 to ${MAX_CHAINS}` };
      return;
    }
    ctx.body = await setup(count);
  } else if (ctx.method === 'GET' && ctx.path === '/bench/statements') {
    ctx.body = { adapter: ADAPTER, statements };
  } else if (ctx.method === 'GET' && ctx.path === '/me') {
    const [scheme, value] = (ctx.get('authorization') || '').split(' ');
    const token = scheme === 'Bearer' && value ? await provider.AccessToken.find(value) : undefined;
    ctx.status = token ? 200 : 401;
    ctx.body = token
      ? { userId: token.accountId, sessionId: token.grantId }
      : { error: 'unauthenticated' };
  } else {
    await next();
  }
});

const server = provider.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool?.end();
});
