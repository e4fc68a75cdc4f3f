import { join } from 'node:path';

import { expect, inject } from 'vitest';

import { REPOSITORY } from './bundles.js';
import { LaunchedProcess } from './launched-process.js';
import { freePort } from './test-app.js';

/**
 * auth-api as production runs it (`node dist/auth-api.js`, built by `ensureBundles`), on a free
 * port, with the test's `env` (DATABASE_URL at least) over a clean environment; answers once
 * `GET /health/ready` says 200, failing with the process's output if it exits first (a process
 * that never gets ready is killed, not left behind).
 */
export async function launchAuthApi(
  env: Record<string, string>,
  readyWithinMs: number,
): Promise<{ proc: LaunchedProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const clean = { ...process.env };
  for (const name of ['REDIS_URL', 'ISSUER', 'TRUSTED_ORIGINS', 'INSTANCE_ID', 'HOST']) {
    delete clean[name];
  }
  const proc = new LaunchedProcess(process.execPath, [join(REPOSITORY, 'dist', 'auth-api.js')], {
    cwd: REPOSITORY,
    env: {
      ...clean,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      KEY_ENCRYPTION_KEY: inject('keyEncryptionKey'),
      AUTH_API_PORT: String(port),
      ISSUER: url,
      ...env,
    },
  });
  try {
    await expect
      .poll(
        async () => {
          expect(proc.child.exitCode, proc.output).toBeNull();
          return fetch(`${url}/health/ready`).then(
            (response) => response.status,
            () => 0,
          );
        },
        { timeout: readyWithinMs, interval: 200 },
      )
      .toBe(200);
  } catch (error) {
    proc.child.kill('SIGKILL');
    throw error;
  }
  return { proc, url };
}

/** SIGKILL: no shutdown hook runs, as when a machine dies. */
export async function killHard(proc: LaunchedProcess): Promise<void> {
  proc.child.kill('SIGKILL');
  expect((await proc.finished(30_000)).signal).toBe('SIGKILL');
}
