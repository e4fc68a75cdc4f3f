import 'reflect-metadata';

import { createInterface } from 'node:readline';

import { UserService } from '@gatehouse/identity';

import { runScript, withScriptContext } from './script-context.js';

/**
 * `npm run admin:create -- --email ops@example.com`: creates an operator (role `admin`), or promotes an
 * existing account whose password it is given. The password is read from the first line of standard
 * input — never from the command line, where `ps` would show it.
 */
function emailArgument(): string {
  const index = process.argv.indexOf('--email');
  const email = index >= 0 ? process.argv[index + 1] : undefined;
  if (!email) {
    process.stderr.write('Usage: npm run admin:create -- --email <email>  (password on stdin)\n');
    process.exit(2);
  }
  return email;
}

async function passwordInput(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

await runScript('admin:create', async () => {
  const email = emailArgument();
  const password = await passwordInput();
  return withScriptContext('admin:create', async (context) => {
    const { user, created } = await context.get(UserService).createOperator(email, password);
    process.stdout.write(
      `${created ? 'Created' : 'Promoted'} operator ${user.email} (${user.id})\n`,
    );
  });
});
