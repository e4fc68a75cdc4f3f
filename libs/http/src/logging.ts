import type { IncomingMessage } from 'node:http';

import { RequestMethod } from '@nestjs/common';
import type { GatehouseConfig } from '@gatehouse/config';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';

import { prettyLogStream } from './pretty-log-stream.js';

/** Never logged: credentials in headers, and anything that looks like a secret in a logged object. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.clientSecret',
];

/**
 * Query parameters that carry a credential or a person's data in page URLs: the device user code
 * (and the sign-in page's copy of it), and the ID token of RP-initiated logout. Their values never
 * reach the log, in `url` or in `query`.
 */
const REDACTED_QUERY_PARAMS = new Set(['user_code', 'device', 'id_token_hint']);

interface SerializedRequest {
  url?: string;
  query?: Record<string, unknown>;
}

function redactQueryOf(request: SerializedRequest): SerializedRequest {
  const url = request.url;
  const mark = url?.indexOf('?') ?? -1;
  if (url !== undefined && mark >= 0) {
    const params = new URLSearchParams(url.slice(mark + 1));
    let redacted = false;
    for (const name of new Set(params.keys())) {
      if (REDACTED_QUERY_PARAMS.has(name)) {
        params.set(name, '[redacted]');
        redacted = true;
      }
    }
    if (redacted) {
      request.url = `${url.slice(0, mark)}?${params.toString()}`;
    }
  }
  if (request.query) {
    request.query = Object.fromEntries(
      Object.entries(request.query).map(([name, value]) =>
        REDACTED_QUERY_PARAMS.has(name) ? [name, '[redacted]'] : [name, value],
      ),
    );
  }
  return request;
}

function pathOf(request: IncomingMessage): string {
  return (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '';
}

/** Health probes and static files (Swagger UI's, the pages' stylesheet): logged only when they fail. */
const QUIET_PATH = /^\/(health(\/|\?|$)|docs\/|assets\/|favicon\.ico)/;

/**
 * One line per request with the request id Fastify assigned. In production, structured JSON;
 * in development (`NODE_ENV=development`), a readable line per request (`GET /me 200 3 ms`),
 * nothing below `warn` for health probes and static files, and no Nest route map. Tests
 * (`NODE_ENV=test`) keep JSON to assert on its fields. `destination` defaults to stdout; tests pass
 * a stream to read what would be logged.
 */
export function loggerParams(
  config: GatehouseConfig,
  app: string,
  destination?: DestinationStream,
): Params {
  const development = config.environment === 'development';
  const options: Options = {
    level: config.logLevel,
    base: { app },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    genReqId: (request) => (request as { id?: string }).id ?? 'unknown',
    // Probes every few seconds would drown the log. Middie rewrites `url` for mounted middleware.
    autoLogging: development || {
      ignore: (request) => pathOf(request).startsWith('/health/'),
    },
    serializers: {
      // pino-http hands custom serializers the standard-serialized request.
      req: redactQueryOf,
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
    customLogLevel: (request, response, error) => {
      const level =
        error || response.statusCode >= 500
          ? 'error'
          : response.statusCode >= 400
            ? 'warn'
            : 'info';
      return development && level === 'info' && QUIET_PATH.test(pathOf(request)) ? 'silent' : level;
    },
  };
  const out = development ? prettyLogStream(destination ?? process.stdout) : destination;
  return {
    // nestjs-pino's default pattern `{/*splat}` matches no route under Nest 12.5 on Fastify.
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    pinoHttp: out ? [options, out] : options,
  };
}
