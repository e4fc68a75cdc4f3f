import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { renderError } from '@gatehouse/http';
import { OAuthError, RateLimitedError, ValidationFailedError } from '@gatehouse/identity';
import type { FastifyReply, FastifyRequest } from 'fastify';

interface OAuthErrorBody {
  error: string;
  error_description: string;
  [member: string]: string;
}

/**
 * The error surface of the OAuth endpoints: RFC 6749 §5.2 bodies `{error, error_description}`, never
 * the REST shape, and `no-store` (RFC 6749 §5.1).
 */
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(OAuthErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, headers } = this.render(exception, request);
    void reply
      .status(status)
      .headers({ 'cache-control': 'no-store', pragma: 'no-cache', ...headers })
      .send(body);
  }

  private render(
    exception: unknown,
    request: FastifyRequest,
  ): { status: number; body: OAuthErrorBody; headers: Record<string, string> } {
    if (exception instanceof OAuthError) {
      const body = {
        ...exception.extra,
        error: exception.error,
        error_description: exception.description,
      };
      // RFC 6749 §5.2: a client that tried Basic authentication gets a Basic challenge back.
      const basic =
        exception.status === 401 && /^Basic /i.test(request.headers.authorization ?? '');
      return {
        status: exception.status,
        body,
        headers: basic ? { 'www-authenticate': 'Basic realm="gatehouse"' } : {},
      };
    }
    if (exception instanceof RateLimitedError) {
      return {
        status: 429,
        body: { error: 'rate_limited', error_description: exception.message },
        headers: { ...exception.headers },
      };
    }
    if (exception instanceof ValidationFailedError) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: exception.message },
        headers: {},
      };
    }
    const rendered = renderError(exception, String(request.id));
    if (rendered.unexpected) {
      // The body names the request id; the stack goes to the log only, under that id.
      this.logger.error(
        `Request ${request.id} failed: ${String(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    const status = rendered.body.statusCode;
    return {
      status,
      body: {
        error:
          status === 503
            ? 'temporarily_unavailable'
            : status >= 500
              ? 'server_error'
              : 'invalid_request',
        error_description: rendered.body.message,
      },
      headers: { ...rendered.headers },
    };
  }
}
