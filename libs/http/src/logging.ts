import type { GatehouseConfig } from '@gatehouse/config';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { type DestinationStream, type Level, type Logger, pino } from 'pino';

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
 * (and the sign-in page's copy of it), the ID token of RP-initiated logout, and the token of a mailed
 * link (`/reset-password?token=…`). Their values never reach the log, in `url`, in `query` or in a
 * `Referer` header.
 */
const REDACTED_QUERY_PARAMS = new Set(['user_code', 'device', 'id_token_hint', 'token']);

function redactedUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark < 0) {
    return url;
  }
  const params = new URLSearchParams(url.slice(mark + 1));
  let redacted = false;
  for (const name of new Set(params.keys())) {
    if (REDACTED_QUERY_PARAMS.has(name)) {
      params.set(name, '[redacted]');
      redacted = true;
    }
  }
  return redacted ? `${url.slice(0, mark)}?${params.toString()}` : url;
}

function redactedQuery(query: unknown): unknown {
  if (typeof query !== 'object' || query === null) {
    return query;
  }
  return Object.fromEntries(
    Object.entries(query).map(([name, value]) =>
      REDACTED_QUERY_PARAMS.has(name) ? [name, '[redacted]'] : [name, value],
    ),
  );
}

/** A page's URL, with its query, comes back as the Referer of the requests it makes. */
function redactedHeaders(headers: FastifyRequest['headers']): FastifyRequest['headers'] {
  const { referer } = headers;
  return typeof referer === 'string'
    ? { ...headers, referer: redactedUrl(referer) }
    : { ...headers };
}

/** The request as a log line shows it (pino's standard request fields), built only when logged. */
function serializeRequest(request: FastifyRequest) {
  return {
    id: request.id,
    method: request.method,
    url: redactedUrl(request.url),
    query: redactedQuery(request.query),
    params: request.params,
    headers: redactedHeaders(request.headers),
    remoteAddress: request.socket.remoteAddress,
    remotePort: request.socket.remotePort,
  };
}

/** Health probes and static files (Swagger UI's, the pages' stylesheet): logged only when they fail. */
const QUIET_PATH = /^\/(health(\/|\?|$)|docs\/|assets\/|favicon\.ico)/;

/**
 * The process's root logger: level, redaction and serializers are set up here once. In production,
 * structured JSON; in development (`NODE_ENV=development`), a readable line per entry (see
 * `prettyLogStream`). `destination` defaults to stdout; tests pass a stream to read what is logged.
 */
export function createLogger(
  config: GatehouseConfig,
  app: string,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    base: { app },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: serializeRequest,
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  const development = config.environment === 'development';
  const out = development ? prettyLogStream(destination ?? process.stdout) : destination;
  return out ? pino(options, out) : pino(options);
}

/**
 * The logger as Fastify holds it: the same logger, whose `child()` is itself. Fastify binds a child
 * logger to every request for `request.log`, which nothing here uses: the request line names the
 * request id itself. With pino's `child()` that was a logger per request; with a custom
 * `childLoggerFactory` Fastify checks the factory's answer for all seven logging methods, per
 * request. Fastify's default factory calls `child()`, and this one costs nothing.
 */
export function withoutRequestChildren(logger: Logger): Logger {
  return Object.create(logger, {
    child: {
      value(this: Logger) {
        return this;
      },
    },
  }) as Logger;
}

function levelOf(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/**
 * Fastify's request logging, replaced: one line per request, with the request id Fastify assigned,
 * written when the response is done (`incoming request` lines are not written). Everything it costs
 * is paid only when the line is written: a level below the logger's returns at once. Health probes
 * are never logged in production (probes every few seconds would drown the log); in development,
 * health probes and static files are logged only when they fail.
 */
export class RequestLogController extends LogController {
  private readonly development: boolean;

  constructor(
    private readonly logger: Logger,
    config: GatehouseConfig,
  ) {
    super();
    this.development = config.environment === 'development';
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const level = error ? 'error' : levelOf(reply.statusCode);
    if (!this.logger.isLevelEnabled(level) || this.quiet(level, request.url)) {
      return;
    }
    this.logger[level](
      {
        req: request,
        res: reply,
        err: error ?? undefined,
        responseTime: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
  }

  private quiet(level: Level, url: string): boolean {
    return this.development ? level === 'info' && QUIET_PATH.test(url) : url.startsWith('/health/');
  }
}
