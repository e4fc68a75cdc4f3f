import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { renderConfigTable } from './config-table.js';
import { envSchema } from './env.schema.js';

describe(renderConfigTable.name, () => {
  it('matches the table in README.md (run `npm run config:table` after changing the schema)', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(
      `<!-- config-table:start -->\n${renderConfigTable()}\n<!-- config-table:end -->`,
    );
  });

  it('documents every variable with a description', () => {
    for (const [name, spec] of Object.entries(envSchema)) {
      expect(spec.description.length, name).toBeGreaterThan(10);
      expect(renderConfigTable()).toContain(`| \`${name}\` |`);
    }
  });
});
