import { performance } from 'node:perf_hooks';

import {
  type Bench,
  call,
  FIRST_PARTY_CLIENT,
  inBatches,
  login,
  ORIGIN,
  PASSWORD,
  passwordGrant,
  REDIS_URL,
  register,
} from './apps.js';
import {
  autocannon,
  measure,
  type Measurement,
  measureTogether,
  percentile,
  refreshChainsTogether,
  ratioOf,
  ratioRange,
  RUNS,
  SECONDS,
  type Target,
  WARM_UP_SECONDS,
} from './load.js';
import { forgotPassword } from './forgot-password.js';
import { profile } from './profile.js';
import { registrationBurst } from './registration-burst.js';
import { webhooks } from './webhooks.js';

/**
 * One line of the results table; `ratio` is against the scenario's baseline in the same run,
 * `ceiling` against notes-api's `GET /health` (the Fastify ceiling of this codebase) measured in the
 * same alternation; either is left out where the scenario measures no throughput at full load.
 */
export interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly rps?: number;
  readonly p50: number;
  readonly p99: number;
  readonly ratio?: number;
  readonly ceiling?: number;
  /** CPU time of the target's server per request, µs (see `Measurement.cpuMicros`). */
  readonly cpuMicros?: number;
}

/** A target of the issue, as measured in this run. */
export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface Outcome {
  readonly rows: Row[];
  readonly goals: Goal[];
  /** Markdown printed after the tables (the profile scenario's per-hot-path tables). */
  readonly sections?: string[];
}

const PORTS = {
  auth: 4100,
  admin: 4101,
  notes: 4102,
  authNoCache: 4110,
  authRedis: 4120,
  authBehindProxy: 4130,
  notesRedis: 4122,
  expressSession: 4201,
  passportJwt: 4202,
  betterAuth: 4203,
  oidcProvider: 4204,
  oidcProviderPg: 4205,
};

const ratio = ratioOf;
const fixed = (value: number) => value.toFixed(2);
/** A target's ratio with the spread of its rounds, e.g. `0.71 (rounds 0.66–0.74)`. */
function ratioText(m: Measurement, base: Measurement): string {
  const range = ratioRange(m, base);
  return range
    ? `${fixed(ratio(m, base))} (rounds ${fixed(range[0])}–${fixed(range[1])})`
    : fixed(ratio(m, base));
}

/** Starts each app once per run, on first use. */
export class Stage {
  private readonly started = new Map<string, Promise<string>>();
  readonly issuer = `http://127.0.0.1:${PORTS.auth}`;

  constructor(readonly bench: Bench) {}

  private once(key: string, start: () => Promise<string>): Promise<string> {
    let base = this.started.get(key);
    if (!base) {
      base = start();
      this.started.set(key, base);
    }
    return base;
  }

  /**
   * The bench's cookie logins come from ORIGIN, which must be trusted for their CSRF check. Webhook
   * receivers are in the bench process, on loopback, and every auth-api's job worker may take a
   * delivery: all of them may call loopback.
   */
  appEnv(extra: Record<string, string> = {}) {
    return {
      ISSUER: this.issuer,
      TRUSTED_ORIGINS: ORIGIN,
      OUTBOUND_ALLOW_PRIVATE: 'true',
      ...extra,
    };
  }

  auth(): Promise<string> {
    return this.once('auth', () => this.bench.startApp('auth-api', PORTS.auth, this.appEnv()));
  }

  authNoCache(): Promise<string> {
    return this.once('authNoCache', async () => {
      await this.auth(); // migrations and keys first
      return this.bench.startApp(
        'auth-api',
        PORTS.authNoCache,
        this.appEnv({ SESSION_CACHE_TTL_SECONDS: '0' }),
        { label: 'auth-api (session cache off)' },
      );
    });
  }

  authRedis(): Promise<string> {
    return this.once('authRedis', async () => {
      await this.auth();
      return this.bench.startApp('auth-api', PORTS.authRedis, this.appEnv({ REDIS_URL }), {
        label: 'auth-api (REDIS_URL)',
      });
    });
  }

  /**
   * Trusts loopback as its reverse proxy (X-Forwarded-For gives bench clients addresses of their
   * own), with the default registration budget per address.
   */
  authBehindProxy(): Promise<string> {
    return this.once('authBehindProxy', async () => {
      await this.auth();
      return this.bench.startApp(
        'auth-api',
        PORTS.authBehindProxy,
        this.appEnv({ TRUST_PROXY: '127.0.0.1', REGISTRATION_ATTEMPTS_PER_IP: '' }),
        { label: 'auth-api (TRUST_PROXY)' },
      );
    });
  }

