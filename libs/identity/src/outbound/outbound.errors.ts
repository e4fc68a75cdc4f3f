import type { OutboundRefusal } from './outbound-policy.js';

/** The URL, or an address its host resolved to, is one the SSRF guard does not let us call. */
export class OutboundRefusedError extends Error {
  constructor(readonly refusal: OutboundRefusal) {
    super(`Outbound call refused (${refusal.reason}): ${refusal.message}`);
    this.name = 'OutboundRefusedError';
  }
}

export type OutboundFailure = 'timeout' | 'connection' | 'redirect' | 'tls';

/** The call was allowed but did not produce a usable response; worth another attempt later. */
export class OutboundFailedError extends Error {
  constructor(
    readonly reason: OutboundFailure,
    message: string,
    /** The response status, for `redirect`. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OutboundFailedError';
  }
}
