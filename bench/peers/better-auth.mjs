/**
 * Peer: better-auth (email + password) on PostgreSQL through a pg Pool (10 connections like
 * Gatehouse's default DATABASE_POOL_SIZE), served by bare Express 5 with better-auth's own handler
 * mounted at /api/auth as its Node guide shows. Tables are created at start with getMigrations.
 *
 * Fairness: session.cookieCache stays at its default (off), so GET /me (auth.api.getSession) reads
 * PostgreSQL on every request: two SELECTs, the session by token then its user (advanced.database
 * .joins is off by default). The session's sliding refresh (an UPDATE) only happens once per
 * updateAge (1 day), i.e. never during a run. Telemetry is off; the secret is random per process.
 *
 * Env: PORT (required), DATABASE_URL. Routes: GET /health, POST /bench/setup, GET /me; the cookie
 * is better-auth.session_token.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import express from 'express';
import pg from 'pg';

const port = Number(process.env.PORT);
if (!port) {
  throw new Error('PORT is required');
}
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const options = {
  database: pool,
  secret: randomBytes(32).toString('base64'),
  baseURL: `http://127.0.0.1:${port}`,
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  logger: { disabled: true },
};
const { runMigrations } = await getMigrations(options);
await runMigrations();
const auth = betterAuth(options);

const app = express();
app.disable('x-powered-by');
app.all('/api/auth/*splat', toNodeHandler(auth));
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post('/bench/setup', async (_req, res, next) => {
  try {
    const id = randomUUID();
    const response = await auth.api.signUpEmail({
      body: { name: 'Bench', email: `bench-${id}@example.com`, password: `pw-${id}` },
      asResponse: true,
    });
    const cookie = response.headers
      .getSetCookie()
      .find((c) => c.startsWith('better-auth.session_token='))
      ?.split(';')[0];
    res.status(response.ok && cookie ? 200 : 500).json({ cookie });
  } catch (error) {
    next(error);
  }
});

app.get('/me', async (req, res, next) => {
  try {
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (!session) {
      res.status(401).json({ error: 'unauthenticated' });
      return;
    }
    res.json({ userId: session.user.id, sessionId: session.session.id });
  } catch (error) {
    next(error);
  }
});

const server = app.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => void pool.end());
  server.closeAllConnections();
});
