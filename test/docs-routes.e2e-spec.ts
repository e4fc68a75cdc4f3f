import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

/**
 * The docs and the OpenAPI documents describe one HTTP surface. Every `METHOD /path` of a route table
 * in docs/ (a table whose first column is "Route") must be an operation of the committed
 * apps/<app>/openapi.json — which test/openapi-drift.e2e-spec.ts keeps equal to what the apps serve —
 * and every operation there must be mentioned somewhere in the docs or the README.
 */
const REPOSITORY = new URL('../', import.meta.url);
const METHOD_AND_PATH = /`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]*)/g;
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

interface RouteTableRow {
  readonly file: string;
  readonly row: string;
  /** `METHOD /path/{param}`, as OpenAPI names operations. */
  readonly routes: readonly string[];
}

const read = (path: string) => readFileSync(new URL(path, REPOSITORY), 'utf8');

const documents = Object.fromEntries(
  [
    'README.md',
    ...readdirSync(new URL('docs/', REPOSITORY))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ].map((file) => [file, read(file)]),
);

/** `/admin/sessions/:id?active=` → `/admin/sessions/{id}`. */
function openApiPath(path: string): string {
  return path.replace(/[?#].*$/, '').replace(/:([A-Za-z]+)/g, '{$1}');
}

function routesIn(text: string): string[] {
  return [...text.matchAll(METHOD_AND_PATH)].map(
    ([, method, path]) => `${method} ${openApiPath(path!)}`,
  );
}

function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** The rows of every markdown table headed `| Route | …`. */
function routeTableRows(file: string, text: string): RouteTableRow[] {
  const rows: RouteTableRow[] = [];
  let inRouteTable = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inRouteTable = false;
    } else if (cells(line)[0] === 'Route') {
      inRouteTable = true;
    } else if (inRouteTable && !/^\|\s*-/.test(line)) {
      const first = cells(line)[0] ?? '';
      rows.push({ file, row: first, routes: routesIn(first) });
    }
  }
  return rows;
}

function operationsOf(app: string): Set<string> {
  const document = JSON.parse(read(`apps/${app}/openapi.json`)) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return new Set(
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => HTTP_METHODS.has(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    ),
  );
}

const operations = { 'auth-api': operationsOf('auth-api'), 'admin-api': operationsOf('admin-api') };
const rows = Object.entries(documents).flatMap(([file, text]) => routeTableRows(file, text));
const documented = rows.flatMap((row) => row.routes.map((route) => ({ ...row, route })));

/** admin-api serves /admin/*; auth-api everything else the docs' route tables list. */
const appServing = (route: string) =>
  route.split(' ')[1]!.startsWith('/admin/') ? 'admin-api' : 'auth-api';

describe('the route tables of docs/ and the OpenAPI documents', () => {
  it('finds the route tables (browser sessions, tokens, admin-api, …)', () => {
    expect(new Set(rows.map((row) => row.file))).toEqual(
      new Set(['docs/app-developers.md', 'docs/operators.md']),
    );
    expect(documented.length).toBeGreaterThanOrEqual(30);
  });

  it('names at least one `METHOD /path` in the first cell of every row', () => {
    const unreadable = rows.filter((row) => row.routes.length === 0);
    expect(unreadable.map((row) => `${row.file}: ${row.row}`)).toEqual([]);
  });

  it.each(documented.map((entry) => [entry.route, entry] as const))(
    '%s is in the OpenAPI document of the app serving it',
    (route, { file }) => {
      const app = appServing(route);
      expect(operations[app].has(route), `${file} lists ${route}; apps/${app}/openapi.json`).toBe(
        true,
      );
    },
  );

  it('mentions every OpenAPI operation somewhere in README.md or docs/', () => {
    const mentioned = new Set(Object.values(documents).flatMap(routesIn));
    const missing = [...operations['auth-api'], ...operations['admin-api']].filter(
      (operation) => !mentioned.has(operation),
    );
    expect(missing).toEqual([]);
  });
});
