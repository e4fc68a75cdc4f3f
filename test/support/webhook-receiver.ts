import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';

/** One request as a webhook receiver saw it. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  readonly payload: { type: string; timestamp: string; data: Record<string, unknown> };
  readonly receivedAt: number;
}

/** What the receiver answers a request on `path`: a status (and a location for 3xx). */
export type Answer = (
  request: ReceivedWebhook,
  seenBefore: number,
) => {
  status: number;
  location?: string;
  body?: string;
  /** Answer only once this settles (the request stays open until then). */
  hold?: Promise<void>;
};

const ok: Answer = () => ({ status: 200, body: 'ok' });

/**
 * A webhook receiver on 127.0.0.1 (a real socket, a real port): it records every request and answers
 * per path. It can go down (the port closes: connection refused) and come back on the same port.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly answers = new Map<string, Answer>();
  private server: Server | undefined;

  private constructor(private port: number) {}

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(0);
    await receiver.up();
    return receiver;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  answer(path: string, answer: Answer): void {
    this.answers.set(path, answer);
  }

  on(path: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.path === path);
  }

  async up(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  /** Every request on `path` whose signature the `standardwebhooks` package accepts under `secret`. */
  verified(path: string, secret: string): ReceivedWebhook[] {
    const webhook = new Webhook(secret);
    return this.on(path).filter((request) => {
      try {
        webhook.verify(request.body, {
          'webhook-id': request.id,
          'webhook-timestamp': request.timestamp,
          'webhook-signature': request.signature,
        });
        return true;
      } catch {
        return false;
      }
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(request.headers[name] ?? '');
      let payload: ReceivedWebhook['payload'];
      try {
        payload = JSON.parse(body) as ReceivedWebhook['payload'];
      } catch {
        payload = { type: '', timestamp: '', data: {} };
      }
      const received: ReceivedWebhook = {
        path: request.url ?? '',
        id: header('webhook-id'),
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
        body,
        payload,
        receivedAt: Date.now(),
      };
      const seenBefore = this.received.filter(
        (other) => other.path === received.path && other.id === received.id,
      ).length;
      this.received.push(received);
      const answer = (this.answers.get(received.path) ?? ok)(received, seenBefore);
      void (answer.hold ?? Promise.resolve()).then(() => {
        if (!response.destroyed) {
          response
            .writeHead(answer.status, answer.location ? { location: answer.location } : {})
            .end(answer.body ?? '');
        }
      });
    });
  }
}
