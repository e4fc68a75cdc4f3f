import 'reflect-metadata';

import { SigningKeyService } from '@gatehouse/identity';

import { runScript, withScriptContext } from './script-context.js';

/**
 * `npm run keys:rotate`: one step of the signing-key life cycle (active → retired, next → active, a new
 * next). Running apps follow within a minute; tokens signed before stay verifiable until they expire.
 */
await runScript('keys:rotate', () =>
  withScriptContext('keys:rotate', async (context) => {
    const keys = context.get(SigningKeyService);
    await keys.ensureKeys();
    const { retired, active, next } = await keys.rotate();
    process.stdout.write(
      `Signing keys rotated: retired ${retired ?? '(none)'}, active ${active}, next ${next}\n`,
    );
  }),
);
