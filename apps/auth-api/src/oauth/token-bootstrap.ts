import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ClientService, SigningKeyService } from '@gatehouse/identity';

/**
 * Before serving: a signing key to sign with (and the next one published) that KEY_ENCRYPTION_KEY
 * decrypts, and the first-party client.
 */
@Injectable()
export class TokenBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly keys: SigningKeyService,
    private readonly clients: ClientService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.keys.ensureKeys();
    await this.keys.assertKeysReadable();
    await this.clients.ensureFirstPartyClient();
  }
}
