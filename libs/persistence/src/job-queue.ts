import { Logger, type LogLevel, run, runMigrations, type Runner, type Task } from 'graphile-worker';
import type { DataSource } from 'typeorm';

/** The job as a handler sees it. `attempt` counts from 1; the last one is `maxAttempts`. */
export interface JobAttempt {
  readonly id: string;
  readonly attempt: number;
  readonly maxAttempts: number;
}

/** Resolves: done (the job is deleted). Throws: this attempt failed, graphile-worker retries it. */
export type JobHandler = (payload: unknown, job: JobAttempt) => Promise<void>;

export type JobLog = (level: 'error' | 'warn' | 'info' | 'debug', message: string) => void;

export interface JobWorkerOptions {
  readonly url: string;
  /** Jobs run at once by this worker. */
  readonly concurrency: number;
  /** How often jobs that came due (retries) are looked for; new jobs arrive by NOTIFY at once. */
  readonly pollIntervalMs: number;
  readonly tasks: Readonly<Record<string, JobHandler>>;
  readonly log: JobLog;
}

export interface JobWorker {
  /** Stops taking jobs and waits for the running ones, at most `timeoutMs`; then abandons them. */
  stop(timeoutMs: number): Promise<void>;
}

const LEVELS: Readonly<Record<LogLevel, Parameters<JobLog>[0]>> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

/** graphile-worker's messages, without their metadata (which carries job payloads and errors). */
function loggerFor(log: JobLog): Logger {
  return new Logger(() => (level, message) => log(LEVELS[level], message));
}

const quiet = loggerFor(() => undefined);

/**
 * Installs or upgrades graphile-worker's schema (`graphile_worker`) in the DataSource's database, so
 * the first `add_job` of a transaction never meets a missing schema. Idempotent; `migrateDatabase`
 * calls it under the migration lock. (On a short-lived pool of its own: graphile-worker wants error
 * handlers on every client of a pool it is given, which TypeORM's pool does not install.)
 */
export async function installJobQueue(dataSource: DataSource): Promise<void> {
  const { url } = dataSource.options as { readonly url?: string };
  await runMigrations({ connectionString: url, maxPoolSize: 1, logger: quiet });
}

/**
 * Runs jobs from the queue until stopped. Jobs are locked by the worker that took them, so any number
 * of processes may run workers on one database. Its own small pool: one connection LISTENs for new
 * jobs, the others fetch and complete them.
 */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const taskList = Object.fromEntries(
    Object.entries(options.tasks).map(([name, handler]): [string, Task] => [
      name,
      (payload, helpers) =>
        handler(payload, {
          id: helpers.job.id,
          attempt: helpers.job.attempts,
          maxAttempts: helpers.job.max_attempts,
        }),
    ]),
  );
  const runner: Runner = await run({
    connectionString: options.url,
    concurrency: options.concurrency,
    maxPoolSize: options.concurrency + 2,
    pollInterval: options.pollIntervalMs,
    taskList,
    // The app owns SIGTERM/SIGINT: Nest's shutdown stops the worker.
    noHandleSignals: true,
    logger: loggerFor(options.log),
  });
  return {
    async stop(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        if ((await Promise.race([runner.stop(), timedOut])) === 'timeout') {
          await runner.kill('shutdown timed out');
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
