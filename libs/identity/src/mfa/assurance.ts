/**
 * Authentication context classes (`acr`): the one place they are derived from the sign-in's methods
 * (RFC 8176 `amr`). Weakest first; a stronger class satisfies a request for a weaker one. The same
 * values, in the same order, are `ACR` in `@gatehouse/nest-auth` (`@RequireMfa()`), which cannot
 * import this library; a test holds the two together.
 */
export const ACR_PASSWORD = 'urn:gatehouse:acr:pwd';
/** A second factor (TOTP, recovery code) after the password, or a passkey with user verification. */
export const ACR_MFA = 'urn:gatehouse:acr:mfa';
/** OpenID EAP ACR Values: phishing-resistant, here a passkey (WebAuthn: `amr` `hwk` or `swk`). */
export const ACR_PHISHING_RESISTANT = 'phr';

/** `acr_values_supported` in the discovery document, weakest first. */
export const ACR_VALUES_SUPPORTED: readonly string[] = [
  ACR_PASSWORD,
  ACR_MFA,
  ACR_PHISHING_RESISTANT,
];

const PASSKEY_METHODS: ReadonlySet<string> = new Set(['hwk', 'swk']);

/**
 * The class of a sign-in made with `amr`: a passkey took part → `phr`; a second factor (`mfa`, or
 * two distinct methods) → `urn:gatehouse:acr:mfa`; a password alone → `urn:gatehouse:acr:pwd`. Null
 * when the methods are not known (a session from before they were recorded) or name none of these.
 */
export function acrOf(amr: readonly string[] | null | undefined): string | null {
  if (!amr || amr.length === 0) {
    return null;
  }
  if (amr.some((method) => PASSKEY_METHODS.has(method))) {
    return ACR_PHISHING_RESISTANT;
  }
  if (amr.includes('mfa') || new Set(amr).size > 1) {
    return ACR_MFA;
  }
  return amr.includes('pwd') ? ACR_PASSWORD : null;
}

/** Whether a sign-in with `amr` satisfies a request for any of the classes `requested`. */
export function satisfiesAcrValues(
  amr: readonly string[] | null | undefined,
  requested: readonly string[],
): boolean {
  const rank = ACR_VALUES_SUPPORTED.indexOf(acrOf(amr) ?? '');
  return (
    rank >= 0 &&
    requested.some((value) => {
      const needed = ACR_VALUES_SUPPORTED.indexOf(value);
      return needed >= 0 && needed <= rank;
    })
  );
}
