import 'reflect-metadata';

import { randomBytes } from 'node:crypto';

import { loadConfigOrExit, resolveDatabase } from '@gatehouse/http';
import pg from 'pg';

import { runScript } from './script-context.js';

/**
 * `npm run seed -- --sessions 1000000 [--users 100000]`: fills the database with synthetic users and
 * sessions for scale tests, in set-based batches (generate_series; 100 000 rows per statement).
 * Seeded users cannot sign in (their password hash is not a hash).
 */
function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`--${name}: expected a non-negative integer`);
  }
  return value;
}

const BATCH = 100_000;

await runScript('seed', async () => {
  const sessions = option('sessions', 10_000);
  const users = Math.max(1, option('users', Math.ceil(sessions / 10)));
  const run = randomBytes(4).toString('hex');
  const { config, embedded } = await resolveDatabase(loadConfigOrExit(), {
    owner: 'seed',
    joinRunning: true,
  });
  try {
    await seed(config.database.url ?? '', { sessions, users, run });
  } finally {
    await embedded?.stop();
  }
});

async function seed(
  url: string,
  { sessions, users, run }: { sessions: number; users: number; run: string },
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = Date.now();
    await client.query(
      `INSERT INTO users (email, password_hash)
       SELECT 'seed-' || $1 || '-' || g || '@seed.example', 'seeded: no login'
       FROM generate_series(1, $2) AS g`,
      [run, users],
    );
    await client.query(
      `CREATE TEMP TABLE seed_users AS
       SELECT row_number() OVER (ORDER BY email) AS n, id FROM users WHERE email LIKE $1`,
      [`seed-${run}-%`],
    );
    await client.query('CREATE UNIQUE INDEX ON seed_users (n)');
    for (let from = 1; from <= sessions; from += BATCH) {
      const to = Math.min(sessions, from + BATCH - 1);
      // Spread over the last 30 days; a third are token sessions of the first-party client when it exists.
      await client.query(
        `INSERT INTO sessions (user_id, kind, client_id, token_hash, created_at, last_seen_at,
           idle_expires_at, absolute_expires_at, ip, user_agent)
         SELECT su.id, t.kind, t.client_id, t.token_hash, t.created_at, t.created_at,
           t.created_at + interval '1 day', t.created_at + interval '7 days', '10.0.0.1', 'gatehouse-seed'
         FROM generate_series($1::int, $2::int) AS g
         JOIN seed_users su ON su.n = 1 + (g % $3)
         CROSS JOIN LATERAL (
           SELECT CASE WHEN g % 3 = 0 AND fp.id IS NOT NULL THEN 'token' ELSE 'cookie' END AS kind,
                  CASE WHEN g % 3 = 0 THEN fp.id END AS client_id,
                  CASE WHEN g % 3 = 0 AND fp.id IS NOT NULL THEN NULL
                       ELSE sha256(convert_to($4 || ':' || g, 'UTF8')) END AS token_hash,
                  now() - random() * interval '30 days' AS created_at
           FROM (SELECT (SELECT id FROM clients WHERE first_party LIMIT 1) AS id) fp
         ) t`,
        [from, to, users, run],
      );
      process.stdout.write(`  sessions ${to}/${sessions}\n`);
    }
    await client.query('ANALYZE users');
    await client.query('ANALYZE sessions');
    process.stdout.write(
      `Seeded ${users} users and ${sessions} sessions in ${((Date.now() - started) / 1000).toFixed(1)} s (run ${run}).\n`,
    );
  } finally {
    await client.end();
  }
}
