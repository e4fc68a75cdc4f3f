import { readFile } from 'node:fs/promises';

import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

import { freePort, isPortFree } from './test-app.js';

/** Linux's default first ephemeral port, where /proc does not say. */
const DEFAULT_EPHEMERAL_START = 32768;
/** Where an outage port is drawn: below the ephemeral range, clear of the well-known ports. */
const OUTAGE_PORTS_FROM = 20000;

async function ephemeralRangeStart(): Promise<number> {
  try {
    const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    return Number(range.trim().split(/\s+/)[0]) || DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}

/**
 * A free port below the ephemeral range, for an inbox that starts late. A port from `listen(0)`
 * would be free only for a moment: the kernel hands out the same range to the servers of parallel
 * test files and as the source port of outgoing connections (one to this very port can then
 * connect to itself). Either way a sender saw a connection closed instead of ECONNREFUSED. Below
 * the range, nothing takes the port unless asked for it by number.
 */
async function outagePort(): Promise<number> {
  const end = Math.max((await ephemeralRangeStart()) - 1, OUTAGE_PORTS_FROM + 1);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = OUTAGE_PORTS_FROM + Math.floor(Math.random() * (end - OUTAGE_PORTS_FROM));
    if (await isPortFree(port)) {
      return port;
    }
  }
  throw new Error('No free port below the ephemeral range');
}

/**
 * A real SMTP server in the test process (smtp-server), every message parsed with mailparser. It can
 * be started late or stopped, to play an SMTP outage on a fixed port.
 */
export class SmtpInbox {
  readonly messages: ParsedMail[] = [];
  private server: SMTPServer | undefined;
  private holding: (() => void) | undefined;

  private constructor(readonly port: number) {}

  /**
   * An inbox on a free port; `listening: false` picks a port that stays refused (see `outagePort`)
   * and answers nothing until `start()`.
   */
  static async on({ listening = true } = {}): Promise<SmtpInbox> {
    if (!listening) {
      return new SmtpInbox(await outagePort());
    }
    const inbox = new SmtpInbox(await freePort());
    await inbox.start();
    return inbox;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ParsedMail[] {
    return this.messages.filter((message) =>
      [message.to ?? []].flat().some((to) => to.value.some((entry) => entry.address === address)),
    );
  }

  /**
   * The next message's DATA is read but never answered, so its sender stays in the middle of the
   * send (until it gives up or dies); it is not counted in `messages`. Resolves once that DATA began.
   */
  holdNextDelivery(): Promise<void> {
    return new Promise((resolve) => (this.holding = resolve));
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        const held = this.holding;
        if (held) {
          this.holding = undefined;
          stream.resume();
          held();
          return;
        }
        simpleParser(stream).then(
          (message) => {
            this.messages.push(message);
            done();
          },
          (error: Error) => done(error),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
