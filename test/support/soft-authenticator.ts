import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** Authenticator data flags (WebAuthn §6.1). */
const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;

interface StoredCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly userHandle: string;
  signCount: number;
}

export interface CeremonyOptions {
  /** The origin the "browser" writes into clientDataJSON (default: the authenticator's). */
  readonly origin?: string;
  /** Whether the authenticator verified the user (default true). */
  readonly userVerified?: boolean;
  /** Overrides the signature counter sent (e.g. a lower one: a cloned authenticator). */
  readonly signCount?: number;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

/**
 * A software WebAuthn authenticator with a browser's part (clientDataJSON) around it: ES256 keys in
 * memory, attestation `none`, a counter that goes up by one per assertion. It lets the API tests run
 * real registration and assertion ceremonies without a browser, and tamper with them.
 */
export class SoftAuthenticator {
  private readonly credentials = new Map<string, StoredCredential>();

  constructor(
    readonly origin: string,
    private readonly synced = false,
  ) {}

  private rpIdHash(rpId: string): Buffer {
    return sha256(rpId);
  }

  private flags(userVerified: boolean, extra = 0): number {
    return UP | (userVerified ? UV : 0) | (this.synced ? BE | BS : 0) | extra;
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** `navigator.credentials.create()` with these options, serialised as `toJSON()` does. */
  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    { origin = this.origin, userVerified = true }: CeremonyOptions = {},
  ): RegistrationResponseJSON {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const id = randomBytes(16);
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      this.rpIdHash(options.rp.id ?? new URL(this.origin).hostname),
      Buffer.from([this.flags(userVerified, AT)]),
      uint32(0),
      Buffer.alloc(16),
      idLength,
      id,
      Buffer.from(isoCBOR.encode(coseKey)),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    this.credentials.set(b64url(id), {
      id,
      privateKey,
      userHandle: options.user.id,
      signCount: 0,
    });
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, origin)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The credentials it holds (ids, base64url). */
  credentialIds(): string[] {
    return [...this.credentials.keys()];
  }

  /**
   * `navigator.credentials.get()`: with `allowCredentials` the first one it holds, else (a
   * discoverable sign-in) the first it has for the RP.
   */
  authenticate(
    options: PublicKeyCredentialRequestOptionsJSON,
    { origin = this.origin, userVerified = true, signCount }: CeremonyOptions = {},
  ): AuthenticationResponseJSON {
    const allowed = options.allowCredentials?.map((credential) => credential.id) ?? [];
    const credential = [...this.credentials.values()].find(
      (stored) => allowed.length === 0 || allowed.includes(b64url(stored.id)),
    );
    if (!credential) {
      throw new Error('The soft authenticator holds no credential for these options.');
    }
    credential.signCount += 1;
    const authData = Buffer.concat([
      this.rpIdHash(options.rpId ?? new URL(this.origin).hostname),
      Buffer.from([this.flags(userVerified)]),
      uint32(signCount ?? credential.signCount),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, origin);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      credential.privateKey,
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
