import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { type EnvName, envSchema, type GatehouseConfig, loadConfig } from '@gatehouse/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * No Docker engine is needed: the deployment files are parsed and checked against the configuration
 * schema, so a renamed variable, a moved port or a mismatched password fails here, not at `up`.
 */
const root = new URL('../../', import.meta.url);

/** Variables without a default that the apps run fine without; every other one must be set. */
const OPTIONAL_WITHOUT_DEFAULT: ReadonlySet<EnvName> = new Set([
  'REDIS_URL',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'INSTANCE_ID',
  // Computed from PRODUCT_NAME and ISSUER.
  'MAIL_FROM',
]);

const APPS = [
  { name: 'auth-api', port: (config: GatehouseConfig) => config.authApi.port },
  { name: 'admin-api', port: (config: GatehouseConfig) => config.adminApi.port },
] as const;

type Dict = Record<string, unknown>;

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dict(value: unknown, what: string): Dict {
  if (!isDict(value)) {
    throw new Error(`${what}: expected a mapping`);
  }
  return value;
}

function scalar(value: unknown, what: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw new Error(`${what}: expected a string, number or boolean`);
}

/** A command in exec (list) or shell (string) form, as one string. */
function commandText(value: unknown, what: string): string {
  return Array.isArray(value)
    ? value.map((part: unknown) => scalar(part, what)).join(' ')
    : scalar(value, what);
}

/**
 * Secrets the compose file must take from the host (`${VAR:?…}`), never from the repository: the
 * operator exports them before `docker compose up`. Any other `:?` variable fails the test.
 */
const HOST_SECRETS: Readonly<Record<string, string>> = {
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

/**
 * Compose interpolation as if the host environment held only HOST_SECRETS: `${VAR:-default}` gives
 * `default`, `${VAR:?message}` the host secret.
 */
function interpolate(text: string): string {
  return text.replace(
    /\$\$|\$\{(\w+)(?:(:?[-?+])([^}]*))?\}|\$(\w+)/g,
    (
      match,
      name: string | undefined,
      operator: string | undefined,
      operand: string | undefined,
    ) => {
      if (match === '$$') {
        return '$';
      }
      if (operator?.endsWith('?')) {
        const secret = name === undefined ? undefined : HOST_SECRETS[name];
        if (secret === undefined) {
          throw new Error(`${name ?? match} is required from the host environment`);
        }
        return secret;
      }
      return operator?.endsWith('-') ? (operand ?? '') : '';
    },
  );
}

/** `environment:` as a mapping or as a `KEY=VALUE` list; a bare key (passed through) is unset. */
function environmentOf(service: Dict): Record<string, string | undefined> {
  const raw = service['environment'];
  if (raw === undefined) {
    return {};
  }
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((entry: unknown) => {
        const text = scalar(entry, 'environment');
        const equals = text.indexOf('=');
        return equals < 0 ? [text, undefined] : [text.slice(0, equals), text.slice(equals + 1)];
      })
    : Object.entries(dict(raw, 'environment'));
  return Object.fromEntries(
    entries.map(([name, value]) => [
      name,
      value === undefined || value === null ? undefined : interpolate(scalar(value, name)),
    ]),
  );
}

function healthcheckCommand(service: Dict): string {
  const healthcheck = dict(service['healthcheck'], 'healthcheck');
  return commandText(healthcheck['test'], 'healthcheck.test');
}

interface PortMapping {
  readonly published: number | undefined;
  readonly target: number;
}

