import { assertResourceShape, type ClientCredentials, invalidRequest } from '@gatehouse/identity';

/** A parsed form or JSON body; unknown parameters are ignored (RFC 6749 §3.2). */
export type OAuthBody = Readonly<Record<string, unknown>>;

/** RFC 6749 §3.2: a parameter must not be repeated; values are strings. */
export function optionalParam(
  body: OAuthBody | null | undefined,
  name: string,
): string | undefined {
  // No body at all (or a JSON null) simply has no parameters.
  const value = typeof body === 'object' && body !== null ? body[name] : undefined;
  if (value === undefined || value === '') {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw invalidRequest(`The parameter ${name} must be given once, as a string.`);
  }
  return value;
}

export function requiredParam(body: OAuthBody | null | undefined, name: string): string {
  const value = optionalParam(body, name);
  if (value === undefined) {
    throw invalidRequest(`The parameter ${name} is required.`);
  }
  return value;
}

/** RFC 8707 §2: `resource`, the one parameter that may be repeated. */
export function resourceParams(body: OAuthBody | null | undefined): string[] {
  const value = typeof body === 'object' && body !== null ? body['resource'] : undefined;
  const values: unknown[] = value === undefined ? [] : Array.isArray(value) ? value : [value];
  assertResourceShape(values);
  return values;
}

function decodeBasicPart(part: string): string {
  // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw invalidRequest('Malformed Basic credentials.');
  }
}

/**
 * The client's credentials from `client_secret_basic` or `client_secret_post` (or just `client_id`
 * for a public client). Using two methods at once is refused (RFC 6749 §2.3).
 */
export function clientCredentialsOf(
  authorization: string | undefined,
  body: OAuthBody | null | undefined,
): ClientCredentials | null {
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '')?.[1];
  const bodyId = optionalParam(body, 'client_id');
  const bodySecret = optionalParam(body, 'client_secret');
  if (basic !== undefined) {
    if (bodySecret !== undefined) {
      throw invalidRequest('Use one client authentication method, not two.');
    }
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) {
      throw invalidRequest('Malformed Basic credentials.');
    }
    const clientId = decodeBasicPart(decoded.slice(0, separator));
    if (bodyId !== undefined && bodyId !== clientId) {
      throw invalidRequest('client_id differs from the authenticated client.');
    }
    return { clientId, clientSecret: decodeBasicPart(decoded.slice(separator + 1)) };
  }
  return bodyId === undefined ? null : { clientId: bodyId, clientSecret: bodySecret ?? null };
}
