import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

import { Inject, Injectable, Optional } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';

import { OutboundFailedError, OutboundRefusedError } from './outbound.errors.js';
import { checkOutboundAddress, checkOutboundUrl } from './outbound-policy.js';

/** Resolves a host name to every address it has (injectable, so tests can make a name private). */
export type OutboundResolver = (hostname: string) => Promise<readonly LookupAddress[]>;
export const OUTBOUND_RESOLVER = Symbol('OUTBOUND_RESOLVER');

const systemResolver: OutboundResolver = (hostname) =>
  dnsLookup(hostname, { all: true, verbatim: true });

export interface OutboundResponse {
  readonly status: number;
  /** The first bytes of the body (at most 256), for the operator's delivery log; the rest is dropped. */
  readonly bodyExcerpt: string;
  readonly durationMs: number;
}

export const BODY_EXCERPT_BYTES = 256;

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

/**
 * The one way Gatehouse calls URLs that operators or clients registered (webhooks, back-channel
 * logout). Every call goes through the SSRF guard: the URL is checked, the host is resolved here and
 * EVERY address checked, and the socket connects to the vetted address (a `lookup` pinned to it, so a
 * DNS answer that changes between check and connect cannot redirect the call). Redirects are never
 * followed; one deadline covers connect and response; no connection is reused (no keep-alive pool
 * holding a socket to an address vetted for another host); only the first 256 bytes of a body are read.
 */
@Injectable()
export class OutboundHttp {
  private readonly resolve: OutboundResolver;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    @Optional() @Inject(OUTBOUND_RESOLVER) resolver?: OutboundResolver,
  ) {
    this.resolve = resolver ?? systemResolver;
  }

  async post(
    url: string,
    init: { headers: Record<string, string>; body: string },
  ): Promise<OutboundResponse> {
    const policy = this.config.outbound;
    const refusal = checkOutboundUrl(url, policy);
    if (refusal) {
      throw new OutboundRefusedError(refusal);
    }
    const target = new URL(url);
    const started = performance.now();
    const body = Buffer.from(init.body);
    const transport = target.protocol === 'https:' ? https : http;
    const lookup = this.vettedLookup();

    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void) => {
        if (!settled) {
          settled = true;
          clearTimeout(deadline);
          outcome();
        }
      };
      const request = transport.request(target, {
        method: 'POST',
        agent: false,
        lookup,
        headers: {
          'user-agent': 'Gatehouse',
          ...init.headers,
          'content-length': String(body.length),
          connection: 'close',
        },
      });
      const deadline = setTimeout(() => {
        const error = new OutboundFailedError(
          'timeout',
          `No response within ${this.config.outbound.timeoutMs} ms.`,
        );
        finish(() => reject(error));
        request.destroy(error);
      }, this.config.outbound.timeoutMs);

      request.on('error', (error) => finish(() => reject(classify(error))));
      request.on('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          response.destroy();
          finish(() =>
            reject(
              new OutboundFailedError(
                'redirect',
                `Answered ${status}: redirects are not followed.`,
                status,
              ),
            ),
          );
          return;
        }
        readExcerpt(response).then(
          (bodyExcerpt) =>
            finish(() =>
              resolve({ status, bodyExcerpt, durationMs: Math.round(performance.now() - started) }),
            ),
          (error: unknown) => finish(() => reject(classify(error))),
        );
      });
      request.end(body);
    });
  }

  /** A `lookup` for `http.request` that resolves, refuses if ANY address is refused, and pins. */
  private vettedLookup(): LookupFunction {
    const policy = this.config.outbound;
    return (hostname, options, callback) => {
      const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
      this.resolve(host)
        .then((addresses) => {
          if (addresses.length === 0) {
            throw new OutboundRefusedError({
              reason: 'unresolvable',
              message: `${host} did not resolve.`,
            });
          }
          for (const { address } of addresses) {
            const refusal = checkOutboundAddress(address, policy);
            if (refusal) {
              throw new OutboundRefusedError({
                reason: refusal.reason,
                message: `${host} resolves to ${refusal.message.charAt(0).toLowerCase()}${refusal.message.slice(1)}`,
              });
            }
          }
          const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
          const usable = addresses.filter((entry) => !wanted || entry.family === wanted);
          if (usable.length === 0) {
            throw new OutboundRefusedError({
              reason: 'unresolvable',
              message: `${host} has no IPv${wanted} address.`,
            });
          }
          if (options.all) {
            (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [
              ...usable,
            ]);
          } else {
            callback(null, usable[0]!.address, usable[0]!.family);
          }
        })
        .catch((error: unknown) => {
          callback(
            error instanceof OutboundRefusedError
              ? error
              : Object.assign(
                  new OutboundRefusedError({
                    reason: 'unresolvable',
                    message: `${host} did not resolve.`,
                  }),
                  { code: 'ENOTFOUND' },
                ),
            '',
            4,
          );
        });
    };
  }
}

function classify(error: unknown): Error {
  if (error instanceof OutboundRefusedError || error instanceof OutboundFailedError) {
    return error;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (TLS_CODES.test(code)) {
    return new OutboundFailedError('tls', `TLS failed (${code}).`);
  }
  return new OutboundFailedError('connection', `Connection failed${code ? ` (${code})` : ''}.`);
}

async function readExcerpt(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= BODY_EXCERPT_BYTES) {
      break; // leaving the loop destroys the stream: the rest is never read
    }
  }
  const excerpt = Buffer.concat(chunks).subarray(0, BODY_EXCERPT_BYTES).toString('utf8');
  // A multi-byte character cut at the limit decodes as U+FFFD: drop it rather than grow past 256 bytes.
  return excerpt.replace(/\uFFFD+$/, '');
}
