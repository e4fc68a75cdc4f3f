import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { withoutRequestChildren } from './logging.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn', base: { app: 'auth-api' }, timestamp: false },
    { write: (chunk: string) => lines.push(JSON.parse(chunk) as Record<string, unknown>) },
  );
  return { lines, logger };
}

describe(withoutRequestChildren.name, () => {
  it('answers child() with itself, whatever the bindings, and logs as the logger does', () => {
    const { lines, logger } = capture();
    const fastifyLogger = withoutRequestChildren(logger);
    const child = fastifyLogger.child({ reqId: 'r-1' }, {});
    expect(child).toBe(fastifyLogger);
    child.info('not at warn');
    child.warn({ statusCode: 404 }, 'request completed');
    expect(lines).toEqual([
      { level: 40, app: 'auth-api', statusCode: 404, msg: 'request completed' },
    ]);
  });

  it("leaves the logger's own child() alone", () => {
    const { lines, logger } = capture();
    withoutRequestChildren(logger);
    logger.child({ context: 'JobWorker' }).warn('SMTP_URL is not set');
    expect(lines).toEqual([
      { level: 40, app: 'auth-api', context: 'JobWorker', msg: 'SMTP_URL is not set' },
    ]);
  });
});
