import { describe, expect, it } from 'vitest';

import { ServiceBusyError } from '../identity.errors.js';
import { type HashPriority, PasswordHashQueue } from './password-hash-queue.js';

/** A job the test finishes by hand, recording when it started. */
class ManualJobs {
  readonly started: string[] = [];
  private readonly finishers = new Map<string, () => void>();

  job(name: string): () => Promise<string> {
    return () =>
      new Promise<string>((resolve) => {
        this.started.push(name);
        this.finishers.set(name, () => resolve(name));
      });
  }

  async finish(name: string): Promise<void> {
    this.finishers.get(name)?.();
    // Let the queue's `finally` run and start the next job.
    await new Promise((wake) => setImmediate(wake));
  }
}

async function settled<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch((error: Error) => error);
}

function submit(
  queue: PasswordHashQueue,
  jobs: ManualJobs,
  name: string,
  priority: HashPriority,
): Promise<string> {
  return queue.run(priority, jobs.job(name));
}

describe(PasswordHashQueue.name, () => {
  it('runs up to its concurrency at once and starts the others as jobs finish', async () => {
    const queue = new PasswordHashQueue({ concurrency: 2, maxWaiting: 10 });
    const jobs = new ManualJobs();
    const results = ['a', 'b', 'c'].map((name) => submit(queue, jobs, name, 'sign-in'));
    await new Promise((wake) => setImmediate(wake));
    expect(jobs.started).toEqual(['a', 'b']);
    expect(queue.waitingCount).toBe(1);

    await jobs.finish('a');
    expect(jobs.started).toEqual(['a', 'b', 'c']);
    await jobs.finish('b');
    await jobs.finish('c');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
  });

  it('serves waiting sign-ins before account changes that arrived earlier', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 10 });
    const jobs = new ManualJobs();
    void submit(queue, jobs, 'running', 'account-change');
    void submit(queue, jobs, 'register-1', 'account-change');
    void submit(queue, jobs, 'register-2', 'account-change');
    void submit(queue, jobs, 'login-1', 'sign-in');
    void submit(queue, jobs, 'login-2', 'sign-in');

    for (const name of ['running', 'login-1', 'login-2', 'register-1', 'register-2']) {
      await new Promise((wake) => setImmediate(wake));
      await jobs.finish(name);
    }
    expect(jobs.started).toEqual(['running', 'login-1', 'login-2', 'register-1', 'register-2']);
  });

  it('refuses at once with SERVICE_BUSY and Retry-After when the queue is full', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 2 });
    const jobs = new ManualJobs();
    void submit(queue, jobs, 'running', 'sign-in');
    void submit(queue, jobs, 'waiting-1', 'sign-in');
    void submit(queue, jobs, 'waiting-2', 'account-change');

    const refusedChange = await settled(submit(queue, jobs, 'refused-1', 'account-change'));
    expect(refusedChange).toBeInstanceOf(ServiceBusyError);
    expect(refusedChange).toMatchObject({ status: 503, code: 'SERVICE_BUSY' });
    expect((refusedChange as ServiceBusyError).headers).toEqual({ 'retry-after': '1' });
    expect(queue.waitingCount).toBe(2);
    await new Promise((wake) => setImmediate(wake));
    expect(jobs.started).toEqual(['running']);
  });

  it('lets a sign-in take the place of the newest waiting account change when full', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 2 });
    const jobs = new ManualJobs();
    void submit(queue, jobs, 'running', 'account-change');
    const older = submit(queue, jobs, 'register-older', 'account-change');
    const newer = settled(submit(queue, jobs, 'register-newer', 'account-change'));
    const login = submit(queue, jobs, 'login', 'sign-in');

    expect(await newer).toBeInstanceOf(ServiceBusyError);
    expect(queue.waitingCount).toBe(2);
    for (const name of ['running', 'login', 'register-older']) {
      await new Promise((wake) => setImmediate(wake));
      await jobs.finish(name);
    }
    expect(await login).toBe('login');
    expect(await older).toBe('register-older');
    expect(jobs.started).toEqual(['running', 'login', 'register-older']);
  });

  it('refuses a sign-in when only sign-ins wait', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 1 });
    const jobs = new ManualJobs();
    void submit(queue, jobs, 'running', 'sign-in');
    void submit(queue, jobs, 'waiting', 'sign-in');

    expect(await settled(submit(queue, jobs, 'refused', 'sign-in'))).toBeInstanceOf(
      ServiceBusyError,
    );
  });

  it('with no room to wait, refuses whatever arrives while every slot is busy', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 0 });
    const jobs = new ManualJobs();
    void submit(queue, jobs, 'running', 'account-change');

    expect(await settled(submit(queue, jobs, 'login', 'sign-in'))).toBeInstanceOf(ServiceBusyError);
    await new Promise((wake) => setImmediate(wake));
    await jobs.finish('running');
    const later = submit(queue, jobs, 'later', 'sign-in');
    await new Promise((wake) => setImmediate(wake));
    await jobs.finish('later');
    expect(await later).toBe('later');
  });

  it('frees the slot of a job that fails, and hands its error to the caller', async () => {
    const queue = new PasswordHashQueue({ concurrency: 1, maxWaiting: 1 });
    const jobs = new ManualJobs();
    const failing = queue.run('sign-in', () => Promise.reject(new Error('argon2 failed')));
    const next = submit(queue, jobs, 'next', 'sign-in');

    await expect(failing).rejects.toThrow('argon2 failed');
    await new Promise((wake) => setImmediate(wake));
    await jobs.finish('next');
    expect(await next).toBe('next');
  });
});
