import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Ending {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A real command (`npm start`, a script bundle) as a child process, with its stdout and stderr
 * together in `output`. `ended` settles once the process and everything holding its output (its
 * children) are gone.
 */
export class LaunchedProcess {
  readonly child: ChildProcess;
  readonly ended: Promise<Ending>;
  private text = '';

  constructor(
    command: string,
    args: readonly string[],
    options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string },
  ) {
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    this.child.stdin?.end(options.input ?? '');
    this.ended = new Promise((resolve) =>
      this.child.once('close', (code, signal) => resolve({ code, signal })),
    );
  }

  get output(): string {
    return this.text;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Until the output contains `text`; fails with the output so far if it ends or takes too long. */
  async waitFor(text: string, timeoutMs: number): Promise<void> {
    let ended = false;
    void this.ended.then(() => (ended = true));
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(text)) {
      if (ended || Date.now() > deadline) {
        throw new Error(
          `${ended ? 'ended' : `no output "${text}" within ${timeoutMs / 1000} s`}:\n${this.text}`,
        );
      }
      await sleep(100);
    }
  }

  /** How it ended, within `timeoutMs` (then it is killed and this fails). */
  async finished(timeoutMs: number): Promise<Ending> {
    const ending = await Promise.race([this.ended, sleep(timeoutMs, undefined, { ref: false })]);
    if (!ending) {
      this.child.kill('SIGKILL');
      throw new Error(`still running after ${timeoutMs / 1000} s:\n${this.text}`);
    }
    return ending;
  }
}