/** Short (`[ip:]host:container[/proto]`) and long (`{ target, published }`) port syntax. */
function portsOf(service: Dict): PortMapping[] {
  const raw = service['ports'];
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.map((entry: unknown) => {
    if (isDict(entry)) {
      const published = entry['published'];
      return {
        published: published === undefined ? undefined : Number(published),
        target: Number(entry['target']),
      };
    }
    const parts = scalar(entry, 'ports')
      .replace(/\/\w+$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    return { published: parts.length > 1 ? Number(parts.at(-2)) : undefined, target };
  });
}

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions, with `\` continuations joined and comments dropped. */
function instructionsOf(dockerfile: string): Instruction[] {
  const logical = dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\r?\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

function unquote(text: string): string {
  return text.replace(/^(["'])(.*)\1$/, '$2');
}

/** The `ENV` of the final stage: what a container of the built image starts with. */
function imageEnvironment(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter(({ keyword }) => keyword === 'ENV')) {
    const tokens = args.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
    const [first = ''] = tokens;
    if (!first.includes('=')) {
      env[first] = unquote(tokens.slice(1).join(' '));
      continue;
    }
    for (const token of tokens) {
      const equals = token.indexOf('=');
      env[token.slice(0, equals)] = unquote(token.slice(equals + 1));
    }
  }
  return env;
}

const [composeText, dockerfileText] = await Promise.all([
  readFile(new URL('docker-compose.yml', root), 'utf8'),
  readFile(new URL('Dockerfile', root), 'utf8'),
]);
const compose = dict(parse(composeText) as unknown, 'docker-compose.yml');
const services = dict(compose['services'], 'services');
const instructions = instructionsOf(dockerfileText);
const finalStage = instructions.slice(
  instructions.findLastIndex(({ keyword }) => keyword === 'FROM'),
);

function service(name: string): Dict {
  return dict(services[name], `services.${name}`);
}

/** What the app sees: the image's ENV, overridden by the service's `environment:`. */
function effectiveEnvironment(name: string): Record<string, string | undefined> {
  return { ...imageEnvironment(finalStage), ...environmentOf(service(name)) };
}

describe('docker-compose.yml', () => {
  it('gives every service a healthcheck', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['postgres', 'redis', ...APPS.map(({ name }) => name)]),
    );
    for (const name of Object.keys(services)) {
      const healthcheck = dict(service(name)['healthcheck'], `services.${name}.healthcheck`);
      expect(healthcheck['disable'], name).not.toBe(true);
      expect(healthcheckCommand(service(name)), name).not.toMatch(/^(NONE)?$/);
    }
  });

  it('builds the app services from the Dockerfile and runs each app its own bundle', () => {
    for (const { name } of APPS) {
      const build: unknown = service(name)['build'];
      const context = isDict(build) ? build['context'] : build;
      expect(context, name).toMatch(/^\.\/?$/);
      if (isDict(build) && build['dockerfile'] !== undefined) {
        expect(build['dockerfile'], name).toBe('Dockerfile');
      }
      const command = commandText(service(name)['command'], `services.${name}.command`);
      expect(command, name).toMatch(new RegExp(`^node .*dist/${name}\\.js$`));
    }
  });

  it('names only variables the configuration schema declares', () => {
    for (const { name } of APPS) {
      const unknownNames = Object.keys(environmentOf(service(name))).filter(
        (variable) => !Object.hasOwn(envSchema, variable),
      );
      expect(unknownNames, name).toEqual([]);
    }
  });

  it('sets every variable production needs, in production mode, listening on all interfaces', () => {
    const required = (Object.keys(envSchema) as EnvName[]).filter(
      (variable) =>
        envSchema[variable].default === undefined && !OPTIONAL_WITHOUT_DEFAULT.has(variable),
    );
    expect(required).toContain('DATABASE_URL');
    for (const { name } of APPS) {
      const env = effectiveEnvironment(name);
      for (const variable of required) {
        expect(env[variable], `${name} ${variable}`).toBeTruthy();
      }
      expect(env['NODE_ENV'], name).toBe('production');
      expect(env['HOST'], name).toBe('0.0.0.0');
      expect(() => loadConfig(env), name).not.toThrow();
    }
  });

  it('sets ADMIN_EMAIL and ADMIN_PASSWORD together or not at all', () => {
    for (const { name } of APPS) {
      const declared = Object.keys(environmentOf(service(name)));
      expect(declared.includes('ADMIN_EMAIL'), name).toBe(declared.includes('ADMIN_PASSWORD'));
    }
  });

  it('publishes and health-checks each app on the port it listens on', () => {
    for (const { name, port } of APPS) {
      const listening = port(loadConfig(effectiveEnvironment(name)));
      expect(portsOf(service(name)), name).toContainEqual({
        published: listening,
        target: listening,
      });
      const url = /https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/health\/ready\b/.exec(
        healthcheckCommand(service(name)),
      );
      expect(url?.[1], name).toBe(String(listening));
    }
  });

  it('points DATABASE_URL at the postgres service with its user, password and database', () => {
    const postgres = environmentOf(service('postgres'));
    const user = postgres['POSTGRES_USER'] || 'postgres';
    const password = postgres['POSTGRES_PASSWORD'];
    const database = postgres['POSTGRES_DB'] || user;
    expect(password).toBeTruthy();
    for (const { name } of APPS) {
      const url = new URL(effectiveEnvironment(name)['DATABASE_URL'] ?? '');
      expect(url.hostname, name).toBe('postgres');
      expect(url.port, name).toMatch(/^(5432)?$/);
      expect(decodeURIComponent(url.username), name).toBe(user);
      expect(decodeURIComponent(url.password), name).toBe(password);
      expect(decodeURIComponent(url.pathname.slice(1)), name).toBe(database);
    }
  });

  it('points REDIS_URL at the redis service', () => {
    for (const { name } of APPS) {
      const url = new URL(effectiveEnvironment(name)['REDIS_URL'] ?? '');
      expect(url.hostname, name).toBe('redis');
    }
  });

  it('runs the mail catcher from the app image and points SMTP_URL at it', () => {
    const catcher = service('mail-catcher');
    expect(catcher['image']).toBe(service('auth-api')['image']);
    expect(commandText(catcher['command'], 'services.mail-catcher.command')).toMatch(
      /^node .*dist\/mail-catcher\.js$/,
    );
    const config = loadConfig(effectiveEnvironment('mail-catcher'));
    expect(config.host).toBe('0.0.0.0');
    expect(portsOf(catcher)).toContainEqual({
      published: config.mail.catcher.port,
      target: config.mail.catcher.port,
    });
    expect(healthcheckCommand(catcher)).toContain(`:${config.mail.catcher.port}/health`);
    for (const { name } of APPS) {
      const smtp = new URL(loadConfig(effectiveEnvironment(name)).mail.smtpUrl ?? '');
      expect(smtp.hostname, name).toBe('mail-catcher');
      expect(Number(smtp.port), name).toBe(config.mail.catcher.smtpPort);
    }
  });

  it('starts the apps only once postgres and redis are healthy', () => {
    for (const { name } of APPS) {
      const dependsOn = dict(service(name)['depends_on'], `services.${name}.depends_on`);
      for (const backing of ['postgres', 'redis']) {
        expect(dict(dependsOn[backing], `${name} -> ${backing}`)['condition']).toBe(
          'service_healthy',
        );
      }
    }
  });

  it('builds in separate stages and runs as a non-root user with a healthcheck', () => {
    expect(instructions.filter(({ keyword }) => keyword === 'FROM').length).toBeGreaterThanOrEqual(
      2,
    );
    const user = finalStage.findLast(({ keyword }) => keyword === 'USER')?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const healthcheck = finalStage.find(({ keyword }) => keyword === 'HEALTHCHECK')?.args;
    expect(healthcheck).toMatch(/\/health\/ready/);
  });
});
