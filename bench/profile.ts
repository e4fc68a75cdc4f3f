import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FIRST_PARTY_CLIENT, inBatches, login, passwordGrant, register } from './apps.js';
import { type ProfileSummary, summarise } from './cpu-profile.js';
import {
  autocannon,
  ChainDriver,
  CONNECTIONS,
  type LoadWindow,
  type Measurement,
  type Target,
  WARM_UP_SECONDS,
} from './load.js';
import type { Outcome, Stage } from './scenarios.js';

/** Seconds of load each profile covers, after WARM_UP_SECONDS of warm-up. */
export const PROFILE_SECONDS = Number(process.env['BENCH_PROFILE_SECONDS'] ?? '5');
const PROFILE_PORT = 4300;
const CHAINS = 50;

interface HotPath {
  readonly name: string;
  readonly app: 'auth-api' | 'admin-api' | 'notes-api';
  /**
   * Load against the profiled instance at `base`: one window of `seconds`, as measured, with when
   * the load started and finished where the driver knows (autocannon: not its own start-up).
   */
  readonly driver: (base: string) => {
    window(seconds: number): Promise<Measurement & Partial<LoadWindow>>;
    stop(): void;
  };
}

const autocannonDriver = (target: (base: string) => Target) => (base: string) => ({
  window: (seconds: number) => autocannon(target(base), seconds),
  stop: () => undefined,
});

/** Microseconds on the monotonic clock, which is the one V8 stamps profile samples with. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const percent = (value: number) => `${value.toFixed(1)} %`;

function profileTable(path: HotPath, measured: Measurement, summary: ProfileSummary): string {
  return [
    `**${path.name}** (${Math.round(measured.rps).toLocaleString('en-US')} req/s while profiled, ${Math.round(summary.sampledMs).toLocaleString('en-US')} ms sampled)`,
    '',
    '| Self time | Function | Where |',
    '| ---: | --- | --- |',
    ...summary.top.map((e) => `| ${percent(e.percent)} | \`${e.name}\` | ${e.location} |`),
    ...summary.special.map((e) => `| ${percent(e.percent)} | ${e.name} | ${e.location} |`),
  ].join('\n');
}

/**
 * CPU profiles of the hot paths: for each, a fresh instance of the app under `node --cpu-prof` (the
 * platform's other apps up, as in production), WARM_UP_SECONDS of load, then PROFILE_SECONDS of
 * load whose samples are kept, then SIGINT: the apps close gracefully and Node writes the profile
 * as the process exits. Prints the top 10 functions by self time per hot path, with (idle), the
 * garbage collector and (program) on lines of their own. No rows of the main table: the profiler
 * slows the app down, so its req/s are context, not results.
 */
export async function profile(stage: Stage): Promise<Outcome> {
  const auth = await stage.auth();
  await stage.admin();
  await stage.notes();
  const email = await register(auth);
  const { access_token } = await passwordGrant(auth, email);
  const bearerHeader = { authorization: `Bearer ${access_token}` };
  const cookieHeader = { cookie: await login(auth, email) };
  // The chains' tokens are issued up front (argon2-bound); the refreshes go to the profiled instance.
  const grants = await inBatches(CHAINS, 10, () => passwordGrant(auth, email));
  const get = (path: string, headers: Record<string, string>) =>
    autocannonDriver((base) => ({ name: path, url: `${base}${path}`, headers }));
  const paths: HotPath[] = [
    { name: 'notes-api GET /health', app: 'notes-api', driver: get('/health', bearerHeader) },
    {
      name: 'notes-api GET /whoami (bearer JWT)',
      app: 'notes-api',
      driver: get('/whoami', bearerHeader),
    },
    { name: 'auth-api GET /health/live', app: 'auth-api', driver: get('/health/live', {}) },
    { name: 'auth-api GET /me (bearer JWT)', app: 'auth-api', driver: get('/me', bearerHeader) },
    {
      name: 'auth-api GET /me (cookie, session cache)',
      app: 'auth-api',
      driver: get('/me', cookieHeader),
    },
    { name: 'admin-api GET /health/live', app: 'admin-api', driver: get('/health/live', {}) },
    {
      name: `auth-api refresh grant (${CHAINS} chains)`,
      app: 'auth-api',
      driver: (base) =>
        new ChainDriver({
          name: 'profiled refresh',
          tokenEndpoint: `${base}/oauth/token`,
          clientId: FIRST_PARTY_CLIENT,
          refreshTokens: grants.map((g) => g.refresh_token),
        }),
    },
  ];

  const directory = await mkdtemp(join(tmpdir(), 'gatehouse-profile-'));
  const tables: string[] = [];
  try {
    for (const [index, path] of paths.entries()) {
      process.stderr.write(`bench: profile ${path.name}…\n`);
      const port = PROFILE_PORT + index;
      const dir = join(directory, String(index));
      const base = await stage.bench.startApp(path.app, port, stage.appEnv(), {
        label: `${path.app} (profiled)`,
        nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
        inRssTable: false,
      });
      const driver = path.driver(base);
      let measured: Measurement;
      let window: { from: number; to: number };
      try {
        await driver.window(WARM_UP_SECONDS);
        const from = monotonicUs();
        const run = await driver.window(PROFILE_SECONDS);
        const to = monotonicUs();
        const epochToMonotonic = to - Date.now() * 1000;
        measured = run;
        window = {
          from: run.startedMs === undefined ? from : run.startedMs * 1000 + epochToMonotonic,
          to: run.finishedMs === undefined ? to : run.finishedMs * 1000 + epochToMonotonic,
        };
      } finally {
        driver.stop();
        await stage.bench.stopProcess(port, 'SIGINT');
      }
      const [file] = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
      if (!file) {
        throw new Error(`${path.name}: no .cpuprofile in ${dir} (did the app exit gracefully?)`);
      }
      tables.push(profileTable(path, measured, summarise(join(dir, file), window)));
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return {
    rows: [],
    goals: [],
    sections: [
      [
        `### CPU profiles: self time per hot path`,
        '',
        `Each hot path on a fresh instance under \`node --cpu-prof\` (auth-api, admin-api and notes-api up beside it), ${CONNECTIONS} connections (refresh: ${CHAINS} chains), ${WARM_UP_SECONDS} s warm-up, then ${PROFILE_SECONDS} s of load whose samples are counted (as autocannon timed it, its start-up left out); self time as a share of the sampled time, our code mapped to its TypeScript source through dist/*.js.map. The profiler slows the app down: req/s here are context, not results.`,
        '',
        tables.join('\n\n'),
      ].join('\n'),
    ],
  };
}
