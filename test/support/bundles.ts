import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root: where `npm start` runs and `dist/` is built. */
export const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

const BUNDLES = ['start', 'auth-api', 'admin-api', 'notes-api', 'create-admin', 'migrate'];
const SOURCES = ['apps', 'libs', 'scripts', 'rspack.config.mjs', 'package-lock.json'];

async function newestSource(): Promise<number> {
  let newest = 0;
  for (const source of SOURCES) {
    const path = join(REPOSITORY, source);
    const files = (await stat(path)).isDirectory()
      ? (await readdir(path, { recursive: true })).map((file) => join(path, file))
      : [path];
    for (const file of files) {
      newest = Math.max(newest, (await stat(file)).mtimeMs);
    }
  }
  return newest;
}

async function oldestBundle(): Promise<number | undefined> {
  try {
    const times = await Promise.all(
      BUNDLES.map(async (name) => (await stat(join(REPOSITORY, 'dist', `${name}.js`))).mtimeMs),
    );
    return Math.min(...times);
  } catch {
    return undefined;
  }
}

/**
 * Tests that run the real launcher and scripts need `dist/`: build it when it is missing or older
 * than the sources (a fresh clone, an edit since the last build).
 */
export async function ensureBundles(): Promise<void> {
  const built = await oldestBundle();
  if (built !== undefined && built >= (await newestSource())) {
    return;
  }
  await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: REPOSITORY });
}