  /** admin-api publishes revocations on Redis as well, so both notes-api feeds can be measured. */
  admin(): Promise<string> {
    return this.once('admin', async () => {
      await this.auth();
      return this.bench.startApp('admin-api', PORTS.admin, this.appEnv({ REDIS_URL }), {
        label: 'admin-api (REDIS_URL)',
      });
    });
  }

  notes(): Promise<string> {
    return this.once('notes', async () => {
      await this.auth();
      return this.bench.startApp('notes-api', PORTS.notes, this.appEnv());
    });
  }

  notesRedis(): Promise<string> {
    return this.once('notesRedis', async () => {
      await this.auth();
      return this.bench.startApp('notes-api', PORTS.notesRedis, this.appEnv({ REDIS_URL }), {
        label: 'notes-api (REDIS_URL)',
      });
    });
  }

  peer(name: keyof typeof PORTS, file: string, env: Record<string, string> = {}) {
    const adapter = env['ADAPTER'] ? ` (${env['ADAPTER']} adapter)` : '';
    return this.once(name, () =>
      this.bench.startPeer(file, PORTS[name], env, { label: `peer: ${file}${adapter}` }),
    );
  }
}

/**
 * 1. Bearer JWT at notes-api vs its public route at full load (50 connections saturate notes-api),
 * with auth-api and admin-api up beside it as in production; passport-jwt on bare Express, same
 * token. notes-api's public route is the baseline, so both ratio columns are the same.
 */
export async function bearer(stage: Stage): Promise<Outcome> {
  const notes = await stage.notes();
  const auth = await stage.auth();
  await stage.admin(); // the platform up, as in production (idle: its JWKS is fetched once)
  const { access_token } = await passwordGrant(auth, await register(auth));
  const bearerHeader = { authorization: `Bearer ${access_token}` };
  const passport = await stage.peer('passportJwt', 'passport-jwt', {
    JWKS_URL: `${auth}/.well-known/jwks.json`,
    ISSUER: stage.issuer,
    AUDIENCE: 'gatehouse',
  });
  // Baselines get the same request headers: the ratio isolates the auth work from HTTP parsing.
  const [base, whoami, viaPassport, peerBase, peer] = await measureTogether([
    { name: 'notes public', url: `${notes}/health`, headers: bearerHeader },
    { name: 'notes whoami', url: `${notes}/whoami`, headers: bearerHeader },
    { name: 'notes whoami passport', url: `${notes}/whoami/passport`, headers: bearerHeader },
    { name: 'passport-jwt public', url: `${passport}/health`, headers: bearerHeader },
    { name: 'passport-jwt me', url: `${passport}/me`, headers: bearerHeader },
  ]);
  return {
    rows: [
      {
        scenario: 'bearer',
        target: 'notes-api GET /health (public, baseline)',
        ...base,
        ratio: 1,
        ceiling: 1,
      },
      {
        scenario: 'bearer',
        target: 'notes-api GET /whoami (bearer JWT)',
        ...whoami,
        ratio: ratio(whoami, base),
        ceiling: ratio(whoami, base),
      },
      {
        scenario: 'bearer',
        target: "notes-api GET /whoami/passport (AuthGuard('gatehouse'), passport-jwt)",
        ...viaPassport,
        ratio: ratio(viaPassport, base),
        ceiling: ratio(viaPassport, base),
      },
      {
        scenario: 'bearer',
        target: 'peer: bare Express GET /health (public)',
        ...peerBase,
        ratio: ratio(peerBase, base),
        ceiling: ratio(peerBase, base),
      },
      {
        scenario: 'bearer',
        target: 'peer: passport-jwt on bare Express GET /me',
        ...peer,
        ratio: ratio(peer, base),
        ceiling: ratio(peer, base),
      },
    ],
    goals: [
      {
        goal: 'notes-api bearer route ≥ 0.9 × its public route at full load (50 connections, auth-api and admin-api up)',
        measured: ratioText(whoami, base),
        met: ratio(whoami, base) >= 0.9,
      },
      {
        goal: 'Bearer route ≥ 5 × passport-jwt on bare Express',
        measured: ratioText(whoami, peer),
        met: ratio(whoami, peer) >= 5,
      },
      {
        goal: "notes-api Passport route (AuthGuard('gatehouse')) ≥ 0.8 × its native GET /whoami",
        measured: ratioText(viaPassport, whoami),
        met: ratio(viaPassport, whoami) >= 0.8,
      },
      {
        goal: "notes-api Passport route (AuthGuard('gatehouse')) ≥ 5 × passport-jwt on bare Express",
        measured: ratioText(viaPassport, peer),
        met: ratio(viaPassport, peer) >= 5,
      },
    ],
  };
}

