/**
 * The authentication context classes (`acr`) Gatehouse puts in its tokens, from weakest to strongest.
 * Gatehouse derives them from the sign-in's `amr` (RFC 8176) and lists them in its discovery document
 * (`acr_values_supported`); an app asks for one with `@RequireMfa()`, a client with `acr_values` at
 * `/oauth/authorize`.
 */
export const ACR = {
  /** A password alone. */
  password: 'urn:gatehouse:acr:pwd',
  /** A password and a second factor (TOTP, a recovery code), or a passkey with user verification. */
  mfa: 'urn:gatehouse:acr:mfa',
  /** Phishing-resistant: a passkey (WebAuthn, `amr` `hwk` or `swk`) took part (OpenID EAP `phr`). */
  phishingResistant: 'phr',
} as const;

/** Weakest first: a class satisfies a request for itself or any class before it. */
const RANKED: readonly string[] = [ACR.password, ACR.mfa, ACR.phishingResistant];

/**
 * Whether a caller whose sign-in has class `acr` satisfies a request for any of `requested` (the
 * stronger classes satisfy the weaker ones). Unknown classes satisfy nothing and are satisfied by
 * nothing.
 */
export function acrSatisfies(
  acr: string | null | undefined,
  requested: readonly string[],
): boolean {
  const rank = acr ? RANKED.indexOf(acr) : -1;
  return (
    rank >= 0 &&
    requested.some((value) => {
      const needed = RANKED.indexOf(value);
      return needed >= 0 && needed <= rank;
    })
  );
}
