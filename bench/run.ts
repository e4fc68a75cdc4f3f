import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import pg from 'pg';

/**
 * `npm run bench [-- <scenario>]`: starts the apps on real PostgreSQL (a scratch database), drives
 * them with autocannon from a separate process (50 connections, a warm-up, 3 runs, medians), stops
 * them by PID and prints one markdown table with each target's ratio to its baseline measured in the
 * same run; BENCHMARKS.md gets the same table.
 */
const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const dist = (name: string) => fileURLToPath(new URL(`dist/${name}.js`, root));
const AUTOCANNON = fileURLToPath(new URL('bench/node_modules/.bin/autocannon', root));

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const RUNS = 3;
const CONNECTIONS = 50;
const PORTS = { auth: 4100, notes: 4102 };
const PASSWORD = 'correct horse battery staple';

interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
}

interface Scenario {
  readonly name: string;
  readonly baseline: Target;
  readonly targets: readonly Target[];
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function autocannon(target: Target, seconds: number): Promise<Measurement> {
  const headers = Object.entries(target.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const { stdout } = await run(
    AUTOCANNON,
    ['-c', String(CONNECTIONS), '-d', String(seconds), '--json', ...headers, target.url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function measure(target: Target): Promise<Measurement> {
  await autocannon(target, 3); // warm-up: JIT, connection pools, caches
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    runs.push(await autocannon(target, SECONDS));
  }
  return {
    rps: median(runs.map((m) => m.rps)),
    p50: median(runs.map((m) => m.p50)),
    p99: median(runs.map((m) => m.p99)),
  };
}

function start(bundle: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [dist(bundle)], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function ready(url: string): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      return;
    }
    await new Promise((wake) => setTimeout(wake, 250));
  }
  throw new Error(`${url} did not become ready`);
}

async function json<T>(url: string, init: RequestInit): Promise<{ body: T; response: Response }> {
  const response = await fetch(url, init);
  if (!response.ok) {
    throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}`);
  }
  return { body: (await response.json()) as T, response };
}

async function credentials(auth: string): Promise<{ cookie: string; accessToken: string }> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const headers = { 'content-type': 'application/json', origin: 'http://localhost:3000' };
  await json(`${auth}/auth/register`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const { response } = await json(`${auth}/auth/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { body } = await json<{ access_token: string }>(`${auth}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      client_id: 'gatehouse-first-party',
      username: email,
      password: PASSWORD,
    }),
  });
  return { cookie, accessToken: body.access_token };
}

function table(
  results: { scenario: string; target: string; m: Measurement; ratio: string }[],
): string {
  const rows = results.map(
    ({ scenario, target, m, ratio }) =>
      `| ${scenario} | ${target} | ${Math.round(m.rps).toLocaleString('en-US')} | ${m.p50} | ${m.p99} | ${ratio} |`,
  );
  return [
    '| Scenario | Target | req/s | p50 ms | p99 ms | × baseline |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const database = `gh_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  const issuer = `http://127.0.0.1:${PORTS.auth}`;
  const common = {
    DATABASE_URL: url.href,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ISSUER: issuer,
    LOGIN_MAX_ATTEMPTS_PER_IP: '1000000',
  };
  const processes: ChildProcess[] = [];
  try {
    processes.push(start('auth-api', { ...common, AUTH_API_PORT: String(PORTS.auth) }));
    await ready(`${issuer}/health/ready`);
    processes.push(start('notes-api', { ...common, NOTES_API_PORT: String(PORTS.notes) }));
    await ready(`http://127.0.0.1:${PORTS.notes}/health`);
    const { cookie, accessToken } = await credentials(issuer);
    const notes = `http://127.0.0.1:${PORTS.notes}`;
    const scenarios: Scenario[] = [
      {
        name: 'bearer',
        baseline: { name: 'notes-api GET /health (public)', url: `${notes}/health` },
        targets: [
          {
            name: 'notes-api GET /whoami (bearer JWT)',
            url: `${notes}/whoami`,
            headers: { authorization: `Bearer ${accessToken}` },
          },
        ],
      },
      {
        name: 'cookie',
        baseline: { name: 'auth-api GET /health/live (public)', url: `${issuer}/health/live` },
        targets: [
          {
            name: 'auth-api GET /me (cookie, PostgreSQL)',
            url: `${issuer}/me`,
            headers: { cookie },
          },
        ],
      },
    ];
    const results: { scenario: string; target: string; m: Measurement; ratio: string }[] = [];
    for (const scenario of scenarios.filter((s) => !only || s.name === only)) {
      const base = await measure(scenario.baseline);
      results.push({
        scenario: scenario.name,
        target: scenario.baseline.name,
        m: base,
        ratio: '1.00',
      });
      for (const target of scenario.targets) {
        const m = await measure(target);
        results.push({
          scenario: scenario.name,
          target: target.name,
          m,
          ratio: (m.rps / base.rps).toFixed(2),
        });
      }
    }
    const rendered = table(results);
    process.stdout.write(`\n${rendered}\n`);
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    await writeFile(
      new URL('BENCHMARKS.md', root),
      [
        '# Benchmarks',
        '',
        `Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${availableParallelism()} CPUs (${cpu}), PostgreSQL at ${url.host}.`,
        `autocannon ${CONNECTIONS} connections from a separate process, 3 s warm-up, median of ${RUNS} runs of ${SECONDS} s; each ratio is against the baseline of its scenario, measured in the same run.`,
        '',
        rendered,
        '',
        'Noise: the load generator, the apps and PostgreSQL share the same cores, so absolute numbers are',
        'lower than on separate machines and vary by a few percent between runs; compare ratios, not',
        'req/s across machines.',
        '',
      ].join('\n'),
    );
  } finally {
    for (const child of processes) {
      child.kill('SIGTERM');
    }
    await Promise.all(
      processes.map(
        (child) =>
          new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done))),
      ),
    );
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
}

await main();
