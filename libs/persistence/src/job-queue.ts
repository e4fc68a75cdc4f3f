import { EventEmitter } from 'node:events';

import {
  Logger,
  type LogLevel,
  makeWorkerUtils,
  run,
  runMigrations,
  type Runner,
  type Task,
  type WorkerEvents,
  type WorkerUtils,
} from 'graphile-worker';
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
  /**
   * A job locked longer than this belongs to a worker that died (SIGKILL, a lost machine): its lock
   * is released so that another worker runs the job. Must exceed the longest a job can take.
   */
  readonly staleLockSeconds: number;
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
  const events: WorkerEvents = new EventEmitter();
  const ownWorkers = new Set<string>();
  events.on('worker:create', ({ worker }) => ownWorkers.add(worker.workerId));
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
    events,
  });
  const staleLocks = await releasingStaleLocks(options, ownWorkers);
  return {
    async stop(timeoutMs) {
      await staleLocks.stop();
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

/** How often locks are checked for staleness after the check at start-up. */
const STALE_LOCK_CHECK_MS = 60_000;

/**
 * graphile-worker leaves a job locked by a worker that died for 4 hours (its `get_job` expiry)
 * before another worker may take it; a mail would wait that long. This releases, through its public
 * API, the locks of workers holding a job for longer than `staleLockSeconds` (read from the public
 * `graphile_worker.jobs` view), at start and then periodically. This instance's own workers are never
 * released. A worker that is alive but slower than the bound loses its lock too, and its job may then
 * run twice: the bound is what keeps delivery at least once rather than lost for hours.
 */
async function releasingStaleLocks(
  options: JobWorkerOptions,
  ownWorkers: ReadonlySet<string>,
): Promise<{ stop(): Promise<void> }> {
  const utils: WorkerUtils = await makeWorkerUtils({
    connectionString: options.url,
    maxPoolSize: 1,
    logger: quiet,
  });
  const release = async () => {
    const stale = await utils.withPgClient(async (client) => {
      const { rows } = await client.query<{ worker: string }>(
        `SELECT DISTINCT locked_by AS worker FROM graphile_worker.jobs
         WHERE locked_by IS NOT NULL AND locked_at < now() - make_interval(secs => $1)`,
        [options.staleLockSeconds],
      );
      return rows.map((row) => row.worker).filter((worker) => !ownWorkers.has(worker));
    });
    if (stale.length > 0) {
      await utils.forceUnlockWorkers(stale);
      options.log(
        'warn',
        `Released the jobs of ${stale.length} worker(s) holding them for over ${options.staleLockSeconds} s (presumed dead): ${stale.join(', ')}`,
      );
    }
  };
  const releaseLogged = () =>
    release().catch((error: unknown) =>
      options.log('warn', `Could not release stale job locks: ${String(error)}`),
    );
  let running: Promise<void> = releaseLogged();
  await running;
  const timer = setInterval(
    () => {
      running = running.then(releaseLogged);
    },
    Math.min(STALE_LOCK_CHECK_MS, options.staleLockSeconds * 1000),
  );
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await utils.release();
    },
  };
}
