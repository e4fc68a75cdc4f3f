import { describe, expect, it } from 'vitest';

import { isTrustedOrigin, originRejection, requestOrigin } from './origin-check.js';

const trusted = new Set(['https://app.example.com', 'http://localhost:3000']);

describe(isTrustedOrigin.name, () => {
  it.each([
    [{ origin: 'https://app.example.com' }, true],
    [{ origin: 'http://localhost:3000' }, true],
    [{ origin: 'https://evil.example' }, false],
    [{ origin: 'https://app.example.com.evil.example' }, false],
    [{ origin: 'null' }, false],
    [{ referer: 'https://app.example.com/settings?tab=1' }, true],
    [{ referer: 'https://evil.example/app.example.com' }, false],
    [{ referer: 'not a url' }, false],
    [{}, false],
    // Origin wins over Referer when both are present.
    [{ origin: 'https://evil.example', referer: 'https://app.example.com/' }, false],
  ])('judges %j as trusted: %s', (headers, expected) => {
    expect(isTrustedOrigin(headers, trusted)).toBe(expected);
  });

  it('reads the origin of a Referer without its path', () => {
    expect(requestOrigin({ referer: 'http://localhost:3000/a/b#c' })).toBe('http://localhost:3000');
  });
});

describe(originRejection.name, () => {
  it.each([
    [{}, 'missing-origin'],
    [{ origin: 'https://evil.example' }, 'untrusted-origin'],
    [{ origin: 'null' }, 'untrusted-origin'],
    [{ referer: 'not a url' }, 'untrusted-origin'],
    [{ origin: 'https://app.example.com' }, undefined],
    [{ referer: 'http://localhost:3000/page' }, undefined],
  ])('answers %j with %s', (headers, expected) => {
    expect(originRejection(headers, trusted)).toBe(expected);
  });
});
