import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

/**
 * notes-api proves that @gatehouse/nest-auth stands alone: its source may import npm packages,
 * @gatehouse/nest-auth and its own files — nothing of the platform (ESLint enforces the same rule).
 */
const root = resolve(import.meta.dirname);

async function sources(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(directory, entry.name);
      return entry.isDirectory()
        ? sources(path)
        : Promise.resolve(path.endsWith('.ts') ? [path] : []);
    }),
  );
  return nested.flat();
}

describe('notes-api imports', () => {
  it('use nothing of Gatehouse but @gatehouse/nest-auth', async () => {
    const offending: string[] = [];
    for (const file of await sources(root)) {
      const text = await readFile(file, 'utf8');
      for (const [, specifier] of text.matchAll(/from\s+'([^']+)'/g)) {
        const target = specifier!.startsWith('.') ? resolve(file, '..', specifier!) : specifier!;
        const escapes = specifier!.startsWith('.') && relative(root, target).startsWith('..');
        const platform =
          specifier!.startsWith('@gatehouse/') &&
          specifier !== '@gatehouse/nest-auth' &&
          specifier !== '@gatehouse/nest-auth/passport';
        if (escapes || platform) {
          offending.push(`${relative(root, file)}: ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
