import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The methods a trusted browser origin may send after a preflight: every method the apps route
 * (the admin dashboard deletes sessions and patches users).
 */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';

/**
 * Credentialed CORS for `TRUSTED_ORIGINS` only, as one onRequest hook (the Fetch standard's CORS
 * protocol). An origin is trusted when it equals one of the configured origins exactly; any other
 * origin gets no `Access-Control-Allow-*` header, so its browser keeps the response from it.
 *
 * In place of @fastify/cors (same answers for the apps' one configuration, trusted origins with
 * credentials): that plugin merged its options with the route's on every request, an object spread
 * and a route-options object per request whether or not the request came from a browser. That was
 * a fifth of the cost of a public request beyond Fastify's own; here a request without an `Origin`
 * header costs nothing.
 */
export function registerCors(fastify: FastifyInstance, trustedOrigins: readonly string[]): void {
  const trusted = new Set(trustedOrigins);
  fastify.addHook('onRequest', (request, reply, done) => {
    const { origin } = request.headers;
    // `Vary: Origin` goes on every response a cache may keep (see `varyByOrigin`), not here.
    if (origin === undefined || !trusted.has(origin)) {
      done();
      return;
    }
    void reply.header('access-control-allow-origin', origin);
    void reply.header('access-control-allow-credentials', 'true');
    const requestedMethod = request.headers['access-control-request-method'];
    if (request.method !== 'OPTIONS' || requestedMethod === undefined) {
      done();
      return;
    }
    // A preflight: answered here, before any guard (the browser sends it without credentials).
    const requestedHeaders = request.headers['access-control-request-headers'];
    void reply.header('vary', 'Origin, Access-Control-Request-Headers');
    void reply.header('access-control-allow-methods', ALLOWED_METHODS);
    if (requestedHeaders !== undefined) {
      void reply.header('access-control-allow-headers', requestedHeaders);
    }
    void reply.code(204).header('content-length', '0').send();
  });
}

/**
 * Whether an answer allows a caller depends on Origin, so a cache must key on it, also for a request
 * without one: a stored answer without `Access-Control-Allow-Origin` served to a trusted origin would
 * break it (RFC 9111 §4.1). Only a response a cache may store needs it: one marked `no-store`, as every
 * answer is unless its route says otherwise, is stored by none (§3), and the header would cost it for
 * nothing.
 */
export function varyByOrigin(reply: FastifyReply): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) {
    void reply.header('vary', 'Origin');
  } else if (typeof vary === 'string' && !/\borigin\b/i.test(vary)) {
    void reply.header('vary', `${vary}, Origin`);
  }
}
