import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import fastifyCookie from '@fastify/cookie';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { GatehouseConfig } from '@gatehouse/config';
import helmet, { type HelmetOptions } from 'helmet';
import type { FastifyReply } from 'fastify';
import type { DestinationStream } from 'pino';

import { useBodyParsers } from './body-parsers.js';
import { registerCors, varyByOrigin } from './cors.js';
import { createLogger, RequestLogController, withoutRequestChildren } from './logging.js';
import { NestPinoLogger } from './nest-logger.js';
import { type ApiDescription, setUpSwagger } from './swagger.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Helmet's response headers, worked out once. (@fastify/helmet rebuilt Helmet's middleware, CSP
 * parsing included, on every request: about 4 % of a request's CPU in a profile of GET /me.)
 */
function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: () => undefined,
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return headers;
}

/**
 * What a browser needs to render a document safely: Helmet's full set. Pages and Swagger UI get it;
 * a page that sets its own Content-Security-Policy or Referrer-Policy keeps it.
 */
const DOCUMENT_HEADERS = securityHeaders({
  frameguard: { action: 'deny' },
  // Swagger UI is served from 'self'; its inline styles need 'unsafe-inline' for style-src only.
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
      // TLS is usually terminated in front of the app; upgrading would break plain-http development.
      upgradeInsecureRequests: null,
    },
  },
});

/**
 * Everything else (JSON, assets) gets the set the OWASP REST Security cheat sheet names for APIs: a
 * policy that lets the response load nothing and be framed by no one, no sniffing, no framing, HSTS,
 * no cross-origin embedding and no referrer. Helmet's document-only headers (COOP, Origin-Agent-Cluster,
 * X-XSS-Protection, X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies)
 * do nothing for a response no browser renders, and each costs every API call its bytes and its
 * header validation: about a third of a public request's time was header writing.
 */
const API_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': DOCUMENT_HEADERS['strict-transport-security'] ?? 'max-age=31536000',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

interface SecurityHeaders {
  readonly api: Readonly<Record<string, string>>;
  readonly document: Readonly<Record<string, string>>;
}

/**
 * The sets an app sends. HSTS only where the platform is served over HTTPS, which its issuer says
 * (as for the `__Host-` cookie prefix): RFC 6797 §7.2 forbids the header over plain HTTP, where a
 * browser ignores it anyway (development, a test or bench on http://127.0.0.1).
 */
function securityHeadersOf(config: GatehouseConfig): SecurityHeaders {
  if (config.issuer.startsWith('https:')) {
    return { api: API_HEADERS, document: DOCUMENT_HEADERS };
  }
  const withoutHsts = (headers: Readonly<Record<string, string>>) =>
    Object.fromEntries(
      Object.entries(headers).filter(([name]) => name !== 'strict-transport-security'),
    );
  return { api: withoutHsts(API_HEADERS), document: withoutHsts(DOCUMENT_HEADERS) };
}

function addSecurityHeaders(reply: FastifyReply, headers: SecurityHeaders): void {
  const type = reply.getHeader('content-type');
  if (typeof type !== 'string' || !type.startsWith('text/html')) {
    void reply.headers(headers.api);
    return;
  }
  for (const [name, value] of Object.entries(headers.document)) {
    if (!reply.hasHeader(name)) {
      void reply.header(name, value);
    }
  }
}

/**
 * Fastify's `genReqId`: a well-formed incoming X-Request-Id (from a proxy) is kept, so one id follows
 * the request across hops; otherwise an id of this process, UUID-shaped: a random prefix drawn at
 * start-up and a counter. Ids correlate log lines; they need to be unique (across processes too: the
 * prefix has 74 random bits), not unguessable (a client may send its own). A random UUID per request
 * cost a public request 3 % of its instructions.
 */
function requestIds(): (request: IncomingMessage) => string {
  const prefix = randomUUID().slice(0, 24);
  let counter = 0;
  return (request) => {
    const incoming = request.headers['x-request-id'];
    if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) {
      return incoming;
    }
    counter += 1;
    return prefix + counter.toString(16).padStart(12, '0');
  };
}

/** A hop count means "trust the nearest N proxies" (Fastify's typings omit the number form). */
function trustProxyOption(
  trust: GatehouseConfig['http']['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') {
    return (_address, hop) => hop < trust;
  }
  return typeof trust === 'boolean' ? trust : [...trust];
}

/** Embedding options of an app (tests pass a log destination). */
export interface HttpAppOptions {
  /** Where logs go (stdout by default). */
  readonly logDestination?: DestinationStream;
}

/**
 * Builds a Gatehouse app on Fastify with the plugins and conventions of both apps. `main.ts` and the
 * e2e tests go through this same function, so tests see exactly what production serves.
 */
export async function createHttpApp(
  rootModule: Type | DynamicModule,
  config: GatehouseConfig,
  api: ApiDescription,
  { name, logDestination }: HttpAppOptions & { readonly name: string },
): Promise<NestFastifyApplication> {
  const logger = createLogger(config, name, logDestination);
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    genReqId: requestIds(),
    // request.ip (rate limits, sessions, audit) honours X-Forwarded-For only from trusted proxies.
    trustProxy: trustProxyOption(config.http.trustProxy),
    // Fastify's own pino logger. The request line names the request id itself, so a request needs
    // no child logger (see `withoutRequestChildren`).
    loggerInstance: withoutRequestChildren(logger),
    logController: new RequestLogController(logger, config),
    // No Nest middleware anywhere (Fastify hooks serve instead): without middie a request skips its
    // onRequest hook and path matching. An app that one day needs `MiddlewareConsumer` drops this.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  await app.register(fastifyCookie);
  const fastify = app.getHttpAdapter().getInstance();
  // On Fastify itself rather than through app.enableCors(): Nest's wrapper copies the CORS headers
  // onto the raw response for Nest middleware (none here), which put every response's headers
  // through Node's slower merge path.
  registerCors(fastify, config.trustedOrigins);
  // JSON (and, where a route accepts them, form) bodies only: anything else is 415, not a string.
  fastify.removeContentTypeParser('text/plain');
  useBodyParsers(app, config.http.bodyLimitBytes);
  const securityHeaders = securityHeadersOf(config);
  // A callback hook, not an async one: no promise per response.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    // Auth responses carry personal data or credentials: nothing is cacheable unless a route says so.
    // An error never is, also on a route that is (a JWKS answered 503 while the database is down
    // must not be served from a cache for the route's max-age once it is back).
    const cacheControl = reply.statusCode >= 400 ? undefined : reply.getHeader('cache-control');
    if (cacheControl === undefined) {
      void reply.header('cache-control', 'no-store');
    } else if (cacheControl !== 'no-store') {
      varyByOrigin(reply);
    }
    addSecurityHeaders(reply, securityHeaders);
    done(null, payload);
  });
  setUpSwagger(app, api, config.session.cookieName);
  return app;
}
