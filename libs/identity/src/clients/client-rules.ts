import { ValidationFailedError, type FieldProblem } from '../identity.errors.js';
import { RESERVED_SCOPES } from '../oauth/delegation.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it holds a dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/**
 * Why a redirect URI (or post-logout URI) cannot be registered, or null when it can. RFC 9700 §2.1
 * and §4.1.3: exact, absolute URIs without fragment (RFC 6749 §3.1.2), userinfo or wildcards; https,
 * or http only on loopback (RFC 8252 §7.3), or a native app's private-use scheme (RFC 8252 §7.1).
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URI`;
  }
  if (uri.includes('#')) {
    return `${uri} has a fragment`;
  }
  if (uri.includes('*')) {
    return `${uri} has a wildcard`;
  }
  if (url.username || url.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?]*@/i.test(uri)) {
    return `${uri} has userinfo`;
  }
  if (url.protocol === 'https:') {
    return url.hostname ? null : `${uri} has no host`;
  }
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname)
      ? null
      : `${uri} uses http on a host that is not loopback (use https, or 127.0.0.1, [::1] or localhost)`;
  }
  return PRIVATE_USE_SCHEME.test(url.protocol) && !url.host
    ? null
    : `${uri} uses a scheme that is neither https, loopback http nor a private-use scheme like com.example.app:`;
}

/** What makes a client registration coherent, checked on the whole client after every change. */
export interface ClientShape {
  readonly grantTypes: readonly string[];
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  readonly firstParty: boolean;
  readonly resourceServer: boolean;
  readonly confidential: boolean;
  readonly audience: string | null;
}

/** The audiences a registration may not claim: the platform's own (config). */
export interface ReservedAudiences {
  readonly default: string;
  readonly admin: string;
}

export function assertRegistrable(client: ClientShape, reserved: ReservedAudiences): void {
  const problems: FieldProblem[] = [];
  if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) {
    problems.push({
      field: 'redirectUris',
      messages: ['redirectUris must not be empty with the authorization_code grant'],
    });
  }
  const reservedScopes = client.scopes.filter((scope) => RESERVED_SCOPES.includes(scope));
  if (!client.firstParty && reservedScopes.length > 0) {
    problems.push({
      field: 'scopes',
      messages: [`${reservedScopes.join(', ')}: reserved to first-party clients`],
    });
  }
  const audienceProblem = audienceProblemOf(client, reserved);
  if (audienceProblem) {
    problems.push({ field: 'audience', messages: [audienceProblem] });
  }
  if (client.resourceServer && !client.confidential) {
    problems.push({
      field: 'resourceServer',
      messages: ['a resource server authenticates with a secret: it cannot be a public client'],
    });
  }
  if (problems.length > 0) {
    throw new ValidationFailedError(problems);
  }
}

/** RFC 8707 §2: a resource indicator is an absolute URI without fragment, and only a server has one. */
function audienceProblemOf(client: ClientShape, reserved: ReservedAudiences): string | null {
  const { audience } = client;
  if (audience === null) {
    return null;
  }
  if (!client.resourceServer) {
    return 'audience is for resource servers (resourceServer: true)';
  }
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+$/.test(audience) || audience.length > 512) {
    return `${audience} is not an absolute URI without fragment`;
  }
  if (audience === reserved.default || audience === reserved.admin) {
    return `${audience} is the platform's own audience`;
  }
  return null;
}
