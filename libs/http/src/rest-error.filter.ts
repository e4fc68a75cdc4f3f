import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { renderError } from './error-body.js';

const DEFAULT_CHALLENGE = 'Bearer realm="gatehouse"';

/** The one REST error filter of both apps, registered as APP_FILTER. */
@Catch()
export class RestErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RestErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, headers, unexpected } = renderError(exception, String(request.id));
    if (unexpected) {
      // The body names the request id; the stack goes to the log only, under that id.
      this.logger.error(
        `Request ${request.id} failed: ${String(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    } else if (body.statusCode >= 500) {
      this.logger.warn(`${body.error}: ${exception instanceof Error ? exception.message : ''}`);
    }
    // RFC 9110 §15.5.2: every 401 carries a challenge; the guard sets a precise one when it can.
    if (body.statusCode === 401 && !reply.hasHeader('www-authenticate')) {
      void reply.header('www-authenticate', DEFAULT_CHALLENGE);
    }
    void reply.status(body.statusCode).headers(headers).send(body);
  }
}
