import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest's `Logger` (start-up, the feeds, the error filters, schedulers) written through the app's
 * pino logger, so every line has the same shape, level and redaction as the request lines. Nest
 * calls `log(message, context)` and `error(message, stack, context)`: the context becomes a
 * `context` field, a stack an `err`.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    const [stack, context] =
      params.length >= 2
        ? [params[0], params[params.length - 1]]
        : isStack(params[0])
          ? [params[0], undefined]
          : [undefined, params[0]];
    if (!this.logger.isLevelEnabled('error')) {
      return;
    }
    const fields = fieldsOf(message, context);
    if (typeof stack === 'string' && stack !== '') {
      fields['err'] = { stack };
    }
    this.logger.error(fields, textOf(message));
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (this.logger.isLevelEnabled(level)) {
      this.logger[level](fieldsOf(message, params[params.length - 1]), textOf(message));
    }
  }
}

function isStack(value: unknown): value is string {
  return typeof value === 'string' && /\n\s+at /.test(value);
}

function fieldsOf(message: unknown, context: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = typeof context === 'string' ? { context } : {};
  if (message instanceof Error) {
    fields['err'] = message;
  } else if (typeof message === 'object' && message !== null) {
    Object.assign(fields, message);
  }
  return fields;
}

function textOf(message: unknown): string | undefined {
  if (message instanceof Error) {
    return message.message;
  }
  return typeof message === 'object' && message !== null ? undefined : String(message);
}