/** 2. Cookie `GET /me`: PostgreSQL on every request, with the session cache, with Redis; peers. */
export async function cookie(stage: Stage): Promise<Outcome> {
  const auth = await stage.auth();
  const [noCache, withRedis] = [await stage.authNoCache(), await stage.authRedis()];
  const cookieHeader = { cookie: await login(auth, await register(auth)) };
  const expressSession = await stage.peer('expressSession', 'express-session');
  const betterAuth = await stage.peer('betterAuth', 'better-auth');
  const peerCookie = async (base: string) => {
    const { body } = await call<{ cookie: string }>(`${base}/bench/setup`, { method: 'POST' });
    return { cookie: body.cookie };
  };
  const esCookie = await peerCookie(expressSession);
  const baCookie = await peerCookie(betterAuth);

  const notes = await stage.notes();
  const [base, pgOnly, cached, redis, esBase, es, baBase, ba, ceiling] = await measureTogether([
    { name: 'auth public', url: `${auth}/health/live`, headers: cookieHeader },
    { name: 'me pg', url: `${noCache}/me`, headers: cookieHeader },
    { name: 'me cache', url: `${auth}/me`, headers: cookieHeader },
    { name: 'me redis', url: `${withRedis}/me`, headers: cookieHeader },
    { name: 'es public', url: `${expressSession}/health`, headers: esCookie },
    { name: 'es me', url: `${expressSession}/me`, headers: esCookie },
    { name: 'ba public', url: `${betterAuth}/health`, headers: baCookie },
    { name: 'ba me', url: `${betterAuth}/me`, headers: baCookie },
    { name: 'notes public', url: `${notes}/health`, headers: cookieHeader },
  ]);
  const row = (target: string, m: Measurement): Row => ({
    scenario: 'cookie',
    target,
    ...m,
    ratio: ratio(m, base),
    ceiling: ratio(m, ceiling),
  });
  return {
    rows: [
      row('notes-api GET /health (public, the ceiling)', ceiling),
      row('auth-api GET /health/live (public, baseline)', base),
      row('auth-api GET /me, PostgreSQL every request (cache off)', pgOnly),
      row('auth-api GET /me, session cache (default)', cached),
      row('auth-api GET /me, session cache, REDIS_URL set', redis),
      row('peer: bare Express GET /health (public)', esBase),
      row('peer: express-session + connect-pg-simple GET /me', es),
      row('peer: better-auth on Express GET /health (public)', baBase),
      row('peer: better-auth getSession GET /me', ba),
    ],
    goals: [
      {
        goal: 'Cookie /me ≥ 0.6 × public route, PostgreSQL alone',
        measured: ratioText(pgOnly, base),
        met: ratio(pgOnly, base) >= 0.6,
      },
      {
        goal: 'Cookie /me ≥ 0.8 × public route, with the cache',
        measured: ratioText(cached, base),
        met: ratio(cached, base) >= 0.8,
      },
      {
        goal: 'Cookie /me ≥ 5 × express-session + connect-pg-simple',
        measured: `${ratioText(cached, es)}; cache off: ${fixed(ratio(pgOnly, es))}`,
        met: ratio(cached, es) >= 5,
      },
      {
        goal: 'Cookie /me ≥ 5 × better-auth getSession',
        measured: `${ratioText(cached, ba)}; cache off: ${fixed(ratio(pgOnly, ba))}`,
        met: ratio(cached, ba) >= 5,
      },
    ],
  };
}

/**
 * The platform apps against the Fastify ceiling of this codebase: notes-api's public route is the
 * baseline of auth-api's and admin-api's public routes and of auth-api's `GET /me` (bearer and
 * cookie, default settings), all with the same request headers, in one run.
 */
