type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The origin a browser says the request comes from: `Origin`, else the origin of `Referer`. */
export function requestOrigin(headers: Headers): string | undefined {
  const origin = headers['origin'];
  if (typeof origin === 'string') {
    return origin;
  }
  const referer = headers['referer'];
  if (typeof referer !== 'string') {
    return undefined;
  }
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/**
 * Why a request fails the origin check: it carries neither `Origin` nor `Referer`
 * (`missing-origin`), or the origin it names is not trusted, opaque (`null`) or unreadable
 * (`untrusted-origin`).
 */
export type OriginRejection = 'missing-origin' | 'untrusted-origin';

/**
 * OWASP CSRF Prevention Cheat Sheet, "verifying origin with standard headers": a state-changing request
 * authenticated by a cookie must name a trusted origin. No header at all is refused too (strict): a
 * browser always sends one of them on a cross-site write, and other clients can send `Origin`.
 *
 * @returns why the request is refused, or `undefined` when its origin is trusted.
 */
export function originRejection(
  headers: Headers,
  trusted: ReadonlySet<string>,
): OriginRejection | undefined {
  if (headers['origin'] === undefined && headers['referer'] === undefined) {
    return 'missing-origin';
  }
  const origin = requestOrigin(headers);
  return origin !== undefined && trusted.has(origin) ? undefined : 'untrusted-origin';
}

/** Whether the request names a trusted origin (see {@link originRejection} for the reason when not). */
export function isTrustedOrigin(headers: Headers, trusted: ReadonlySet<string>): boolean {
  return originRejection(headers, trusted) === undefined;
}

/** Methods that must not change state (RFC 9110 §9.2.1), hence exempt from the origin check. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
