import { createRequire } from 'node:module';

const requireFromHere = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/**
 * A package the app may not have installed (an optional peer dependency of the published
 * `@gatehouse/nest-auth`): the module, or `undefined` when it is not installed. Synchronous, so
 * decorators and constructors can use it: `require`, which also loads ES modules on Node ≥ 20.19.
 * A package that is installed but fails to load still throws.
 */
export function optionalPeer<T>(name: string): T | undefined {
  if (!loaded.has(name)) {
    loaded.set(name, load(name));
  }
  return loaded.get(name) as T | undefined;
}

function load(name: string): unknown {
  try {
    return requireFromHere(name);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const notInstalled =
      (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
      (message ?? '').includes(`'${name}'`);
    if (notInstalled) {
      return undefined;
    }
    throw error;
  }
}