export async function publicRoutes(stage: Stage): Promise<Outcome> {
  const notes = await stage.notes();
  const auth = await stage.auth();
  const admin = await stage.admin();
  const email = await register(auth);
  const { access_token } = await passwordGrant(auth, email);
  const bearerHeader = { authorization: `Bearer ${access_token}` };
  const cookieHeader = { cookie: await login(auth, email) };
  const [base, authPublic, adminPublic, bearerMe, cookieMe] = await measureTogether([
    { name: 'notes public', url: `${notes}/health`, headers: bearerHeader },
    { name: 'auth public', url: `${auth}/health/live`, headers: bearerHeader },
    { name: 'admin public', url: `${admin}/health/live`, headers: bearerHeader },
    { name: 'auth bearer me', url: `${auth}/me`, headers: bearerHeader },
    { name: 'auth cookie me', url: `${auth}/me`, headers: cookieHeader },
  ]);
  const row = (target: string, m: Measurement): Row => ({
    scenario: 'public',
    target,
    ...m,
    ratio: ratio(m, base),
    ceiling: ratio(m, base), // the baseline is the ceiling
  });
  const atLeast = (goal: string, m: Measurement, minimum: number): Goal => ({
    goal: `${goal} ≥ ${minimum} × notes-api's public route`,
    measured: ratioText(m, base),
    met: ratio(m, base) >= minimum,
  });
  return {
    rows: [
      row('notes-api GET /health (public, baseline)', base),
      row('auth-api GET /health/live (public)', authPublic),
      row('admin-api GET /health/live (public)', adminPublic),
      row('auth-api GET /me (bearer JWT)', bearerMe),
      row('auth-api GET /me (cookie, session cache)', cookieMe),
    ],
    goals: [
      atLeast('auth-api public route', authPublic, 0.8),
      atLeast('admin-api public route', adminPublic, 0.8),
      atLeast('auth-api bearer GET /me', bearerMe, 0.7),
      atLeast('auth-api cookie GET /me (cache on)', cookieMe, 0.7),
    ],
  };
}

/**
 * 3. Refresh rotation: N chains of refresh grants, never reusing a token; oidc-provider alike, with
 * its in-memory adapter and with a PostgreSQL adapter (same N chains), measured in alternation.
 */
export async function refresh(stage: Stage): Promise<Outcome> {
  const chains = 50;
  const auth = await stage.auth();
  const email = await register(auth);
  const grants = await inBatches(chains, 10, () => passwordGrant(auth, email));
  const oidcChains = async (base: string) => {
    const { body } = await call<{
      tokenEndpoint: string;
      clientId: string;
      refreshTokens: string[];
    }>(`${base}/bench/setup?count=${chains}`, { method: 'POST' });
    return body;
  };
  const memory = await oidcChains(await stage.peer('oidcProvider', 'oidc-provider'));
  const postgres = await oidcChains(
    await stage.peer('oidcProviderPg', 'oidc-provider', { ADAPTER: 'postgres' }),
  );
  const [gatehouse, peer, peerPg] = await refreshChainsTogether([
    {
      name: 'auth-api refresh',
      tokenEndpoint: `${auth}/oauth/token`,
      clientId: FIRST_PARTY_CLIENT,
      refreshTokens: grants.map((g) => g.refresh_token),
    },
    { name: 'oidc-provider refresh (in-memory)', ...memory },
    { name: 'oidc-provider refresh (PostgreSQL adapter)', ...postgres },
  ]);
  const [counted] = await stage.bench.query<{ revoked: number }>(
    `SELECT count(*)::int AS revoked FROM sessions WHERE kind = 'token' AND revoked_at IS NOT NULL`,
  );
  const revoked = counted?.revoked ?? NaN;
  return {
    rows: [
      {
        scenario: 'refresh',
        target: `auth-api refresh grant, ${chains} chains (PostgreSQL)`,
        ...gatehouse,
        ratio: 1,
      },
      {
        scenario: 'refresh',
        target: `peer: oidc-provider refresh grant, ${chains} chains (in-memory)`,
        ...peer,
        ratio: ratio(peer, gatehouse),
      },
      {
        scenario: 'refresh',
        target: `peer: oidc-provider refresh grant, ${chains} chains (PostgreSQL adapter)`,
        ...peerPg,
        ratio: ratio(peerPg, gatehouse),
      },
    ],
    goals: [
      {
        goal: 'Refresh rotation ≥ 1.5 × oidc-provider (in-memory)',
        measured: ratioText(gatehouse, peer),
        met: ratio(gatehouse, peer) >= 1.5,
      },
      {
        goal: 'Refresh rotation ≥ 1.5 × oidc-provider (PostgreSQL adapter)',
        measured: ratioText(gatehouse, peerPg),
        met: ratio(gatehouse, peerPg) >= 1.5,
      },
      {
        goal: 'No refresh family revoked by mistake during the run',
        measured: `${revoked} revoked sessions`,
        met: revoked === 0,
      },
    ],
  };
}

