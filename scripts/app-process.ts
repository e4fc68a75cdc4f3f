import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { childEnvironment } from '@gatehouse/config';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** The header the health endpoints echo `INSTANCE_ID` in. */
const INSTANCE_HEADER = 'gatehouse-instance';

/** 128 + the signal number: how a Node process that handled the signal by exiting reports it. */
const SIGNAL_EXIT_CODES: Readonly<Record<number, string>> = {
  129: 'SIGHUP',
  130: 'SIGINT',
  143: 'SIGTERM',
};

/** How a child ended, and whether that was a failure rather than someone stopping it. */
function ending(code: number | null, signal: NodeJS.Signals | null): [string, boolean] {
  if (code === null) {
    return [`was stopped by ${signal}`, false];
  }
  const byName = SIGNAL_EXIT_CODES[code];
  return byName
    ? [`was stopped by ${byName} (exit code ${code})`, false]
    : [`exited with code ${code}`, code !== 0];
}

/** One app of `npm start`: its bundle (the one production runs) as a child process. */
export class AppProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly port: number,
    /** Its readiness endpoint: answers 200 once its dependencies answer. */
    private readonly healthPath: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /** `onExit` hears how it ended: "exited with code 1", "was stopped by SIGTERM". */
  start(env: Record<string, string>, onExit: (how: string, failed: boolean) => void): void {
    const bundle = fileURLToPath(new URL(`./${this.name}.js`, import.meta.url));
    const child = spawn(process.execPath, ['--enable-source-maps', bundle], {
      env: childEnvironment(env),
      stdio: 'inherit',
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        resolve();
        onExit(...ending(code, signal));
      }),
    );
  }

  /**
   * Until the app answers its readiness probe as the instance we started: a port answered by anyone
   * else (another Gatehouse, another program) never counts.
   */
  async waitUntilReady(host: string, instanceId: string): Promise<void> {
    const url = `http://${host}:${this.port}${this.healthPath}`;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} exited before it was ready`);
      }
      const ours = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.ok && response.headers.get(INSTANCE_HEADER) === instanceId,
        () => false,
      );
      if (ours) {
        return;
      }
      await sleep(200);
    }
    throw new Error(`${this.name} did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it has not exited after ten seconds. */
  async stop(): Promise<void> {
    if (!this.running) {
      return this.exited;
    }
    this.child?.kill('SIGTERM');
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      sleep(STOP_TIMEOUT_MS, true, { ref: false }),
    ]);
    if (timedOut) {
      process.stderr.write(`${this.name} did not stop within 10 s; killing it.\n`);
      this.child?.kill('SIGKILL');
      await this.exited;
    }
  }
}
