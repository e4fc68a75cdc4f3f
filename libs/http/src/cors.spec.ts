import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';

import { varyByOrigin } from './cors.js';

/** The two reply methods `varyByOrigin` uses, over a plain header map. */
function replyWith(headers: Record<string, string>): FastifyReply {
  return {
    getHeader: (name: string) => headers[name],
    header(name: string, value: string) {
      headers[name] = value;
      return this;
    },
  } as unknown as FastifyReply;
}

describe('varyByOrigin', () => {
  it('adds Origin to a response that varies by nothing yet', () => {
    const headers: Record<string, string> = {};
    varyByOrigin(replyWith(headers));
    expect(headers['vary']).toBe('Origin');
  });

  it('appends Origin to what a route already varies by, once', () => {
    const headers: Record<string, string> = { vary: 'Accept-Encoding' };
    varyByOrigin(replyWith(headers));
    expect(headers['vary']).toBe('Accept-Encoding, Origin');
    varyByOrigin(replyWith(headers));
    expect(headers['vary']).toBe('Accept-Encoding, Origin');
  });

  it('leaves a preflight answer that names Origin as it is', () => {
    const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Headers' };
    varyByOrigin(replyWith(headers));
    expect(headers['vary']).toBe('Origin, Access-Control-Request-Headers');
  });
});