/** 4. Login storm: argon2-bound logins at full load while a steady load measures `/me`. */
export async function loginStorm(stage: Stage): Promise<Outcome> {
  const auth = await stage.auth();
  const email = await register(auth);
  const me: Target = {
    name: 'me steady',
    url: `${auth}/me`,
    headers: { cookie: await login(auth, email) },
    connections: 10,
    rate: 500,
  };
  const storm: Target = {
    name: 'login storm',
    url: `${auth}/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({ email, password: PASSWORD }),
  };
  const atRest = await measure(me);
  const stormSeconds = WARM_UP_SECONDS + RUNS * SECONDS + 2;
  const [logins, during] = await Promise.all([
    autocannon(storm, stormSeconds),
    (async () => {
      await new Promise((wake) => setTimeout(wake, 1000)); // the storm is under way
      return measure(me);
    })(),
  ]);
  return {
    rows: [
      { scenario: 'login-storm', target: 'auth-api GET /me at 500 req/s, at rest', ...atRest },
      {
        scenario: 'login-storm',
        target: 'auth-api POST /auth/login, 50 connections (argon2id)',
        ...logins,
      },
      {
        scenario: 'login-storm',
        target: 'auth-api GET /me at 500 req/s, during the storm',
        ...during,
      },
    ],
    goals: [
      {
        goal: '/me p99 during the login storm ≤ 3 × at rest',
        measured: `${during.p99} ms vs ${atRest.p99} ms (${fixed(during.p99 / Math.max(1, atRest.p99))} ×)`,
        met: during.p99 <= 3 * Math.max(1, atRest.p99),
      },
    ],
  };
}

/** 5. Forced revocation at admin-api → first 401 at notes-api, over real sockets. */
export async function propagation(stage: Stage): Promise<Outcome> {
  const trials = 200;
  const auth = await stage.auth();
  const admin = await stage.admin();
  const operator = await register(auth);
  await stage.bench.query(`UPDATE users SET roles = ARRAY['admin'] WHERE email = $1`, [operator]);
  const operatorCookie = await login(auth, operator);
  const user = await register(auth);
  const rows: Row[] = [];
  const goals: Goal[] = [];
  for (const [label, notes] of [
    ['PostgreSQL LISTEN feed', await stage.notes()],
    ['Redis feed', await stage.notesRedis()],
  ] as const) {
    const grants = await inBatches(trials, 10, () => passwordGrant(auth, user));
    const delays: number[] = [];
    for (const { access_token } of grants) {
      const [, payload] = access_token.split('.');
      const { sid } = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { sid: string };
      const whoami = () =>
        fetch(`${notes}/whoami`, { headers: { authorization: `Bearer ${access_token}` } }).then(
          async (r) => (await r.arrayBuffer(), r.status),
        );
      if ((await whoami()) !== 200) {
        throw new Error('the token was refused before its revocation');
      }
      const started = performance.now();
      const revoked = fetch(`${admin}/admin/sessions/${sid}`, {
        method: 'DELETE',
        headers: { cookie: operatorCookie, origin: ORIGIN },
      });
      while ((await whoami()) === 200) {
        if (performance.now() - started > 5000) {
          throw new Error(`session ${sid} still accepted 5 s after its revocation`);
        }
      }
      delays.push(performance.now() - started);
      const answer = await revoked;
      if (!answer.ok) {
        throw new Error(`DELETE /admin/sessions answered ${answer.status}`);
      }
    }
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    rows.push({
      scenario: 'propagation',
      target: `admin-api DELETE /admin/sessions/:id → first 401 at notes-api, ${label} (${trials} trials)`,
      p50: Number(p50.toFixed(1)),
      p99: Number(p99.toFixed(1)),
    });
    goals.push({
      goal: `Revocation propagation p99 < 50 ms (${label})`,
      measured: `${p99.toFixed(1)} ms`,
      met: p99 < 50,
    });
  }
  return { rows, goals };
}

/** 6. The same routes with 10 000 and 1 000 000 sessions in the table; admin pages at 1 000 000. */
export async function scale(stage: Stage): Promise<Outcome> {
  const auth = await stage.authNoCache();
  const admin = await stage.admin();
  const notes = await stage.notes();
  const operator = await register(auth);
  await stage.bench.query(`UPDATE users SET roles = ARRAY['admin'] WHERE email = $1`, [operator]);
  const email = await register(auth);
  const cookieHeader = { cookie: await login(auth, email) };
  const { access_token } = await passwordGrant(auth, email);
  const operatorCookie = { cookie: await login(auth, operator) };
  const rows: Row[] = [];
  const at: Record<number, { me: Measurement; bearer: Measurement }> = {};
  let seeded = 0;
  for (const size of [10_000, 1_000_000]) {
    await stage.bench.script('seed', ['--sessions', String(size - seeded)]);
    seeded = size;
    await stage.bench.query('ANALYZE');
    const label = size.toLocaleString('en-US');
    const [me, bearerMe, ceiling] = await measureTogether([
      { name: 'me', url: `${auth}/me`, headers: cookieHeader },
      {
        name: 'bearer me',
        url: `${auth}/me`,
        headers: { authorization: `Bearer ${access_token}` },
      },
      { name: 'notes public', url: `${notes}/health`, headers: cookieHeader },
    ]);
    at[size] = { me, bearer: bearerMe };
    rows.push(
      {
        scenario: 'scale',
        target: `notes-api GET /health (public, the ceiling), ${label} sessions`,
        ...ceiling,
        ceiling: 1,
      },
      {
        scenario: 'scale',
        target: `auth-api GET /me, cookie, cache off, ${label} sessions`,
        ...me,
        ceiling: ratio(me, ceiling),
      },
      {
        scenario: 'scale',
        target: `auth-api GET /me, bearer (revocation checked in PostgreSQL), ${label} sessions`,
        ...bearerMe,
        ceiling: ratio(bearerMe, ceiling),
      },
    );
  }
  const page = (query: string): Target => ({
    name: 'admin page',
    url: `${admin}/admin/sessions${query}`,
    headers: operatorCookie,
    connections: 1,
  });
  const first = await call<{ nextCursor: string | null }>(`${admin}/admin/sessions?limit=50`, {
    headers: operatorCookie,
  });
  const pages: [string, string][] = [
    ['first page (50, newest first)', '?limit=50'],
    ['next page by cursor', `?limit=50&cursor=${first.body.nextCursor ?? ''}`],
    ['live sessions only', '?limit=50&active=true'],
  ];
  const goals: Goal[] = [];
  for (const [label, query] of pages) {
    const m = await measure(page(query));
    rows.push({
      scenario: 'scale',
      target: `admin-api GET /admin/sessions, ${label}, 1,000,000 sessions`,
      ...m,
    });
    goals.push({
      goal: `Admin ${label} p99 < 50 ms at 1 000 000`,
      measured: `${m.p99} ms`,
      met: m.p99 < 50,
    });
  }
  const growth = (kind: 'me' | 'bearer') =>
    at[1_000_000]![kind].p50 / Math.max(1, at[10_000]![kind].p50) - 1;
  return {
    rows,
    goals: [
      {
        goal: '/me (cookie) p50 grows < 20 % from 10 000 to 1 000 000 sessions',
        measured: `${at[10_000]!.me.p50} → ${at[1_000_000]!.me.p50} ms`,
        met: growth('me') < 0.2,
      },
      {
        goal: 'Token verification p50 grows < 20 % from 10 000 to 1 000 000 sessions',
        measured: `${at[10_000]!.bearer.p50} → ${at[1_000_000]!.bearer.p50} ms`,
        met: growth('bearer') < 0.2,
      },
      ...goals,
    ],
  };
}

export const SCENARIOS = {
  public: publicRoutes,
  bearer,
  cookie,
  refresh,
  'login-storm': loginStorm,
  propagation,
  scale,
  'registration-burst': registrationBurst,
  'forgot-password': forgotPassword,
  webhooks,
  profile,
} satisfies Record<string, (stage: Stage) => Promise<Outcome>>;
