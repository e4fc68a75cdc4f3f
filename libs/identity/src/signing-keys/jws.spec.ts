import { createPrivateKey, type JsonWebKey } from 'node:crypto';

import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';

import { type JwsAlgorithm, signCompactJws } from './jws.js';

describe(signCompactJws.name, () => {
  it.each<JwsAlgorithm>(['ES256', 'RS256', 'EdDSA'])(
    'signs a %s JWT that jose verifies, with the header and claims given',
    async (alg) => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = await exportJWK(privateKey);
      const header = { alg, kid: 'key-1', typ: 'at+jwt' };
      const claims = {
        sub: 'user-1',
        aud: ['a', 'b'],
        scope: 'account',
        iat: 1,
        exp: 4_000_000_000,
      };

      const token = signCompactJws(
        header,
        claims,
        createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }),
      );

      expect(decodeProtectedHeader(token)).toEqual(header);
      const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg], typ: 'at+jwt' });
      expect(payload).toEqual(claims);
    },
  );

  it('signs ES256 as R ‖ S (64 bytes), not DER', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const token = signCompactJws(
      { alg: 'ES256' },
      {},
      createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }),
    );
    expect(Buffer.from(token.split('.')[2]!, 'base64url')).toHaveLength(64);
  });
});
