/**
 * Peer: bare Express 5 + express-session + connect-pg-simple, the classic server-side cookie
 * session with its row in PostgreSQL (pg Pool, 10 connections like Gatehouse's default
 * DATABASE_POOL_SIZE). Typical production options: resave false, saveUninitialized false,
 * rolling false, httpOnly + SameSite=Lax cookie (not Secure: plain HTTP on loopback), 1-day maxAge.
 *
 * Fairness: GET /me costs two queries per request with these defaults, the session SELECT and
 * connect-pg-simple's touch (UPDATE ... SET expire), which express-session calls on every request
 * of a stored session unless the store is given disableTouch. No user lookup: /me answers from the
 * session data, like a typical `req.session.userId` check.
 *
 * Env: PORT (required), DATABASE_URL. Routes: GET /health, POST /bench/setup, GET /me; the cookie
 * is express-session's default connect.sid. Tables: public.bench_users, express_session.session.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

import connectPgSimple from 'connect-pg-simple';
import express from 'express';
import session from 'express-session';
import pg from 'pg';

const port = Number(process.env.PORT);
if (!port) {
  throw new Error('PORT is required');
}
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_users (id uuid PRIMARY KEY, email text NOT NULL UNIQUE)',
);
const PgStore = connectPgSimple(session);
// The store's table ("session", with fixed constraint names) lives in a schema of its own: the
// better-auth peer has a public "session" table, and all peers may share one scratch database.
await pool.query('CREATE SCHEMA IF NOT EXISTS express_session');
const store = new PgStore({ pool, schemaName: 'express_session', createTableIfMissing: true });

const app = express();
app.disable('x-powered-by');
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.use(
  session({
    secret: randomBytes(32).toString('hex'),
    store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 24 * 60 * 60 * 1000 },
  }),
);

app.post('/bench/setup', async (req, res, next) => {
  try {
    const id = randomUUID();
    await pool.query('INSERT INTO bench_users (id, email) VALUES ($1, $2)', [
      id,
      `bench-${id}@example.com`,
    ]);
    await promisify(req.session.regenerate.bind(req.session))();
    req.session.userId = id;
    await promisify(req.session.save.bind(req.session))();
    // express-session adds its Set-Cookie as the headers go out: send them, then read it back.
    res.writeHead(200, { 'content-type': 'application/json' });
    const setCookie = [res.getHeader('set-cookie') ?? []].flat().map(String);
    const cookie = setCookie.find((c) => c.startsWith('connect.sid='))?.split(';')[0];
    res.end(JSON.stringify({ cookie }));
  } catch (error) {
    next(error);
  }
});

app.get('/me', (req, res) => {
  if (typeof req.session.userId !== 'string') {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  res.json({ userId: req.session.userId, sessionId: req.sessionID });
});

const server = app.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => {
    void store.close().then(() => pool.end());
  });
  server.closeAllConnections();
});
