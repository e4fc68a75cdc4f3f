import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { GatehouseConfig } from '@gatehouse/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OutboundFailedError, OutboundRefusedError } from './outbound.errors.js';
import { OutboundHttp, type OutboundResolver } from './outbound-http.js';

const config = (allowPrivate: boolean, timeoutMs = 5000) =>
  ({ outbound: { allowPrivate, httpsOnly: false, timeoutMs } }) as unknown as GatehouseConfig;

const received: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let server: Server;
let base: string;

function handle(request: IncomingMessage, response: ServerResponse): void {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    received.push({ url: request.url ?? '', headers: request.headers, body });
    switch (request.url ?? '') {
      case '/ok':
        response.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
        return;
      case '/big':
        response.writeHead(500).end(`x${'é'.repeat(50_000)}`);
        return;
      case '/redirect':
        response.writeHead(307, { location: `${base}/ok` }).end();
        return;
      case '/silent':
        return; // never answers
      default:
        response.writeHead(404).end();
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

type Rejection = Error & { reason?: string; status?: number; refusal?: { reason: string } };

async function rejection(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (error) {
    return error as Rejection;
  }
  throw new Error('expected the call to fail');
}

const post = (http: OutboundHttp, url: string) =>
  http.post(url, { headers: { 'content-type': 'application/json' }, body: '{"a":1}' });

describe('OutboundHttp', () => {
  it('posts the body and headers and returns status and excerpt', async () => {
    const response = await post(new OutboundHttp(config(true)), `${base}/ok`);
    expect(response).toMatchObject({ status: 200, bodyExcerpt: 'thanks' });
    expect(response.durationMs).toBeGreaterThanOrEqual(0);
    const last = received.at(-1)!;
    expect(last).toMatchObject({ url: '/ok', body: '{"a":1}' });
    expect(last.headers['content-type']).toBe('application/json');
  });

  it('keeps at most 256 bytes of the body, never a broken character', async () => {
    const response = await post(new OutboundHttp(config(true)), `${base}/big`);
    expect(response.status).toBe(500);
    expect(Buffer.byteLength(response.bodyExcerpt)).toBeLessThanOrEqual(256);
    expect(response.bodyExcerpt).toBe(`x${'é'.repeat(127)}`);
  });

  it('does not follow redirects: a 3xx is a failure (redirect)', async () => {
    const before = received.filter((request) => request.url === '/ok').length;
    const error = await rejection(post(new OutboundHttp(config(true)), `${base}/redirect`));
    expect(error).toBeInstanceOf(OutboundFailedError);
    expect(error).toMatchObject({ reason: 'redirect', status: 307 });
    expect(received.filter((request) => request.url === '/ok')).toHaveLength(before);
  });

  it('gives up on a receiver that does not answer (timeout)', async () => {
    const error = await rejection(post(new OutboundHttp(config(true, 300)), `${base}/silent`));
    expect(error).toBeInstanceOf(OutboundFailedError);
    expect(error.reason).toBe('timeout');
  });

  it('reports a refused connection as a connection failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejection(
      post(new OutboundHttp(config(true)), `http://127.0.0.1:${port}/`),
    );
    expect(error).toBeInstanceOf(OutboundFailedError);
    expect(error.reason).toBe('connection');
  });

  it('refuses loopback literals unless private targets are allowed, and metadata always', async () => {
    const loopback = await rejection(post(new OutboundHttp(config(false)), `${base}/ok`));
    expect(loopback).toBeInstanceOf(OutboundRefusedError);
    expect(loopback.refusal?.reason).toBe('private_address');
    const metadata = await rejection(
      post(new OutboundHttp(config(true)), 'http://169.254.169.254/'),
    );
    expect(metadata).toBeInstanceOf(OutboundRefusedError);
    expect(metadata.refusal?.reason).toBe('metadata');
  });

  it('resolves names itself and refuses when ANY address is refused', async () => {
    const port = (server.address() as AddressInfo).port;
    const resolver: OutboundResolver = (name) =>
      Promise.resolve(
        name === 'rebind.example'
          ? [
              { address: '93.184.216.34', family: 4 },
              { address: '10.0.0.7', family: 4 },
            ]
          : name === 'metadata.example'
            ? [{ address: '::ffff:169.254.169.254', family: 6 }]
            : [{ address: '127.0.0.1', family: 4 }],
      );

    const strict = new OutboundHttp(config(false), resolver);
    const mixed = await rejection(post(strict, `http://rebind.example:${port}/ok`));
    expect(mixed).toBeInstanceOf(OutboundRefusedError);
    expect(mixed.refusal?.reason).toBe('private_address');

    const permissive = new OutboundHttp(config(true), resolver);
    const metadata = await rejection(post(permissive, `http://metadata.example:${port}/ok`));
    expect(metadata).toBeInstanceOf(OutboundRefusedError);
    expect(metadata.refusal?.reason).toBe('metadata');

    // Allowed: the connection goes to the address that was vetted (the test server).
    const pinned = await post(permissive, `http://receiver.example:${port}/ok`);
    expect(pinned.status).toBe(200);
    expect(received.at(-1)!.headers.host).toBe(`receiver.example:${port}`);
  });

  it('refuses a name that does not resolve', async () => {
    const http = new OutboundHttp(config(true), () => Promise.resolve([]));
    const error = await rejection(post(http, 'http://nowhere.example/'));
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error.refusal?.reason).toBe('unresolvable');
  });
});
