import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { Logger } from '@nestjs/common';
import { ConfigError, type GatehouseConfig } from '@gatehouse/config';

const FILE = 'key-encryption-key';

/**
 * The key-encryption key of the signing keys. With DATABASE_URL it must be configured; with the
 * embedded development database one is generated once into DATA_DIR (mode 0600), with a warning.
 */
export async function resolveKeyEncryptionKey(
  config: GatehouseConfig,
  { embedded }: { embedded: boolean },
): Promise<GatehouseConfig> {
  if (config.keys.encryptionKey) {
    return config;
  }
  if (!embedded) {
    throw new ConfigError([
      'KEY_ENCRYPTION_KEY: expected 32 random bytes in base64 (openssl rand -base64 32); required with DATABASE_URL',
    ]);
  }
  const file = join(resolve(config.dataDir), FILE);
  let key: Buffer;
  if (existsSync(file)) {
    key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  } else {
    key = randomBytes(32);
    await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600 });
    new Logger('KeyEncryptionKey').warn(
      `KEY_ENCRYPTION_KEY is not set: generated one into ${file} for the embedded database. Set KEY_ENCRYPTION_KEY outside development.`,
    );
  }
  return { ...config, keys: { ...config.keys, encryptionKey: key } };
}
