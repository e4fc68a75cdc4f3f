import { Logger } from '@nestjs/common';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { NestPinoLogger } from './nest-logger.js';

function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level, base: null, timestamp: false },
    { write: (chunk: string) => lines.push(JSON.parse(chunk) as Record<string, unknown>) },
  );
  return { lines, service: new NestPinoLogger(logger) };
}

describe(NestPinoLogger.name, () => {
  it("writes Nest's context as a field and the message as msg", () => {
    const { lines, service } = capture();
    service.log('Revocation feed started', 'GatehouseAuthModule');
    service.warn('Redis unavailable', 'LoginLimiter');
    expect(lines).toEqual([
      { level: 30, context: 'GatehouseAuthModule', msg: 'Revocation feed started' },
      { level: 40, context: 'LoginLimiter', msg: 'Redis unavailable' },
    ]);
  });

  it("puts an error's stack under err, as Nest's Logger passes it", () => {
    const { lines, service } = capture();
    const logger = new Logger('RestErrorFilter');
    const stack = 'Error: boom\n    at handler (file.js:1:1)';
    Logger.overrideLogger(service);
    try {
      logger.error('Request r-1 failed: Error: boom', stack);
      logger.error('no stack here');
    } finally {
      Logger.overrideLogger(false);
    }
    expect(lines).toEqual([
      {
        level: 50,
        context: 'RestErrorFilter',
        err: { stack },
        msg: 'Request r-1 failed: Error: boom',
      },
      { level: 50, context: 'RestErrorFilter', msg: 'no stack here' },
    ]);
  });

  it('writes nothing below the level', () => {
    const { lines, service } = capture('warn');
    service.log('chatter', 'InstanceLoader');
    service.debug('details', 'X');
    expect(lines).toEqual([]);
  });
});
