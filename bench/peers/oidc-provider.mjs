/**
 * Peer: oidc-provider with its default in-memory adapter, one public client and refresh token
 * rotation on: the refresh_token grant at POST /token, as a Gatehouse OAuth client uses it.
 * Version 8.x: 9.x supports Node 22+ only (it warns "Unsupported runtime" on Node 20).
 *
 * Fairness: state lives in process memory (no database), so a refresh costs no I/O at all. Each
 * refresh consumes the presented token, saves its successor, saves an opaque access token (600 s)
 * and, because the scope has openid, signs an ID token with ES256 (a per-process key, like
 * Gatehouse's ES256 access token); a reused refresh token revokes its grant. No interactions
 * (login/consent) are exercised: grants and refresh tokens are minted by POST /bench/setup.
 *
 * Env: PORT (required). Routes: GET /health, POST /bench/setup?count=N (1-100), POST /token (the
 * provider's), GET /me (bearer access token, answered from the provider's token store).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!port) {
  throw new Error('PORT is required');
}
const issuer = `http://127.0.0.1:${port}`;
const CLIENT_ID = 'bench-public';
const SCOPE = 'openid offline_access';
// The default adapter is an LRU of 1,000 entries; a chain keeps ~3 hot (grant, its token list,
// the live refresh token) and adds 2 per refresh, so past ~150 concurrent chains live grants get
// evicted (invalid_grant). 100 chains were checked to run clean.
const MAX_CHAINS = 100;
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
});

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
});
