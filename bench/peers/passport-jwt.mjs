/**
 * Peer: bare Express 5 + passport + passport-jwt verifying Gatehouse's own ES256 access tokens,
 * configured the way the passport-jwt README shows (public key as PEM, issuer/audience/algorithms
 * pinned, bearer header, no sessions). This is what a resource server would write instead of
 * @gatehouse/nest-auth.
 *
 * Fairness: the JWKS is fetched once at start (no rotation handling, no revocation checks, no
 * database): GET /me is one signature check (jsonwebtoken) per request, nothing else.
 *
 * Env: PORT (required), JWKS_URL (JSON {keys: [...]}), ISSUER, AUDIENCE.
 * Routes: GET /health, GET /me (Authorization: Bearer <token>).
 */
import { createPublicKey } from 'node:crypto';

import express from 'express';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';

const port = Number(process.env.PORT);
if (!port || !process.env.JWKS_URL) {
  throw new Error('PORT and JWKS_URL are required');
}
const jwksResponse = await fetch(process.env.JWKS_URL);
if (!jwksResponse.ok) {
  throw new Error(`${process.env.JWKS_URL} answered ${jwksResponse.status}`);
}
const { keys } = await jwksResponse.json();
const jwk = keys.find((key) => key.use === 'sig') ?? keys[0];
const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });

passport.use(
  new JwtStrategy(
    {
      secretOrKey: pem,
      algorithms: ['ES256'],
      issuer: process.env.ISSUER,
      audience: process.env.AUDIENCE,
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
    },
    (payload, done) => done(null, { id: payload.sub, sessionId: payload.sid }),
  ),
);

const app = express();
app.disable('x-powered-by');
app.use(passport.initialize());
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/me', passport.authenticate('jwt', { session: false }), (req, res) => {
  res.json({ userId: req.user.id, sessionId: req.user.sessionId });
});

const server = app.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
