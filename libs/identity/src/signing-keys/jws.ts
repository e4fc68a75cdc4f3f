import { type KeyObject, sign } from 'node:crypto';

/** The algorithms our signing keys use (SIGNING_ALGORITHM). */
export type JwsAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * RFC 7515 §7.1 compact serialisation, signed on the calling thread with node:crypto. jose signs
 * through WebCrypto, which hands every signature to the libuv thread pool and back: for one ES256
 * signature (tens of microseconds) the round trip between threads cost more than the signature, on
 * every token issued. Tokens are still verified with jose.
 */
export function signCompactJws(
  header: { readonly alg: JwsAlgorithm } & Record<string, unknown>,
  payload: object,
  key: KeyObject,
): string {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${signature(header.alg, Buffer.from(input), key).toString('base64url')}`;
}

function signature(alg: JwsAlgorithm, input: Buffer, key: KeyObject): Buffer {
  switch (alg) {
    // RFC 7518 §3.4: R ‖ S, not DER.
    case 'ES256':
      return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
    // RFC 7518 §3.3: RSASSA-PKCS1-v1_5, node:crypto's default for RSA keys.
    case 'RS256':
      return sign('sha256', input, key);
    // RFC 8037 §3.1: Ed25519 hashes internally.
    case 'EdDSA':
      return sign(null, input, key);
  }
}
