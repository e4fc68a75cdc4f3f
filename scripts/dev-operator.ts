import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface OperatorCredentials {
  readonly email: string;
  readonly password: string;
}

/**
 * With the embedded database and no ADMIN_EMAIL, `npm start` still gives the developer an operator:
 * random credentials generated once into DATA_DIR (mode 0600), never printed to the logs.
 */
export async function developmentOperator(
  dataDir: string,
): Promise<{ credentials: OperatorCredentials; file: string }> {
  const file = join(dataDir, 'bootstrap-operator.json');
  if (existsSync(file)) {
    return { credentials: JSON.parse(await readFile(file, 'utf8')) as OperatorCredentials, file };
  }
  const credentials = {
    email: 'admin@gatehouse.test',
    password: randomBytes(18).toString('base64url'),
  };
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return { credentials, file };
}
