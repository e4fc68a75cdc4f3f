import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { GatehouseConfig } from '@gatehouse/config';
import { ClientService } from '@gatehouse/identity';

import { withIdentityContext } from './script-context.js';

/**
 * A third-party app to try the authorization code flow with: registered once, by the first
 * `npm start` on a fresh embedded database (never in production, never with DATABASE_URL), and
 * remembered in `DATA_DIR/demo-client.json` so later starts neither repeat nor resurrect it.
 */
export interface DemoClient {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
}

const FILE = 'demo-client.json';
/** Loopback http is allowed for native and development apps (RFC 8252 §7.3); nothing listens here. */
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const SCOPE = 'openid email notes:read';

export async function ensureDemoClient(config: GatehouseConfig): Promise<DemoClient> {
  const file = join(resolve(config.dataDir), FILE);
  if (existsSync(file)) {
    return JSON.parse(await readFile(file, 'utf8')) as DemoClient;
  }
  const { client } = await withIdentityContext('npm start', config, (context) =>
    context.get(ClientService).create({
      name: 'Demo app (registered by npm start)',
      grantTypes: ['authorization_code'],
      scopes: SCOPE.split(' '),
      redirectUris: [REDIRECT_URI],
      public: true,
    }),
  );
  const demo: DemoClient = { clientId: client.id, redirectUri: REDIRECT_URI, scope: SCOPE };
  await writeFile(file, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
  return demo;
}

/** How to try it: an authorization URL with a fresh PKCE pair, and the token request to follow. */
export function demoInstructions(demo: DemoClient, issuer: string): string[] {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL('/oauth/authorize', issuer);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: demo.clientId,
    redirect_uri: demo.redirectUri,
    scope: demo.scope,
    state: randomBytes(8).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return [
    `  demo app   a third-party client (code flow + PKCE, ${demo.scope}) to try:`,
    `    1. open ${authorize.href}`,
    `    2. sign in (the operator above will do) and allow; the browser then goes to`,
    `       ${demo.redirectUri}?code=…  (nothing listens there: copy the code from the address bar)`,
    `    3. curl -s ${new URL('/oauth/token', issuer).href} -d grant_type=authorization_code \\`,
    `         -d client_id=${demo.clientId} --data-urlencode redirect_uri=${demo.redirectUri} \\`,
    `         -d code_verifier=${verifier} -d code=<the code>`,
  ];
}
