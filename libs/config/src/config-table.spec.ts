import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { renderConfigTable } from './config-table.js';
import { envSchema } from './env.schema.js';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

const readRepositoryFile = (path: string) =>
  readFile(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe(renderConfigTable.name, () => {
  it('matches the table in docs/operators.md (run `npm run config:table` after changing the schema)', async () => {
    const operators = await readRepositoryFile('docs/operators.md');
    expect(operators).toContain(`${START}\n${renderConfigTable()}\n${END}`);
    expect(operators.split(START)).toHaveLength(2);
  });

  it('is the only configuration table: README.md links to it instead of keeping a copy', async () => {
    const readme = await readRepositoryFile('README.md');
    expect(readme).not.toContain(START);
    expect(readme).toContain('docs/operators.md');
  });

  it('documents every variable with a description', () => {
    for (const [name, spec] of Object.entries(envSchema)) {
      expect(spec.description.length, name).toBeGreaterThan(10);
      expect(renderConfigTable()).toContain(`| \`${name}\` |`);
    }
  });
});
